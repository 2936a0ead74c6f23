"""`make bench` in a bake: it runs, prints its table and its ratio line, exits 0, and leaves nothing running.

Each run is the short version (`BENCH_ARGS=--quick`, about a second per figure), so the
bench cannot rot unnoticed. The targets are not asserted here: on a shared machine a
one-second figure is noise. The full run checks them itself and prints PASS/FAIL.
"""

from __future__ import annotations

import re
import shlex
import subprocess
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from tests.bake import assert_success, run_in, tail
from tests.conftest import TIMING

RecordProperty = Callable[[str, object], None]

ALL_OFF = {"use_postgres": "n", "use_s3": "n", "use_http_client": "n", "use_local_files": "n", "include_examples": "n"}

CASES = {
    # Every component: one upstream call is the slow endpoint, the items API the database scenarios.
    "async": {"stack": "async"},
    "sync": {"stack": "sync"},
    # No component: the bench's own slow endpoint, no database scenario.
    "async-bare": {"stack": "async", **ALL_OFF},
    "sync-bare": {"stack": "sync", **ALL_OFF},
}

BENCH_TIMEOUT = 900  # `make install` included


@pytest.mark.slow
@pytest.mark.parametrize("case", CASES)
def test_quick_bench_runs_and_reports(
    case: str, installed_bake: Callable[..., Path], record_property: RecordProperty
) -> None:
    answers = CASES[case]
    project = installed_bake(**answers)
    start = time.perf_counter()
    # After the bench, nothing it started may still run on the bake's interpreter: not a
    # server, the naive app, the load generator or an embedded service. Processes that ran
    # before it (another test's services on the same bake) do not count. (`[.]venv` so that
    # the pattern does not match this very command line.)
    interpreter = shlex.quote(f"{project}/[.]venv/bin/python")
    script = (
        f"before=$(pgrep -f {interpreter}); make bench BENCH_ARGS=--quick; code=$?; sleep 1; "
        f'left=$(pgrep -f {interpreter} | grep -vxF "$before"); '
        'if [ -n "$left" ]; then ps -o pid=,args= -p $left; exit 99; fi; exit $code'
    )
    try:
        result = run_in(project, "bash", "-c", script, timeout=BENCH_TIMEOUT)
    except subprocess.TimeoutExpired as error:
        output = error.output if isinstance(error.output, str) else ""
        pytest.fail(f"make bench --quick did not finish in {BENCH_TIMEOUT} s; last lines:\n{tail(output)}")
    record_property(TIMING, f"{case}: make bench --quick {time.perf_counter() - start:.0f} s")
    assert result.returncode != 99, f"processes left running after make bench:\n{tail(result.stdout)}"
    assert_success(result)
    output = result.stdout
    stack = answers["stack"]

    for heading in ("1. Loop safety", "2. Throughput", "3. Watchdog cost", f"Targets ({stack} stack)"):
        assert heading in output, f"no {heading!r} in the output:\n{tail(output)}"
    for app, load in (("template", "idle"), ("template", "N=16"), ("template", "N=64"), ("naive", "N=64")):
        assert re.search(rf"^\s+{app}\s+{load}\s+>?\d", output, re.MULTILINE), f"no {app} {load} row:\n{tail(output)}"
    assert re.search(r"^\s+(PASS|FAIL)\s+slow-endpoint efficiency", output, re.MULTILINE)
    assert ("GET /items/" in output) == (answers.get("use_postgres", "y") == "y")

    summary = [line for line in output.splitlines() if line.startswith(f"summary ({stack}): ")]
    assert len(summary) == 1, f"expected one summary line:\n{tail(output)}"
    assert re.search(r"probe p99 loaded/idle [\d.]+x@16 [\d.]+x@64", summary[0]), summary[0]
    assert re.search(r"slow efficiency [\d.]+@16 \(naive [\d.]+\) [\d.]+@64 \(naive [\d.]+\)", summary[0]), summary[0]
    assert re.search(r"watchdog on/off [\d.]+x", summary[0]), summary[0]
    assert re.search(r"targets \d+/\d+ passed: (PASS|FAIL)$", summary[0]), summary[0]
