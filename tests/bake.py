"""Bake the template and run commands inside the bake: the helpers every template test shares.

Typical use in a test::

    project = bake(tmp_path, stack="sync", use_s3="n")
    result = run_in(project, "make", "test", timeout=900)
    assert_success(result)

To prove the generated suite catches a bug, change one file of the bake and run it again::

    with inject(project / "src" / package / "health.py", "await check()", "time.sleep(1); await check()"):
        result = run_in(project, "uv", "run", "pytest", "-x", "-q", timeout=300)
    assert result.returncode != 0 and "BlockingError" in result.stdout

`run_in` starts every command in its own process group and kills the whole group when it
ends or times out, so a server that a test suite started never outlives the command.
"""

from __future__ import annotations

import contextlib
import importlib.util
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator, Mapping
from pathlib import Path
from types import ModuleType
from typing import Any, cast

from cookiecutter.main import cookiecutter

TEMPLATE_DIR = Path(__file__).resolve().parents[1]
HOOKS_DIR = TEMPLATE_DIR / "hooks"

# Variables that would make uv, pytest or make inside the bake use *this* repository's
# settings instead of the bake's own: VIRTUAL_ENV (set by `uv run pytest`), and make's
# variables (`make test PYTEST_ARGS=-k x` here must not filter the bake's own tests).
_LEAKY_ENV = (
    "MAKEFLAGS",
    "MFLAGS",
    "MAKELEVEL",
    "PYTEST_ARGS",
    "BENCH_ARGS",
    "VIRTUAL_ENV",
    "UV_PROJECT_ENVIRONMENT",
    "PYTHONPATH",
    "PYTHONHOME",
    "PYTEST_ADDOPTS",
    "PYTEST_CURRENT_TEST",
    "PYTEST_XDIST_WORKER",
    "PYTEST_XDIST_WORKER_COUNT",
    "PYTEST_XDIST_TESTRUNUID",
)
# The generated project's detection switches (LOOPSAFE_GUARD=0 ...): one exported here would
# silently turn a layer off in every bake, and the detection proof with it.
_LEAKY_PREFIXES = ("LOOPSAFE_",)


def default_answers() -> dict[str, Any]:
    """The template's `cookiecutter.json`, as cookiecutter reads it (choices are lists)."""
    answers: dict[str, Any] = json.loads((TEMPLATE_DIR / "cookiecutter.json").read_text(encoding="utf-8"))
    return answers


def _config_file(directory: Path) -> str:
    """A cookiecutter config that keeps the replay file out of the user's home directory."""
    directory.mkdir(parents=True, exist_ok=True)
    config = directory / "config.yaml"
    config.write_text(
        f"cookiecutters_dir: {json.dumps(str(directory / 'cookiecutters'))}\n"
        f"replay_dir: {json.dumps(str(directory / 'replay'))}\n",
        encoding="utf-8",
    )
    return str(config)


def bake(output_dir: Path, **answers: str) -> Path:
    """Generate a project into `output_dir` without prompting; return the project directory.

    `answers` override the defaults of cookiecutter.json (e.g. `stack="sync"`,
    `use_postgres="n"`). Raises cookiecutter's `FailedHookException` when the pre-gen
    hook rejects an answer. Uses cookiecutter's Python API in-process: a default bake
    takes well under a second. Nothing is installed: run `make install` (or `make test`,
    which depends on it) in the bake for that.
    """
    with tempfile.TemporaryDirectory(prefix="cookiecutter-config-") as config_dir:
        project = cookiecutter(
            str(TEMPLATE_DIR),
            no_input=True,
            extra_context=answers,
            output_dir=str(output_dir),
            config_file=_config_file(Path(config_dir)),
        )
    return Path(cast(str, project))


def cookiecutter_cli(output_dir: Path, *args: str, timeout: float = 120) -> subprocess.CompletedProcess[str]:
    """Run the cookiecutter CLI on the template (`--no-input`, `key=value` args) in a subprocess.

    For tests that need what a user sees: the exit code and the messages on stderr.
    """
    with tempfile.TemporaryDirectory(prefix="cookiecutter-config-") as config_dir:
        command = [
            str(cookiecutter_executable()),
            "--no-input",
            "--config-file",
            _config_file(Path(config_dir)),
            "--output-dir",
            str(output_dir),
            str(TEMPLATE_DIR),
            *args,
        ]
        return subprocess.run(
            command, capture_output=True, text=True, timeout=timeout, env=clean_env(), stdin=subprocess.DEVNULL
        )


