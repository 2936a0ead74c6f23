"""Run one server as a child process on a free loopback port.

Shared by every embedded service: pick a port, start the child with its output in a
log file, poll until it answers, stop it on exit. Errors carry the tail of that log, so
a failed start says why without anyone hunting for the file.
"""

from __future__ import annotations

import functools
import http.client
import signal
import socket
import subprocess
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

HOST = "127.0.0.1"
START_ATTEMPTS = 3


@dataclass(frozen=True)
class Child:
    """A running embedded server: what `make run` watches and the freeze test stops."""

    name: str
    port: int
    process: subprocess.Popen[bytes]


_running: dict[int, Child] = {}  # by port; a child leaves it before it is stopped on purpose


def running_children() -> list[Child]:
    """The servers started by `serve_child` that have not been stopped on purpose (some may have died)."""
    return list(_running.values())


def is_running(child: Child) -> bool:
    """Whether `child` is still registered, i.e. not being stopped on purpose."""
    return _running.get(child.port) is child


class ChildExitedError(RuntimeError):
    """The child process ended before it was ready."""


class PortInUseError(ChildExitedError):
    """The child lost the race for its port (someone bound it after `free_port`)."""


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on right now.

    Another process may still take it before the child binds it: `serve_child` retries.
    """
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((HOST, 0))
        port: int = sock.getsockname()[1]
        return port


def log_tail(log: Path, lines: int = 25) -> str:
    try:
        text = log.read_text(encoding="utf-8", errors="replace")
    except FileNotFoundError:
        return "(no output)"
    return "\n".join(text.splitlines()[-lines:]) or "(no output)"


def http_status(port: int, path: str = "/") -> int | None:
    """Status code of `GET http://127.0.0.1:<port><path>`, None if nothing answers.

    http.client rather than urllib: urllib would send loopback requests to an HTTP proxy
    configured in the environment.
    """
    connection = http.client.HTTPConnection(HOST, port, timeout=1)
    try:
        connection.request("GET", path)
        return connection.getresponse().status
    except (OSError, http.client.HTTPException):
        return None
    finally:
        connection.close()


def wait_until_ready(
    probe: Callable[[], bool],
    process: subprocess.Popen[bytes],
    *,
    name: str,
    log: Path,
    timeout: float = 30.0,
    interval: float = 0.05,
) -> None:
    """Poll `probe` until it returns True; fail fast if the child exits meanwhile."""
    deadline = time.monotonic() + timeout
    while True:
        if process.poll() is not None:
            tail = log_tail(log)
            error = PortInUseError if "address already in use" in tail.lower() else ChildExitedError
            raise error(f"{name} exited with code {process.returncode} during start-up; its log ends with:\n{tail}")
        if probe() and process.poll() is None:
            return
        if time.monotonic() > deadline:
            raise RuntimeError(f"{name} was not ready after {timeout:.0f} s; its log ends with:\n{log_tail(log)}")
        time.sleep(interval)


def stop_process(process: subprocess.Popen[bytes], *, sig: int = signal.SIGTERM, timeout: float = 5.0) -> None:
    """Ask the child to stop with `sig`; kill it if it is still running after `timeout`."""
    if process.poll() is None:
        process.send_signal(sig)
        try:
            process.wait(timeout)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


@contextmanager
def serve_child(
    name: str,
    command: Callable[[int], Sequence[str]],
    probe: Callable[[int], bool],
    *,
    log: Path,
    timeout: float = 30.0,
    stop_signal: int = signal.SIGTERM,
    stop_timeout: float = 5.0,
    user: int | None = None,
    group: int | None = None,
    cwd: Path | None = None,
) -> Iterator[int]:
    """Start `command(port)` on a free port, wait until `probe(port)`, yield the port, stop it.

    The child gets its own session, so Ctrl-C in the terminal reaches only the parent,
    which stops its children in order (the app first, then the services it uses).
    """
    for attempt in range(1, START_ATTEMPTS + 1):
        port = free_port()
        with log.open("ab") as output:
            process = subprocess.Popen(
                command(port),
                stdin=subprocess.DEVNULL,
                stdout=output,
                stderr=subprocess.STDOUT,
                start_new_session=True,
                user=user,
                group=group,
                extra_groups=[] if user is not None else None,
                cwd=cwd,
            )
        try:
            wait_until_ready(functools.partial(probe, port), process, name=name, log=log, timeout=timeout)
        except PortInUseError:
            stop_process(process)
            if attempt == START_ATTEMPTS:
                raise
            continue
        except BaseException:
            stop_process(process, sig=stop_signal, timeout=stop_timeout)
            raise
        child = Child(name, port, process)
        _running[port] = child
        try:
            yield port
        finally:
            _running.pop(port, None)
            stop_process(process, sig=stop_signal, timeout=stop_timeout)
        return
