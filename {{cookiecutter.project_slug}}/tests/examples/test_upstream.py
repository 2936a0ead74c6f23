"""Upstream calls, one and two at once: one deadline, and a clear 502/504 instead of a hang."""

from __future__ import annotations

import socket
import time
from collections.abc import Callable, Iterator
from contextlib import AbstractAsyncContextManager
from typing import Any

import httpx
import pytest

from {{ cookiecutter.package_name }}.embedded import free_port

from ..raw_server import raw_server

ClientWith = Callable[..., AbstractAsyncContextManager[httpx.AsyncClient]]

PATHS = ["/upstream/call", "/upstream/fanout"]


@pytest.fixture
def unanswered_connect() -> Iterator[int]:
    """A port whose accept queue is full: a new connection is never accepted, so connecting times out."""
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen(0)
        port: int = listener.getsockname()[1]
        fillers: list[socket.socket] = []
        try:
            while len(fillers) < 16:  # the kernel takes one or two into a queue of "0"
                filler = socket.socket()
                fillers.append(filler)
                filler.settimeout(0.2)
                try:
                    filler.connect(("127.0.0.1", port))
                except TimeoutError:
                    break
            yield port
        finally:
            for filler in fillers:
                filler.close()


@pytest.fixture
def trickling_server() -> Iterator[int]:
    """A port whose server answers 200 at once, then sends its JSON body one byte every 0.1 s (1.5 s in all)."""
    body = b'{"slow": "yes"}'

    def trickle(connection: socket.socket) -> None:
        with connection:
            try:
                connection.recv(65536)
                connection.sendall(b"HTTP/1.1 200 OK\r\ncontent-type: application/json\r\n")
                connection.sendall(f"content-length: {len(body)}\r\n\r\n".encode())
                for byte in body:
                    time.sleep(0.1)
                    connection.sendall(bytes([byte]))
            except OSError:  # the client gave up
                return

    with raw_server(trickle) as port:
        yield port


async def test_one_call_brings_its_answer(client: httpx.AsyncClient) -> None:
    response = await client.get("/upstream/call", params={"delay": 0.1})
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["result"] == {"name": "a", "delay": 0.1, "status": 200}
    assert 100 <= body["elapsed_ms"] < 1000


async def test_both_answers_come_back_in_order(client: httpx.AsyncClient) -> None:
    response = await client.get("/upstream/fanout")
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["results"] == [
        {"name": "a", "delay": 0.0, "status": 200},
        {"name": "b", "delay": 0.0, "status": 200},
    ]
    assert body["elapsed_ms"] >= 0


async def test_the_two_calls_overlap(client: httpx.AsyncClient) -> None:
    """Each call takes 0.3 s: in sequence that is 0.6 s, overlapped a little over 0.3 s."""
    started = time.perf_counter()
    response = await client.get("/upstream/fanout", params={"delay": 0.3})
    elapsed = time.perf_counter() - started
    assert response.status_code == 200, response.text
    assert 0.3 <= elapsed < 0.6
    assert 300 <= response.json()["elapsed_ms"] < 600


@pytest.mark.parametrize("path", PATHS)
async def test_past_the_deadline_is_504_not_a_hang(client_with: ClientWith, path: str) -> None:
    async with client_with(upstream_timeout=0.3) as client:
        started = time.perf_counter()
        response = await client.get(path, params={"delay": 5})
        elapsed = time.perf_counter() - started
    assert response.status_code == 504
    assert "0.3" in response.json()["detail"]
    assert elapsed < 1.5


@pytest.mark.parametrize("path", PATHS)
@pytest.mark.parametrize("status", [404, 500, 503])
async def test_an_upstream_error_is_502_with_its_status(client: httpx.AsyncClient, path: str, status: int) -> None:
    response = await client.get(path, params={"status": status})
    assert response.status_code == 502
    assert str(status) in response.json()["detail"]


@pytest.mark.parametrize("path", PATHS)
async def test_an_unreachable_upstream_is_502(client_with: ClientWith, path: str) -> None:
    async with client_with(upstream_base_url=f"http://127.0.0.1:{free_port()}") as client:
        started = time.perf_counter()
        response = await client.get(path)
    assert response.status_code == 502
    assert "upstream failed" in response.json()["detail"]
    assert time.perf_counter() - started < 1.5


@pytest.mark.parametrize("path", PATHS)
async def test_a_connect_timeout_is_504_like_any_timeout(
    client_with: ClientWith, unanswered_connect: int, path: str
) -> None:
    """The client's connect timeout fires before the deadline: too slow is a 504, whichever timeout saw it."""
    async with client_with(
        upstream_base_url=f"http://127.0.0.1:{unanswered_connect}", upstream_connect_timeout=0.2, upstream_timeout=1.0
    ) as client:
        started = time.perf_counter()
        response = await client.get(path)
        elapsed = time.perf_counter() - started
    assert response.status_code == 504, response.text
    detail = response.json()["detail"]
    assert detail.startswith("upstream did not answer within 1s (")
    assert "ConnectTimeout" in detail
    assert elapsed < 0.9


@pytest.mark.parametrize("path", PATHS)
async def test_a_trickling_answer_is_cut_at_the_deadline(
    client_with: ClientWith, trickling_server: int, path: str
) -> None:
    """Each byte comes well within the read timeout, but the whole answer takes 1.5 s: the deadline (0.5 s) wins."""
    async with client_with(upstream_base_url=f"http://127.0.0.1:{trickling_server}", upstream_timeout=0.5) as client:
        started = time.perf_counter()
        response = await client.get(path)
        elapsed = time.perf_counter() - started
    assert response.status_code == 504, response.text
    assert response.json()["detail"] == "upstream did not answer within 0.5s"
    assert elapsed < 1.2


@pytest.mark.parametrize("path", PATHS)
@pytest.mark.parametrize("shape", ["list", "number", "string", "null"])
async def test_an_answer_that_is_not_a_json_object_is_502(
    client_with: ClientWith, service_urls: dict[str, str], path: str, shape: str
) -> None:
    base_url = f"{service_urls['UPSTREAM_BASE_URL']}/not-an-object/{shape}"
    async with client_with(upstream_base_url=base_url) as client:
        response = await client.get(path)
    assert response.status_code == 502, response.text
    detail = response.json()["detail"]
    assert detail.startswith("upstream failed: /echo/")
    assert detail.endswith(" answered JSON that is not an object")


@pytest.mark.parametrize(
    "params",
    [{"delay": -1}, {"delay": 31}, {"delay": "soon"}, {"status": 199}, {"status": 600}, {"status": "ok"}],
)
@pytest.mark.parametrize("path", PATHS)
async def test_invalid_parameters_are_422(client: httpx.AsyncClient, path: str, params: dict[str, Any]) -> None:
    response = await client.get(path, params=params)
    assert response.status_code == 422
    assert response.json()["detail"][0]["loc"] == ["query", next(iter(params))]
