"""Test fixtures: real services on loopback, the app with its lifespan, an HTTP client.

Services start once per test session on free 127.0.0.1 ports (or come from
TEST_DATABASE_URL / TEST_S3_ENDPOINT_URL / TEST_UPSTREAM_BASE_URL when set).
Every test runs under the blocking guard (tests/event_loop/guard.py) and the forgotten-await
check; tests/event_loop/switches.py reads the switch of each event-loop check.
"""

from __future__ import annotations

{% if cookiecutter.use_postgres == 'y' and cookiecutter.stack == 'async' %}import asyncio
{% endif %}import inspect
import os
{% if cookiecutter.use_s3 == 'y' %}import uuid
{% endif %}from collections.abc import AsyncIterator, Callable, Iterator
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from pathlib import Path
from typing import Any

import httpx
import pytest
from asgi_lifespan import LifespanManager
from fastapi import FastAPI

from {{ cookiecutter.package_name }}.app import create_app
from {{ cookiecutter.package_name }}.embedded import embedded_services
{%- if cookiecutter.use_postgres == 'y' %}
from {{ cookiecutter.package_name }}.migrations import apply_migrations
{%- endif %}
from {{ cookiecutter.package_name }}.settings import Settings

pytest_plugins = ["tests.event_loop.switches", "tests.event_loop.guard", "pytester"]

{% if cookiecutter.use_postgres == 'y' or cookiecutter.use_s3 == 'y' or cookiecutter.use_http_client == 'y' -%}
SERVICES: list[str] = [
{%- if cookiecutter.use_postgres == 'y' %}
    "DATABASE_URL",
{%- endif %}
{%- if cookiecutter.use_s3 == 'y' %}
    "S3_ENDPOINT_URL",
{%- endif %}
{%- if cookiecutter.use_http_client == 'y' %}
    "UPSTREAM_BASE_URL",
{%- endif %}
]
{%- else %}
SERVICES: list[str] = []
{%- endif %}


@pytest.hookimpl(tryfirst=True)
def pytest_pycollect_makeitem(collector: pytest.Module | pytest.Class, name: str, obj: object) -> None:
    """Run every `async def` test on AnyIO's pytest runner without marking each one.

    The mark goes on the function before it is collected: AnyIO's plugin then adds its
    backend fixture the usual way, so `@pytest.mark.parametrize` keeps its cases (a mark
    added after collection makes AnyIO rebuild the item without them).
    """
    if collector.istestfunction(obj, name) and inspect.iscoroutinefunction(obj):
        pytest.mark.anyio(obj)


@pytest.fixture(scope="session")
def anyio_backend() -> str:
    """One event loop for the session, so the shared app below starts only once."""
    return "asyncio"


@pytest.fixture(scope="session")
def service_urls(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, str]]:
    configured = {name: os.environ[f"TEST_{name}"] for name in SERVICES if f"TEST_{name}" in os.environ}
{%- if cookiecutter.use_postgres == 'y' or cookiecutter.use_s3 == 'y' or cookiecutter.use_http_client == 'y' %}
    with embedded_services(
{%- if cookiecutter.use_postgres == 'y' %}
        postgres="DATABASE_URL" not in configured,
{%- endif %}
{%- if cookiecutter.use_s3 == 'y' %}
        s3="S3_ENDPOINT_URL" not in configured,
{%- endif %}
{%- if cookiecutter.use_http_client == 'y' %}
        upstream="UPSTREAM_BASE_URL" not in configured,
{%- endif %}
    ) as started:
{%- else %}
    with embedded_services() as started:
{%- endif %}
        urls = {**started, **configured}
{%- if cookiecutter.use_postgres == 'y' %}
        apply_migrations(urls["DATABASE_URL"])
{%- endif %}
        yield urls


