"""The three measurements, each against fresh server processes.

Absolute numbers on a shared machine drift by a quarter from one moment to the next, so
every comparison is made inside one run, and the figures reported are medians over
rounds. On the async stack the two servers of a comparison are loaded at the same time,
sharing one CPU (`placement.py`: they then see the same machine at every instant); on the
sync stack, or where CPUs cannot be assigned, rounds alternate between them instead
(A B B A A B ...: a steady drift cancels out).
"""

from __future__ import annotations

import json
import statistics
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

from . import project
from .load import Group, LoadGenerator, Result
from .placement import Placement
from .server import Server, Spec, get, post_json, serve

PROBE_PATH = "/health/live"
SEED_ITEMS = 50


@dataclass(frozen=True)
class Options:
    duration: float = 2.0  # seconds measured per run
    rounds: int = 6  # rounds per figure (pairs of runs for a comparison)
    connections: int = 32  # closed-loop connections of the throughput runs
    concurrency: tuple[int, ...] = (16, 64)  # requests held in the slow endpoint
    probe_interval: float = 0.002  # one health probe every 2 ms
    quick: bool = False

    @property
    def watchdog_rounds(self) -> int:
        """The watchdog's cost is expected to be tiny: four times the pairs, of half-length runs,
        so that both runs of a pair see the same moment of a busy machine."""
        return 4 * self.rounds


@dataclass(frozen=True)
class AppUnderTest:
    label: str  # "template" or "naive"
    app: str
    factory: bool
    slow_path: str
    graceful: bool = True


TEMPLATE = AppUnderTest("template", project.TEMPLATE_APP, True, project.SLOW_PATH)
# The naive async app may leave its loop stuck for seconds: it is killed, not asked to stop.
NAIVE = AppUnderTest("naive", project.NAIVE_APP, False, project.NAIVE_SLOW_PATH, graceful=False)


@dataclass
class Context:
    options: Options
    env: dict[str, str]
    log_dir: Path
    load: LoadGenerator
    prober: LoadGenerator  # the health probe's own process
    placement: Placement | None = None  # None: comparisons alternate rounds instead
    item_id: int | None = None
    errors: list[str] = field(default_factory=list)

    @property
    def shared_cpu(self) -> Placement | None:
        """The placement when the servers of a comparison share a CPU; None when they alternate."""
        return self.placement if project.COMPARE_ON_SHARED_CPU else None

    def spec(self, app: AppUnderTest, name: str, **env: str) -> Spec:
        return Spec(name, app.app, {**self.env, **env}, factory=app.factory, graceful=app.graceful)

    @contextmanager
    def servers(self, *specs: Spec, shared_cpu: bool = False) -> Iterator[list[Server]]:
        """Fresh server processes, started at once (start-up is most of a server's cost here).

        `shared_cpu`: they are compared, so they share one CPU if the stack allows it; otherwise
        they may use every CPU (the bench's own tools keep to theirs).
        """
        with serve(*specs, log_dir=self.log_dir) as servers:
            if self.placement is not None:
                cpus = self.placement.shared if shared_cpu and self.shared_cpu else self.placement.every
                for server in servers:
                    self.placement.pin(server.pid, cpus)
            yield servers

    def measure(
        self, server: Server, load: Sequence[Group], probe: Group | None = None, duration: float | None = None
    ) -> dict[str, Result]:
        """One run: `load` from the load generator and, at the same time, `probe` from the prober."""
        duration = duration or self.options.duration
        if probe is not None:
            self.prober.start(server.port, [probe], duration=duration)
        results = self.load.measure(server.port, load, duration=duration) if load else {}
        if probe is not None:
            results.update(self.prober.results())
        for result in results.values():
            if result.errors:
                self.errors.append(f"{server.name} {result.name}: {result.errors} failed requests")
        return results


def median(values: Sequence[float]) -> float:
    return statistics.median(values) if values else float("nan")


# 1. Loop safety ------------------------------------------------------------------------


@dataclass
class LoopSafetyRow:
    app: str
    load: int  # requests held in the slow endpoint; 0: idle
    probe_p50_ms: float
    probe_p99_ms: float
    # Probes unanswered at the end of a window reach into the percentile: it is a lower bound.
    p50_bound: bool
    p99_bound: bool
    slow_rps: float = float("nan")
    # One value per round, to show how far the rounds spread: the probe's p99 over the idle
    # p99 of the same round, and the slow endpoint's efficiency.
    round_p99_ratios: list[float] = field(default_factory=list)
    round_efficiencies: list[float] = field(default_factory=list)

    @property
    def efficiency(self) -> float:
        """Slow-endpoint throughput as a fraction of the ideal: N requests every SLOW_DELAY seconds."""
        return efficiency(self.slow_rps, self.load)


