"""The app under uvicorn in a child process, as in production: for the tests that need the real server.

In-process ASGI (httpx's transport) runs the app on the test's own loop and waits for a
sync endpoint's thread, so what a client of the real server sees (a stalled loop, a
deadline that answers while a thread is still stuck) only shows under uvicorn.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import pytest
from pydantic import SecretStr

from {{ cookiecutter.package_name }}.embedded.process import HOST, http_status
from {{ cookiecutter.package_name }}.settings import Settings

APP = "{{ cookiecutter.package_name }}.app:create_app"
RUNNING_ON = re.compile(r"Uvicorn running on http://[0-9.]+:([0-9]+)")


def settings_env(settings: Settings) -> dict[str, str]:
    """The environment variables that make the child process read the same settings."""
    env: dict[str, str] = {}
    for name in type(settings).model_fields:
        value = getattr(settings, name)
        if value is None:
            continue
        if isinstance(value, SecretStr):
            value = value.get_secret_value()
        elif isinstance(value, bool):
            value = "true" if value else "false"
        env[name.upper()] = str(value)
    return env


@dataclass
class Server:
    port: int
    log: Path
    label: str

    @property
    def base_url(self) -> str:
        return f"http://{HOST}:{self.port}"


def wait_until_ready(process: subprocess.Popen[bytes], log: Path, timeout: float = 60.0) -> int:
    """The port uvicorn bound (it logs it once the lifespan has started), once /health/ready says 200."""
    deadline = time.monotonic() + timeout
    port = None
    while time.monotonic() < deadline:
        if process.poll() is not None:
            pytest.fail(f"the server exited with code {process.returncode}; its log:\n{log.read_text()[-4000:]}")
        if port is None and (found := RUNNING_ON.search(log.read_text(errors="replace"))):
            port = int(found[1])
        if port is not None and http_status(port, "/health/ready") == 200:
            return port
        time.sleep(0.1)
    pytest.fail(f"the server was not ready after {timeout:.0f} s; its log:\n{log.read_text()[-4000:]}")


@contextmanager
def serve(settings: Settings, directory: Path, label: str, *uvicorn_args: str) -> Iterator[Server]:
    """Serve the app with `settings` on a free port until the block ends; its log is `directory/server.log`."""
    log = directory / "server.log"
    command = [sys.executable, "-m", "uvicorn", APP, "--factory", "--host", HOST, "--port", "0", "--no-access-log"]
    with log.open("wb") as output:
        process = subprocess.Popen(
            [*command, *uvicorn_args],
            cwd=directory,  # no stray .env file
            env={**os.environ, **settings_env(settings)},
            stdin=subprocess.DEVNULL,
            stdout=output,
            stderr=subprocess.STDOUT,
        )
    try:
        yield Server(wait_until_ready(process, log), log, label)
    finally:
        process.terminate()
        try:
            process.wait(15)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
