"""Blocking guard: every test fails if our code blocked the event loop while it ran.

Layer 1 of the event-loop checks (README, "Keeping the event loop free"). For the
duration of each test, blockbuster replaces ~60 blocking functions (time.sleep, file
and socket I/O, os.*, sqlite3, contended thread locks) plus the TLS certificate loaders
below with wrappers that raise `BlockingError` when they are called on a thread that
runs an event loop *and* a frame of our package is on the stack. Work offloaded with
`run_blocking`, `def` endpoints and test code itself are not affected.

The application may swallow that error (a broad `except Exception`, a logging handler,
a retry loop), so the guard does not rely on it propagating: it records every
`BlockingError` created during the test and fails the test at teardown, listing each
blocking call, where our code made it, and how to fix it.

Switches:

* `LOOPSAFE_GUARD=0` in the environment turns the guard off for the whole run (switches.py).
* `@pytest.mark.allow_blocking(reason="...")` turns it off for one test.
* `ALLOWED` below lets one library function block, everywhere; each entry says why.
"""

from __future__ import annotations

import sys
import sysconfig
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from types import FrameType

import blockbuster.blockbuster as blockbuster_module
import pytest
from blockbuster import BlockBuster, BlockBusterFunction, BlockingError

import {{ cookiecutter.package_name }} as package

from .switches import GUARD, off_notices

SWITCH = GUARD.name


@dataclass(frozen=True)
class Allowance:
    """Let each of `calls` block when `function`, from a file ending in `file`, is on the stack."""

    calls: tuple[str, ...]
    file: str
    function: str
    reason: str


# Reviewed false positives. Each entry must say why the call cannot stall the loop.
ALLOWED: tuple[Allowance, ...] = (
    Allowance(
        calls=("os.stat",),
        file="fastapi/routing.py",
        function="_extract_endpoint_context",
        reason=(
            "On the first request to each endpoint FastAPI looks up its source file once (cached) to label "
            "errors: one stat of a local file, and FastAPI swallows any error there."
        ),
    ),
{%- if cookiecutter.stack == 'async' and cookiecutter.use_postgres == 'y' %}
    Allowance(
        calls=("os.stat", "os.path.abspath", "ssl.SSLContext.load_cert_chain", "ssl.SSLContext.load_verify_locations"),
        file="asyncpg/connect_utils.py",
        function="_parse_connect_dsn_and_args",
        reason=(
            "Each time asyncpg opens a connection (sslmode prefer or stricter) it looks for optional client "
            "certificates in ~/.postgresql: stats and opens of local files, which are missing unless you "
            "configured them. Pool connections are long-lived, so this happens at start-up and when the pool grows."
        ),
    ),
{%- endif %}
)

# Loading certificates reads and parses files (50-100 ms): blockbuster does not watch it.
TLS_CALLS = (
    "ssl.create_default_context",
    "ssl.SSLContext.load_default_certs",
    "ssl.SSLContext.set_default_verify_paths",
    "ssl.SSLContext.load_verify_locations",
    "ssl.SSLContext.load_cert_chain",
)

PACKAGE_DIR = Path(package.__path__[0]).resolve()
PROJECT_DIR = PACKAGE_DIR.parents[1]
TESTS_DIR = PROJECT_DIR / "tests"
STDLIB_DIR = Path(sysconfig.get_paths()["stdlib"])

