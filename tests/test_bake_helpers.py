"""The helpers of tests/bake.py: other template tests rely on them to tell a pass from a hang."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.bake import assert_success, clean_env, inject, run_in, tail


def test_run_in_merges_output_and_keeps_the_exit_code(tmp_path: Path) -> None:
    script = "import sys; print('out', flush=True); print('err', file=sys.stderr, flush=True); sys.exit(3)"
    result = run_in(tmp_path, sys.executable, "-c", script, timeout=60)
    assert result.returncode == 3
    assert result.stdout.splitlines() == ["out", "err"]
    with pytest.raises(AssertionError, match="exited 3"):
        assert_success(result)


def test_run_in_runs_in_the_project_without_stdin(tmp_path: Path) -> None:
    script = "import os, sys; print(os.getcwd()); print(repr(sys.stdin.read()))"
    result = run_in(tmp_path, sys.executable, "-c", script, timeout=60)
    assert_success(result)
    assert result.stdout.splitlines() == [str(tmp_path), "''"]


def test_run_in_timeout_kills_the_whole_group(tmp_path: Path) -> None:
    """A hung suite and whatever it started (a server, say) are all stopped."""
    pid_file = tmp_path / "grandchild.pid"
    script = (
        "import subprocess, sys, time\n"
        "child = subprocess.Popen([sys.executable, '-c', 'import time; time.sleep(600)'])\n"
        f"open({str(pid_file)!r}, 'w').write(str(child.pid))\n"
        "print('started', flush=True)\n"
        "time.sleep(600)\n"
    )
    start = time.monotonic()
    with pytest.raises(subprocess.TimeoutExpired) as caught:
        run_in(tmp_path, sys.executable, "-c", script, timeout=3)
    assert time.monotonic() - start < 60
    assert "started" in str(caught.value.output)
    assert_gone(int(pid_file.read_text()))


def test_run_in_kills_what_the_command_left_behind(tmp_path: Path) -> None:
    pid_file = tmp_path / "orphan.pid"
    script = (
        "import subprocess, sys\n"
        "child = subprocess.Popen([sys.executable, '-c', 'import time; time.sleep(600)'])\n"
        f"open({str(pid_file)!r}, 'w').write(str(child.pid))\n"
    )
    assert_success(run_in(tmp_path, sys.executable, "-c", script, timeout=60))
    assert_gone(int(pid_file.read_text()))


def assert_gone(pid: int) -> None:
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return
        # Killed but not yet reaped by init: a zombie no longer runs.
        status = Path(f"/proc/{pid}/stat")
        if status.exists() and status.read_text().split(") ", 1)[1].startswith("Z"):
            return
        time.sleep(0.05)
    raise AssertionError(f"process {pid} is still running")


def test_clean_env_drops_this_repositorys_settings(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("VIRTUAL_ENV", "/somewhere/.venv")
    monkeypatch.setenv("MAKEFLAGS", "PYTEST_ARGS=-k nothing")
    monkeypatch.setenv("PYTEST_ARGS", "-k nothing")
    monkeypatch.setenv("LOOPSAFE_GUARD", "0")
    monkeypatch.setenv("KEEP_ME", "1")
    env = clean_env({"EXTRA": "2"})
    assert "LOOPSAFE_GUARD" not in env  # it would turn the bakes' guard off
    assert "VIRTUAL_ENV" not in env
    assert "MAKEFLAGS" not in env
    assert "PYTEST_ARGS" not in env
    assert env["KEEP_ME"] == "1"
    assert env["EXTRA"] == "2"


def test_inject_replaces_once_and_restores(tmp_path: Path) -> None:
    path = tmp_path / "module.py"
    path.write_text("a = 1\nb = 2\n", encoding="utf-8")
    with inject(path, "b = 2", "b = 3"):
        assert path.read_text(encoding="utf-8") == "a = 1\nb = 3\n"
    assert path.read_text(encoding="utf-8") == "a = 1\nb = 2\n"


@pytest.mark.parametrize("old", ["c = 3", "= "])
def test_inject_refuses_a_missing_or_ambiguous_target(old: str, tmp_path: Path) -> None:
    path = tmp_path / "module.py"
    path.write_text("a = 1\nb = 2\n", encoding="utf-8")
    with pytest.raises(AssertionError, match="expected exactly one"), inject(path, old, "x"):
        pass
    assert path.read_text(encoding="utf-8") == "a = 1\nb = 2\n"


def test_tail_keeps_the_last_lines() -> None:
    assert tail("\n".join(str(n) for n in range(100)), 3) == "97\n98\n99"
