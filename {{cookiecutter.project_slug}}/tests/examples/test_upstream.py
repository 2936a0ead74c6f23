"""Upstream calls, one and two at once: one deadline, and a clear 502/504 instead of a hang."""

from __future__ import annotations

import time
from collections.abc import Callable
from contextlib import AbstractAsyncContextManager
from typing import Any

import httpx
import pytest

from {{ cookiecutter.package_name }}.embedded import free_port

ClientWith = Callable[..., AbstractAsyncContextManager[httpx.AsyncClient]]

PATHS = ["/upstream/call", "/upstream/fanout"]


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


@pytest.mark.parametrize(
    "params",
    [{"delay": -1}, {"delay": 31}, {"delay": "soon"}, {"status": 199}, {"status": 600}, {"status": "ok"}],
)
@pytest.mark.parametrize("path", PATHS)
async def test_invalid_parameters_are_422(client: httpx.AsyncClient, path: str, params: dict[str, Any]) -> None:
    response = await client.get(path, params=params)
    assert response.status_code == 422
    assert response.json()["detail"][0]["loc"] == ["query", next(iter(params))]
