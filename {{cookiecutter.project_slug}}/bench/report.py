"""The table, the targets and the one-line summary of ratios."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

from . import project
from .placement import Placement
from .scenarios import PROBE_PATH, Comparison, LoopSafetyRow, Options

PROBE_FACTOR = 2.0  # probe p99 under load, at most this many times its idle p99
# The loads at which the probe target is judged. The sync stack's applies at N=16 only: at
# N=64 its 64 threads take the GIL in turn with the loop, and the figure is printed for
# information.
PROBE_TARGET_LOADS = {"async": (16, 64), "sync": (16,)}
EFFICIENCY_TARGET = {"async": 0.95, "sync": 0.90}  # at the highest load
DB_READ_TARGET = 1.25  # template req/s over naive req/s, item read
WATCHDOG_TARGET = 0.97  # watchdog on over watchdog off, req/s


@dataclass(frozen=True)
class Target:
    name: str
    value: float
    limit: float
    at_least: bool  # True: value >= limit passes; False: value <= limit passes
    shown: str
    rounds: Sequence[float] = ()  # the value in each round: the median is judged, the spread shown

    @property
    def line(self) -> str:
        verdict = "PASS" if self.passed else "FAIL"
        rounds = [value for value in self.rounds if not math.isnan(value)]
        spread = ""
        if len(rounds) > 1:
            spread = f" (rounds {_number(min(rounds), self.shown)} to {_number(max(rounds), self.shown)})"
        return f"{verdict}  {self.name}: {self.shown}{spread}"

    @property
    def passed(self) -> bool:
        if math.isnan(self.value):
            return False
        return self.value >= self.limit if self.at_least else self.value <= self.limit


def _number(value: float, like: str) -> str:
    """`value` written the way `like` is (the decimals and the unit of the target's own figure)."""
    decimals = len(like.rstrip("x").partition(".")[2])
    return f"{value:.{decimals}f}{'x' if like.endswith('x') else ''}"


def ms(value: float, lower_bound: bool = False) -> str:
    return f"{'>' if lower_bound else ''}{value:,.1f} ms"


def load_name(load: int) -> str:
    return f"N={load}" if load else "idle"


def _idle(rows: Sequence[LoopSafetyRow], app: str) -> LoopSafetyRow:
    return next(row for row in rows if row.app == app and row.load == 0)


def _table(header: Sequence[str], lines: Sequence[Sequence[str]], indent: str = "  ") -> list[str]:
    widths = [max(len(cell) for cell in column) for column in zip(header, *lines, strict=True)]

    def fmt(cells: Sequence[str]) -> str:
        first, *rest = cells
        right = "".join("  " + cell.rjust(width) for cell, width in zip(rest, widths[1:], strict=True))
        return (indent + first.ljust(widths[0]) + right).rstrip()

    return [fmt(header), *(fmt(line) for line in lines)]


def loop_safety_table(rows: Sequence[LoopSafetyRow]) -> list[str]:
    lines = []
    for row in rows:
        idle = _idle(rows, row.app)
        loaded = row.load > 0
        lines.append(
            [
                row.app,
                load_name(row.load),
                ms(row.probe_p50_ms, row.p50_bound),
                ms(row.probe_p99_ms, row.p99_bound),
                f"{'>' if row.p99_bound else ''}{row.probe_p99_ms / idle.probe_p99_ms:,.1f}x" if loaded else "",
                f"{row.slow_rps:,.1f}" if loaded else "",
                f"{row.efficiency:.2f}" if loaded else "",
            ]
        )
    header = ["app", "load", "probe p50", "probe p99", "p99/idle", "slow req/s", "efficiency"]
    return _table(header, lines)


def throughput_table(comparisons: Sequence[Comparison]) -> list[str]:
    lines = [
        [
            c.label,
            f"{Comparison.rps(c.a):,.0f}",
            ms(Comparison.p99(c.a)),
            f"{Comparison.rps(c.b):,.0f}",
            ms(Comparison.p99(c.b)),
            f"{c.ratio:.2f}x",
        ]
        for c in comparisons
    ]
    return _table(["endpoint", "template req/s", "p99", "naive req/s", "p99", "template/naive"], lines)


def watchdog_table(watchdog: Comparison) -> list[str]:
    lines = [
        [
            watchdog.label,
            f"{Comparison.rps(watchdog.a):,.0f}",
            ms(Comparison.p99(watchdog.a)),
            f"{Comparison.rps(watchdog.b):,.0f}",
            ms(Comparison.p99(watchdog.b)),
            f"{watchdog.ratio:.3f}x",
        ]
    ]
    return _table(["endpoint", "on req/s", "p99", "off req/s", "p99", "on/off"], lines)


def targets(
    rows: Sequence[LoopSafetyRow], comparisons: Sequence[Comparison], watchdog: Comparison, options: Options
) -> list[Target]:
    stack = project.STACK
    idle = _idle(rows, "template")
    template = {row.load: row for row in rows if row.app == "template" and row.load}
    found: list[Target] = []
    for load in (load for load in PROBE_TARGET_LOADS[stack] if load in template):
        factor = template[load].probe_p99_ms / idle.probe_p99_ms
        name = f"probe p99 at N={load} <= {PROBE_FACTOR:g}x idle"
        found.append(Target(name, factor, PROBE_FACTOR, False, f"{factor:.2f}x", template[load].round_p99_ratios))
    top = max(options.concurrency)
    efficiency = template[top].efficiency
    limit = EFFICIENCY_TARGET[stack]
    name = f"slow-endpoint efficiency at N={top} >= {limit:g}"
    found.append(Target(name, efficiency, limit, True, f"{efficiency:.2f}", template[top].round_efficiencies))
    for read in (c for c in comparisons if c.label.startswith("GET /items/")):
        name = f"DB read >= {DB_READ_TARGET:g}x the naive app"
        found.append(Target(name, read.ratio, DB_READ_TARGET, True, f"{read.ratio:.2f}x", read.round_ratios))
    name = f"watchdog on >= {WATCHDOG_TARGET:g}x watchdog off"
    found.append(Target(name, watchdog.ratio, WATCHDOG_TARGET, True, f"{watchdog.ratio:.3f}x", watchdog.round_ratios))
    return found


def summary(
    rows: Sequence[LoopSafetyRow], comparisons: Sequence[Comparison], watchdog: Comparison, found: Sequence[Target]
) -> str:
    idle = _idle(rows, "template")
    template = [row for row in rows if row.app == "template" and row.load]
    naive = {row.load: row for row in rows if row.app == "naive" and row.load}
    probe = " ".join(f"{r.probe_p99_ms / idle.probe_p99_ms:.2f}x@{r.load}" for r in template)
    efficiency = " ".join(f"{r.efficiency:.2f}@{r.load} (naive {naive[r.load].efficiency:.2f})" for r in template)
    parts = [
        f"probe p99 loaded/idle {probe}",
        f"slow efficiency {efficiency}",
        *(f"{c.label.split('?')[0]} {c.ratio:.2f}x naive" for c in comparisons),
        f"watchdog on/off {watchdog.ratio:.3f}x",
    ]
    passed = sum(target.passed for target in found)
    verdict = "PASS" if passed == len(found) else "FAIL"
    return f"summary ({project.STACK}): " + " | ".join(parts) + f" | targets {passed}/{len(found)} passed: {verdict}"


def render(
    rows: Sequence[LoopSafetyRow],
    comparisons: Sequence[Comparison],
    watchdog: Comparison,
    options: Options,
    found: Sequence[Target],
    shared_cpu: Placement | None = None,
) -> str:
    every = f"every {options.probe_interval * 1000:g} ms"
    out = ["", f"1. Loop safety: GET {PROBE_PATH} {every}, idle and while N requests wait in a slow endpoint"]
    out.append(f"   template: {project.SLOW_LABEL}")
    out.append(f"   naive:    {project.NAIVE_SLOW_LABEL}")
    out += loop_safety_table(rows)
    if shared_cpu is not None:
        tools = ",".join(map(str, sorted(shared_cpu.tools)))
        how = f"both at once, sharing CPU {min(shared_cpu.shared)} (load generators and services on CPU {tools})"
    else:
        how = "in alternating rounds"
    out += ["", f"2. Throughput: {options.connections} connections each, closed loop, template vs naive app, {how}"]
    out += throughput_table(comparisons)
    out += ["", f"3. Watchdog cost: the loop-lag monitor on vs off, {how}"]
    out += watchdog_table(watchdog)
    quick = "  [--quick: too short to judge them]" if options.quick else ""
    out += ["", f"Targets ({project.STACK} stack){quick}"]
    if any(len(target.rounds) > 1 for target in found):
        out += ["  (each figure is judged from the medians over the rounds; in brackets, the range of single rounds)"]
    out += [f"  {t.line}" for t in found]
    out += ["", summary(rows, comparisons, watchdog, found)]
    return "\n".join(out)