# How to fix each kind of blocking call (the first matching prefix wins).
FIXES = (
{%- if cookiecutter.stack == 'sync' %}
    (
        "",
        "make the endpoint or dependency a plain `def` (FastAPI runs it in the threadpool); in the lifespan, "
        "middleware or an `async def` that must stay, `await run_blocking(func, *args)` ({package}.concurrency)",
    ),
{%- else %}
    ("time.sleep", "await anyio.sleep(seconds) (or asyncio.sleep)"),
    (
        "ssl.",
        "create TLS clients (httpx.AsyncClient, aioboto3 clients, SSL contexts) once, in the lifespan, "
        "through `await run_blocking(...)`, and reuse them",
    ),
    (
        "socket.",
        "the async client (httpx.AsyncClient, asyncpg, aioboto3) instead of a sync one (requests, urllib, "
        "psycopg, boto3), or `await run_blocking(sync_call, ...)` for a sync SDK",
    ),
    ("sqlite3.", "aiosqlite, or `await run_blocking(...)` around the sqlite3 calls"),
    ("threading.", "anyio.Lock / asyncio.Lock instead of a thread lock, or `await run_blocking(...)`"),
    (
        "",
        "aiofiles or anyio.Path for files, or `await run_blocking(func, *args)` ({package}.concurrency) "
        "for any other sync call",
    ),
{%- endif %}
)


@dataclass(frozen=True)
class BlockingCall:
    """One blocking call seen by the guard: what, where in our code, and through which library."""

    call: str
    location: str
    via: tuple[str, ...]
    callers: tuple[str, ...]

    @property
    def fix(self) -> str:
        for prefix, fix in FIXES:
            if self.call.startswith(prefix):
                return fix.format(package=package.__name__)
        raise AssertionError("unreachable: the last fix matches every call")


def _shown(filename: str) -> str:
    """A path short enough to read: relative to the project, site-packages or the stdlib."""
    path = Path(filename)
    if "site-packages" in path.parts:
        return "/".join(path.parts[path.parts.index("site-packages") + 1 :])
    if path.is_relative_to(STDLIB_DIR):
        return str(path.relative_to(STDLIB_DIR))
    if path.is_relative_to(PROJECT_DIR):
        return str(path.relative_to(PROJECT_DIR))
    return filename


def _where(frame: FrameType) -> str:
    return f"{_shown(frame.f_code.co_filename)}:{frame.f_lineno} in {frame.f_code.co_name}"


def _is_ours(frame: FrameType) -> bool:
    path = Path(frame.f_code.co_filename)
    return path.is_relative_to(PACKAGE_DIR) or path.is_relative_to(TESTS_DIR)


def describe(call: str, frame: FrameType | None) -> BlockingCall:
    """Locate a blocking call, starting from the frame of blockbuster's wrapper that caught it."""
    stack: list[FrameType] = []  # innermost first, without blockbuster's own frames
    while frame is not None:
        if frame.f_code.co_filename != blockbuster_module.__file__:
            stack.append(frame)
        frame = frame.f_back
    ours = [index for index, frame in enumerate(stack) if _is_ours(frame)]
    if not ours:
        return BlockingCall(call, _where(stack[0]) if stack else "?", (), ())
    innermost = ours[0]
    # The library function our code called, and the one that made the blocking call.
    via = tuple(dict.fromkeys(_where(stack[index]) for index in (innermost - 1, 0) if 0 <= index < innermost))
    callers = tuple(_where(stack[index]) for index in ours[1:4])
    return BlockingCall(call, _where(stack[innermost]), via, callers)


class Recorder:
    """Every blocking call blockbuster reports while it is active, swallowed or not."""

    def __init__(self) -> None:
        self.calls: list[BlockingCall] = []

    @contextmanager
    def recording(self) -> Iterator[list[BlockingCall]]:
        recorder = self

        class RecordedBlockingError(BlockingError):
            def __init__(self, func: str) -> None:
                super().__init__(func)
                recorder.calls.append(describe(func, sys._getframe(1)))

        # blockbuster raises its module's global `BlockingError`, looked up at raise time.
        with pytest.MonkeyPatch.context() as patch:
            patch.setattr(blockbuster_module, "BlockingError", RecordedBlockingError)
            yield self.calls


