{%- set examples = cookiecutter.include_examples == 'y' -%}
{%- set sync = cookiecutter.stack == 'sync' -%}
"""The real server keeps its event loop free under load: the behavioural check.

The blocking guard sees only the calls blockbuster knows; this test sees the effect of
anything that holds the loop (a C extension, CPU work, a call through an unknown SDK).
It serves the app with uvicorn in a child process, as in production, with the watchdog
sampling every 20 ms, warms every endpoint up (first calls import modules and inspect
endpoints), then keeps many slow requests in flight against every endpoint while a probe
calls `/health/live` every 20 ms. A free loop answers each probe in milliseconds; one
blocking call or one CPU-bound handler shows up as a stall of its full duration, here
and in the watchdog's worst lag. A round over the limit is measured again: a blocking
call stalls the loop every time, a busy machine rarely twice in a row.
{%- if sync %}

The "saturated" run shrinks the threadpool to a few tokens, so `def` endpoints queue for
a worker thread: the probe (an `async def` on the loop) must still answer at once.
{%- endif %}

`LOOPSAFE_LOOP_LAG=0` skips this test (tests/event_loop/switches.py).
"""

from __future__ import annotations

import http.client
import statistics
import time
from collections import Counter
from collections.abc import Awaitable, Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import anyio
import anyio.to_thread
import httpx
import pytest

from {{ cookiecutter.package_name }}.embedded.process import HOST

from ..conftest import make_settings
from ..uvicorn_server import Server, serve
from .guard import add_summary_line
from .switches import LOOP_LAG

pytestmark = [pytest.mark.slow, LOOP_LAG.mark]

LOAD_SECONDS = 3.0
PROBE_EVERY = 0.02
PROBE_TIMEOUT = 5.0
UPLOAD = b"x" * (64 * 1024)  # what each file and object scenario uploads
# A free loop answers in a few milliseconds, a blocking call takes 100x+ longer. The margin
# is wide, and a round over the limit is measured again, so a busy machine is no failure.
MAX_PROBE_MS = 250.0
MAX_LAG_MS = 250.0
{%- if cookiecutter.use_http_client == 'y' and examples %}
SLOW_UPSTREAM = 0.3  # seconds the upstream stub takes to answer each fan-out call
SLOW_REQUESTS = 16  # fan-out requests kept in flight at once
{%- endif %}
{%- if sync and examples %}
SATURATED_TOKENS = 4
{%- endif %}


@pytest.fixture(params=[{% if sync and examples %}"default", "saturated"{% else %}"default"{% endif %}])
def server(request: pytest.FixtureRequest, service_urls: dict[str, str], tmp_path: Path) -> Iterator[Server]:
    """The app under uvicorn in a child process, the watchdog on (a sync fixture: it blocks)."""
    overrides: dict[str, Any] = {
        "watchdog_enabled": True,
        "watchdog_interval": 0.02,
        "watchdog_threshold": 0.1,
        "log_level": "WARNING",  # the log keeps what matters: the watchdog's stalls and errors
{%- if cookiecutter.use_http_client == 'y' %}
        "upstream_timeout": 10.0,  # a busy machine may slow the stub down; a stall is what is measured here
{%- endif %}
    }
{%- if sync and examples %}
    if request.param == "saturated":
        overrides["threadpool_tokens"] = SATURATED_TOKENS
{%- endif %}
    settings = make_settings(service_urls, tmp_path / "storage", **overrides)
    # Keep idle connections open: one the server closes just as the client reuses it is a ReadError.
    with serve(settings, tmp_path, request.param, "--timeout-keep-alive", "60") as server:
        yield server


@dataclass
class Load:
    """Sends the load and checks every answer: a load that fails fast would prove nothing."""

    client: httpx.AsyncClient
    answers: Counter[str] = field(default_factory=Counter)
    errors: list[str] = field(default_factory=list)

    async def call(self, expected: int, method: str, url: str, **kwargs: Any) -> httpx.Response | None:
        try:
            response = await self.client.request(method, url, **kwargs)
        except httpx.HTTPError as exc:
            self.errors.append(f"{method} {url} -> {type(exc).__name__}: {exc}")
            return None
        self.answers[f"{method} {url.split('?')[0].split('/')[1]}"] += 1
        if response.status_code != expected:
            self.errors.append(f"{method} {url} -> {response.status_code} (expected {expected}): {response.text[:300]}")
        return response


