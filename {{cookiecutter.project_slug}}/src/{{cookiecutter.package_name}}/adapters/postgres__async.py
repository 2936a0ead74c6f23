"""PostgreSQL through one asyncpg pool per process, owned by the lifespan.

asyncpg speaks PostgreSQL's protocol on the event loop itself: a query is a coroutine
that waits on a socket, never a thread. So the pool is sized for concurrent requests,
not threads: `db_pool_max_size` connections shared by every request of this process
(PostgreSQL must accept that many per worker process, plus migrations and admin
sessions). The pool opens `db_pool_min_size` connections at start-up: an unreachable
database fails start-up with a clear error, unless that is 0.

Every wait is bounded: `db_connect_timeout` per connection attempt, `db_command_timeout`
per query (asyncpg then cancels the query on the server too), and all of a request's waits,
a checkout from the pool included, by the request deadline (deadline.py).

A connection goes back to the pool through asyncpg's reset query (`SELECT
pg_advisory_unlock_all(); CLOSE ALL; UNLISTEN *; RESET ALL`), so a `SET`, `LISTEN` or
session advisory lock of one request never leaks into the next. `DB_RESET_ON_RELEASE=false`
skips it (one round trip less per checkout); then no query may change its session (use
`SET LOCAL` inside a transaction, and no `LISTEN`, session advisory locks or `WITH HOLD`
cursors). asyncpg rolls back a transaction left open either way.

Statements are prepared and cached per connection (asyncpg's default of 100): behind
PgBouncer in transaction mode, pass `statement_cache_size=0`.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Annotated

import anyio
import asyncpg
from fastapi import Depends, Request

from ..concurrency import runs_on_loop
from ..deadline import waits_on
from ..settings import Settings

UNAVAILABLE: tuple[type[Exception], ...] = (
    asyncpg.PostgresConnectionError,  # the connection broke, or could not be made
    asyncpg.exceptions.CannotConnectNowError,  # starting up or shutting down
    asyncpg.exceptions.AdminShutdownError,
    asyncpg.exceptions.TooManyConnectionsError,
    asyncpg.exceptions.QueryCanceledError,
)
"""What asyncpg raises when PostgreSQL is down or overloaded, not because of the request:
the app answers 503 for these (errors.py). A refused connection or a query past
`db_command_timeout` raise Python's own ConnectionError and TimeoutError, also a 503."""


async def keep_session(connection: asyncpg.Connection) -> None:
    """Release without a reset query (`DB_RESET_ON_RELEASE=false`: see the module docstring)."""


@asynccontextmanager
async def open_database(settings: Settings) -> AsyncIterator[asyncpg.Pool]:
    """Create the pool (opening `db_pool_min_size` connections) and close it on exit."""
    pool = await asyncpg.create_pool(
        settings.database_url,
        min_size=settings.db_pool_min_size,
        max_size=settings.db_pool_max_size,
        timeout=settings.db_connect_timeout,
        command_timeout=settings.db_command_timeout,
        reset=None if settings.db_reset_on_release else keep_session,  # None: asyncpg's own reset
    )
    try:
        yield pool
    finally:
        await close_pool(pool, grace=settings.db_command_timeout)


async def close_pool(pool: asyncpg.Pool, grace: float) -> None:
    """Close gracefully (each connection says goodbye to the server), but never hang shut-down.

    A graceful close waits for the server on every connection; a server that stopped
    answering would keep it waiting forever, so after `grace` seconds the sockets are
    simply dropped.
    """
    try:
        with anyio.fail_after(grace):
            await pool.close()
    except TimeoutError:
        pool.terminate()


async def check_database(pool: asyncpg.Pool) -> None:
    """Readiness: a checkout and a round trip. The caller bounds it with its own timeout."""
    await pool.fetchval("SELECT 1")


@runs_on_loop
async def get_database(request: Request) -> asyncpg.Pool:
    waits_on("PostgreSQL")
    pool: asyncpg.Pool = request.state.db
    return pool


DatabaseDep = Annotated[asyncpg.Pool, Depends(get_database)]
