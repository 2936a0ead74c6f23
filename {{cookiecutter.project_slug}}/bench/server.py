"""Run an ASGI app under uvicorn in a child process, the way production runs it.

Every server the bench measures gets the same command line (one worker, the same
event loop and HTTP implementation, no access log), a free port on 127.0.0.1 and its
own process group, which is killed on exit whatever happened: a server that blocks its
loop cannot refuse to stop, and the worker processes it started go with it.
"""

from __future__ import annotations

import contextlib
import http.client
import importlib.util
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

HOST = "127.0.0.1"
PROJECT_ROOT = Path(__file__).resolve().parents[1]
START_ATTEMPTS = 3


def _available(module: str) -> bool:
    return importlib.util.find_spec(module) is not None


# What `uvicorn --loop auto --http auto` would pick, named explicitly so every server gets the same.
LOOP = "uvloop" if _available("uvloop") else "asyncio"
HTTP = "httptools" if _available("httptools") else "h11"


@dataclass(frozen=True)
class Server:
    name: str
    port: int
    pid: int


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((HOST, 0))
        port: int = sock.getsockname()[1]
        return port


def get(port: int, path: str, timeout: float = 5.0) -> tuple[int, bytes]:
    """`GET path` on the server: (status, body). http.client, so no proxy setting applies."""
    connection = http.client.HTTPConnection(HOST, port, timeout=timeout)
    try:
        connection.request("GET", path)
        response = connection.getresponse()
        return response.status, response.read()
    finally:
        connection.close()


def post_json(port: int, path: str, body: bytes, timeout: float = 5.0) -> tuple[int, bytes]:
    connection = http.client.HTTPConnection(HOST, port, timeout=timeout)
    try:
        connection.request("POST", path, body=body, headers={"content-type": "application/json"})
        response = connection.getresponse()
        return response.status, response.read()
    finally:
        connection.close()


def _tail(log: Path, lines: int = 30) -> str:
    text = log.read_text(encoding="utf-8", errors="replace") if log.exists() else ""
    return "\n".join(text.splitlines()[-lines:]) or "(no output)"


def _kill_group(process: subprocess.Popen[bytes]) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(process.pid, signal.SIGKILL)
    process.wait()


def _wait_until_live(process: subprocess.Popen[bytes], port: int, log: Path, name: str, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while True:
        if process.poll() is not None:
            raise ChildProcessError(f"{name} exited with code {process.returncode} at start-up:\n{_tail(log)}")
        with contextlib.suppress(OSError, http.client.HTTPException):
            if get(port, "/health/live", timeout=1.0)[0] == 200:
                return
        if time.monotonic() > deadline:
            raise TimeoutError(f"{name} did not answer /health/live within {timeout:.0f} s:\n{_tail(log)}")
        time.sleep(0.05)


@dataclass(frozen=True)
class Spec:
    """One server to start: `app` is "module:attribute" (a factory when `factory`)."""

    name: str
    app: str
    env: Mapping[str, str]
    factory: bool = False
    graceful: bool = True  # False: kill at once on exit, for an app whose loop may be stuck


def _start(spec: Spec, log_dir: Path) -> tuple[subprocess.Popen[bytes], int, Path]:
    port = free_port()
    log = log_dir / f"{spec.name}.log"
    command = [sys.executable, "-m", "uvicorn", spec.app, *(["--factory"] if spec.factory else [])]
    command += ["--host", HOST, "--port", str(port), "--loop", LOOP, "--http", HTTP]
    command += ["--no-access-log", "--log-level", "warning", "--timeout-graceful-shutdown", "3"]
    with log.open("wb") as output:
        process = subprocess.Popen(
            command,
            cwd=PROJECT_ROOT,
            env={**os.environ, **spec.env},
            stdin=subprocess.DEVNULL,
            stdout=output,
            stderr=subprocess.STDOUT,
            start_new_session=True,  # its own process group, killed whole on exit
        )
    return process, port, log


def _stop(spec: Spec, process: subprocess.Popen[bytes]) -> None:
    if spec.graceful and process.poll() is None:
        process.send_signal(signal.SIGTERM)
        with contextlib.suppress(subprocess.TimeoutExpired):
            process.wait(timeout=8)
    _kill_group(process)


@contextmanager
def serve(*specs: Spec, log_dir: Path, timeout: float = 60.0) -> Iterator[list[Server]]:
    """Start every server at once; yield them when each answers /health/live; stop them all on exit.

    uvicorn runs the lifespan before it accepts connections, so a live server is a started app.
    """
    with contextlib.ExitStack() as stack:
        started: list[tuple[Spec, subprocess.Popen[bytes], int, Path]] = []
        for spec in specs:
            process, port, log = _start(spec, log_dir)
            stack.callback(_stop, spec, process)
            started.append((spec, process, port, log))
        servers = []
        for spec, process, port, log in started:
            for attempt in range(1, START_ATTEMPTS + 1):
                try:
                    _wait_until_live(process, port, log, spec.name, timeout)
                    break
                except ChildProcessError:
                    # Another process may have taken the free port first: try another one.
                    if "address already in use" not in _tail(log).lower() or attempt == START_ATTEMPTS:
                        raise
                    process, port, log = _start(spec, log_dir)
                    stack.callback(_stop, spec, process)
            servers.append(Server(spec.name, port, process.pid))
        yield servers
