"""Offloading: a blocking SDK call in threads and CPU work in a process, while the loop keeps answering."""

from __future__ import annotations

import time

import anyio
import httpx
import pytest


async def test_a_report_comes_from_the_legacy_sdk(client: httpx.AsyncClient) -> None:
    response = await client.get("/offload/report/42")
    assert response.status_code == 200
    body = response.json()
    assert (body["report_id"], body["title"], body["rows"]) == (42, "Report 42", 43)
    assert len(body["checksum"]) == 64


async def test_blocking_sdk_calls_run_side_by_side(client: httpx.AsyncClient) -> None:
    """Ten 50 ms blocking calls: half a second in sequence, about one call's time when offloaded."""
    started = time.perf_counter()
    async with anyio.create_task_group() as tg:
        for report_id in range(1, 11):
            tg.start_soon(client.get, f"/offload/report/{report_id}")
    assert time.perf_counter() - started < 0.35


@pytest.mark.parametrize("report_id", ["0", "1000001", "abc"])
async def test_an_invalid_report_id_is_422(client: httpx.AsyncClient, report_id: str) -> None:
    response = await client.get(f"/offload/report/{report_id}")
    assert response.status_code == 422
    assert response.json()["detail"][0]["loc"] == ["path", "report_id"]


@pytest.mark.parametrize(("limit", "count"), [(1, 0), (2, 0), (3, 1), (10, 4), (100, 25), (100_000, 9592)])
async def test_primes_are_counted(client: httpx.AsyncClient, limit: int, count: int) -> None:
    response = await client.post("/offload/primes", json={"limit": limit})
    assert response.status_code == 200
    assert response.json()["count"] == count
    assert response.json()["limit"] == limit


async def test_the_loop_answers_while_primes_are_counted(client: httpx.AsyncClient) -> None:
    """About half a second of pure-Python work; meanwhile every health probe answers at once."""
    latencies: list[float] = []

    async def probe() -> None:
        await anyio.sleep(0.05)
        for _ in range(5):
            started = time.perf_counter()
            assert (await client.get("/health/live")).status_code == 200
            latencies.append(time.perf_counter() - started)
            await anyio.sleep(0.02)

    async with anyio.create_task_group() as tg:
        tg.start_soon(probe)
        response = await client.post("/offload/primes", json={"limit": 2_000_000})

    assert response.json()["count"] == 148_933
    assert response.json()["elapsed_ms"] > max(latencies) * 1000
    assert max(latencies) < 0.1, latencies


@pytest.mark.parametrize("body", [{"limit": 0}, {"limit": 2_000_001}, {"limit": "many"}, {}, {"limit": 5, "x": 1}])
async def test_an_invalid_primes_request_is_422(client: httpx.AsyncClient, body: dict[str, object]) -> None:
    response = await client.post("/offload/primes", json=body)
    assert response.status_code == 422
