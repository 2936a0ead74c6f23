"""A stand-in for a vendor's synchronous SDK: the kind of library that has no async version.

`fetch_report` does what such SDKs do inside: a blocking socket round trip and a wait for
the far end. Called from `async def` code it would freeze the event loop for its whole
duration, so the async stack calls it through `run_blocking` (a worker thread) and the
sync stack from a `def` endpoint (FastAPI's threadpool). The test suite's blocking guard
fails any test that calls it on the loop.
"""

from __future__ import annotations

import hashlib
import socket
import time
from dataclasses import dataclass

LATENCY = 0.05
"""Seconds the "remote service" takes to answer."""


@dataclass(frozen=True)
class LegacyReport:
    report_id: int
    title: str
    rows: int
    checksum: str


def fetch_report(report_id: int) -> LegacyReport:
    """Fetch a report the blocking way: socket I/O, then wait for the service to answer."""
    request = f"GET REPORT {report_id}\n".encode()
    client, server = socket.socketpair()
    with client, server:
        client.sendall(request)
        received = server.recv(len(request))
        server.sendall(hashlib.sha256(received).hexdigest().encode())
        checksum = client.recv(64).decode()
    time.sleep(LATENCY)
    return LegacyReport(report_id=report_id, title=f"Report {report_id}", rows=report_id % 97 + 1, checksum=checksum)
