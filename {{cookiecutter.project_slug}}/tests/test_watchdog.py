"""The production loop-lag watchdog: it measures a real stall, logs it, and /health/loop reports it."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from contextlib import AbstractAsyncContextManager

import anyio
import httpx
import pytest

from {{ cookiecutter.package_name }}.watchdog import LoopLagMonitor

BLOCKS_ON_PURPOSE = pytest.mark.allow_blocking(reason="blocks the loop with time.sleep to give the watchdog a stall")

ClientWith = Callable[..., AbstractAsyncContextManager[httpx.AsyncClient]]


async def sample(monitor: LoopLagMonitor, *, block: float = 0.0) -> None:
    """Run the monitor for a while around an optional `time.sleep(block)` on the loop."""
    async with anyio.create_task_group() as tg:
        tg.start_soon(monitor.run)
        await anyio.sleep(0.1)
        if block:
            time.sleep(block)  # noqa: ASYNC251  (the stall under test)
        await anyio.sleep(0.1)
        tg.cancel_scope.cancel()


@BLOCKS_ON_PURPOSE
async def test_a_blocked_loop_is_measured_and_logged(caplog: pytest.LogCaptureFixture) -> None:
    monitor = LoopLagMonitor(interval=0.01, threshold=0.05)
    with caplog.at_level(logging.WARNING, logger=LoopLagMonitor.__module__):
        await sample(monitor, block=0.3)

    report = monitor.report()
    assert 250 <= report.worst_lag_ms < 2000, report
    assert report.stalls >= 1, report
    assert report.threshold_ms == 50.0
    assert report.samples >= 10, report
    stalls = [record.getMessage() for record in caplog.records if "event loop stalled" in record.getMessage()]
    assert len(stalls) == report.stalls, caplog.text
    assert all("threshold 50 ms" in stall for stall in stalls)
    assert max(int(stall.split("stalled for ")[1].split(" ms")[0]) for stall in stalls) >= 250


async def test_a_free_loop_shows_no_stall(caplog: pytest.LogCaptureFixture) -> None:
    monitor = LoopLagMonitor(interval=0.01, threshold=0.25)  # far above any scheduling hiccup
    with caplog.at_level(logging.WARNING, logger=LoopLagMonitor.__module__):
        await sample(monitor)

    report = monitor.report()
    assert report.stalls == 0, report
    assert report.worst_lag_ms < 250, report
    assert report.samples >= 10, report
    assert "event loop stalled" not in caplog.text


def test_reset_starts_a_new_window() -> None:
    monitor = LoopLagMonitor(interval=0.01, threshold=0.05)
    monitor.record(0.2)
    monitor.record(-0.001)  # a timer that fires a hair early is no lag
    assert (monitor.report().worst_lag_ms, monitor.report().current_lag_ms, monitor.report().stalls) == (200.0, 0.0, 1)
    monitor.reset()
    assert (monitor.report().worst_lag_ms, monitor.report().stalls, monitor.report().samples) == (0.0, 0, 0)


@BLOCKS_ON_PURPOSE
async def test_health_loop_reports_a_stall_when_enabled(client_with: ClientWith) -> None:
    async with client_with(watchdog_enabled=True, watchdog_interval=0.01, watchdog_threshold=0.05) as client:
        await anyio.sleep(0.1)
        time.sleep(0.3)  # noqa: ASYNC251  (the stall under test)
        await anyio.sleep(0.05)
        stalled = (await client.get("/health/loop")).json()
        ended = (await client.post("/health/loop/reset")).json()
        await anyio.sleep(0.1)
        fresh = (await client.get("/health/loop")).json()

    assert stalled["enabled"] is True
    assert stalled["worst_lag_ms"] >= 250, stalled
    assert stalled["stalls"] >= 1, stalled
    assert stalled["threshold_ms"] == 50.0
    assert ended["worst_lag_ms"] >= stalled["worst_lag_ms"], ended
    assert fresh["worst_lag_ms"] < 250, fresh  # the 300 ms stall belongs to the window that ended
    assert fresh["samples"] > 0, fresh


async def test_health_loop_says_when_disabled(client: httpx.AsyncClient) -> None:
    assert (await client.get("/health/loop")).json() == {"enabled": False}
    assert (await client.post("/health/loop/reset")).json() == {"enabled": False}
