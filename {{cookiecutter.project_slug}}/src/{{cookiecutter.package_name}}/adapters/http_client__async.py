"""The upstream HTTP service through one `httpx.AsyncClient` per process, owned by the lifespan.

One client means one connection pool: connections (and TLS sessions) are reused across
requests instead of being set up for each. Its limits come from settings:
`http_max_connections` requests in flight at once, `http_max_keepalive_connections`
kept open between them. Every call is bounded by the client's timeouts
(`upstream_connect_timeout` to connect, `upstream_timeout` for each read, write and wait
for a pooled connection); endpoints add one overall deadline per operation on top.

Creating a client loads the CA certificates (50-100 ms of file reads, blocking), so the
lifespan does it in a worker thread, once.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Annotated

import httpx
from fastapi import Depends, Request

from ..concurrency import run_blocking, runs_on_loop
from ..settings import Settings


@asynccontextmanager
async def open_http_client(settings: Settings) -> AsyncIterator[httpx.AsyncClient]:
    client = await run_blocking(
        httpx.AsyncClient,
        base_url=settings.upstream_base_url,
        timeout=httpx.Timeout(settings.upstream_timeout, connect=settings.upstream_connect_timeout),
        limits=httpx.Limits(
            max_connections=settings.http_max_connections,
            max_keepalive_connections=settings.http_max_keepalive_connections,
        ),
    )
    async with client:
        yield client


async def check_upstream(client: httpx.AsyncClient) -> None:
    """Readiness: the upstream's `/health` answers 2xx."""
    response = await client.get("/health")
    response.raise_for_status()


@runs_on_loop
async def get_http_client(request: Request) -> httpx.AsyncClient:
    client: httpx.AsyncClient = request.state.http
    return client


HttpClientDep = Annotated[httpx.AsyncClient, Depends(get_http_client)]
