"""Request id middleware, written as plain ASGI.

Middleware runs on the event loop for every request, so it must never block, and its
cost is paid by every request: it reads one header and appends one, and nothing more
(no header parsing into dicts, no UUID objects). Plain ASGI, rather than
BaseHTTPMiddleware, also keeps streaming responses streaming.
"""

from __future__ import annotations

import os
from contextvars import ContextVar

from starlette.types import ASGIApp, Message, Receive, Scope, Send

request_id: ContextVar[str] = ContextVar("request_id", default="-")
"""The current request's id, for log records and calls to other services."""

HEADER = b"x-request-id"
MAX_LENGTH = 128


class RequestIdMiddleware:
    """Take the caller's X-Request-ID (or make one), expose it as `request_id` and echo it back."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        rid = incoming_id(scope["headers"]) or os.urandom(16).hex()
        header = (HEADER, rid.encode("latin-1"))
        token = request_id.set(rid)

        async def send_with_id(message: Message) -> None:
            if message["type"] == "http.response.start":
                message["headers"] = [*message.get("headers", ()), header]
            await send(message)

        try:
            await self.app(scope, receive, send_with_id)
        finally:
            request_id.reset(token)


def incoming_id(headers: list[tuple[bytes, bytes]]) -> str:
    """The caller's id, if it sent a usable one (1 to 128 visible ASCII characters)."""
    for name, value in headers:
        if name == HEADER:
            if 0 < len(value) <= MAX_LENGTH and value.isascii() and value.decode("ascii").isprintable():
                return value.decode("ascii")
            return ""
    return ""
