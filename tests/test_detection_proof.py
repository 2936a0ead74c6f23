"""Proof that a generated project's own test suite catches real event-loop bugs.

Each case injects one bug into an installed bake (both stacks, every component and the
examples on), runs the generated suite's relevant test files, and requires the run to
fail with a message that names the problem: the blocking guard ("Blocking call on the
event loop"), the forgotten-await check ("never awaited"), the sync stack's route rule
("must be a plain `def`"), the behavioural loop-lag test ("event loop was blocked") or the
hostile-input test, for a request budget taken away ("the request budget failed").
The same files must pass on the untouched bake, so a failure is the bug's doing and the
clean examples (run_blocking, the process pool) raise no false alarm.

The closing summary shows "blocking bugs caught: N/M" (tests/conftest.py).
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.bake import clean_env, inject, run_in, tail
from tests.conftest import BLOCKING_BUG

pytestmark = pytest.mark.slow

PACKAGE = "my_service"  # cookiecutter.json's default project name gives this package
RUN_TIMEOUT = 600

FUTURE = "from __future__ import annotations\n"
HOSTILE_INPUT = "tests/event_loop/test_hostile_input.py"
MIDDLEWARE_SLEEP = (
    "        token = request_id.set(rid)\n",
    "        time.sleep(0.01)\n        token = request_id.set(rid)\n",
)


def with_import(module: str) -> tuple[str, str]:
    """An edit that adds `import <module>` below the module's `from __future__` line."""
    return FUTURE, f"{FUTURE}\nimport {module}\n"


@dataclass(frozen=True)
class Bug:
    name: str
    stack: str
    file: str  # relative to the package
    edits: tuple[tuple[str, str], ...]  # (old, new), each `old` occurring exactly once
    run: tuple[str, ...]  # the generated suite's test files that must catch it
    expect: tuple[str, ...]  # every one of these must appear in the failing run's output
    new_module: tuple[str, str] | None = None  # (path relative to the package, source)


HELPER_MODULE = (
    "examples/report_cache.py",
    '"""A helper module that blocks: the kind of call that hides one level down."""\n\n'
    "from __future__ import annotations\n\n"
    "import time\n"
    "from pathlib import Path\n\n\n"
    "def load_report_defaults() -> int:\n"
    "    time.sleep(0.02)  # a retry back-off, say\n"
    "    return len(Path(__file__).read_text())\n",
)

