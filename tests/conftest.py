"""Shared fixtures, and a closing section with the timings the tests record (bake time,
each bake's lint and test time)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from tests.bake import assert_success, bake, run_in

TIMING = "timing"
BLOCKING_BUG = "blocking_bug"  # tests/test_detection_proof.py records "caught: ..." or "missed: ..."


def recorded(terminalreporter: pytest.TerminalReporter, key: str, *, last: bool = False) -> list[str]:
    """The `key` properties the tests recorded (they travel with the reports, so xdist keeps
    them); with `last`, only the last one of each test.

    Tests that errored count too (a setup error still carries what `pytest_runtest_setup`
    recorded). A test has a report per phase, each with the properties recorded so far: the
    one with the most is used."""
    reports: dict[str, pytest.TestReport] = {}
    for outcome in ("passed", "failed", "error"):
        for report in terminalreporter.stats.get(outcome, []):
            if not isinstance(report, pytest.TestReport):
                continue
            known = reports.get(report.nodeid)
            if known is None or len(report.user_properties) > len(known.user_properties):
                reports[report.nodeid] = report
    lines = []
    for report in reports.values():
        values = [str(value) for name, value in report.user_properties if name == key]
        lines += values[-1:] if last else values
    return lines


@pytest.hookimpl(tryfirst=True)
def pytest_runtest_setup(item: pytest.Item) -> None:
    """A blocking-bug case (tests/test_detection_proof.py, parametrized by `bug`) starts out as
    missed, so one whose setup fails (an install that broke, say) still counts, as not caught;
    the test itself records the real outcome, which replaces this one."""
    callspec = getattr(item, "callspec", None)
    if callspec is not None and "bug" in callspec.params:
        item.user_properties.append((BLOCKING_BUG, f"missed: {callspec.id} (error before the check ran)"))


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    lines = recorded(terminalreporter, TIMING)
    if lines:
        terminalreporter.section("timings")
        for line in sorted(lines):
            terminalreporter.line(line)
    bugs = recorded(terminalreporter, BLOCKING_BUG, last=True)
    if bugs:
        terminalreporter.section("blocking detection")
        for line in sorted(bugs):
            terminalreporter.line(line)
        caught = sum(line.startswith("caught") for line in bugs)
        terminalreporter.line(f"blocking bugs caught: {caught}/{len(bugs)}")


@pytest.fixture(scope="session")
def installed_bake(tmp_path_factory: pytest.TempPathFactory) -> Callable[..., Path]:
    """Factory: `installed_bake(**answers)` bakes once per session (per xdist worker) and runs
    `make install` there, so several tests can share one installed project.

    A test that changes files of the shared bake must put them back (`tests.bake.inject`
    does); run the suite with `run_in(project, "uv", "run", "pytest", ..., timeout=...)`.
    """
    projects: dict[tuple[tuple[str, str], ...], Path] = {}

    def get(**answers: str) -> Path:
        key = tuple(sorted(answers.items()))
        if key not in projects:
            project = bake(tmp_path_factory.mktemp("installed"), **answers)
            assert_success(run_in(project, "make", "install", timeout=900))
            projects[key] = project
        return projects[key]

    return get
