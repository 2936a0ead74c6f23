"""The upstream HTTP service: one `httpx.Client` and one fan-out thread pool per process.

A `def` endpoint makes a single call with `http.client.get(...)` in its own worker thread.
To make several calls at once (the sync counterpart of `asyncio.gather`) it submits them
with `http.submit(...)` and waits for the futures with a deadline. The executor is created here,
once: a pool per request would start and join threads on every request.

Sizing, with T = `threadpool_tokens`: at most T endpoints run at once, and each fans out to
at most two calls, so both the executor and the connection pool hold
`settings.http_connection_limit` (default 2T). Every submitted call then finds a thread and
every thread finds a connection: nothing queues behind anything else, and the overall
deadline measures the upstream, not our own queues. The pool holds one connection more than
the executor has threads, for the readiness probe: it never waits behind the workload.

Every call is bounded by the client's timeouts (`upstream_connect_timeout` to connect,
`upstream_timeout` for the rest), including calls a request stopped waiting for: they end
on their own soon after and give back their thread and connection.

Creating the client loads CA certificates (50-100 ms of file reads), so the lifespan does
it in a worker thread; closing joins the executor's threads, also off the loop.
"""

from __future__ import annotations

import contextvars
import functools
from collections.abc import AsyncIterator, Callable
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Annotated, ParamSpec, TypeVar

import httpx
from fastapi import Depends, Request

from ..concurrency import BlockingLane, run_blocking, runs_on_loop
from ..settings import Settings

P = ParamSpec("P")
T = TypeVar("T")

_probe_lane = BlockingLane(1, abandon_on_cancel=True)


@dataclass(frozen=True)
class HttpClient:
    client: httpx.Client
    executor: ThreadPoolExecutor

    def submit(self, func: Callable[P, T], /, *args: P.args, **kwargs: P.kwargs) -> Future[T]:
        """Run `func` on the fan-out pool with the caller's context variables (the request id)."""
        context = contextvars.copy_context()
        return self.executor.submit(context.run, functools.partial(func, *args, **kwargs))


def create_client(settings: Settings) -> httpx.Client:
    """Blocking (reads CA certificates): call it through `run_blocking`."""
    return httpx.Client(
        base_url=settings.upstream_base_url,
        timeout=httpx.Timeout(settings.upstream_timeout, connect=settings.upstream_connect_timeout),
        limits=httpx.Limits(
            max_connections=settings.http_connection_limit + 1,
            max_keepalive_connections=settings.http_max_keepalive_connections,
        ),
    )


@asynccontextmanager
async def open_http_client(settings: Settings) -> AsyncIterator[HttpClient]:
    client = await run_blocking(create_client, settings)
    executor = ThreadPoolExecutor(max_workers=settings.http_connection_limit, thread_name_prefix="upstream")
    try:
        yield HttpClient(client=client, executor=executor)
    finally:
        await run_blocking(executor.shutdown, wait=True, cancel_futures=True)
        await run_blocking(client.close)


def _get_health(client: httpx.Client) -> None:
    client.get("/health").raise_for_status()


async def check_upstream(http: HttpClient) -> None:
    """Readiness: the upstream's `/health` answers 2xx, within the client's timeouts."""
    await _probe_lane.run(_get_health, http.client)


@runs_on_loop
async def get_http_client(request: Request) -> HttpClient:
    http: HttpClient = request.state.http
    return http


HttpClientDep = Annotated[HttpClient, Depends(get_http_client)]
