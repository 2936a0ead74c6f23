"""Example offloading: a blocking SDK call in a thread, CPU-bound work in a process.

Both would freeze the event loop if called directly from these `async def` endpoints:
the SDK call for its whole network wait, the prime count for every millisecond of its
computation. Offloaded, the loop only awaits the result and keeps serving other requests.
"""

from __future__ import annotations

import time
from dataclasses import asdict

from fastapi import APIRouter

from ..concurrency import run_blocking, run_in_process
from ..dependencies import ProcessPoolDep
from .cpu import count_primes
from .legacy_sdk import fetch_report
from .offload_models import PrimesRequest, PrimesResult, Report, ReportId

router = APIRouter(prefix="/offload", tags=["offload"])


@router.get("/report/{report_id}")
async def get_report(report_id: ReportId) -> Report:
    """A sync SDK call: it blocks, so it runs in a worker thread (`run_blocking`)."""
    report = await run_blocking(fetch_report, report_id)
    return Report(**asdict(report))


@router.post("/primes")
async def count_primes_below(body: PrimesRequest, pool: ProcessPoolDep) -> PrimesResult:
    """Pure-Python CPU work: it would hold the GIL in a thread, so it runs in a worker process."""
    started = time.perf_counter()
    count = await run_in_process(pool, count_primes, body.limit)
    return PrimesResult(limit=body.limit, count=count, elapsed_ms=round((time.perf_counter() - started) * 1000, 3))
