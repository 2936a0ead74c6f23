"""Capacity of the sync stack, checked on the real app with its lifespan.

Every `def` endpoint holds one of the `threadpool_tokens` worker threads until it returns.
When slow requests hold them all, the health endpoints must still answer: `/health/live`
runs on the event loop, and the readiness checks run in their own lanes, not in the
threads the slow requests hold. Run on a small pool (4 tokens) kept full by requests
that wait on a gate, so "full" is a fact the test checks, not a timing guess.
"""

from __future__ import annotations

import threading
import time
from collections.abc import AsyncIterator

import anyio
import anyio.from_thread
import anyio.to_thread
import httpx
import pytest
from asgi_lifespan import LifespanManager
from fastapi import FastAPI

from {{ cookiecutter.package_name }}.app import create_app
from {{ cookiecutter.package_name }}.settings import Settings

TOKENS = 4
HOLD_LIMIT = 10.0  # seconds a held request waits at most, so a failing test cannot hang
HEALTH_BOUND = 1.0  # the health endpoints answer in milliseconds; this is a wide margin


class Gate:
    """A `def` endpoint that holds its worker thread until the gate opens.

    `full` is set (on the loop) once `TOKENS` requests are inside.
    """

    def __init__(self) -> None:
        self.inside = 0
        self.full = anyio.Event()
        self._lock = threading.Lock()
        self._opened = threading.Event()

    def hold(self) -> dict[str, str]:
        with self._lock:
            self.inside += 1
            inside = self.inside
        if inside == TOKENS:
            anyio.from_thread.run_sync(self.full.set)
        self._opened.wait(HOLD_LIMIT)
        return {"status": "released"}

    def open(self) -> None:
        self._opened.set()


@pytest.fixture
async def small_app(settings: Settings) -> AsyncIterator[tuple[httpx.AsyncClient, Gate]]:
    """The real app on `TOKENS` threads, plus a `def` route that holds a thread: `GET /test/hold`."""
    gate = Gate()
    app: FastAPI = create_app(settings.model_copy(update={"threadpool_tokens": TOKENS}))
    app.add_api_route("/test/hold", gate.hold, methods=["GET"])
    # The limiter belongs to the event loop, which the whole session shares: put its size back.
    limiter = anyio.to_thread.current_default_thread_limiter()
    tokens = limiter.total_tokens
    try:
        async with LifespanManager(app, startup_timeout=30) as manager:
            transport = httpx.ASGITransport(app=manager.app)
            async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as client:
                try:
                    yield client, gate
                finally:
                    gate.open()
    finally:
        limiter.total_tokens = tokens


async def timed_get(client: httpx.AsyncClient, url: str) -> tuple[httpx.Response, float]:
    started = time.perf_counter()
    response = await client.get(url)
    return response, time.perf_counter() - started


async def test_lifespan_applies_the_configured_token_count(small_app: tuple[httpx.AsyncClient, Gate]) -> None:
    assert anyio.to_thread.current_default_thread_limiter().total_tokens == TOKENS


async def test_health_answers_while_every_worker_thread_is_busy(small_app: tuple[httpx.AsyncClient, Gate]) -> None:
    client, gate = small_app
    async with anyio.create_task_group() as requests:
        for _ in range(2 * TOKENS):
            requests.start_soon(client.get, "/test/hold")
        try:
            with anyio.fail_after(5):
                await gate.full.wait()
            await anyio.sleep(0.2)  # time for a fifth request to get in, were there a fifth thread
            assert gate.inside == TOKENS, "every token is held and the other requests queue"

            live, live_seconds = await timed_get(client, "/health/live")
            ready, ready_seconds = await timed_get(client, "/health/ready")

            assert live.status_code == 200
            assert live_seconds < HEALTH_BOUND
            assert ready.status_code == 200, ready.text
            assert ready.json()["status"] == "ready"
            assert ready_seconds < HEALTH_BOUND
            assert gate.inside == TOKENS, "the slow requests were still holding every thread"
        finally:
            gate.open()
    assert gate.inside == 2 * TOKENS
