"""The PostgreSQL adapter: a pool that lives as long as the app, and never waits unbounded."""

from __future__ import annotations

import socket
import time
from collections.abc import Awaitable, Callable, Iterator
{%- if cookiecutter.stack == 'async' %}
from typing import Any
{%- endif %}

{% if cookiecutter.stack == 'async' %}import anyio
import asyncpg
{% endif %}import pytest

from {{ cookiecutter.package_name }}.adapters.postgres import check_database, open_database
from {{ cookiecutter.package_name }}.embedded import free_port
from {{ cookiecutter.package_name }}.settings import Settings


@pytest.fixture
def silent_server() -> Iterator[int]:
    """A port that accepts TCP connections and never answers: a server that hangs."""
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen(64)
        yield listener.getsockname()[1]


async def failure_of(call: Callable[[], Awaitable[object]]) -> tuple[Exception, float]:
    """The exception `call` raises, and how long it took to raise it."""
    started = time.perf_counter()
    try:
        await call()
    except Exception as exc:
        return exc, time.perf_counter() - started
    pytest.fail("expected a failure")


async def test_the_pool_answers_while_open_and_is_closed_on_exit(settings: Settings) -> None:
    async with open_database(settings) as pool:
        await check_database(pool)
    error, _ = await failure_of(lambda: check_database(pool))
    assert "closed" in str(error)
{%- if cookiecutter.stack == 'async' %}


@pytest.mark.parametrize(("reset", "leaks"), [(True, False), (False, True)], ids=["reset", "no-reset"])
async def test_a_session_setting_does_not_reach_the_next_checkout(settings: Settings, reset: bool, leaks: bool) -> None:
    """asyncpg's reset query (on by default) ends one request's session state before the next gets the connection."""
    one_connection = settings.model_copy(
        update={"db_pool_min_size": 1, "db_pool_max_size": 1, "db_reset_on_release": reset}
    )
    async with open_database(one_connection) as pool:
        async with pool.acquire() as connection:
            await connection.execute("SET application_name = 'left-behind'")
        async with pool.acquire() as connection:
            seen = await connection.fetchval("SHOW application_name")
    assert (seen == "left-behind") is leaks

{%- endif %}


async def test_start_up_fails_when_the_database_is_unreachable(settings: Settings) -> None:
    unreachable = settings.model_copy(
        update={"database_url": f"postgresql://postgres@127.0.0.1:{free_port()}/postgres", "db_connect_timeout": 1.0}
    )

    async def start() -> None:
        async with open_database(unreachable):
            pass

    _, elapsed = await failure_of(start)
    assert elapsed < 3.0


async def test_a_hanging_server_fails_a_checkout_within_the_connect_timeout(
    settings: Settings, silent_server: int
) -> None:
    hanging = settings.model_copy(
        update={
            "database_url": f"postgresql://postgres@127.0.0.1:{silent_server}/postgres",
            "db_connect_timeout": 0.5,
            "db_pool_min_size": 0,  # start without connecting
        }
    )
    async with open_database(hanging) as pool:
        _, elapsed = await failure_of(lambda: check_database(pool))
    assert 0.4 < elapsed < 2.0
{%- if cookiecutter.stack == 'async' %}


async def test_pool_sizes_come_from_settings(settings: Settings) -> None:
    sized = settings.model_copy(update={"db_pool_min_size": 2, "db_pool_max_size": 3})
    async with open_database(sized) as pool:
        assert (pool.get_min_size(), pool.get_max_size()) == (2, 3)
        assert pool.get_size() == 2  # opened at start-up


async def test_requests_beyond_max_size_wait_for_a_connection(settings: Settings) -> None:
    async with open_database(settings.model_copy(update={"db_pool_max_size": 2})) as pool:
        started = time.perf_counter()
        async with anyio.create_task_group() as tg:
            for _ in range(4):
                tg.start_soon(pool.execute, "SELECT pg_sleep(0.2)")
        elapsed = time.perf_counter() - started
    assert 0.4 <= elapsed < 0.8  # two rounds of two, not one round of four


async def test_a_slow_query_is_cancelled_after_the_command_timeout(settings: Settings) -> None:
    async with open_database(settings.model_copy(update={"db_command_timeout": 0.3})) as pool:
        error, elapsed = await failure_of(lambda: pool.execute("SELECT pg_sleep(5)"))
        assert isinstance(error, TimeoutError)
        assert elapsed < 1.0
        assert await pool.fetchval("SELECT 1") == 1  # the pool recovered


async def test_a_released_connection_keeps_no_open_transaction(settings: Settings) -> None:
    """No reset query on release (see the adapter), but asyncpg still rolls back what was left open."""
    async with open_database(settings.model_copy(update={"db_pool_max_size": 1})) as pool:
        async with pool.acquire() as conn:
            transaction: Any = conn.transaction()
            await transaction.start()
            await conn.execute("CREATE TEMP TABLE left_open (id int)")
        async with pool.acquire() as conn:  # the same, single connection
            assert not conn.is_in_transaction()
            with pytest.raises(asyncpg.UndefinedTableError):
                await conn.execute("SELECT * FROM left_open")
{%- endif %}
