"""An S3-compatible API for development and tests: moto's server, in a child process.

moto keeps buckets and objects in memory, so every start is empty and nothing needs
cleaning up. It accepts any credentials. In a child process (rather than moto's
in-process threaded server) it shares no GIL with the code under test, and its
request log goes to a file instead of the terminal.
"""

from __future__ import annotations

import sys
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from .process import HOST, http_status, serve_child


@contextmanager
def embedded_s3() -> Iterator[str]:
    """Run moto's S3 server on a free loopback port and yield its endpoint URL; stop it on exit."""
    with (
        tempfile.TemporaryDirectory(prefix="moto-") as scratch,
        serve_child(
            "moto S3 server",
            lambda port: [sys.executable, "-m", "moto.server", "-H", HOST, "-p", str(port)],
            lambda port: http_status(port) is not None,
            log=Path(scratch) / "moto.log",
        ) as port,
    ):
        yield f"http://{HOST}:{port}"
