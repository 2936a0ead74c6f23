"""Liveness and readiness, with every dependency up and with each one broken in turn.

Readiness must answer within `readiness_timeout` whatever the dependency does: refuse
connections, vanish, or hang without a word. Each broken dependency is named in the 503.
"""

from __future__ import annotations

{% if cookiecutter.use_local_files == 'y' %}import shutil
{% endif %}import time
from collections.abc import {% if cookiecutter.use_postgres == 'y' %}AsyncIterator, {% endif %}Callable
from contextlib import AbstractAsyncContextManager{% if cookiecutter.use_postgres == 'y' %}, asynccontextmanager{% endif %}
{%- if cookiecutter.use_local_files == 'y' %}
from pathlib import Path
{%- endif %}
from typing import Any
{%- if cookiecutter.use_postgres == 'y' %}
from urllib.parse import urlsplit, urlunsplit
{%- endif %}

{% if cookiecutter.use_postgres == 'y' %}import anyio
import anyio.abc
{% endif %}import httpx
{%- if cookiecutter.use_s3 == 'y' or cookiecutter.use_http_client == 'y' %}

from {{ cookiecutter.package_name }}.embedded import free_port
{%- endif %}

ClientWith = Callable[..., AbstractAsyncContextManager[httpx.AsyncClient]]

TIMEOUT = 1.0
"""readiness_timeout for the failure cases: each must be answered by then, plus MARGIN."""
MARGIN = 1.0

{%- set components = [] %}
{%- if cookiecutter.use_postgres == 'y' %}{% set _ = components.append('"postgres"') %}{% endif %}
{%- if cookiecutter.use_s3 == 'y' %}{% set _ = components.append('"s3"') %}{% endif %}
{%- if cookiecutter.use_local_files == 'y' %}{% set _ = components.append('"storage"') %}{% endif %}
{%- if cookiecutter.use_http_client == 'y' %}{% set _ = components.append('"upstream"') %}{% endif %}

COMPONENTS: list[str] = [{{ components | join(", ") }}]
"""The readiness checks of this service, in the order /health/ready lists failures (by name)."""


async def timed_ready(client: httpx.AsyncClient) -> tuple[httpx.Response, float]:
    started = time.perf_counter()
    response = await client.get("/health/ready")
    return response, time.perf_counter() - started


def assert_unready(response: httpx.Response, elapsed: float, *failing: str) -> dict[str, Any]:
    """503 naming exactly `failing`, answered within the readiness timeout; returns the body."""
    body: dict[str, Any] = response.json()
    assert response.status_code == 503, body
    assert body["status"] == "unavailable"
    assert body["failing"] == sorted(failing)
    for name in COMPONENTS:
        assert (body["checks"][name] == "ok") is (name not in failing), body
    assert elapsed < TIMEOUT + MARGIN, f"readiness took {elapsed:.2f}s"
    return body


async def test_live_answers_without_checking_dependencies(client: httpx.AsyncClient) -> None:
    response = await client.get("/health/live")
    assert response.status_code == 200
    assert response.json() == {"status": "ok"}


async def test_ready_when_every_dependency_answers(client: httpx.AsyncClient) -> None:
    response = await client.get("/health/ready")
    assert response.status_code == 200, response.text
    assert response.json() == {"status": "ready", "checks": dict.fromkeys(COMPONENTS, "ok")}
{%- if cookiecutter.use_postgres == 'y' %}


