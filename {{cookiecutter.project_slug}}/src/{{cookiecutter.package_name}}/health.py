"""Health endpoints: liveness, readiness and the event-loop watchdog's report."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import asdict
from typing import Any

import anyio
from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse

from .concurrency import runs_on_loop

ReadinessCheck = Callable[[], Awaitable[None]]

router = APIRouter(prefix="/health", tags=["health"])


@router.get("/live")
@runs_on_loop
async def live() -> dict[str, str]:
    """The process is up and its event loop answers. Checks nothing else, on purpose."""
    return {"status": "ok"}


@router.get("/ready")
@runs_on_loop
async def ready(request: Request) -> JSONResponse:
    """Every configured dependency answers within `readiness_timeout` (checked concurrently).

    503 names each failing dependency, so a probe log says what to fix.
    """
    checks: dict[str, ReadinessCheck] = request.state.readiness_checks
    timeout: float = request.state.settings.readiness_timeout
    results: dict[str, str] = {}

    async def run(name: str, check: ReadinessCheck) -> None:
        try:
            with anyio.fail_after(timeout):
                await check()
        except TimeoutError:
            results[name] = f"no answer within {timeout:g}s"
        except Exception as exc:  # noqa: BLE001  # any failure means "not ready"; the reason is reported
            results[name] = f"{type(exc).__name__}: {exc}"[:300]
        else:
            results[name] = "ok"

    async with anyio.create_task_group() as tg:
        for name, check in checks.items():
            tg.start_soon(run, name, check)

    failing = sorted(name for name, result in results.items() if result != "ok")
    body: dict[str, Any] = {"status": "unavailable" if failing else "ready", "checks": results}
    if failing:
        body["failing"] = failing
    return JSONResponse(body, status_code=503 if failing else 200)


@router.get("/loop")
@runs_on_loop
async def loop(request: Request) -> dict[str, Any]:
    """Current and worst event-loop lag measured by the watchdog since start-up (or the last reset)."""
    monitor = request.state.watchdog
    if monitor is None:
        return {"enabled": False}
    return {"enabled": True, **asdict(monitor.report())}


@router.post("/loop/reset")
@runs_on_loop
async def reset_loop(request: Request) -> dict[str, Any]:
    """Start a new measurement window (after a warm-up, say); returns the window that ended."""
    report = await loop(request)
    if request.state.watchdog is not None:
        request.state.watchdog.reset()
    return report