def build_blockbuster() -> BlockBuster:
    """Blockbuster watching our package, plus the TLS loaders, minus the ALLOWED entries."""
    blockbuster = BlockBuster(scanned_modules=[package])
    for name in TLS_CALLS:
        blockbuster.functions[name] = BlockBusterFunction(None, name, scanned_modules=[package])
    for allowance in ALLOWED:
        for call in allowance.calls:
            blockbuster.functions[call].can_block_in(allowance.file, allowance.function)
    return blockbuster


@contextmanager
def detect_blocking() -> Iterator[list[BlockingCall]]:
    """Watch for blocking calls in our code; yields the list they are recorded in."""
    blockbuster = build_blockbuster()
    with Recorder().recording() as calls:
        blockbuster.activate()
        try:
            yield calls
        finally:
            blockbuster.deactivate()


def report(calls: list[BlockingCall]) -> str:
    """The failure message: what blocked, where, how to fix it, how to allow it."""
    seen: dict[tuple[str, str], int] = {}
    first: dict[tuple[str, str], BlockingCall] = {}
    for call in calls:
        key = (call.call, call.location)
        seen[key] = seen.get(key, 0) + 1
        first.setdefault(key, call)
    lines = [f"Blocking call on the event loop: {len(calls)} blocking call(s) ran on the event loop during this test."]
    for number, (key, count) in enumerate(seen.items(), start=1):
        call = first[key]
        times = f" ({count} times)" if count > 1 else ""
        lines.append(f"  {number}. {call.call}{times}")
        lines.append(f"     at   {call.location}")
        lines += [f"     via  {frame}" for frame in call.via]
        lines += [f"     from {frame}" for frame in call.callers]
        lines.append(f"     fix: {call.fix}")
    lines += [
        "While a sync call runs on the loop, every other request of the process waits.",
        "The guard fails the test even if the application caught the BlockingError.",
        "To allow it deliberately: @pytest.mark.allow_blocking(reason=...) on the test, or a reviewed entry in",
        f"ALLOWED in tests/event_loop/guard.py; {SWITCH}=0 turns the guard off. "
        "See README, 'Keeping the event loop free'.",
    ]
    return "\n".join(lines)


SUMMARY = pytest.StashKey[list[str]]()
ALLOWED_TESTS = pytest.StashKey[dict[str, list[str]]]()


def add_summary_line(config: pytest.Config, line: str) -> None:
    """Show `line` in the "event loop" section at the end of the run."""
    config.stash.setdefault(SUMMARY, []).append(line)


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter, config: pytest.Config) -> None:
    lines = [*off_notices(), *config.stash.get(SUMMARY, [])]
    for reason, tests in config.stash.get(ALLOWED_TESTS, {}).items():
        lines.append(f"blocking allowed in {len(tests)} test(s), {reason!r}: {', '.join(tests)}")
    if lines:
        terminalreporter.section("event loop")
        for line in lines:
            terminalreporter.write_line(line)


def allow_blocking_reason(item: pytest.Item) -> str | None:
    """The reason given by `@pytest.mark.allow_blocking(reason=...)`; fails the test without one."""
    marker = item.get_closest_marker("allow_blocking")
    if marker is None:
        return None
    reason = marker.kwargs.get("reason", marker.args[0] if marker.args else "")
    if not isinstance(reason, str) or not reason.strip():
        pytest.fail('allow_blocking needs a reason: @pytest.mark.allow_blocking(reason="why this may block")')
    return reason


@pytest.fixture(autouse=True)
def blocking_guard(request: pytest.FixtureRequest) -> Iterator[None]:
    """Fail the test if our code blocked the event loop during it (see the module docstring)."""
    reason = allow_blocking_reason(request.node)
    if not GUARD.on or reason is not None:
        if reason is not None:
            request.config.stash.setdefault(ALLOWED_TESTS, {}).setdefault(reason, []).append(request.node.name)
        yield
        return
    with detect_blocking() as calls:
        yield
    if calls:
        pytest.fail(report(calls), pytrace=False)