BUGS = (
    Bug(
        "time.sleep in an async endpoint",
        "async",
        "examples/items.py",
        (
            with_import("time"),
            (
                "async def get_item(item_id: ItemId, db: DatabaseDep) -> Item:\n",
                "async def get_item(item_id: ItemId, db: DatabaseDep) -> Item:\n    time.sleep(0.05)\n",
            ),
        ),
        ("tests/examples/test_items.py",),
        ("Blocking call on the event loop", "time.sleep", "examples/items.py", "in get_item"),
    ),
    Bug(
        "sync file read in an async endpoint",
        "async",
        "examples/files.py",
        (
            (
                "async def list_files(storage: StorageDep) -> FileList:\n",
                "async def list_files(storage: StorageDep) -> FileList:\n"
                "    with open(__file__, 'rb') as source:\n"
                "        source.read()\n",
            ),
        ),
        ("tests/examples/test_files.py",),
        ("Blocking call on the event loop", "io.BufferedReader.read", "in list_files"),
    ),
    Bug(
        "blocking helper in another module",
        "async",
        "examples/offload.py",
        (
            (FUTURE, f"{FUTURE}\nfrom .report_cache import load_report_defaults\n"),
            (
                "    report = await run_blocking(fetch_report, report_id)\n",
                "    load_report_defaults()\n    report = await run_blocking(fetch_report, report_id)\n",
            ),
        ),
        ("tests/examples/test_offload.py",),
        ("Blocking call on the event loop", "time.sleep", "report_cache.py", "in load_report_defaults"),
        new_module=HELPER_MODULE,
    ),
    Bug(
        "blocking call in a dependency",
        "async",
        "dependencies.py",
        (
            with_import("time"),
            (
                "    settings: Settings = request.state.settings\n",
                "    settings: Settings = request.state.settings\n    time.sleep(0.01)\n",
            ),
        ),
        ("tests/examples/test_upstream.py",),
        ("Blocking call on the event loop", "time.sleep", "dependencies.py", "in get_settings_from_app"),
    ),
    Bug(
        "blocking call in middleware",
        "async",
        "middleware.py",
        (
            with_import("time"),
            MIDDLEWARE_SLEEP,
        ),
        ("tests/test_health.py",),
        ("Blocking call on the event loop", "time.sleep", "middleware.py"),
    ),
    Bug(
        "file read in the lifespan",
        "async",
        "app.py",
        (
            with_import("pathlib"),
            (
                "    configure_threadpool(settings.threadpool_tokens)\n",
                "    configure_threadpool(settings.threadpool_tokens)\n    pathlib.Path(__file__).read_text()\n",
            ),
        ),
        ("tests/event_loop/test_lifespan.py",),
        ("Blocking call on the event loop", "io.TextIOWrapper.read", "in lifespan"),
    ),
    Bug(
        "blocking call whose error the app swallows",
        "async",
        "examples/upstream.py",
        (
            (
                "        results = await call_concurrently(client, delay, status_code)\n",
                "        results = await call_concurrently(client, delay, status_code)\n"
                "    try:\n"
                "        time.sleep(0.05)\n"
                "    except Exception:\n"
                "        pass\n",
            ),
        ),
        ("tests/examples/test_upstream.py",),
        ("Blocking call on the event loop", "time.sleep", "examples/upstream.py", "in fanout"),
    ),
    Bug(
        "CPU-bound loop on the event loop",
        "async",
        "examples/offload.py",
        (
            (
                "    report = await run_blocking(fetch_report, report_id)\n",
                "    checksum, started = 0, time.perf_counter()\n"
                "    while time.perf_counter() - started < 0.5:  # half a second of pure-Python work\n"
                "        checksum = (checksum * 31 + report_id) % 1_000_003\n"
                "    report = await run_blocking(fetch_report, report_id)\n",
            ),
        ),
        ("tests/event_loop/test_loop_lag.py",),
        ("the event loop was blocked for", "Keeping the event loop free"),
    ),
    Bug(
        "forgotten await",
        "async",
        "examples/files.py",
        (("        await storage.delete(name)\n", "        storage.delete(name)\n"),),
        ("tests/examples/test_files.py",),
        ("never awaited", "delete"),
    ),
    Bug(
        "def endpoint turned async def, sync I/O left inside",
        "sync",
        "examples/items.py",
        (("\ndef get_item(", "\nasync def get_item("),),
        ("tests/event_loop/test_routes_are_def.py", "tests/examples/test_items.py"),
        ("must be a plain `def`", "endpoint get_item", "examples/items.py"),
    ),
    Bug(
        "blocking call in middleware",
        "sync",
        "middleware.py",
        (
            with_import("time"),
            MIDDLEWARE_SLEEP,
        ),
        ("tests/test_health.py",),
        ("Blocking call on the event loop", "time.sleep", "middleware.py"),
    ),
    Bug(
        "file read in the lifespan",
        "sync",
        "app.py",
        (
            with_import("pathlib"),
            (
                "    configure_threadpool(settings.threadpool_tokens)\n",
                "    configure_threadpool(settings.threadpool_tokens)\n    pathlib.Path(__file__).read_text()\n",
            ),
        ),
        ("tests/event_loop/test_lifespan.py",),
        ("Blocking call on the event loop", "io.TextIOWrapper.read", "in lifespan"),
    ),
    Bug(
        "forgotten await in an async readiness probe",
        "sync",
        "health.py",
        (("                await check()\n", "                check()\n"),),
        ("tests/test_health.py",),
        ("never awaited",),
    ),
    *(
        Bug(
            "request budget removed",
            stack,
            "app.py",
            (("    add_request_budget(app, settings)\n", ""),),
            (HOSTILE_INPUT,),
            ("the request budget failed", "200,000 unknown keys (3 MB)", "expected a json_invalid error"),
        )
        for stack in ("async", "sync")
    ),
    Bug(
        "every validation error listed in a 422",
        "async",
        "errors.py",
        (("error_json(error) for error in errors[:shown]", "error_json(error) for error in errors"),),
        (HOSTILE_INPUT,),
        ("the request budget failed", "more than MAX_VALIDATION_ERRORS"),
    ),
    Bug(
        "NaN and Infinity let through",
        "sync",
        "budget.py",
        (("    app.add_middleware(StrictJSONMiddleware)\n", ""),),
        (HOSTILE_INPUT,),
        ("the request budget failed", "the number NaN: expected a json_invalid error"),
    ),
)

