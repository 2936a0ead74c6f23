"""The blocking guard itself: it sees what it must, even when the app hides it, and nothing else.

These tests run their own `detect_blocking()` around one request, so they opt out of the
autouse guard (which would otherwise fail them for the blocking they provoke on purpose).
"""

from __future__ import annotations

import contextlib
import ssl
import time

import pytest
from blockbuster import BlockingError
from fastapi import Request

from {{ cookiecutter.package_name }}.app import create_app
from {{ cookiecutter.package_name }}.concurrency import run_blocking, run_in_process
from {{ cookiecutter.package_name }}.settings import Settings

from ..conftest import serve
from .guard import ALLOWED, allow_blocking_reason, detect_blocking, report

PROVOKES = pytest.mark.allow_blocking(reason="provokes blocking calls inside its own detect_blocking()")


@PROVOKES
async def test_a_blocking_call_the_app_swallows_is_still_recorded(settings: Settings) -> None:
    app = create_app(settings)

    @app.get("/swallowed")
    async def swallowed() -> dict[str, str]:
        with contextlib.suppress(Exception):  # what a broad `except Exception: pass` does
            time.sleep(0.01)  # noqa: ASYNC251  (the bug under test)
        return {"status": "ok"}

    async with serve(app) as client:
        with detect_blocking() as calls:
            response = await client.get("/swallowed")

    assert response.status_code == 200, "the app swallowed the error, as a real one might"
    assert [call.call for call in calls] == ["time.sleep"]
    assert calls[0].location.startswith("tests/event_loop/test_guard.py:")
    assert calls[0].location.endswith(" in swallowed")
    message = report(calls)
    assert "time.sleep" in message
    assert calls[0].location in message
    assert f"fix: {calls[0].fix}" in message
    assert "run_blocking" in message or "anyio.sleep" in message
    assert "allow_blocking" in message


@PROVOKES
async def test_loading_certificates_on_the_loop_is_recorded(settings: Settings) -> None:
    app = create_app(settings)

    @app.get("/tls")
    async def tls() -> dict[str, str]:
        ssl.create_default_context()
        return {"status": "ok"}

    async with serve(app) as client:
        with detect_blocking() as calls, pytest.raises(BlockingError, match=r"ssl\.create_default_context"):
            await client.get("/tls")

    assert [call.call for call in calls] == ["ssl.create_default_context"]
    assert "lifespan" in report(calls)


@PROVOKES
async def test_offloaded_work_is_not_reported(settings: Settings) -> None:
    app = create_app(settings)

    @app.get("/offloaded")
    async def offloaded(request: Request) -> dict[str, int]:
        await run_blocking(time.sleep, 0.01)
        context = await run_blocking(ssl.create_default_context)
        absolute = await run_in_process(request.state.process_pool, abs, -3)
        return {"abs": absolute, "verify_mode": int(context.verify_mode)}

    async with serve(app) as client:
        with detect_blocking() as calls:
            for _ in range(20):
                response = await client.get("/offloaded")
                assert response.status_code == 200

    assert calls == []


def test_allow_blocking_needs_a_reason(request: pytest.FixtureRequest) -> None:
    request.node.add_marker(pytest.mark.allow_blocking())
    with pytest.raises(pytest.fail.Exception, match="needs a reason"):
        allow_blocking_reason(request.node)


def test_every_allowance_says_why() -> None:
    for allowance in ALLOWED:
        assert len(allowance.reason) > 20, allowance
