"""Example upstream calls: one call, and two at once, each under one deadline.

`GET /upstream/call` makes one call; `GET /upstream/fanout` makes two that overlap (a
task group), so it takes as long as the slowest call, not the sum. One deadline,
`upstream_timeout`, covers the whole operation: past it the calls are cancelled and the
client gets a 504, however the time was spent (connecting, waiting for a pooled
connection, reading); a call that hits one of the client's own timeouts first is a 504
too. The first call to fail cancels the other and the client gets a 502 that says why.
No outcome waits longer than the deadline.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import anyio
import httpx
from fastapi import APIRouter, HTTPException, status

from ..adapters.http_client import HttpClientDep
from ..dependencies import SettingsDep
from ..errors import RETRY_AFTER_SECONDS
from .upstream_models import FanoutResult, UpstreamDelay, UpstreamResult, UpstreamStatus

router = APIRouter(prefix="/upstream", tags=["upstream"])

NAMES = ("a", "b")
RETRY = {"retry-after": str(RETRY_AFTER_SECONDS)}


class UpstreamFailed(Exception):
    """A call failed; the message is the reason the client gets. `timed_out`: it was too slow (504, not 502)."""

    def __init__(self, reason: str, *, timed_out: bool = False) -> None:
        super().__init__(reason)
        self.timed_out = timed_out


async def call_upstream(client: httpx.AsyncClient, name: str, delay: float, status_code: int) -> dict[str, Any]:
    """One call to the upstream's `/echo/{name}`; its JSON object, or `UpstreamFailed` saying why not."""
    try:
        response = await client.get(f"/echo/{name}", params={"delay": delay, "status": status_code})
    except httpx.TimeoutException as exc:  # one of the client's own timeouts, before the overall deadline
        raise UpstreamFailed(f"/echo/{name}: {type(exc).__name__}", timed_out=True) from exc
    except httpx.HTTPError as exc:
        raise UpstreamFailed(f"/echo/{name}: {type(exc).__name__}: {exc}") from exc
    if response.status_code >= 400:
        raise UpstreamFailed(f"/echo/{name} answered {response.status_code}")
    try:
        answer = response.json()
    except ValueError:
        raise UpstreamFailed(f"/echo/{name} answered {response.status_code} without a JSON body") from None
    if not isinstance(answer, dict):  # the contract is an object: anything else is the upstream's fault (502)
        raise UpstreamFailed(f"/echo/{name} answered JSON that is not an object")
    return answer


async def call_concurrently(client: httpx.AsyncClient, delay: float, status_code: int) -> list[dict[str, Any]]:
    """Both calls at once; the first failure cancels the other and is raised as one `UpstreamFailed`.

    Each call catches its own failure and cancels its siblings, so no exception group ever
    reaches this function: `except*` would do the same, but on Python 3.11.0-3.11.3 an
    exception raised inside an `except*` block comes out wrapped in a new group.
    """
    results: dict[str, dict[str, Any]] = {}
    failures: list[UpstreamFailed] = []

    async with anyio.create_task_group() as tg:

        async def call(name: str) -> None:
            try:
                results[name] = await call_upstream(client, name, delay, status_code)
            except UpstreamFailed as exc:
                failures.append(exc)
                tg.cancel_scope.cancel()

        for name in NAMES:
            tg.start_soon(call, name)
    if failures:
        reason = "; ".join(str(exc) for exc in failures)
        raise UpstreamFailed(reason, timed_out=any(exc.timed_out for exc in failures))
    return [results[name] for name in NAMES]


@contextmanager
def within_deadline(deadline: float) -> Iterator[None]:
    """Bound the calls made inside by `deadline` seconds; turn a failure into a 504 or a 502 that says why."""
    try:
        with anyio.fail_after(deadline):
            yield
    except TimeoutError:
        detail = f"upstream did not answer within {deadline:g}s"
        raise HTTPException(status.HTTP_504_GATEWAY_TIMEOUT, detail, RETRY) from None
    except UpstreamFailed as exc:
        if exc.timed_out:
            detail = f"upstream did not answer within {deadline:g}s ({exc})"
            raise HTTPException(status.HTTP_504_GATEWAY_TIMEOUT, detail, RETRY) from None
        raise HTTPException(status.HTTP_502_BAD_GATEWAY, f"upstream failed: {exc}") from None


def elapsed_ms(started: float) -> float:
    return round((time.perf_counter() - started) * 1000, 3)


@router.get("/call")
async def call_once(
    client: HttpClientDep, settings: SettingsDep, delay: UpstreamDelay = 0.0, status_code: UpstreamStatus = 200
) -> UpstreamResult:
    """Call the upstream's `/echo/a` once, passing `delay` and `status` on."""
    started = time.perf_counter()
    with within_deadline(settings.upstream_timeout):
        result = await call_upstream(client, "a", delay, status_code)
    return UpstreamResult(result=result, elapsed_ms=elapsed_ms(started))


@router.get("/fanout")
async def fanout(
    client: HttpClientDep, settings: SettingsDep, delay: UpstreamDelay = 0.0, status_code: UpstreamStatus = 200
) -> FanoutResult:
    """Call the upstream's `/echo/a` and `/echo/b` concurrently, passing `delay` and `status` on."""
    started = time.perf_counter()
    with within_deadline(settings.upstream_timeout):
        results = await call_concurrently(client, delay, status_code)
    return FanoutResult(results=results, elapsed_ms=elapsed_ms(started))