CLEAN_RUNS = {
    stack: tuple(sorted({file for bug in BUGS if bug.stack == stack for file in bug.run}))
    for stack in ("async", "sync")
}


def pytest_args(*files: str) -> tuple[str, ...]:
    return ("uv", "run", "pytest", "-x", "-q", "-p", "no:cacheprovider", *files)


# Started once per bake and handed to every run through the suite's TEST_* variables: each
# run then skips starting PostgreSQL, the S3 API and the upstream stub (seconds each).
SERVICES_SCRIPT = f"""
import json, sys
from {PACKAGE}.embedded import embedded_services
with embedded_services(postgres=True, s3=True, upstream=True) as urls:
    print(json.dumps({{f"TEST_{{name}}": url for name, url in urls.items()}}), flush=True)
    sys.stdin.read()
"""


@pytest.fixture(scope="session")
def services() -> Iterator[Callable[[Path], dict[str, str]]]:
    """Factory: the TEST_* environment of `project`'s running services, started on first use."""
    running: dict[Path, tuple[subprocess.Popen[str], dict[str, str]]] = {}

    def get(project: Path) -> dict[str, str]:
        if project not in running:
            process = subprocess.Popen(
                ["uv", "run", "python", "-c", SERVICES_SCRIPT],
                cwd=project,
                env=clean_env(),
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                text=True,
                start_new_session=True,
            )
            assert process.stdout is not None
            line = "-"
            while line and not line.startswith('{"TEST_'):
                line = process.stdout.readline()
            assert line, f"the embedded services of {project} did not start"
            running[project] = process, json.loads(line)
        return running[project][1]

    yield get
    for process, _ in running.values():
        assert process.stdin is not None
        assert process.stdout is not None
        process.stdin.close()  # the script leaves `embedded_services`, which stops each service
        try:
            process.wait(60)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()
        process.stdout.close()


@contextlib.contextmanager
def injected(project: Path, bug: Bug) -> Iterator[None]:
    package = project / "src" / PACKAGE
    with contextlib.ExitStack() as stack:
        if bug.new_module is not None:
            module = package / bug.new_module[0]
            assert not module.exists(), module
            module.write_text(bug.new_module[1], encoding="utf-8")
            stack.callback(module.unlink)
        for old, new in bug.edits:
            stack.enter_context(inject(package / bug.file, old, new))
        yield


@pytest.mark.parametrize("stack", ["async", "sync"])
def test_the_untouched_bake_passes(
    stack: str, installed_bake: Callable[..., Path], services: Callable[[Path], dict[str, str]]
) -> None:
    """The same test files pass without the bugs: what fails below fails because of them."""
    project = installed_bake(stack=stack)
    result = run_in(project, *pytest_args(*CLEAN_RUNS[stack]), timeout=RUN_TIMEOUT, env=services(project))
    assert result.returncode == 0, f"the clean {stack} bake fails its own tests:\n{tail(result.stdout, 120)}"


