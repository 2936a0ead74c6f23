"""Example upstream calls: one call, and two at once, each under one deadline.

The endpoints are plain `def`s, so each runs in a worker thread. `GET /upstream/call`
makes its one call in that thread, bounded by the client's timeouts (which equal the
deadline). `GET /upstream/fanout` runs its two calls on the adapter's fan-out pool
(`http.submit`), so it takes as long as the slowest call, not the sum. One deadline,
`upstream_timeout`, covers the whole operation: the endpoint waits for the futures until
then and answers 504 past it, however the time was spent (connecting, waiting for a
pooled connection, reading). The first call to fail ends the wait and the client gets a
502 that says why. No outcome waits longer than the deadline.

A thread cannot be cancelled: a call the endpoint stopped waiting for runs on until the
client's own timeouts end it (about `upstream_timeout` more), keeping its fan-out thread
and connection until then, and its answer is dropped. While the upstream is slow, new
calls may queue behind such stragglers; the deadline still bounds every wait.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from concurrent.futures import FIRST_EXCEPTION, Future, wait
from contextlib import contextmanager
from typing import Any

import httpx
from fastapi import APIRouter, HTTPException, status

from ..adapters.http_client import HttpClient, HttpClientDep
from ..dependencies import SettingsDep
from .schemas import FanoutResult, UpstreamDelay, UpstreamResult, UpstreamStatus

router = APIRouter(prefix="/upstream", tags=["upstream"])

NAMES = ("a", "b")


class UpstreamFailed(Exception):
    """One call failed; its message is the reason the client gets."""


def call(client: httpx.Client, name: str, delay: float, status_code: int) -> Any:
    try:
        response = client.get(f"/echo/{name}", params={"delay": delay, "status": status_code})
    except (httpx.ReadTimeout, httpx.WriteTimeout, httpx.PoolTimeout) as exc:
        # These client timeouts equal the deadline: firing, they race the wait below. Same outcome: 504.
        raise TimeoutError from exc
    except httpx.HTTPError as exc:
        raise UpstreamFailed(f"/echo/{name}: {type(exc).__name__}: {exc}") from exc
    if response.status_code >= 400:
        raise UpstreamFailed(f"/echo/{name} answered {response.status_code}")
    try:
        return response.json()
    except ValueError:
        raise UpstreamFailed(f"/echo/{name} answered {response.status_code} without a JSON body") from None


def call_concurrently(http: HttpClient, delay: float, status_code: int, timeout: float) -> list[Any]:
    """Both calls at once; `UpstreamFailed` for the failed ones, `TimeoutError` past `timeout`."""
    futures: list[Future[Any]] = [http.submit(call, http.client, name, delay, status_code) for name in NAMES]
    done, pending = wait(futures, timeout=timeout, return_when=FIRST_EXCEPTION)
    for future in pending:
        future.cancel()  # stops it only if it has not started; a running call ends on its own
    failures: list[str] = []
    timed_out = bool(pending)
    for future in futures:
        if future in done and (error := future.exception()) is not None:
            if isinstance(error, TimeoutError):
                timed_out = True
            elif isinstance(error, UpstreamFailed):
                failures.append(str(error))
            else:
                raise error  # a bug, not the upstream's fault: a 500 with its traceback in the log
    if failures:
        raise UpstreamFailed("; ".join(failures))
    if timed_out:
        raise TimeoutError
    return [future.result() for future in futures]


@contextmanager
def answer_errors(deadline: float) -> Iterator[None]:
    """Turn a call that took too long into a 504, and a failed one into a 502 that says why."""
    try:
        yield
    except TimeoutError:
        raise HTTPException(status.HTTP_504_GATEWAY_TIMEOUT, f"upstream did not answer within {deadline:g}s") from None
    except UpstreamFailed as exc:
        raise HTTPException(status.HTTP_502_BAD_GATEWAY, f"upstream failed: {exc}") from None


def elapsed_ms(started: float) -> float:
    return round((time.perf_counter() - started) * 1000, 3)


@router.get("/call")
def call_once(
    http: HttpClientDep, settings: SettingsDep, delay: UpstreamDelay = 0.0, status_code: UpstreamStatus = 200
) -> UpstreamResult:
    """Call the upstream's `/echo/a` once, passing `delay` and `status` on."""
    started = time.perf_counter()
    with answer_errors(settings.upstream_timeout):
        result = call(http.client, "a", delay, status_code)
    return UpstreamResult(result=result, elapsed_ms=elapsed_ms(started))


@router.get("/fanout")
def fanout(
    http: HttpClientDep, settings: SettingsDep, delay: UpstreamDelay = 0.0, status_code: UpstreamStatus = 200
) -> FanoutResult:
    """Call the upstream's `/echo/a` and `/echo/b` concurrently, passing `delay` and `status` on."""
    started = time.perf_counter()
    with answer_errors(settings.upstream_timeout):
        results = call_concurrently(http, delay, status_code, settings.upstream_timeout)
    return FanoutResult(results=results, elapsed_ms=elapsed_ms(started))
