"""`make bench` (`python -m bench [--quick]`): see the package docstring."""

from __future__ import annotations

import argparse
import dataclasses
import os
import signal
import sys
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path
from types import FrameType

from . import project
from .load import LoadGenerator
from .placement import Placement
from .report import render, targets
from .scenarios import Context, Options, run_all
from .server import HTTP, LOOP

QUICK = Options(duration=1.0, rounds=1, quick=True)


def parse_args(argv: Sequence[str] | None) -> tuple[Options, argparse.Namespace]:
    defaults = Options()
    parser = argparse.ArgumentParser(prog="python -m bench", description="Measure loop safety and throughput.")
    parser.add_argument("--quick", action="store_true", help="one short round of everything (a smoke test)")
    parser.add_argument("--duration", type=float, help=f"seconds per measurement (default {defaults.duration:g})")
    parser.add_argument("--rounds", type=int, help=f"rounds per comparison (default {defaults.rounds})")
    parser.add_argument("--connections", type=int, help=f"throughput connections (default {defaults.connections})")
    parser.add_argument("--strict", action="store_true", help="exit 1 when a target fails or a request failed")
    parser.add_argument("--time-limit", type=float, default=600, help="abort after this many seconds (default 600)")
    args = parser.parse_args(argv)
    options = QUICK if args.quick else defaults
    changes = {
        name: value
        for name, value in (("duration", args.duration), ("rounds", args.rounds), ("connections", args.connections))
        if value is not None
    }
    return dataclasses.replace(options, **changes), args


def abort_on_signals(time_limit: float) -> None:
    """Turn SIGTERM and the time limit into exceptions, so every server is stopped on the way out."""

    def terminate(signum: int, frame: FrameType | None) -> None:
        raise SystemExit(128 + signum)

    def too_long(signum: int, frame: FrameType | None) -> None:
        raise TimeoutError(f"the benchmark took more than {time_limit:g} s (--time-limit)")

    signal.signal(signal.SIGTERM, terminate)
    signal.signal(signal.SIGALRM, too_long)
    signal.setitimer(signal.ITIMER_REAL, time_limit)


def progress(message: str) -> None:
    print(f"[bench] {message}", file=sys.stderr, flush=True)


def main(argv: Sequence[str] | None = None) -> int:
    options, args = parse_args(argv)
    abort_on_signals(args.time_limit)
    started = time.monotonic()
    placement = Placement.detect()
    if placement is not None:
        placement.confine_tools()  # before anything starts: the services and generators inherit it
    print(
        f"make bench: {project.STACK} stack; uvicorn, 1 worker, --loop {LOOP} --http {HTTP}; "
        f"{os.cpu_count()} CPUs, load average {os.getloadavg()[0]:.1f} at start; "
        f"medians of {options.rounds} round(s) of {options.duration:g} s",
        flush=True,
    )
    with tempfile.TemporaryDirectory(prefix="bench-") as scratch:
        progress("starting the embedded services")
        with project.services(Path(scratch)) as env, LoadGenerator() as load, LoadGenerator() as prober:
            ctx = Context(options, env, Path(scratch), load, prober, placement)
            rows, comparisons, watchdog = run_all(ctx, progress)
    found = targets(rows, comparisons, watchdog, options)
    print(render(rows, comparisons, watchdog, options, found, ctx.shared_cpu), flush=True)
    progress(f"done in {time.monotonic() - started:.0f} s")
    if ctx.errors:
        # Under enough load a deadline may pass (a 504): worth knowing, and it skews the figures.
        print("requests that failed (the figures of those runs are suspect):", *ctx.errors, sep="\n  ", flush=True)
    passed = all(target.passed for target in found) and not ctx.errors
    return 1 if args.strict and not passed else 0


if __name__ == "__main__":
    sys.exit(main())
