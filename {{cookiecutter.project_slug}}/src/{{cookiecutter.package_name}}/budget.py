"""The request budget: what one request may cost, whatever route it is for (routes added later included).

FastAPI reads, parses and validates a request body on the event loop, even for a `def`
endpoint, and the work grows with the body: a 3 MB object of 200,000 unknown keys held
the loop for seconds while the 422 listed each key. So every request is bounded here, in
plain ASGI middleware around the whole app, before any route runs:

* `BodyLimitMiddleware`: a body past `max_request_bytes` is a 413 with the reason, refused
  by its Content-Length before any of it is read, or as soon as a chunked body passes the
  limit. A route that takes uploads raises the limit for its own requests
  (`set_body_limit`), so only the routes that opt in accept more.
* `StrictJSONMiddleware`: a JSON body with a number JSON has no room for (`NaN`,
  `Infinity`, `-Infinity`, or one past the float range such as `1e400`, which Python reads
  as infinity) is a 422. Python's parser accepts them; after it, FastAPI's own 422 fails to
  encode them (a 500), and a `float` field takes them for numbers.

The third part, a 422 that lists at most `max_validation_errors` errors, is in `errors.py`.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from typing import Any

from fastapi import FastAPI, HTTPException
from fastapi.responses import JSONResponse
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from .settings import Settings

SCOPE_KEY = "{{ cookiecutter.package_name }}.body_limit"


class RefusedBody(HTTPException):
    """A 4xx raised from `receive` while the app reads the body: FastAPI's handler answers it, else `run_refusing`."""


class BodyTooLarge(RefusedBody):
    def __init__(self, reason: str) -> None:
        super().__init__(413, reason)


class NotJSONBody(RefusedBody):
    def __init__(self, reason: str) -> None:
        super().__init__(422, [json_invalid(reason)])


async def run_refusing(app: ASGIApp, scope: Scope, receive: Receive, send: Send) -> None:
    """Run `app`, answering a `RefusedBody` that escapes it (read outside a route) if no response has started."""
    started = False

    async def send_and_note(message: Message) -> None:
        nonlocal started
        started = started or message["type"] == "http.response.start"
        await send(message)

    try:
        await app(scope, receive, send_and_note)
    except RefusedBody as exc:
        if started:
            raise
        await JSONResponse({"detail": exc.detail}, status_code=exc.status_code)(scope, receive, send)


@dataclass
class BodyLimit:
    """The most bytes this request's body may have, and why (the setting that says so).

    Lives in the request's scope while the request runs, so that the route can change it
    before the body is read. Mutable on purpose: a copy of the scope shares it.
    """

    max_bytes: int
    reason: str


def request_too_large(limit: int) -> str:
    return f"request body larger than the limit of {limit} bytes (MAX_REQUEST_BYTES)"


def set_body_limit(scope: Scope, max_bytes: int, reason: str) -> None:
    """Let this request's body have up to `max_bytes`, more or less than the app's limit.

    Call it before the body is read: from a route class's handler (`UploadLimitRoute`), not
    from a dependency (FastAPI reads the body before it solves dependencies).
    """
    limit = scope.get(SCOPE_KEY)
    if isinstance(limit, BodyLimit):
        limit.max_bytes, limit.reason = max_bytes, reason


def declared_length(scope: Scope) -> int | None:
    for name, value in scope["headers"]:
        if name == b"content-length":
            return int(value) if value.isdigit() else None
    return None


class BodyLimitMiddleware:
    """Refuse a body past its limit: by Content-Length before reading any of it, else as it arrives."""

    def __init__(self, app: ASGIApp, max_bytes: int) -> None:
        self.app = app
        self.max_bytes = max_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        limit = scope[SCOPE_KEY] = BodyLimit(self.max_bytes, request_too_large(self.max_bytes))
        declared = declared_length(scope)
        received = 0

        async def receive_within_limit() -> Message:
            # Judged when the app asks for the body, not before: by then its route may have raised the limit.
            nonlocal received
            if declared is not None and declared > limit.max_bytes:
                raise BodyTooLarge(limit.reason)
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > limit.max_bytes:
                    raise BodyTooLarge(limit.reason)
            return message

        await run_refusing(self.app, scope, receive_within_limit, send)


class NotJSON(ValueError):
    """A number the JSON grammar (RFC 8259) does not have."""


def refuse_constant(name: str) -> Any:
    raise NotJSON(f"{name} is not a JSON number")


def finite_float(text: str) -> float:
    value = float(text)
    if math.isinf(value):
        raise NotJSON(f"{text[:40]} is out of the range of a JSON number (a 64-bit float)")
    return value


def non_json_number(body: bytes) -> str | None:
    """Why `body` is not JSON because of a number in it, if it is one; None otherwise.

    Any other fault (bad syntax, bad UTF-8, nesting too deep) is left to FastAPI, which
    answers it with its usual 4xx.
    """
    try:
        json.loads(body, parse_constant=refuse_constant, parse_float=finite_float)
    except NotJSON as exc:
        return str(exc)
    except (ValueError, RecursionError):
        return None
    return None


def is_json(scope: Scope) -> bool:
    """What FastAPI parses as JSON: `application/json` and `application/*+json`."""
    for name, value in scope["headers"]:
        if name == b"content-type":
            media_type: bytes = value.split(b";", 1)[0].strip().lower()
            return media_type == b"application/json" or (
                media_type.startswith(b"application/") and media_type.endswith(b"+json")
            )
    return False


class StrictJSONMiddleware:
    """Answer 422 to a JSON body holding NaN, Infinity or an out-of-range number, as FastAPI would a syntax error.

    The body is read whole when the app first asks for it (its size is already bounded by
    `BodyLimitMiddleware`, outside this one) and checked once more with Python's C parser,
    this time refusing what JSON does not allow; the app then gets the same bytes.
    """

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or not is_json(scope):
            await self.app(scope, receive, send)
            return
        checked = False

        async def receive_checked() -> Message:
            nonlocal checked
            if checked:
                return await receive()
            checked = True
            chunks: list[bytes] = []
            while True:
                message = await receive()
                if message["type"] != "http.request":
                    return message  # the client went away: the app sees it as usual
                chunks.append(message.get("body", b""))
                if not message.get("more_body", False):
                    break
            body = b"".join(chunks)
            if (reason := non_json_number(body)) is not None:
                raise NotJSONBody(reason)
            return {"type": "http.request", "body": body, "more_body": False}

        await run_refusing(self.app, scope, receive_checked, send)


def json_invalid(reason: str) -> dict[str, Any]:
    """The error FastAPI reports for a body it cannot parse, with the reason."""
    return {"type": "json_invalid", "loc": ["body"], "msg": "JSON decode error", "input": {}, "ctx": {"error": reason}}


def add_request_budget(app: FastAPI, settings: Settings) -> None:
    """Bound every request's body: added before the other middleware, it runs inside them (request ids included)."""
    app.add_middleware(StrictJSONMiddleware)
    app.add_middleware(BodyLimitMiddleware, max_bytes=settings.max_request_bytes)