def make_settings(service_urls: dict[str, str], storage_dir: Path, **overrides: Any) -> Settings:
    values: dict[str, Any] = {
        "process_pool_workers": 1,
        # The test runner stops the loop between tests, which a watchdog would read as lag.
        "watchdog_enabled": False,
{%- if cookiecutter.use_postgres == 'y' %}
        "database_url": service_urls["DATABASE_URL"],
        "db_pool_min_size": 1,
{%- endif %}
{%- if cookiecutter.use_http_client == 'y' %}
        "upstream_base_url": service_urls["UPSTREAM_BASE_URL"],
{%- endif %}
{%- if cookiecutter.use_local_files == 'y' %}
        "storage_dir": storage_dir,
{%- endif %}
{%- if cookiecutter.use_s3 == 'y' %}
        "s3_endpoint_url": service_urls["S3_ENDPOINT_URL"],
        "s3_bucket": f"test-{uuid.uuid4().hex[:12]}",
        "s3_create_bucket": True,
        "s3_access_key_id": "test",
        "s3_secret_access_key": "test",
{%- endif %}
    }
    values.update(overrides)
    values["_env_file"] = None  # a developer's .env must not leak into the tests
    return Settings(**values)


@asynccontextmanager
async def serve(app: FastAPI) -> AsyncIterator[httpx.AsyncClient]:
    """Run the app's lifespan and talk to it in-process over ASGI."""
    async with LifespanManager(app, startup_timeout=30) as manager:
        transport = httpx.ASGITransport(app=manager.app)
        async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as client:
            yield client


@pytest.fixture(scope="session")
def settings(service_urls: dict[str, str], tmp_path_factory: pytest.TempPathFactory) -> Settings:
    return make_settings(service_urls, tmp_path_factory.mktemp("storage"))


@pytest.fixture(scope="session")
async def client(settings: Settings) -> AsyncIterator[httpx.AsyncClient]:
    """The app shared by the session: its lifespan runs once."""
    async with serve(create_app(settings)) as client:
        yield client


@pytest.fixture
def client_with(
    service_urls: dict[str, str], tmp_path: Path
) -> Callable[..., AbstractAsyncContextManager[httpx.AsyncClient]]:
    """A fresh app with some settings changed: `async with client_with(max_upload_bytes=10) as c:`."""

    def factory(**overrides: Any) -> AbstractAsyncContextManager[httpx.AsyncClient]:
        return serve(create_app(make_settings(service_urls, tmp_path / "storage", **overrides)))

    return factory
{%- if cookiecutter.use_postgres == 'y' %}
{%- if cookiecutter.stack == 'async' %}


async def _truncate_tables(database_url: str) -> None:
    import asyncpg

    conn = await asyncpg.connect(database_url)
    try:
        rows = await conn.fetch(
            "SELECT quote_ident(tablename) AS name FROM pg_tables "
            "WHERE schemaname = 'public' AND tablename <> 'alembic_version'"
        )
        if rows:
            await conn.execute(f"TRUNCATE {', '.join(row['name'] for row in rows)} RESTART IDENTITY CASCADE")
    finally:
        await conn.close()


@pytest.fixture(autouse=True)
def clean_database(service_urls: dict[str, str]) -> Iterator[None]:
    """Each test starts with empty tables (the schema stays). Runs between tests, off the loop."""
    yield
    asyncio.run(_truncate_tables(service_urls["DATABASE_URL"]))
{%- else %}


@pytest.fixture(autouse=True)
def clean_database(service_urls: dict[str, str]) -> Iterator[None]:
    """Each test starts with empty tables (the schema stays)."""
    yield
    import psycopg
    from psycopg import sql

    with psycopg.connect(service_urls["DATABASE_URL"], autocommit=True) as conn:
        rows = conn.execute(
            "SELECT tablename FROM pg_tables WHERE schemaname = 'public' AND tablename <> 'alembic_version'"
        ).fetchall()
        if rows:
            tables = sql.SQL(", ").join(sql.Identifier(row[0]) for row in rows)
            conn.execute(sql.SQL("TRUNCATE {} RESTART IDENTITY CASCADE").format(tables))
{%- endif %}
{%- endif %}
