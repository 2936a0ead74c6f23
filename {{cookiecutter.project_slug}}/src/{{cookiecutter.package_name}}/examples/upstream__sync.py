"""Example upstream calls: one call, and two at once, each under one deadline.

The endpoints are plain `def`s, so each runs in a worker thread. Both make their calls
on the adapter's fan-out pool (`http.submit`) and wait for the futures with one deadline,
`upstream_timeout`, covering the whole operation: `GET /upstream/call` makes one call,
`GET /upstream/fanout` two at once, so it takes as long as the slowest call, not the sum.
Past the deadline the endpoint answers 504, however the time was spent (connecting,
waiting for a pooled connection, reading a slow trickle of bytes: the client's timeouts
bound each step, not their sum); a call that hits one of the client's own timeouts
first is a 504 too. The first call to fail ends the wait and the client gets a 502 that
says why. No outcome waits longer than the deadline. Status and detail match the async
stack's for every outcome.

A thread cannot be cancelled: a call the endpoint stopped waiting for runs on until the
client's own timeouts end it (about `upstream_timeout` more per read), keeping its
fan-out thread and connection until then, and its answer is dropped. While the upstream
is slow, new calls may queue behind such stragglers; the deadline still bounds every wait.
"""

from __future__ import annotations

import time
from collections.abc import Iterator, Sequence
from concurrent.futures import FIRST_EXCEPTION, wait
from contextlib import contextmanager
from typing import Any

import httpx
from fastapi import APIRouter, HTTPException, status

from ..adapters.http_client import HttpClient, HttpClientDep
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


def call_upstream(client: httpx.Client, name: str, delay: float, status_code: int) -> dict[str, Any]:
    """One call to the upstream's `/echo/{name}`; its JSON object, or `UpstreamFailed` saying why not."""
    try:
        response = client.get(f"/echo/{name}", params={"delay": delay, "status": status_code})
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


def call_all(
    http: HttpClient, names: Sequence[str], delay: float, status_code: int, timeout: float
) -> list[dict[str, Any]]:
    """Call each of `names` at once; their answers in order, `UpstreamFailed`, or `TimeoutError` past `timeout`."""
    futures = [http.submit(call_upstream, http.client, name, delay, status_code) for name in names]
    done, pending = wait(futures, timeout=timeout, return_when=FIRST_EXCEPTION)
    for future in pending:
        future.cancel()  # stops it only if it has not started; a running call ends on its own
    failures: list[UpstreamFailed] = []
    for future in futures:
        if future in done and (error := future.exception()) is not None:
            if not isinstance(error, UpstreamFailed):
                raise error  # a bug, not the upstream's fault: a 500 with its traceback in the log
            failures.append(error)
    if failures:
        reason = "; ".join(str(exc) for exc in failures)
        raise UpstreamFailed(reason, timed_out=any(exc.timed_out for exc in failures))
    if pending:
        raise TimeoutError
    return [future.result() for future in futures]


@contextmanager
def answer_errors(deadline: float) -> Iterator[None]:
    """Turn a call that took too long into a 504, and a failed one into a 502 that says why."""
    try:
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
def call_once(
    http: HttpClientDep, settings: SettingsDep, delay: UpstreamDelay = 0.0, status_code: UpstreamStatus = 200
) -> UpstreamResult:
    """Call the upstream's `/echo/a` once, passing `delay` and `status` on."""
    started = time.perf_counter()
    with answer_errors(settings.upstream_timeout):
        [result] = call_all(http, ("a",), delay, status_code, settings.upstream_timeout)
    return UpstreamResult(result=result, elapsed_ms=elapsed_ms(started))


@router.get("/fanout")
def fanout(
    http: HttpClientDep, settings: SettingsDep, delay: UpstreamDelay = 0.0, status_code: UpstreamStatus = 200
) -> FanoutResult:
    """Call the upstream's `/echo/a` and `/echo/b` concurrently, passing `delay` and `status` on."""
    started = time.perf_counter()
    with answer_errors(settings.upstream_timeout):
        results = call_all(http, NAMES, delay, status_code, settings.upstream_timeout)
    return FanoutResult(results=results, elapsed_ms=elapsed_ms(started))
