"""The hooks and these tests pass the same lint as `make lint`, so CI (which runs `make test`) enforces it."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from tests.bake import TEMPLATE_DIR, assert_success, run_in

BIN = Path(sys.executable).parent


@pytest.mark.parametrize(
    "command",
    [
        ("ruff", "check", "hooks", "tests"),
        ("ruff", "format", "--check", "hooks", "tests"),
        ("mypy", "hooks", "tests"),
    ],
    ids=["ruff-check", "ruff-format", "mypy"],
)
def test_hooks_and_tests_are_lint_clean(command: tuple[str, ...]) -> None:
    tool, *args = command
    assert_success(run_in(TEMPLATE_DIR, str(BIN / tool), *args, timeout=300))
