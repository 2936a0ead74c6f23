"""A small HTTP/1.1 load generator: keep-alive connections on raw asyncio protocols.

It shares the machine's cores with the server it measures, so it does as little as it
can per request: the request bytes are built once, responses are parsed just enough to
find their end, and everything runs in protocol callbacks (no task per request), on
uvloop when it is installed. It runs in its own process (`LoadGenerator`), so that its
work never lands on the event loop being measured.

Two kinds of client, mixed freely in one run:

* closed loop (`interval=None`): each connection sends its next request as soon as the
  previous answer arrives, which gives the server's throughput at that concurrency;
* paced (`interval=s`, one connection): a probe scheduled every `s` seconds, like a
  health check. When an answer is late, every probe that was due meanwhile is counted
  as answered at the same moment (the wait it would have had), so a stalled server
  cannot hide behind the probes it prevented from being sent.

Only answers that arrive inside the measurement window count. Closed-loop connections
start spread over a ramp before the window, so slow requests do not all finish in step.
"""

from __future__ import annotations

import asyncio
import gc
import json
import math
import select
import subprocess
import sys
import time
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, cast

CRLF2 = b"\r\n\r\n"


@dataclass(frozen=True)
class Group:
    """Connections that send the same request."""

    name: str
    path: str
    connections: int = 1
    interval: float | None = None  # None: closed loop; seconds: a paced probe (one connection)
    expect: int = 200


@dataclass
class Result:
    """What one group measured inside the window."""

    name: str
    requests: int  # answered inside the window with the expected status
    errors: int  # other statuses and broken connections
    rps: float
    p50_ms: float
    p99_ms: float
    max_ms: float
    censored: int = 0  # probe slots still unanswered when the window closed, counted as waiting until then

    def lower_bound(self, fraction: float) -> bool:
        """Whether that percentile is only a lower bound: unanswered probes reach into it."""
        return self.censored > (1 - fraction) * (self.requests + self.censored)


@dataclass
class _Stats:
    latencies: list[float] = field(default_factory=list)
    errors: int = 0
    censored: int = 0


def percentile(sorted_values: Sequence[float], fraction: float) -> float:
    """Nearest-rank percentile of already sorted values (0.0 when there are none)."""
    if not sorted_values:
        return 0.0
    rank = max(1, math.ceil(fraction * len(sorted_values)))
    return sorted_values[rank - 1]


class _Connection(asyncio.Protocol):
    """One keep-alive connection; at most one request in flight."""

    def __init__(self, run: _Run, group: Group, stats: _Stats, request: bytes) -> None:
        self.run = run
        self.group = group
        self.stats = stats
        self.request = request
        self.transport: asyncio.Transport | None = None
        self.buffer = bytearray()
        self.sent_at = 0.0  # when the current request was due (probes) or sent
        self.in_flight = False
        self.connected = asyncio.get_running_loop().create_future()

    # asyncio.Protocol
    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = cast(asyncio.Transport, transport)
        if not self.connected.done():
            self.connected.set_result(None)

    def connection_lost(self, exc: Exception | None) -> None:
        self.transport = None
        if not self.connected.done():
            self.connected.set_exception(exc or ConnectionError("closed before connecting"))
        if self.in_flight and self.run.running:
            self.in_flight = False
            self.stats.errors += 1
            self.run.reconnect(self)

    def data_received(self, data: bytes) -> None:
        self.buffer += data
        while self.in_flight:
            end, status, close = _parse_response(self.buffer)
            if end < 0:
                return
            del self.buffer[:end]
            self.in_flight = False
            self.run.answered(self, status)
            if close and self.transport is not None:
                self.transport.close()
                return

    # driving
    def send(self, due: float) -> None:
        if self.transport is None or self.transport.is_closing():
            return
        self.sent_at = due
        self.in_flight = True
        self.transport.write(self.request)


