"""Shared fixtures, and a closing section with the timings the tests record (bake time,
each bake's lint and test time)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from tests.bake import assert_success, bake, run_in

TIMING = "timing"
BLOCKING_BUG = "blocking_bug"  # tests/test_detection_proof.py records "caught: ..." or "missed: ..."


def recorded(terminalreporter: pytest.TerminalReporter, key: str) -> list[str]:
    """The `key` properties the tests recorded (they travel with the reports, so xdist keeps them)."""
    return [
        str(value)
        for outcome in ("passed", "failed")
        for report in terminalreporter.stats.get(outcome, [])
        if isinstance(report, pytest.TestReport)
        for name, value in report.user_properties
        if name == key
    ]


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    lines = recorded(terminalreporter, TIMING)
    if lines:
        terminalreporter.section("timings")
        for line in sorted(lines):
            terminalreporter.line(line)
    bugs = recorded(terminalreporter, BLOCKING_BUG)
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
