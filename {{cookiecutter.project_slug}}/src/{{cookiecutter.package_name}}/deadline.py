"""One deadline for every request that waits on a service this one depends on.

Each client has timeouts of its own, but they bound one step each (a connection attempt,
a read, a retry): their sum is no bound at all, and a server that is up but frozen (a
stopped process, a full disk, a lock) answers none of them. So the whole wait has one
deadline, `request_deadline` seconds. Its clock starts when the request first asks for a
dependency (`waits_on("PostgreSQL")`, called by each adapter's FastAPI dependency), that
is after FastAPI has read and validated the body: a slow upload is not the dependency's
fault. Past the deadline, with no response started, the client gets a 504 naming the
dependencies the request waited on, with a `Retry-After`.

Plain ASGI, one level above the endpoints, so it holds on both stacks and for every
endpoint alike:

* on the async stack the endpoint is cancelled (AnyIO cancellation: the clients give
  their connections back or close them);
* on the sync stack a worker thread cannot be cancelled: the 504 is sent at once and the
  thread finishes on its own when its driver gives up (the settings keep the drivers'
  timeouts below the deadline; a frozen server can hold one longer: a server-side
  statement timeout needs a server that runs); whatever it answers then is dropped.

A response that has started (a streamed download) is left alone: its bytes are flowing.

It costs a request a cancel scope and a context variable, plus one timer once it asks for
a dependency: no task per request (a task group per request measured 25 times that here).
The timer is asyncio's (`call_later`), as uvicorn runs the app on asyncio.
"""

from __future__ import annotations

import asyncio
import json
import math
from contextvars import ContextVar

import anyio
from starlette.types import ASGIApp, Message, Receive, Scope, Send


class DeadlineClock:
    """One request's deadline: what it waits on, its timer, and the 504 sent when that fires."""

    def __init__(self, deadline: float, retry_after: int, send: Send, scope: anyio.CancelScope) -> None:
        self.deadline = deadline
        self.retry_after = retry_after
        self.dependencies: list[str] = []
        self._send = send
        self._scope = scope
        self._timer: asyncio.TimerHandle | None = None
        self.response_started = False
        self.timed_out = False
        self.answer: asyncio.Task[None] | None = None

    def start(self, dependency: str) -> None:
        if dependency not in self.dependencies:
            self.dependencies.append(dependency)
        if self._timer is None:
            self._timer = asyncio.get_running_loop().call_later(self.deadline, self._expire)

    def stop(self) -> None:
        if self._timer is not None:
            self._timer.cancel()

    async def send(self, message: Message) -> None:
        """The app's `send`: passed on, until the deadline has answered instead."""
        if self.timed_out:
            return  # the client has its 504 already
        if message["type"] == "http.response.start":
            self.response_started = True
        await self._send(message)

    def _expire(self) -> None:
        if self.response_started:
            return  # a response is on its way: let it finish
        self.timed_out = True
        self._scope.cancel()  # the endpoint: at once on the loop; on the sync stack once its thread returns
        self.answer = asyncio.get_running_loop().create_task(self._send_timeout())

    async def _send_timeout(self) -> None:
        for message in timeout_response(self.dependencies, self.deadline, self.retry_after):
            await self._send(message)


_clock: ContextVar[DeadlineClock | None] = ContextVar("request_deadline", default=None)


def waits_on(dependency: str) -> None:
    """Record that the current request waits on `dependency`; the first call starts the deadline.

    Outside a request (the lifespan, a script, a test that calls an adapter) it does nothing.
    """
    clock = _clock.get()
    if clock is not None:
        clock.start(dependency)


def waited_on() -> list[str]:
    """The dependencies the current request has asked for so far, in that order."""
    clock = _clock.get()
    return list(clock.dependencies) if clock is not None else []


def attempt_timeouts(deadline: float, attempts: int, connect: float) -> tuple[float, float]:
    """(connect, read) timeouts for a client that tries `attempts` times: all of them end by `deadline`.

    For the clients whose calls run in worker threads (or that retry on their own): sized
    so, a call that gets no answer gives its thread or connection back by the deadline.
    """
    connect = min(connect, deadline / (4 * attempts))
    return connect, deadline / attempts - connect


def timeout_response(dependencies: list[str], deadline: float, retry_after: int) -> tuple[Message, Message]:
    """The 504 sent past the deadline, as its two ASGI messages."""
    names = " or ".join(dependencies)
    detail = f"{names} did not answer within {deadline:g}s, try again later"
    body = json.dumps({"detail": detail}, separators=(",", ":")).encode()
    start: Message = {
        "type": "http.response.start",
        "status": 504,
        "headers": [
            (b"content-type", b"application/json"),
            (b"content-length", str(len(body)).encode()),
            (b"retry-after", str(retry_after).encode()),
        ],
    }
    return start, {"type": "http.response.body", "body": body}


class RequestDeadlineMiddleware:
    """Answer 504 when a request has waited on its dependencies for `deadline` seconds."""

    def __init__(self, app: ASGIApp, deadline: float, retry_after: int | None = None) -> None:
        self.app = app
        self.deadline = deadline
        self.retry_after = retry_after if retry_after is not None else max(1, math.ceil(deadline))

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        with anyio.CancelScope() as cancel_scope:
            clock = DeadlineClock(self.deadline, self.retry_after, send, cancel_scope)
            token = _clock.set(clock)
            try:
                await self.app(scope, receive, clock.send)
            finally:
                clock.stop()
                _clock.reset(token)
        if clock.answer is not None:
            await clock.answer
