"""Example offloading, the sync way: a blocking SDK call in a `def` endpoint, CPU work in a process.

A `def` endpoint already runs in a worker thread, so the blocking SDK is simply called:
the thread waits, the event loop does not. CPU-bound work is different: pure Python holds
the GIL, so in a thread it would still slow every other thread and the loop itself. It
goes to the process pool; the worker thread waits for the result (`.result()`), holding
its threadpool token but no CPU while another process computes.
"""

from __future__ import annotations

import time
from dataclasses import asdict

from fastapi import APIRouter

from ..dependencies import ProcessPoolDep
from .cpu import count_primes
from .legacy_sdk import fetch_report
from .offload_models import PrimesRequest, PrimesResult, Report, ReportId

router = APIRouter(prefix="/offload", tags=["offload"])


@router.get("/report/{report_id}")
def get_report(report_id: ReportId) -> Report:
    """A sync SDK call: it blocks this worker thread, and only this one."""
    report = fetch_report(report_id)
    return Report(**asdict(report))


@router.post("/primes")
def count_primes_below(body: PrimesRequest, pool: ProcessPoolDep) -> PrimesResult:
    """Pure-Python CPU work: it would hold the GIL in a thread, so it runs in a worker process."""
    started = time.perf_counter()
    count = pool.submit(count_primes, body.limit).result()
    return PrimesResult(limit=body.limit, count=count, elapsed_ms=round((time.perf_counter() - started) * 1000, 3))
