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

* on the async stack the endpoint is cancelled (AnyIO cancellation: asyncpg, aiohttp and
  httpx give their connections back or close them);
* on the sync stack a worker thread cannot be cancelled: the 504 is sent at once and the
  thread finishes on its own, bounded by its driver's timeouts, which the settings keep
  below the deadline; whatever it answers then is dropped.

A response that has started (a streamed download) is left alone: its bytes are flowing.
"""

from __future__ import annotations

import json
import math
from contextvars import ContextVar
from dataclasses import dataclass, field

import anyio
from starlette.types import ASGIApp, Message, Receive, Scope, Send


@dataclass
class Budget:
    """What one request waits on, and since when (the deadline's clock)."""

    dependencies: list[str] = field(default_factory=list)
    started: anyio.Event = field(default_factory=anyio.Event)


_budget: ContextVar[Budget | None] = ContextVar("request_budget", default=None)


def waits_on(dependency: str) -> None:
    """Record that the current request waits on `dependency`; the first call starts the deadline.

    Outside a request (the lifespan, a script, a test that calls an adapter) it does nothing.
    """
    budget = _budget.get()
    if budget is None:
        return
    if dependency not in budget.dependencies:
        budget.dependencies.append(dependency)
    budget.started.set()


def waited_on() -> list[str]:
    """The dependencies the current request has asked for so far, in that order."""
    budget = _budget.get()
    return list(budget.dependencies) if budget is not None else []


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
        budget = Budget()
        token = _budget.set(budget)  # the app's task below starts with a copy of this context
        response_started = False
        timed_out = False
        error: Exception | None = None

        async def send_unless_timed_out(message: Message) -> None:
            nonlocal response_started
            if timed_out:
                return  # the client has its 504 already
            if message["type"] == "http.response.start":
                response_started = True
            await send(message)

        async def run_app() -> None:
            nonlocal error
            try:
                await self.app(scope, receive, send_unless_timed_out)
            except Exception as exc:  # noqa: BLE001  # raised below as it was, not in an ExceptionGroup
                error = exc
            tg.cancel_scope.cancel()  # the response is complete: stop the clock

        try:
            async with anyio.create_task_group() as tg:
                tg.start_soon(run_app)
                await budget.started.wait()
                await anyio.sleep(self.deadline)
                if not response_started:  # else the task group waits for the rest of the response
                    timed_out = True
                    for message in timeout_response(budget.dependencies, self.deadline, self.retry_after):
                        await send(message)
                    tg.cancel_scope.cancel()  # the app: at once on the loop; on the sync stack once its thread returns
        finally:
            _budget.reset(token)
        if error is not None:
            raise error