def efficiency(slow_rps: float, load: int) -> float:
    return slow_rps / (load / project.SLOW_DELAY) if load else float("nan")


def _probe(options: Options) -> Group:
    return Group("probe", PROBE_PATH, interval=options.probe_interval)


def _loaded(ctx: Context, server: Server, app: AppUnderTest, n: int) -> tuple[Result, Result]:
    results = ctx.measure(server, [Group("slow", app.slow_path, connections=n)], probe=_probe(ctx.options))
    return results["probe"], results["slow"]


def _warm_up(ctx: Context, server: Server, paths: Sequence[str], connections: int = 4) -> None:
    """First requests pay for imports, FastAPI's one-time inspection and new pool connections."""
    groups = [Group(f"warm{index}", path, connections=connections) for index, path in enumerate(paths)]
    ctx.load.measure(server.port, groups, duration=0.5, ramp=0.0)


def _rows(
    app: str, load: int, probes: list[Result], slows: list[Result] | None = None, idle: list[Result] | None = None
) -> LoopSafetyRow:
    """One row from its rounds; `idle`: the idle probes of the same rounds, in the same order."""
    return LoopSafetyRow(
        app=app,
        load=load,
        probe_p50_ms=median([p.p50_ms for p in probes]),
        probe_p99_ms=median([p.p99_ms for p in probes]),
        p50_bound=any(p.lower_bound(0.50) for p in probes),
        p99_bound=any(p.lower_bound(0.99) for p in probes),
        slow_rps=median([s.rps for s in slows]) if slows else float("nan"),
        round_p99_ratios=[p.p99_ms / i.p99_ms for p, i in zip(probes, idle, strict=True) if i.p99_ms] if idle else [],
        round_efficiencies=[efficiency(s.rps, load) for s in slows or []],
    )


def loop_safety(ctx: Context) -> list[LoopSafetyRow]:
    """Health-probe latency alone and while N requests wait in a slow I/O endpoint.

    The template gets one server and interleaved rounds (idle, N1, N2, idle, ...). The naive
    app gets a fresh server per load and one round: after a run, a blocked loop still owes
    seconds to requests nobody waits for any more. (Those seconds are spent waiting, not
    computing, so the servers can all be started up front without disturbing each other.)
    """
    options = ctx.options
    idle: list[Result] = []
    loaded: dict[int, tuple[list[Result], list[Result]]] = {n: ([], []) for n in options.concurrency}
    naive_idle: list[Result] = []
    naive_rows: list[LoopSafetyRow] = []
    specs = [ctx.spec(TEMPLATE, "template-loop"), *(ctx.spec(NAIVE, f"naive-loop-{n}") for n in options.concurrency)]
    with ctx.servers(*specs) as (template, *naives):
        _warm_up(ctx, template, [PROBE_PATH, TEMPLATE.slow_path])
        for _ in range(options.rounds):
            idle.append(ctx.measure(template, [], probe=_probe(options))["probe"])
            for n in options.concurrency:
                probe, slow = _loaded(ctx, template, TEMPLATE, n)
                loaded[n][0].append(probe)
                loaded[n][1].append(slow)
        for n, naive in zip(options.concurrency, naives, strict=True):
            _warm_up(ctx, naive, [PROBE_PATH, NAIVE.slow_path], connections=1)
            naive_idle.append(ctx.measure(naive, [], probe=_probe(options))["probe"])
            probe, slow = _loaded(ctx, naive, NAIVE, n)
            naive_rows.append(_rows("naive", n, [probe], [slow]))
    return [
        _rows("template", 0, idle),
        *(_rows("template", n, *loaded[n], idle=idle) for n in options.concurrency),
        _rows("naive", 0, naive_idle),
        *naive_rows,
    ]


# 2. Throughput -------------------------------------------------------------------------


@dataclass
class Comparison:
    """The same endpoint measured on two servers, round by round (`compare`)."""

    label: str
    a: list[Result] = field(default_factory=list)
    b: list[Result] = field(default_factory=list)

    @property
    def round_ratios(self) -> list[float]:
        """A's req/s over B's in each round, the two measured at once or back to back."""
        return [a.rps / b.rps for a, b in zip(self.a, self.b, strict=True) if b.rps]

    @property
    def ratio(self) -> float:
        """The median of the rounds' ratios."""
        return median(self.round_ratios)

    @staticmethod
    def rps(results: list[Result]) -> float:
        return median([r.rps for r in results])

    @staticmethod
    def p99(results: list[Result]) -> float:
        return median([r.p99_ms for r in results])


