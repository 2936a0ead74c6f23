"""A bound on how long a client may take to send its request body.

uvicorn closes an idle keep-alive connection (`--timeout-keep-alive`, 5 s by default), but
once a request has begun it waits for its body as long as bytes keep coming: a client
sending one byte a second holds a connection, and the endpoint waiting for it, for hours.
Here the whole body must have arrived within `request_body_timeout` seconds of the
request's start; past that the client gets a 408 with `Connection: close` (uvicorn then
closes the connection) and the app reads an `http.disconnect`, so the endpoint stops.
The clock stops once the body is complete: the response may take as long as it takes.

Plain ASGI, on the loop, one timer per request body and nothing per chunk but a deadline
check: a fast client pays almost nothing.
"""

from __future__ import annotations

import anyio
from starlette.types import ASGIApp, Message, Receive, Scope, Send

BODY = b'{"detail":"the request body did not arrive in time"}'


class BodyTimeoutMiddleware:
    """Answer 408 and close the connection when a request body takes longer than `timeout` seconds."""

    def __init__(self, app: ASGIApp, timeout: float) -> None:
        self.app = app
        self.timeout = timeout

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        give_up = anyio.current_time() + self.timeout
        body_complete = False
        response_started = False
        timed_out = False

        async def bounded_receive() -> Message:
            nonlocal body_complete, timed_out
            if timed_out:
                return {"type": "http.disconnect"}
            if body_complete:
                return await receive()  # waiting for a disconnect: not the client's delay
            with anyio.move_on_after(give_up - anyio.current_time()):
                message = await receive()
                body_complete = message["type"] != "http.request" or not message.get("more_body", False)
                return message
            timed_out = True
            if not response_started:
                await send_timeout()
            return {"type": "http.disconnect"}  # the app stops reading; what it answers now is dropped

        async def send_timeout() -> None:
            headers = [
                (b"content-type", b"application/json"),
                (b"content-length", str(len(BODY)).encode()),
                (b"connection", b"close"),
            ]
            await send({"type": "http.response.start", "status": 408, "headers": headers})
            await send({"type": "http.response.body", "body": BODY})

        async def send_unless_timed_out(message: Message) -> None:
            nonlocal response_started
            if timed_out:
                return
            if message["type"] == "http.response.start":
                response_started = True
            await send(message)

        await self.app(scope, bounded_receive, send_unless_timed_out)
