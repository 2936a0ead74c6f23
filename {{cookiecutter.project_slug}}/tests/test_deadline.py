"""Every request ends within the request deadline when a dependency hangs, and service resumes.

A dependency that is down refuses connections, which every client notices at once; one that
hangs (a stopped process, a full disk, a lock) answers nothing, and only a deadline ends
the wait. Each case freezes one embedded service with SIGSTOP (PostgreSQL with every
backend process) while a few requests that need it are in flight against the app under
uvicorn (the real server: in-process ASGI would wait for a sync endpoint's thread), checks
that each of them gets a 503 or 504 that names it, with a Retry-After, within the deadline
plus a wide margin, then resumes the service with SIGCONT and waits for a normal answer.

The dependencies' own timeouts are set far above the deadline: the deadline alone must hold.
"""

from __future__ import annotations

import os
import signal
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager, suppress
from pathlib import Path
from typing import NamedTuple
from urllib.parse import urlsplit

import httpx
import pytest

from {{ cookiecutter.package_name }}.embedded import Child, running_children

from .conftest import SERVICES, make_settings
from .uvicorn_server import Server, serve

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(not Path("/proc/self/stat").exists(), reason="finds child processes in /proc"),
]

DEADLINE = 3.0
MARGIN = 4.0  # a loaded machine is slow; the hang this catches is 20 s and more
CONCURRENT = 4
RESUME_WITHIN = 30.0


class Case(NamedTuple):
    setting: str  # the service's URL setting (conftest.SERVICES)
    dependency: str  # how the app's answers name it
    path: str  # an endpoint that needs it


CASES = {
    "postgres": Case("DATABASE_URL", "PostgreSQL", "/items"),
    "s3": Case("S3_ENDPOINT_URL", "S3", "/objects"),
    "upstream": Case("UPSTREAM_BASE_URL", "upstream", "/upstream/call"),
}


@pytest.fixture(scope="module")
def server(service_urls: dict[str, str], tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    """The app under uvicorn in a child process, with the deadline far below every other timeout."""
    tmp_path = tmp_path_factory.mktemp("deadline")
    settings = make_settings(
        service_urls,
        tmp_path / "storage",
        request_deadline=DEADLINE,
        db_command_timeout=60.0,
        db_connect_timeout=30.0,
        upstream_timeout=60.0,
        upstream_connect_timeout=30.0,
        log_level="WARNING",
    )
    with serve(settings, tmp_path, "deadline") as server:
        yield server


def embedded_child(url: str) -> Child:
    port = urlsplit(url).port
    for child in running_children():
        if child.port == port:
            return child
    pytest.skip(f"{url} is not an embedded service of this test session: it cannot be frozen")


def process_tree(pid: int) -> list[int]:
    """`pid` and its descendants (PostgreSQL's backends are its children, each in its own session)."""
    parents: dict[int, list[int]] = {}
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text(encoding="utf-8").rpartition(")")[2].split()
        except OSError:
            continue  # gone meanwhile
        parents.setdefault(int(fields[1]), []).append(int(stat.parent.name))
    tree, todo = [], [pid]
    while todo:
        current = todo.pop()
        tree.append(current)
        todo += parents.get(current, [])
    return tree


@contextmanager
def frozen(child: Child) -> Iterator[None]:
    """SIGSTOP `child` and its descendants; SIGCONT them on exit, whatever happened."""
    pids = process_tree(child.process.pid)
    try:
        for pid in pids:
            os.kill(pid, signal.SIGSTOP)
        yield
    finally:
        for pid in pids:
            with suppress(ProcessLookupError):
                os.kill(pid, signal.SIGCONT)


class Outcome(NamedTuple):
    seconds: float
    status: int | None
    retry_after: str | None
    detail: str


def timed_get(url: str) -> Outcome:
    started = time.monotonic()
    try:
        response = httpx.get(url, timeout=DEADLINE + 60)
    except httpx.HTTPError as exc:
        return Outcome(time.monotonic() - started, None, None, f"{type(exc).__name__}: {exc}")
    return Outcome(time.monotonic() - started, response.status_code, response.headers.get("retry-after"), response.text)


def answer_ok(url: str, within: float) -> bool:
    """Whether `url` answers 200 within `within` seconds (asked again until then)."""
    give_up = time.monotonic() + within
    while time.monotonic() < give_up:
        try:
            if httpx.get(url, timeout=10).status_code == 200:
                return True
        except httpx.HTTPError:
            pass
        time.sleep(0.2)
    return False


@pytest.mark.parametrize("name", [name for name, case in CASES.items() if case.setting in SERVICES])
def test_a_frozen_dependency_fails_requests_within_the_deadline(
    name: str, server: Server, service_urls: dict[str, str]
) -> None:
    case = CASES[name]
    child = embedded_child(service_urls[case.setting])
    url = server.base_url + case.path
    assert answer_ok(url, RESUME_WITHIN), f"{url} did not answer 200 before the freeze"

    with frozen(child), ThreadPoolExecutor(CONCURRENT) as pool:
        outcomes = list(pool.map(timed_get, [url] * CONCURRENT))

    report = "\n".join(f"  {o.seconds:.2f}s {o.status} retry-after={o.retry_after} {o.detail[:200]}" for o in outcomes)
    for outcome in outcomes:
        assert outcome.status in (503, 504), f"{case.dependency} frozen, {case.path} answered:\n{report}"
        assert outcome.retry_after is not None, f"no Retry-After:\n{report}"
        assert case.dependency in outcome.detail, f"the answer does not name {case.dependency}:\n{report}"
        assert outcome.seconds < DEADLINE + MARGIN, f"past the deadline ({DEADLINE:g}s + {MARGIN:g}s):\n{report}"
    assert answer_ok(url, RESUME_WITHIN), f"{url} did not answer 200 within {RESUME_WITHIN:g}s of SIGCONT"
