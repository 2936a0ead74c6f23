"""The upstream fan-out: two calls at once, one deadline, and a clear 502/504 instead of a hang."""

from __future__ import annotations

import time
from collections.abc import Callable
from contextlib import AbstractAsyncContextManager
from typing import Any

import httpx
import pytest

from {{ cookiecutter.package_name }}.embedded import free_port

ClientWith = Callable[..., AbstractAsyncContextManager[httpx.AsyncClient]]


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


async def test_past_the_deadline_is_504_not_a_hang(client_with: ClientWith) -> None:
    async with client_with(upstream_timeout=0.3) as client:
        started = time.perf_counter()
        response = await client.get("/upstream/fanout", params={"delay": 5})
        elapsed = time.perf_counter() - started
    assert response.status_code == 504
    assert "0.3" in response.json()["detail"]
    assert elapsed < 1.5


@pytest.mark.parametrize("status", [404, 500, 503])
async def test_an_upstream_error_is_502_with_its_status(client: httpx.AsyncClient, status: int) -> None:
    response = await client.get("/upstream/fanout", params={"status": status})
    assert response.status_code == 502
    assert str(status) in response.json()["detail"]


async def test_an_unreachable_upstream_is_502(client_with: ClientWith) -> None:
    async with client_with(upstream_base_url=f"http://127.0.0.1:{free_port()}") as client:
        started = time.perf_counter()
        response = await client.get("/upstream/fanout")
    assert response.status_code == 502
    assert "upstream failed" in response.json()["detail"]
    assert time.perf_counter() - started < 1.5


@pytest.mark.parametrize(
    "params",
    [{"delay": -1}, {"delay": 31}, {"delay": "soon"}, {"status": 199}, {"status": 600}, {"status": "ok"}],
)
async def test_invalid_parameters_are_422(client: httpx.AsyncClient, params: dict[str, Any]) -> None:
    response = await client.get("/upstream/fanout", params=params)
    assert response.status_code == 422
    assert response.json()["detail"][0]["loc"] == ["query", next(iter(params))]
