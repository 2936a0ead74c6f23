"""The upstream HTTP client: made once per app, closed with it, bounded by the timeouts in settings."""

from __future__ import annotations

import socket
import time
from collections.abc import Iterator

import httpx
import pytest

from {{ cookiecutter.package_name }}.adapters.http_client import check_upstream, open_http_client
from {{ cookiecutter.package_name }}.embedded import free_port
from {{ cookiecutter.package_name }}.settings import Settings

from ..raw_server import raw_server


@pytest.fixture
def silent_server() -> Iterator[int]:
    """A port that accepts TCP connections and never answers: an upstream that hangs."""
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen(64)
        yield listener.getsockname()[1]


@pytest.fixture
def hanging_up_server() -> Iterator[int]:
    """A port whose server reads each request and closes the connection without an answer."""

    def hang_up(connection: socket.socket) -> None:
        with connection:
            connection.recv(65536)

    with raw_server(hang_up) as port:
        yield port


async def test_the_client_answers_while_open_and_is_closed_on_exit(settings: Settings) -> None:
    async with open_http_client(settings) as client:
        await check_upstream(client)
    with pytest.raises(RuntimeError, match="closed"):
        await check_upstream(client)


async def test_an_unreachable_upstream_fails_the_check(settings: Settings) -> None:
    unreachable = settings.model_copy(update={"upstream_base_url": f"http://127.0.0.1:{free_port()}"})
    async with open_http_client(unreachable) as client:
        with pytest.raises(httpx.ConnectError):
            await check_upstream(client)


async def test_a_hanging_upstream_fails_the_check_within_the_timeout(settings: Settings, silent_server: int) -> None:
    hanging = settings.model_copy(
        update={"upstream_base_url": f"http://127.0.0.1:{silent_server}", "upstream_timeout": 0.5}
    )
    async with open_http_client(hanging) as client:
        started = time.perf_counter()
        with pytest.raises(httpx.ReadTimeout):
            await check_upstream(client)
    assert 0.4 < time.perf_counter() - started < 2.0


async def test_a_connection_dropped_without_an_answer_is_a_protocol_error(
    settings: Settings, hanging_up_server: int
) -> None:
    """Not a timeout: endpoints answer 502 for it, not 504."""
    dropping = settings.model_copy(update={"upstream_base_url": f"http://127.0.0.1:{hanging_up_server}"})
    async with open_http_client(dropping) as client:
        with pytest.raises(httpx.RemoteProtocolError):
            await check_upstream(client)