def _parse_response(buffer: bytearray) -> tuple[int, int, bool]:
    """(end offset, status, connection-close) of the first complete response; end -1 if incomplete."""
    head_end = buffer.find(CRLF2)
    if head_end < 0:
        return -1, 0, False
    head = bytes(buffer[:head_end]).lower()
    status = int(head[9:12])
    close = b"\r\nconnection: close" in head
    body_start = head_end + 4
    marker = head.find(b"\r\ncontent-length:")
    if marker >= 0:
        value_end = head.find(b"\r\n", marker + 2)
        length = int(head[marker + 17 : value_end if value_end >= 0 else len(head)])
        end = body_start + length
        return (end if len(buffer) >= end else -1), status, close
    if b"\r\ntransfer-encoding: chunked" in head:
        return _chunked_end(buffer, body_start), status, close
    return body_start, status, close  # no body (204, 304)


def _chunked_end(buffer: bytearray, position: int) -> int:
    while True:
        line_end = buffer.find(b"\r\n", position)
        if line_end < 0:
            return -1
        size = int(bytes(buffer[position:line_end]).split(b";")[0], 16)
        if size == 0:
            trailer_end = buffer.find(CRLF2, line_end)
            return -1 if trailer_end < 0 else trailer_end + 4
        position = line_end + 2 + size + 2
        if len(buffer) < position:
            return -1


class _Run:
    def __init__(self, host: str, port: int, groups: Sequence[Group], duration: float, ramp: float) -> None:
        self.loop = asyncio.get_running_loop()
        self.host = host
        self.port = port
        self.groups = groups
        self.duration = duration
        self.ramp = ramp
        self.stats = {group.name: _Stats() for group in groups}
        self.connections: list[_Connection] = []
        self.reconnecting: set[asyncio.Task[None]] = set()
        self.running = False
        self.window_start = math.inf
        self.window_end = math.inf

    def _request(self, path: str) -> bytes:
        return f"GET {path} HTTP/1.1\r\nHost: {self.host}:{self.port}\r\nUser-Agent: bench\r\n\r\n".encode("latin-1")

    async def _connect(self, group: Group) -> _Connection:
        connection = _Connection(self, group, self.stats[group.name], self._request(group.path))
        await self.loop.create_connection(lambda: connection, self.host, self.port)
        await connection.connected
        return connection

    def reconnect(self, old: _Connection) -> None:
        async def again() -> None:
            try:
                connection = await self._connect(old.group)
            except OSError:
                self.stats[old.group.name].errors += 1
                if self.running:
                    self.loop.call_later(0.05, self.reconnect, old)
                return
            self.connections.append(connection)
            self._next(connection, time.perf_counter())

        if self.running:
            task = self.loop.create_task(again())
            self.reconnecting.add(task)
            task.add_done_callback(self.reconnecting.discard)

    def answered(self, connection: _Connection, status: int) -> None:
        now = time.perf_counter()
        stats = connection.stats
        if self.window_start <= now <= self.window_end:
            if status != connection.group.expect:
                stats.errors += 1
            elif connection.group.interval is None:
                stats.latencies.append(now - connection.sent_at)
            else:
                # Every probe that fell due while this one waited would have waited until now too.
                due = connection.sent_at
                while due <= now:
                    if due >= self.window_start:
                        stats.latencies.append(now - due)
                    due += connection.group.interval
        if self.running and connection.transport is not None:
            self._next(connection, now)

    def _next(self, connection: _Connection, now: float) -> None:
        interval = connection.group.interval
        if interval is None:
            connection.send(now)
            return
        # The first slot after now: the slots missed while waiting were counted in `answered`.
        due = connection.sent_at + interval * (math.floor((now - connection.sent_at) / interval) + 1)
        self.loop.call_at(self.loop.time() + (due - now), self._send_probe, connection, due)

    def _send_probe(self, connection: _Connection, due: float) -> None:
        # A timer fires up to a millisecond late (uvloop's resolution): that delay is ours, not the server's.
        if self.running and not connection.in_flight:
            connection.send(max(due, time.perf_counter()))

    async def run(self) -> list[Result]:
        for group in self.groups:
            count = 1 if group.interval is not None else group.connections
            for _ in range(count):
                self.connections.append(await self._connect(group))
        self.running = True
        start = time.perf_counter()
        self.window_start = start + self.ramp
        self.window_end = self.window_start + self.duration
        closed_loop = [c for c in self.connections if c.group.interval is None]
        for index, connection in enumerate(closed_loop):
            delay = self.ramp * index / max(len(closed_loop), 1)
            self.loop.call_later(delay, connection.send, start + delay)
        for connection in self.connections:
            if connection.group.interval is not None:
                connection.sent_at = self.window_start
                self.loop.call_later(self.ramp, self._send_probe, connection, self.window_start)
        await asyncio.sleep(self.ramp + self.duration)
        self.running = False
        end = self.window_end
        for connection in list(self.connections):
            interval = connection.group.interval
            if connection.in_flight and interval is not None:
                due = max(connection.sent_at, self.window_start)
                while due <= end:  # still waiting: count the wait so far, a lower bound
                    connection.stats.latencies.append(end - due)
                    connection.stats.censored += 1
                    due += interval
            if connection.transport is not None:
                connection.transport.abort()
        return [self._result(group) for group in self.groups]

    def _result(self, group: Group) -> Result:
        stats = self.stats[group.name]
        values = sorted(stats.latencies)
        answered = len(values) - stats.censored
        return Result(
            name=group.name,
            requests=answered,
            errors=stats.errors,
            rps=answered / self.duration,
            p50_ms=percentile(values, 0.50) * 1000,
            p99_ms=percentile(values, 0.99) * 1000,
            max_ms=(values[-1] if values else 0.0) * 1000,
            censored=stats.censored,
        )


