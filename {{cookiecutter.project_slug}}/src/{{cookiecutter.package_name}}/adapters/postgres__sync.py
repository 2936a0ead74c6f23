"""PostgreSQL through psycopg 3 and one `psycopg_pool.ConnectionPool` per process.

Sizing: every `def` endpoint or dependency runs in one AnyIO worker thread and holds at
most one connection at a time, so the pool's ceiling defaults to the thread count
(`settings.db_pool_size` = `threadpool_tokens`): no thread ever queues for a connection
that another thread could have had. The pool starts at `db_pool_min_size` and grows on
demand, so idle services hold few connections. PostgreSQL must accept that ceiling for
every worker process (workers x pool size, plus migrations and admin sessions): lower
`DB_POOL_MAX_SIZE` or add PgBouncer rather than raise it blindly.

Connections are in autocommit mode. By default psycopg opens a transaction on the first
statement of every checkout and the pool ends it on return: two extra round trips for a
single SELECT. Reads run without one (measured: +38% throughput on a primary-key lookup);
writes say where their transaction starts and ends with `with conn.transaction():`.

Waits are bounded: `db_connect_timeout` for connecting and for a checkout from the pool,
`db_command_timeout` as the server-side `statement_timeout`. psycopg has no client-side
query timeout, and a statement timeout cannot fire on a server that is gone: TCP
keepalives end a wait on a vanished server or network in about 25 s, not the system's
default of hours, so a lost connection does not pin a worker thread for good. A server that
is up but frozen still has its kernel answer the probes: a thread in a query then waits
until the server answers again. The request deadline (deadline.py) answers its client anyway.

Opening and closing the pool block (they connect, and join the pool's worker threads), so
the lifespan runs them through `run_blocking`; the readiness probe runs in its own lane so
it answers even when every worker thread is busy.
"""

from __future__ import annotations

import math
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Annotated

from fastapi import Depends, Request
from psycopg import Connection, OperationalError
from psycopg_pool import ConnectionPool

from ..concurrency import BlockingLane, run_blocking, runs_on_loop
from ..deadline import waits_on
from ..settings import Settings

Pool = ConnectionPool[Connection]

_probe_lane = BlockingLane(1, abandon_on_cancel=True)


UNAVAILABLE: tuple[type[Exception], ...] = (OperationalError,)
"""What psycopg raises when PostgreSQL is down, overloaded or too slow, not because of the
request (a lost or refused connection, `PoolTimeout`, a query past `statement_timeout`):
the app answers 503 for these (errors.py)."""


def create_pool(settings: Settings) -> Pool:
    """A closed pool: nothing connects until `open()`."""
    return ConnectionPool(
        settings.database_url,
        min_size=min(settings.db_pool_min_size, settings.db_pool_size),
        max_size=settings.db_pool_size,
        kwargs={
            "autocommit": True,
            # libpq takes whole seconds here.
            "connect_timeout": max(1, math.ceil(settings.db_connect_timeout)),
            "options": f"-c statement_timeout={round(settings.db_command_timeout * 1000)}",
            # A silent peer is declared dead after 10 s idle + 3 unanswered probes 5 s apart.
            "keepalives": 1,
            "keepalives_idle": 10,
            "keepalives_interval": 5,
            "keepalives_count": 3,
        },
        timeout=settings.db_connect_timeout,
        open=False,
        name="postgres",
    )


@asynccontextmanager
async def open_database(settings: Settings) -> AsyncIterator[Pool]:
    """Open the pool (fails start-up if PostgreSQL is unreachable) and close it on exit."""
    pool = create_pool(settings)
    await run_blocking(pool.open, wait=True, timeout=settings.db_connect_timeout)
    try:
        yield pool
    finally:
        await run_blocking(pool.close)


def _select_one(pool: Pool) -> None:
    with pool.connection() as conn:
        conn.execute("SELECT 1")


async def check_database(pool: Pool) -> None:
    """Readiness: a checkout and a round trip, bounded by the pool's checkout timeout."""
    await _probe_lane.run(_select_one, pool)


@runs_on_loop
async def get_database(request: Request) -> Pool:
    waits_on("PostgreSQL")
    pool: Pool = request.state.db
    return pool


DatabaseDep = Annotated[Pool, Depends(get_database)]