class TcpRelay:
    """A loopback relay to a TCP server that a test can stop ("the server went away") or
    freeze ("the server hangs": connections stay open, nothing comes back)."""

    def __init__(self, target: tuple[str, int]) -> None:
        self.target = target
        self.port = 0
        self.frozen = False
        self._scope = anyio.CancelScope()
        self._stopped = anyio.Event()

    def url(self, url: str) -> str:
        """`url` with its host and port replaced by this relay's."""
        parts = urlsplit(url)
        userinfo, _, _ = parts.netloc.rpartition("@")
        netloc = f"127.0.0.1:{self.port}" if not userinfo else f"{userinfo}@127.0.0.1:{self.port}"
        return urlunsplit(parts._replace(netloc=netloc))

    async def stop(self) -> None:
        """Close the listener and every relayed connection; from then on connections are refused."""
        self._scope.cancel()
        await self._stopped.wait()

    async def serve(self, *, task_status: anyio.abc.TaskStatus[None] = anyio.TASK_STATUS_IGNORED) -> None:
        try:
            with self._scope:
                listener = await anyio.create_tcp_listener(local_host="127.0.0.1")
                self.port = listener.extra(anyio.abc.SocketAttribute.local_port)
                task_status.started()
                async with listener:
                    await listener.serve(self._relay)
        finally:
            self._stopped.set()

    async def _relay(self, client: anyio.abc.SocketStream) -> None:
        async with client:
            if self.frozen:
                await anyio.sleep_forever()
            async with await anyio.connect_tcp(*self.target) as server, anyio.create_task_group() as tg:

                async def pump(source: anyio.abc.SocketStream, sink: anyio.abc.SocketStream) -> None:
                    async for chunk in source:
                        if self.frozen:
                            await anyio.sleep_forever()
                        await sink.send(chunk)
                    tg.cancel_scope.cancel()

                tg.start_soon(pump, client, server)
                tg.start_soon(pump, server, client)


@asynccontextmanager
async def relay_to(url: str) -> AsyncIterator[TcpRelay]:
    parts = urlsplit(url)
    relay = TcpRelay((parts.hostname or "127.0.0.1", parts.port or 5432))
    async with anyio.create_task_group() as tg:
        await tg.start(relay.serve)
        try:
            yield relay
        finally:
            await relay.stop()


async def test_ready_fails_fast_when_postgres_goes_away(client_with: ClientWith, service_urls: dict[str, str]) -> None:
    async with (
        relay_to(service_urls["DATABASE_URL"]) as relay,
        client_with(database_url=relay.url(service_urls["DATABASE_URL"]), readiness_timeout=TIMEOUT) as c,
    ):
        assert (await c.get("/health/ready")).status_code == 200
        await relay.stop()
        assert_unready(*await timed_ready(c), "postgres")


async def test_ready_times_out_when_postgres_hangs(client_with: ClientWith, service_urls: dict[str, str]) -> None:
    async with (
        relay_to(service_urls["DATABASE_URL"]) as relay,
        client_with(database_url=relay.url(service_urls["DATABASE_URL"]), readiness_timeout=TIMEOUT) as c,
    ):
        assert (await c.get("/health/ready")).status_code == 200
        relay.frozen = True
        body = assert_unready(*await timed_ready(c), "postgres")
        assert body["checks"]["postgres"] == f"no answer within {TIMEOUT:g}s"
        await relay.stop()  # let the app shut down without waiting for the frozen connections
{%- endif %}
{%- if cookiecutter.use_http_client == 'y' %}


async def test_ready_names_an_unreachable_upstream(client_with: ClientWith) -> None:
    async with client_with(upstream_base_url=f"http://127.0.0.1:{free_port()}", readiness_timeout=TIMEOUT) as c:
        assert_unready(*await timed_ready(c), "upstream")
{%- endif %}
{%- if cookiecutter.use_local_files == 'y' %}


async def test_ready_names_a_storage_directory_that_is_gone(client_with: ClientWith, tmp_path: Path) -> None:
    storage_dir = tmp_path / "storage"  # where client_with's app keeps its files
    async with client_with(readiness_timeout=TIMEOUT) as c:
        assert (await c.get("/health/ready")).status_code == 200
        shutil.rmtree(storage_dir)
        storage_dir.write_text("a file where the directory was")
        assert_unready(*await timed_ready(c), "storage")
{%- endif %}
{%- if cookiecutter.use_s3 == 'y' %}


async def test_ready_names_an_unreachable_s3(client_with: ClientWith) -> None:
    endpoint = f"http://127.0.0.1:{free_port()}"
    async with client_with(s3_endpoint_url=endpoint, s3_create_bucket=False, readiness_timeout=TIMEOUT) as c:
        assert_unready(*await timed_ready(c), "s3")


async def test_ready_names_a_missing_bucket(client_with: ClientWith) -> None:
    async with client_with(s3_create_bucket=False, readiness_timeout=TIMEOUT) as c:
        body = assert_unready(*await timed_ready(c), "s3")
    assert "404" in body["checks"]["s3"]
{%- endif %}