Scenario = Callable[[Load, str], Awaitable[None]]


async def readiness(load: Load, tag: str) -> None:
    await load.call(200, "GET", "/health/ready")
{%- if examples %}
{%- if cookiecutter.use_http_client == 'y' %}


async def slow_upstream(load: Load, tag: str) -> None:
    await load.call(200, "GET", f"/upstream/fanout?delay={SLOW_UPSTREAM}")
{%- endif %}


async def offload(load: Load, tag: str) -> None:
    await load.call(200, "GET", f"/offload/report/{len(tag)}")
    await load.call(200, "POST", "/offload/primes", json={"limit": 20_000})
{%- if cookiecutter.use_postgres == 'y' %}


async def items(load: Load, tag: str) -> None:
    created = await load.call(201, "POST", "/items", json={"name": f"lag-{tag}", "price_cents": 100})
    if created is not None and created.status_code == 201:
        item_id = created.json()["id"]
        await load.call(200, "GET", f"/items/{item_id}")
        await load.call(200, "PATCH", f"/items/{item_id}", json={"price_cents": 200})
        await load.call(200, "GET", "/items?limit=5")
        await load.call(204, "DELETE", f"/items/{item_id}")
{%- endif %}
{%- if cookiecutter.use_local_files == 'y' %}


async def files(load: Load, tag: str) -> None:
    name = f"lag-{tag}.bin"
    await load.call(201, "PUT", f"/files/{name}", files={"file": (name, UPLOAD)})
    await load.call(200, "GET", f"/files/{name}")
    await load.call(200, "GET", "/files")
    await load.call(204, "DELETE", f"/files/{name}")
{%- endif %}
{%- if cookiecutter.use_s3 == 'y' %}


async def objects(load: Load, tag: str) -> None:
    key = f"lag/{tag}.bin"
    await load.call(201, "PUT", f"/objects/{key}", files={"file": ("blob", UPLOAD)})
    await load.call(200, "GET", f"/objects/{key}")
    await load.call(200, "GET", f"/objects/{key}/url")
    await load.call(200, "GET", "/objects?prefix=lag/")
    await load.call(204, "DELETE", f"/objects/{key}")
{%- endif %}
{%- endif %}


# Each scenario, and how many copies of it run concurrently during the load.
{%- if examples %}
SCENARIOS: tuple[tuple[Scenario, int], ...] = (
{%- if cookiecutter.use_http_client == 'y' %}
    (slow_upstream, SLOW_REQUESTS),
{%- endif %}
    (offload, {% if cookiecutter.use_http_client == 'y' %}2{% else %}12{% endif %}),
{%- if cookiecutter.use_postgres == 'y' %}
    (items, 3),
{%- endif %}
{%- if cookiecutter.use_local_files == 'y' %}
    (files, 2),
{%- endif %}
{%- if cookiecutter.use_s3 == 'y' %}
    (objects, 2),
{%- endif %}
    (readiness, 1),
)
{%- else %}
SCENARIOS: tuple[tuple[Scenario, int], ...] = ((readiness, 8),)
{%- endif %}


async def keep_busy(scenario: Scenario, load: Load, worker: int, deadline: float) -> None:
    round_ = 0
    while time.monotonic() < deadline:
        round_ += 1
        await scenario(load, f"{scenario.__name__}-{worker}-{round_}")


def probe(port: int, deadline: float, latencies: list[float]) -> None:
    """Time `GET /health/live` every PROBE_EVERY seconds until `deadline`.

    Runs in a thread of its own, over its own connection, so that the load this process
    generates never delays a probe: what it measures is the server. A probe that gets no
    answer within PROBE_TIMEOUT counts as that long.
    """
    while time.monotonic() < deadline:
        connection = http.client.HTTPConnection(HOST, port, timeout=PROBE_TIMEOUT)
        try:
            while time.monotonic() < deadline:
                started = time.perf_counter()
                connection.request("GET", "/health/live")
                response = connection.getresponse()
                response.read()
                latencies.append((time.perf_counter() - started) * 1000)
                assert response.status == 200, response.status
                time.sleep(PROBE_EVERY)
        except (OSError, http.client.HTTPException):
            latencies.append((time.perf_counter() - started) * 1000)
        finally:
            connection.close()


