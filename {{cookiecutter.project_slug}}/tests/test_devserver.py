"""`make run` notices an embedded server that dies: one line, and no zombie left behind."""

from __future__ import annotations

import sys
import threading
import time
from pathlib import Path

import pytest

from {{ cookiecutter.package_name }} import devserver
from {{ cookiecutter.package_name }}.embedded import running_children
from {{ cookiecutter.package_name }}.embedded.process import serve_child

SLEEPER = [sys.executable, "-c", "import time; time.sleep(60)"]


def test_a_server_that_dies_is_reported_once_and_reaped(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    report_exits = getattr(devserver, "report_exits", None)
    if report_exits is None:
        pytest.skip("this project starts no embedded service")
    stop = threading.Event()
    with serve_child("sleeper", lambda port: SLEEPER, lambda port: True, log=tmp_path / "log") as port:
        [child] = [child for child in running_children() if child.port == port]
        watcher = threading.Thread(target=report_exits, kwargs={"interval": 0.05, "stop": stop})
        watcher.start()
        try:
            child.process.kill()
            give_up = time.monotonic() + 10
            output = ""
            while "sleeper" not in output and time.monotonic() < give_up:
                time.sleep(0.05)
                output += capsys.readouterr().out
            time.sleep(0.3)  # a second report would come by now
            output += capsys.readouterr().out
        finally:
            stop.set()
            watcher.join()
    lines = [line for line in output.splitlines() if "sleeper" in line]
    assert lines == [f"embedded sleeper (port {port}) killed by SIGKILL: requests that need it fail; "
                     "restart `make run` to start it again"]  # fmt: skip
    assert child.process.returncode is not None  # reaped: no zombie
    assert all(other.port != port for other in running_children())


def test_a_server_stopped_on_purpose_is_not_reported(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    report_exits = getattr(devserver, "report_exits", None)
    if report_exits is None:
        pytest.skip("this project starts no embedded service")
    stop = threading.Event()
    watcher = threading.Thread(target=report_exits, kwargs={"interval": 0.05, "stop": stop})
    watcher.start()
    try:
        with serve_child("sleeper", lambda port: SLEEPER, lambda port: True, log=tmp_path / "log"):
            pass
        time.sleep(0.3)
    finally:
        stop.set()
        watcher.join()
    assert "sleeper" not in capsys.readouterr().out