@pytest.mark.parametrize("bug", BUGS, ids=[f"{bug.stack}: {bug.name}" for bug in BUGS])
def test_the_generated_suite_catches(
    bug: Bug,
    installed_bake: Callable[..., Path],
    services: Callable[[Path], dict[str, str]],
    record_property: Callable[[str, object], None],
) -> None:
    project = installed_bake(stack=bug.stack)
    with injected(project, bug):
        result = run_in(project, *pytest_args(*bug.run), timeout=RUN_TIMEOUT, env=services(project))
    missing = [text for text in bug.expect if text not in result.stdout]
    caught = result.returncode != 0 and not missing
    record_property(BLOCKING_BUG, f"{'caught' if caught else 'missed'}: {bug.stack}: {bug.name}")
    assert result.returncode != 0, f"the suite passed with the bug in place:\n{tail(result.stdout, 60)}"
    assert not missing, f"the failure does not name the problem ({missing} missing):\n{tail(result.stdout, 120)}"


def test_the_guard_switch_turns_the_guard_off(
    installed_bake: Callable[..., Path], services: Callable[[Path], dict[str, str]]
) -> None:
    """`LOOPSAFE_GUARD=0` is real: the `time.sleep` bug caught above goes through, and the run says so."""
    bug = next(bug for bug in BUGS if bug.name == "time.sleep in an async endpoint")
    project = installed_bake(stack=bug.stack)
    with injected(project, bug):
        env = {**services(project), "LOOPSAFE_GUARD": "0"}
        result = run_in(project, *pytest_args(*bug.run), timeout=RUN_TIMEOUT, env=env)
    assert result.returncode == 0, f"the run failed with the guard off:\n{tail(result.stdout, 60)}"
    assert "blocking guard off for the whole run (LOOPSAFE_GUARD=0)" in result.stdout, tail(result.stdout, 30)


def test_flake8_async_flags_a_sync_sdk_call(installed_bake: Callable[..., Path]) -> None:
    """Layer 2 (`make lint`): ASYNC200 names a boto3 call made inside an `async def`."""
    project = installed_bake(stack="async")
    package = project / "src" / PACKAGE
    call = "    report = await run_blocking(fetch_report, report_id)\n"
    with (
        inject(package / "examples/offload.py", FUTURE, f"{FUTURE}\nimport boto3\n"),
        inject(package / "examples/offload.py", call, f"    boto3.client('s3')\n{call}"),
    ):
        result = run_in(project, "uv", "run", "flake8", "src", timeout=RUN_TIMEOUT)
    assert result.returncode != 0, result.stdout
    assert "ASYNC200" in result.stdout, result.stdout
    assert "boto3" in result.stdout, result.stdout
    assert "examples/offload.py" in result.stdout, result.stdout


def test_the_static_switch_turns_the_static_checks_off(installed_bake: Callable[..., Path]) -> None:
    """`LOOPSAFE_STATIC_CHECKS=0` turns off ruff's ASYNC rules and flake8-async, as `make lint` and the
    pre-commit hooks run them (both use the same Makefile variables), and says so."""
    project = installed_bake(stack="async")
    call = "    report = await run_blocking(fetch_report, report_id)\n"
    with inject(project / "src" / PACKAGE / "examples/offload.py", call, f"    time.sleep(0.01)\n{call}"):
        results = {
            (target, switch): run_in(project, "make", "--no-print-directory", target, env=env, timeout=RUN_TIMEOUT)
            for target in ("pre-commit-ruff", "pre-commit-flake8-async")
            for switch, env in (("on", {}), ("off", {"LOOPSAFE_STATIC_CHECKS": "0"}))
        }
    for (target, switch), result in results.items():
        if switch == "on":
            assert result.returncode != 0, f"{target}: the bug went through:\n{tail(result.stdout)}"
            assert "time.sleep" in result.stdout, f"{target}:\n{tail(result.stdout)}"
        else:
            assert result.returncode == 0, f"{target} with the checks off:\n{tail(result.stdout)}"
    assert "static event-loop checks off (LOOPSAFE_STATIC_CHECKS=0)" in results["pre-commit-flake8-async", "off"].stdout