@dataclass
class Round:
    """One load round's figures."""

    label: str
    latencies: list[float]
    watchdog: dict[str, Any]
    load: Load
    elapsed: float

    @property
    def worst_probe(self) -> float:
        return max(self.latencies)

    @property
    def stalled(self) -> bool:
        return self.worst_probe >= MAX_PROBE_MS or self.watchdog["worst_lag_ms"] >= MAX_LAG_MS

    def __str__(self) -> str:
        p99 = self.worst_probe
        if len(self.latencies) >= 2:  # "inclusive": a p99 never above the largest sample
            p99 = statistics.quantiles(self.latencies, n=100, method="inclusive")[98]
        answers = ", ".join(f"{kind}: {count}" for kind, count in sorted(self.load.answers.items()))
        return (
            f"loop lag under load ({self.label}): watchdog worst {self.watchdog['worst_lag_ms']:.1f} ms over "
            f"{self.watchdog['samples']} samples; /health/live probe p50 {statistics.median(self.latencies):.1f} ms, "
            f"p99 {p99:.1f} ms, max {self.worst_probe:.1f} ms over {len(self.latencies)} probes; "
            f"{sum(self.load.answers.values())} requests in {self.elapsed:.1f} s ({answers})"
        )


async def load_round(server: Server, client: httpx.AsyncClient, label: str) -> Round:
    """Reset the watchdog, keep every scenario busy for LOAD_SECONDS while probing, read the watchdog."""
    (await client.post("/health/loop/reset")).raise_for_status()
    load = Load(client)
    latencies: list[float] = []
    deadline = time.monotonic() + LOAD_SECONDS
    started = time.perf_counter()
    async with anyio.create_task_group() as tg:
        tg.start_soon(anyio.to_thread.run_sync, probe, server.port, deadline, latencies)
        for scenario, copies in SCENARIOS:
            for worker in range(copies):
                tg.start_soon(keep_busy, scenario, load, worker, deadline)
    elapsed = time.perf_counter() - started
    watchdog = (await client.get("/health/loop")).json()
    return Round(label, latencies, watchdog, load, elapsed)


async def test_the_event_loop_stays_free_under_load(server: Server, request: pytest.FixtureRequest) -> None:
    limits = httpx.Limits(max_connections=200, max_keepalive_connections=200)
    async with httpx.AsyncClient(base_url=server.base_url, timeout=60, limits=limits) as client:
        warm_up = Load(client)
        for scenario, _ in SCENARIOS:  # first calls import modules and inspect endpoints
            await scenario(warm_up, f"warm-up-{scenario.__name__}")
        assert not warm_up.errors, "warm-up requests failed:\n" + "\n".join(warm_up.errors)
        result = await load_round(server, client, server.label)
        if result.stalled:
            # A blocking call stalls the loop every time; a busy machine rarely does twice in a row.
            add_summary_line(request.config, f"{result} -> over the limit, measuring again")
            result = await load_round(server, client, f"{server.label}, second round")

    print(result)
    add_summary_line(request.config, str(result))
    log = "\n".join((await anyio.Path(server.log).read_text()).splitlines()[-60:])
    busy = "; ".join(f"{copies} x {scenario.__name__}" for scenario, copies in SCENARIOS)
    advice = (
        "a blocking call or CPU-bound work runs on the event loop; see README 'Keeping the event loop free'. "
        f"{len(result.load.errors)} requests failed meanwhile. Server log (the watchdog logs each stall):\n{log}"
    )
    # The stall first: when the loop is blocked, failed requests (timeouts) are only its consequence.
    assert result.worst_probe < MAX_PROBE_MS, (
        f"the event loop was blocked for {result.worst_probe:.0f} ms (a /health/live probe took that long, limit "
        f"{MAX_PROBE_MS:.0f} ms) while these requests were in flight: {busy}: {advice}"
    )
    assert result.watchdog["worst_lag_ms"] < MAX_LAG_MS, (
        f"the event loop was blocked for {result.watchdog['worst_lag_ms']:.0f} ms (the watchdog's worst lag, "
        f"limit {MAX_LAG_MS:.0f} ms) while these requests were in flight: {busy}: {advice}"
    )
    errors = result.load.errors
    assert not errors, f"{len(errors)} requests failed under load:\n" + "\n".join(errors[:20]) + f"\nServer log:\n{log}"
    # The probe ran through the round, so the pass means something: ~100 probes on a free
    # machine, fewer (each still fast) on a loaded one.
    assert len(result.latencies) >= LOAD_SECONDS / PROBE_EVERY / 10, f"only {len(result.latencies)} probes: {result}"
