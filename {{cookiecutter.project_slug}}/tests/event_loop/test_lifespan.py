"""The lifespan and the middleware, under the blocking guard.

The shared `client` fixture starts its app once per session, before any test's guard is
active, so its start-up and shutdown are never checked. This test starts and stops a
fresh app inside a test, with every component and the watchdog on, and sends requests
through every middleware: a blocking call in any of them fails it. The watchdog's threshold
is so low that every sample counts as a stall, so its warning is logged from the loop
too, as it would be on a loaded machine.
"""

from __future__ import annotations

from collections.abc import Callable
from contextlib import AbstractAsyncContextManager

import anyio
import httpx

ClientWith = Callable[..., AbstractAsyncContextManager[httpx.AsyncClient]]


async def test_startup_requests_and_shutdown_do_not_block_the_loop(client_with: ClientWith) -> None:
    async with client_with(watchdog_enabled=True, watchdog_interval=0.01, watchdog_threshold=1e-9) as client:
        live = await client.get("/health/live", headers={"x-request-id": "lifespan-under-guard"})
        ready = await client.get("/health/ready")
        await anyio.sleep(0.05)  # a few samples, each one logged as a stall
        loop = await client.get("/health/loop")

    assert live.status_code == 200
    assert live.headers["x-request-id"] == "lifespan-under-guard"
    assert ready.status_code == 200, ready.text
    assert ready.headers["x-request-id"]
    assert loop.json()["enabled"] is True
    assert loop.json()["stalls"] > 0