def cookiecutter_executable() -> Path:
    """The `cookiecutter` script of the environment running the tests."""
    script = Path(sys.executable).with_name("cookiecutter")
    if not script.exists():
        found = shutil.which("cookiecutter")
        if found is None:
            raise FileNotFoundError("cookiecutter is not installed in this environment")
        script = Path(found)
    return script


def clean_env(extra: Mapping[str, str] | None = None) -> dict[str, str]:
    """This process's environment, minus what would leak this repo's venv into a bake.

    Also puts a uv bootstrapped by the template's Makefile (`.tools/bin/uv`) on PATH, so the
    bake's own Makefile finds it instead of bootstrapping another one.
    """
    env = {
        key: value for key, value in os.environ.items() if key not in _LEAKY_ENV and not key.startswith(_LEAKY_PREFIXES)
    }
    tools = TEMPLATE_DIR / ".tools" / "bin"
    if shutil.which("uv", path=env.get("PATH")) is None and (tools / "uv").exists():
        env["PATH"] = f"{tools}{os.pathsep}{env.get('PATH', '')}"
    # Only Python 3.11 is available here: fail at once rather than try to download one.
    env.setdefault("UV_PYTHON_DOWNLOADS", "never")
    if extra:
        env.update(extra)
    return env


def run_in(
    project: Path,
    *command: str,
    timeout: float,
    env: Mapping[str, str] | None = None,
) -> subprocess.CompletedProcess[str]:
    """Run `command` in `project`; stdout and stderr are merged, in order, into `.stdout`.

    `env` adds to (and overrides) `clean_env()`. No stdin. The command gets its own process
    group; when it exits, whatever it left running in that group is killed. On timeout the
    whole group is killed and `subprocess.TimeoutExpired` is raised, carrying the output so
    far in `.output`. Never raises for a non-zero exit: check `.returncode` (or use
    `assert_success`).
    """
    with tempfile.TemporaryFile(mode="w+", encoding="utf-8", errors="replace") as log:
        # A file rather than a pipe: a grandchild that keeps the pipe open (a database
        # server, say) cannot make reading the output hang.
        process = subprocess.Popen(
            command,
            cwd=project,
            env=clean_env(env),
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        try:
            returncode = process.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            _kill_group(process.pid)
            process.wait()
            log.seek(0)
            raise subprocess.TimeoutExpired(list(command), timeout, output=log.read()) from None
        _kill_group(process.pid)
        log.seek(0)
        return subprocess.CompletedProcess(list(command), returncode, stdout=log.read())


def _kill_group(pgid: int) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(pgid, signal.SIGKILL)


def tail(text: str, lines: int = 80) -> str:
    """The last `lines` lines of `text`: enough to see why a command failed."""
    return "\n".join(text.splitlines()[-lines:])


def assert_success(result: subprocess.CompletedProcess[str], lines: int = 80) -> None:
    """Fail with the command and the tail of its output unless it exited 0."""
    if result.returncode != 0:
        command = " ".join(str(part) for part in result.args)
        raise AssertionError(
            f"`{command}` exited {result.returncode}; last {lines} lines:\n{tail(result.stdout or '', lines)}"
        )


@contextlib.contextmanager
def inject(path: Path, old: str, new: str) -> Iterator[None]:
    """Replace the one occurrence of `old` in `path` by `new`, and restore the file afterwards.

    Fails if `old` does not occur exactly once, so an injected bug can never silently miss
    its target when the template changes.
    """
    original = path.read_text(encoding="utf-8")
    count = original.count(old)
    if count != 1:
        raise AssertionError(f"expected exactly one {old!r} in {path}, found {count}")
    path.write_text(original.replace(old, new), encoding="utf-8")
    try:
        yield
    finally:
        path.write_text(original, encoding="utf-8")


def load_hook(name: str) -> ModuleType:
    """Import hooks/<name>.py as a module, unrendered (its Jinja only sits in string literals)."""
    path = HOOKS_DIR / f"{name}.py"
    spec = importlib.util.spec_from_file_location(f"loopsafe_hooks_{name}", path)
    if spec is None or spec.loader is None:
        raise ImportError(f"cannot import {path}")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def timed_bake(output_dir: Path, **answers: str) -> tuple[Path, float]:
    """`bake`, and how many seconds it took."""
    start = time.perf_counter()
    project = bake(output_dir, **answers)
    return project, time.perf_counter() - start