def compare(
    ctx: Context, a: Server, b: Server, path: str, label: str, rounds: int, duration: float | None = None
) -> Comparison:
    """`path` on servers A and B, `rounds` times: both at once when they share a CPU, else in turn."""
    comparison = Comparison(label)
    group = [Group(label, path, connections=ctx.options.connections)]
    duration = duration or ctx.options.duration
    for index in range(rounds):
        if ctx.shared_cpu is not None:
            # One load generator each, swapped every round so that neither server keeps the faster one
            # (with an odd number of rounds, A has the first one once more).
            generators = (ctx.load, ctx.prober) if index % 2 == 0 else (ctx.prober, ctx.load)
            for server, generator in zip((a, b), generators, strict=True):
                generator.start(server.port, group, duration=duration)
            comparison.a.append(generators[0].results()[label])
            comparison.b.append(generators[1].results()[label])
        else:
            runs: list[tuple[Server, list[Result]]] = [(a, comparison.a), (b, comparison.b)]
            for server, results in runs if index % 2 == 0 else runs[::-1]:
                results.append(ctx.load.measure(server.port, group, duration=duration)[label])
    for server, results in ((a, comparison.a), (b, comparison.b)):
        if failed := sum(result.errors for result in results):
            ctx.errors.append(f"{server.name} {label}: {failed} failed requests")
    return comparison


def seed_items(server: Server) -> int:
    """Create SEED_ITEMS items through the API; return the id of one in the middle."""
    ids = []
    for index in range(SEED_ITEMS):
        body = {"name": f"bench-item-{index:03d}", "description": "seeded by make bench", "price_cents": 100 + index}
        status, answer = post_json(server.port, "/items", json.dumps(body).encode())
        if status != 201:
            raise RuntimeError(f"seeding POST /items answered {status}: {answer[:300]!r}")
        ids.append(int(json.loads(answer)["id"]))
    item_id = ids[len(ids) // 2]
    status, answer = get(server.port, f"/items/{item_id}")
    if status != 200:
        raise RuntimeError(f"GET /items/{item_id} answered {status} after seeding: {answer[:300]!r}")
    return item_id


def item_path(ctx: Context) -> str:
    assert ctx.item_id is not None, "items are seeded first"
    return f"/items/{ctx.item_id}"


LIST_PATH = "/items?limit=20&offset=0"


def throughput(ctx: Context) -> list[Comparison]:
    """req/s and p99 of the same endpoints on the template and on the naive app, side by side."""
    specs = ctx.spec(TEMPLATE, "template-throughput"), ctx.spec(NAIVE, "naive-throughput")
    with ctx.servers(*specs, shared_cpu=True) as servers:
        template, naive = servers
        endpoints = [("GET /health/live", PROBE_PATH)]
        if project.ITEMS:
            if ctx.item_id is None:
                ctx.item_id = seed_items(template)
            endpoints += [(f"GET /items/{ctx.item_id}", item_path(ctx)), ("GET /items?limit=20", LIST_PATH)]
        paths = [path for _, path in endpoints]
        _warm_up(ctx, template, paths, connections=8)
        _warm_up(ctx, naive, paths, connections=8)
        return [compare(ctx, template, naive, path, label, ctx.options.rounds) for label, path in endpoints]


# 3. Watchdog cost ----------------------------------------------------------------------


def watchdog_cost(ctx: Context) -> Comparison:
    """The same read with the loop-lag monitor on and off, in two otherwise identical servers."""
    path = item_path(ctx) if project.ITEMS else PROBE_PATH
    label = f"GET {path}"
    with ctx.servers(
        ctx.spec(TEMPLATE, "template-watchdog-on", WATCHDOG_ENABLED="true"),
        ctx.spec(TEMPLATE, "template-watchdog-off", WATCHDOG_ENABLED="false"),
        shared_cpu=True,
    ) as servers:
        on, off = servers
        _warm_up(ctx, on, [path], connections=8)
        _warm_up(ctx, off, [path], connections=8)
        return compare(ctx, on, off, path, label, ctx.options.watchdog_rounds, ctx.options.duration / 2)


def run_all(ctx: Context, progress: Callable[[str], None]) -> tuple[list[LoopSafetyRow], list[Comparison], Comparison]:
    progress("1/3 loop safety")
    loop_rows = loop_safety(ctx)
    progress("2/3 throughput")
    comparisons = throughput(ctx)
    progress("3/3 watchdog cost")
    watchdog = watchdog_cost(ctx)
    return loop_rows, comparisons, watchdog
