"""Event-loop lag monitor: cheap enough to stay on in production.

A task sleeps for `interval` and measures how late it wakes up. On a free loop the
lateness is well under a millisecond; when something blocks the loop (a sync call, CPU
work, a C extension that holds the GIL) every task waits, this one included, and the
lateness is exactly how long the loop was stalled.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass

import anyio

logger = logging.getLogger(__name__)


@dataclass
class LoopLagReport:
    current_lag_ms: float
    worst_lag_ms: float
    stalls: int
    threshold_ms: float
    samples: int


class LoopLagMonitor:
    def __init__(self, interval: float, threshold: float) -> None:
        self.interval = interval
        self.threshold = threshold
        self.current_lag = 0.0
        self.worst_lag = 0.0
        self.stalls = 0
        self.samples = 0

    async def run(self) -> None:
        """Sample the loop lag until cancelled."""
        while True:
            started = time.perf_counter()
            await anyio.sleep(self.interval)
            self.record(time.perf_counter() - started - self.interval)

    def record(self, lag: float) -> None:
        lag = max(lag, 0.0)
        self.samples += 1
        self.current_lag = lag
        self.worst_lag = max(self.worst_lag, lag)
        if lag > self.threshold:
            self.stalls += 1
            logger.warning(
                "event loop stalled for %.0f ms (threshold %.0f ms): something blocked the loop; "
                "see README 'Keeping the event loop free'",
                lag * 1000,
                self.threshold * 1000,
            )

    def report(self) -> LoopLagReport:
        return LoopLagReport(
            current_lag_ms=round(self.current_lag * 1000, 3),
            worst_lag_ms=round(self.worst_lag * 1000, 3),
            stalls=self.stalls,
            threshold_ms=round(self.threshold * 1000, 3),
            samples=self.samples,
        )

    def reset(self) -> None:
        self.current_lag = self.worst_lag = 0.0
        self.stalls = self.samples = 0
