"""No request can hold the event loop or earn a 5xx: hostile bodies against every route that takes one.

The routes come from the app's own OpenAPI document, so a router added later is covered
without touching this file. The app is served by uvicorn in a child process, as in
production, with the watchdog sampling every 20 ms; while the corpus goes out, one request
at a time, a probe calls `/health/live` every 20 ms. Every answer must be a 4xx with a
reason, the ones the request budget owes exactly (413 past the size limit, 422 for a
number JSON does not have, at most MAX_VALIDATION_ERRORS errors listed), and neither the
probe nor the watchdog may see a stall near what blocking looks like (a body of 200,000
unknown keys held the loop for seconds before the budget; at the limit, tens of ms).
A round over the limit is measured again: a blocking request stalls the loop every
time, a busy machine rarely twice in a row.
"""

from __future__ import annotations

import http.client
import itertools
import json
import socket
import string
import threading
import time
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from {{ cookiecutter.package_name }}.app import create_app
from {{ cookiecutter.package_name }}.embedded.process import HOST
from {{ cookiecutter.package_name }}.settings import Settings

from ..conftest import make_settings
from ..uvicorn_server import serve
from .guard import add_summary_line

pytestmark = pytest.mark.slow

PROBE_EVERY = 0.02
MAX_PROBE_MS = 250.0  # a free loop answers in a few ms; one unbounded body held it for seconds
MAX_LAG_MS = 250.0
ANSWER_TIMEOUT = 5.0
UPLOAD_LIMIT = 256 * 1024  # max_upload_bytes here: a chunked upload past it stays cheap to send
UPLOAD_FRAMING = 64 * 1024  # more than any multipart framing an upload route allows for
BOUNDARY = "hostile-boundary"


@dataclass(frozen=True)
class Route:
    method: str
    path: str
    multipart: bool  # takes uploads (multipart/form-data): its limit is the upload limit

    def __str__(self) -> str:
        return f"{self.method} {self.path}"


def body_routes(settings: Settings) -> list[Route]:
    """Every operation of the app's OpenAPI document that takes a request body, path parameters filled in."""
    routes = []
    for template, operations in create_app(settings).openapi()["paths"].items():
        for method, operation in operations.items():
            if "requestBody" not in operation:
                continue
            path = template
            for parameter in operation.get("parameters", []):
                if parameter["in"] == "path":
                    value = "1" if parameter.get("schema", {}).get("type") == "integer" else "hostile.bin"
                    path = path.replace("{" + parameter["name"] + "}", value)
            multipart = "multipart/form-data" in operation["requestBody"].get("content", {})
            routes.append(Route(method.upper(), path, multipart))
    return routes


def unknown_keys(size: int) -> bytes:
    """An object of as many distinct short keys as fit in `size` bytes: one validation error per ~8 bytes."""
    alphabet = string.ascii_letters + string.digits
    parts: list[bytes] = []
    total = 2
    for length in itertools.count(1):
        for letters in itertools.product(alphabet, repeat=length):
            part = b'"%s":0' % "".join(letters).encode()
            if total + len(part) + 1 > size:
                return b"{" + b",".join(parts) + b"}"
            parts.append(part)
            total += len(part) + 1
    raise AssertionError("unreachable")


@dataclass(frozen=True)
class Case:
    name: str
    body: bytes
    content_type: str | None = "application/json"
    status: int | None = None  # the one status the budget owes, if any; else any 4xx
    error_type: str | None = None  # the type of the first error it owes in a 422