async def drive(host: str, port: int, groups: Sequence[Group], duration: float, ramp: float = 0.25) -> list[Result]:
    """Run every group at once against `host:port` and measure `duration` seconds after `ramp`."""
    return await _Run(host, port, groups, duration, ramp).run()


def serve() -> None:
    """The worker process: one JSON plan per line on stdin, one JSON line of results on stdout."""
    gc.disable()  # a collection pause would show up as latency
    try:
        import uvloop
    except ImportError:
        runner = asyncio.Runner()
    else:
        runner = asyncio.Runner(loop_factory=uvloop.new_event_loop)
    with runner:
        for line in sys.stdin:
            plan: dict[str, Any] = json.loads(line)
            groups = [Group(**group) for group in plan["groups"]]
            results = runner.run(drive(plan["host"], plan["port"], groups, plan["duration"], plan["ramp"]))
            print(json.dumps([asdict(result) for result in results]), flush=True)
            gc.collect()


class LoadGenerator:
    """A load generator process, started once and reused for every run (starting a Python
    process costs CPU that the server under test would feel).

    `start` hands it a run and returns at once, so that two generators can drive one server
    together (the health probe gets its own process: answers to the load must not delay
    the probe's timing); `results` waits for the run's results. Every run is bounded: when
    no answer comes in time, the process is killed and the run fails.
    """

    def __init__(self, host: str = "127.0.0.1") -> None:
        self.host = host
        self.deadline = 0.0
        self.process = subprocess.Popen(
            [sys.executable, "-m", "bench.load"],
            cwd=Path(__file__).resolve().parents[1],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
        )

    def start(self, port: int, groups: Sequence[Group], *, duration: float, ramp: float = 0.25) -> None:
        """Drive `groups` at once against the server on `port`, in the background."""
        stdin = self.process.stdin
        assert stdin is not None
        plan = {"host": self.host, "port": port, "duration": duration, "ramp": ramp}
        stdin.write(json.dumps({**plan, "groups": [asdict(group) for group in groups]}) + "\n")
        stdin.flush()
        self.deadline = time.monotonic() + duration + ramp + 30

    def results(self) -> dict[str, Result]:
        """The results of the run `start` began, by group name."""
        stdout = self.process.stdout
        assert stdout is not None
        ready, _, _ = select.select([stdout], [], [], max(self.deadline - time.monotonic(), 0))
        line = stdout.readline() if ready else ""
        if not line:
            self.close()
            raise RuntimeError(f"the load generator gave no result in time (exit code {self.process.returncode})")
        return {item["name"]: Result(**item) for item in json.loads(line)}

    def measure(self, port: int, groups: Sequence[Group], *, duration: float, ramp: float = 0.25) -> dict[str, Result]:
        self.start(port, groups, duration=duration, ramp=ramp)
        return self.results()

    def close(self) -> None:
        if self.process.poll() is None:
            self.process.kill()
        self.process.wait()
        for stream in (self.process.stdin, self.process.stdout):
            if stream is not None:
                stream.close()

    def __enter__(self) -> LoadGenerator:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()


if __name__ == "__main__":
    serve()