def corpus(limit: int) -> list[Case]:
    """Bodies that cost the most per byte, or that Python's JSON parser gets wrong, at and past the limit."""
    numbers = {"NaN": b"NaN", "Infinity": b"Infinity", "-Infinity": b"-Infinity", "1e400": b"1e400"}
    numbers["-10...0.5 (401 digits)"] = b"-1" + b"0" * 400 + b".5"
    json_numbers = [
        Case(f"the number {name}", b'{"name": "x", "value": %s}' % literal, status=422, error_type="json_invalid")
        for name, literal in numbers.items()
    ]
    return [
        Case("many unknown keys, at the limit", unknown_keys(limit)),
        Case("200,000 unknown keys (3 MB)", unknown_keys(3_500_000), status=413),
        Case("a huge string, at the limit", b'{"name": "%s"}' % (b"x" * (limit - 20))),
        Case("a string of escapes, at the limit", b'{"name": "%s"}' % (b"\\u00e9" * ((limit - 20) // 6))),
        Case("a long array, at the limit", b"[" + b"0," * ((limit - 4) // 2) + b"0]"),
        Case("an array of floats, at the limit", b'{"z": [' + b"1.5e300," * ((limit - 20) // 8) + b"0]}"),
        Case("deep nesting, at the limit", b"[" * (limit // 2) + b"]" * (limit // 2)),
        Case("deep nesting, as deep as the parser goes", b'{"name": ' + b"[" * 900 + b"]" * 900 + b"}"),
        Case("deep nesting of objects", b'{"a": ' * 900 + b"1" + b"}" * 900),
        Case("deep nesting, past the limit", b"[" * 1_000_000, status=413),
        *json_numbers,
        Case("invalid UTF-8 in JSON", b'{"name": "\xff\xfe"}'),
        Case("invalid UTF-8 as text", b"\xff\xfe\xfd", content_type="text/plain"),
        Case("JSON sent as text", b'{"name": "x"}', content_type="text/plain"),
        Case("no content type", b'{"name": "x"}', content_type=None),
        Case("XML", b"<item><name>x</name></item>", content_type="application/xml"),
        Case(
            "a form of many fields",
            b"&".join(b"k%d=1" % i for i in range(5000)),
            content_type="application/x-www-form-urlencoded",
        ),
        Case("multipart garbage", b"--x\r\n" * 1000, content_type="multipart/form-data; boundary=x"),
        Case(
            "multipart of many fields",
            b"".join(b'--b\r\nContent-Disposition: form-data; name="f%d"\r\n\r\n1\r\n' % i for i in range(3000))
            + b"--b--\r\n",
            content_type="multipart/form-data; boundary=b",
        ),
    ]


@dataclass
class Answer:
    status: int | None
    body: bytes
    seconds: float
    error: str = ""


def send(port: int, route: Route, case: Case) -> Answer:
    head = {"content-length": str(len(case.body))}
    if case.content_type is not None:
        head["content-type"] = case.content_type
    pieces = (case.body[start : start + 65536] for start in range(0, len(case.body), 65536))
    return send_raw(port, route, head, pieces)


def send_raw(port: int, route: Route, head: dict[str, str], parts: Iterable[bytes]) -> Answer:
    """Send the request line, `head` and the `parts` of a body, then read the answer until the server closes.

    A server may answer (413, say) before it has read the whole body, and close: sending
    stops there, and the answer is read all the same. So an answer to a body left
    unfinished on purpose is one the server gave before reading it all.
    """
    lines = [f"{route.method} {route.path} HTTP/1.1", f"host: {HOST}", "connection: close"]
    lines += [f"{name}: {value}" for name, value in head.items()]
    started = time.perf_counter()
    received, error = b"", ""
    try:
        with socket.create_connection((HOST, port), timeout=ANSWER_TIMEOUT) as sock:
            try:
                sock.sendall(("\r\n".join(lines) + "\r\n\r\n").encode())
                for part in parts:
                    sock.sendall(part)
            except (BrokenPipeError, ConnectionResetError):
                pass  # the server answered early and closed: its answer is waiting
            while chunk := sock.recv(65536):
                received += chunk
    except OSError as exc:
        error = f"{type(exc).__name__}: {exc}"
    status_line, _, rest = received.partition(b"\r\n")
    if not status_line.startswith(b"HTTP/1.1 "):
        return Answer(None, b"", time.perf_counter() - started, error or f"no HTTP answer: {received[:100]!r}")
    return Answer(int(status_line.split()[1]), rest.partition(b"\r\n\r\n")[2], time.perf_counter() - started)


def chunked(total: int, prefix: bytes = b"", size: int = 16 * 1024) -> Iterator[bytes]:
    """`total` bytes of chunked transfer encoding (after `prefix`), with no last chunk: the body never ends."""
    data = prefix + b"x" * (total - len(prefix))
    for start in range(0, len(data), size):
        piece = data[start : start + size]
        yield b"%x\r\n%s\r\n" % (len(piece), piece)


def upload_head() -> bytes:
    return (
        f'--{BOUNDARY}\r\nContent-Disposition: form-data; name="file"; filename="hostile.bin"\r\n'
        "Content-Type: application/octet-stream\r\n\r\n"
    ).encode()


@pytest.fixture
def server(service_urls: dict[str, str], tmp_path: Path) -> Iterator[tuple[int, Settings, Path]]:
    """The app under uvicorn (a sync fixture: it blocks), the request budget at its defaults."""
    overrides: dict[str, Any] = {
        "watchdog_enabled": True,
        "watchdog_interval": 0.02,
        "watchdog_threshold": 0.1,
        "log_level": "WARNING",
    }
    if "max_upload_bytes" in Settings.model_fields:
        overrides["max_upload_bytes"] = UPLOAD_LIMIT
    settings = make_settings(service_urls, tmp_path / "storage", **overrides)
    with serve(settings, tmp_path, "hostile input") as server:
        yield server.port, settings, server.log


@dataclass
class Round:
    latencies: list[float] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)
    answers: int = 0
    worst_lag_ms: float = 0.0
    slowest: tuple[float, str] = (0.0, "")

    @property
    def worst_probe(self) -> float:
        return max(self.latencies, default=0.0)

    @property
    def stalled(self) -> bool:
        return self.worst_probe >= MAX_PROBE_MS or self.worst_lag_ms >= MAX_LAG_MS


def probe(port: int, done: threading.Event, latencies: list[float]) -> None:
    """Time `GET /health/live` every PROBE_EVERY seconds until `done`, over a connection of its own."""
    while not done.is_set():
        connection = http.client.HTTPConnection(HOST, port, timeout=ANSWER_TIMEOUT)
        started = time.perf_counter()
        try:
            while not done.is_set():
                started = time.perf_counter()
                connection.request("GET", "/health/live")
                connection.getresponse().read()
                latencies.append((time.perf_counter() - started) * 1000)
                time.sleep(PROBE_EVERY)
        except (OSError, http.client.HTTPException):
            latencies.append((time.perf_counter() - started) * 1000)
        finally:
            connection.close()


def check(result: Round, route: Route, case: str, answer: Answer, owed: Case | None, settings: Settings) -> None:
    """Record what is wrong with one answer: not a 4xx, not the status the budget owes, too many errors listed."""
    result.answers += 1
    where = f"{route} with {case}"
    result.slowest = max(result.slowest, (answer.seconds, where))
    text = answer.body[:300].decode(errors="replace")
    if answer.status is None or not 400 <= answer.status < 500:
        got = answer.status or answer.error
        result.problems.append(f"{where}: answered {got} (a 4xx with a reason is owed): {text}")
        return
    if owed is not None and owed.status is not None and answer.status != owed.status:
        result.problems.append(f"{where}: expected {owed.status}, got {answer.status}: {text}")
        return
    try:
        body = json.loads(answer.body)
    except ValueError:
        result.problems.append(f"{where}: {answer.status} without a JSON reason: {text}")
        return
    detail = body.get("detail") if isinstance(body, dict) else None
    if not detail:
        result.problems.append(f"{where}: {answer.status} without a reason (`detail`): {text}")
    elif answer.status == 422 and isinstance(detail, list):
        if len(detail) > settings.max_validation_errors:
            result.problems.append(
                f"{where}: the 422 lists {len(detail)} errors, more than MAX_VALIDATION_ERRORS "
                f"({settings.max_validation_errors}): each one costs the event loop"
            )
        if owed is not None and owed.error_type is not None and detail[0].get("type") != owed.error_type:
            result.problems.append(f"{where}: expected a {owed.error_type} error, got: {text}")


def hostile_round(port: int, settings: Settings, routes: list[Route]) -> Round:
    """Send the corpus to every route, one request at a time, while probing; then read the watchdog."""
    result = Round()
    limit = settings.max_request_bytes
    cases = corpus(limit)
    reset = http.client.HTTPConnection(HOST, port, timeout=ANSWER_TIMEOUT)
    reset.request("POST", "/health/loop/reset")
    reset.getresponse().read()
    done = threading.Event()
    prober = threading.Thread(target=probe, args=(port, done, result.latencies), daemon=True)
    prober.start()
    try:
        for route in routes:
            route_limit = UPLOAD_LIMIT + UPLOAD_FRAMING if route.multipart else limit
            for case in cases:
                owed = None if route.multipart else case  # an upload route allows more, and reads no JSON
                check(result, route, case.name, send(port, route, case), owed, settings)
            # Past the limit by the Content-Length alone: refused before any of the body is sent.
            declared = Case("a Content-Length of 1 TiB and no body", b"", status=413)
            head = {"content-type": "application/json", "content-length": str(2**40)}
            check(result, route, declared.name, send_raw(port, route, head, []), declared, settings)
            # Past the limit in a chunked body that never ends: refused as soon as it passes the limit.
            streamed = Case("a chunked body past the limit, never finished", b"", status=413)
            if route.multipart:
                head = {"content-type": f"multipart/form-data; boundary={BOUNDARY}"}
                parts = chunked(route_limit + 1, upload_head())
            else:
                head = {"content-type": "application/json"}
                parts = chunked(route_limit + 1, b'{"name": "')
            head["transfer-encoding"] = "chunked"
            check(result, route, streamed.name, send_raw(port, route, head, parts), streamed, settings)
    finally:
        done.set()
        prober.join(ANSWER_TIMEOUT)
    watchdog = http.client.HTTPConnection(HOST, port, timeout=ANSWER_TIMEOUT)
    watchdog.request("GET", "/health/loop")
    result.worst_lag_ms = json.loads(watchdog.getresponse().read())["worst_lag_ms"]
    return result


def test_hostile_bodies_get_a_4xx_and_leave_the_loop_free(
    server: tuple[int, Settings, Path], request: pytest.FixtureRequest
) -> None:
    port, settings, log = server
    routes = body_routes(settings)
    if not routes:
        pytest.skip("no route takes a request body yet")
    for route in routes:  # first calls import modules and inspect endpoints
        send(port, route, Case("warm-up", b"{}"))
    result = hostile_round(port, settings, routes)
    if result.stalled and not result.problems:
        add_summary_line(request.config, f"hostile input: a stall over the limit ({result.worst_probe:.0f} ms), again")
        result = hostile_round(port, settings, routes)

    summary = (
        f"hostile input: {result.answers} answers on {len(routes)} routes; "
        f"watchdog worst {result.worst_lag_ms:.1f} ms, "
        f"/health/live probe max {result.worst_probe:.1f} ms over {len(result.latencies)} probes; "
        f"slowest answer {result.slowest[0] * 1000:.0f} ms ({result.slowest[1]}); "
        f"MAX_REQUEST_BYTES={settings.max_request_bytes}"
    )
    print(summary)
    add_summary_line(request.config, summary)
    server_log = "\n".join(log.read_text(errors="replace").splitlines()[-40:])
    assert not result.problems, (
        "the request budget failed: some hostile bodies did not get the 4xx they are owed:\n  "
        + "\n  ".join(result.problems[:30])
        + f"\nServer log:\n{server_log}"
    )
    advice = (
        f"one request's body held the event loop: see README 'Keeping the event loop free' (the request budget, "
        f"MAX_REQUEST_BYTES). Slowest answer: {result.slowest[1]}. Server log:\n{server_log}"
    )
    assert result.worst_probe < MAX_PROBE_MS, (
        f"the event loop was blocked for {result.worst_probe:.0f} ms (a /health/live probe took that long, limit "
        f"{MAX_PROBE_MS:.0f} ms): {advice}"
    )
    assert result.worst_lag_ms < MAX_LAG_MS, (
        f"the event loop was blocked for {result.worst_lag_ms:.0f} ms (the watchdog's worst lag, limit "
        f"{MAX_LAG_MS:.0f} ms): {advice}"
    )
