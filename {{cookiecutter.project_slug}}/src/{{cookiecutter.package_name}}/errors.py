"""Error responses FastAPI's defaults get wrong.

A service this one depends on that is down or too slow (PostgreSQL refusing
connections, say) is not the client's fault and not a bug either: the
request was fine and may succeed later. FastAPI's default is a bare 500; the handlers
added by `add_unavailable_handler` answer 503 with the reason and a `Retry-After`, and
`/health/ready` says which dependency it is.

FastAPI answers a request it cannot validate with a 422 that echoes the offending input,
and its handler fails (a 500) on an input that is not JSON-ready: a lone surrogate (the
escape `\\ud800`: valid JSON, but no character), bytes that are not UTF-8, nesting deeper
than the encoder goes, an infinite float. It also lists every error, and builds each one
in pure Python on the event loop: a body of 200,000 unknown keys held the loop for seconds.
The handler here sends FastAPI's 422 body, but with at most `max_validation_errors` errors
and then `error_count`, the number there were, each serialised by pydantic-core (in Rust).
An input of more than `ECHOED_MEMBERS` members is summarised rather than echoed, a string
UTF-8 cannot encode shows the offending code points backslash-escaped, and an input that
still cannot be sent is replaced by a note.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from fastapi import FastAPI, Request, Response
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic_core import PydanticSerializationError, to_json

from .concurrency import runs_on_loop
from .deadline import waited_on
from .settings import Settings

RETRY_AFTER_SECONDS = 1
ANY_DEPENDENCY = "a service this request needs"
"""Named by the handler of Python's ConnectionError and TimeoutError, whoever raised them:
it names the dependencies the request asked for instead, when it knows them (deadline.py)."""
NOT_SHOWN = "(not shown: it cannot be sent as JSON)"
ECHOED_MEMBERS = 100
"""An input with more members than this (the whole body of a `missing` error, say) is summarised, not echoed."""


def encodable(value: Any) -> Any:
    """`value` (JSON-ready) with every string that UTF-8 cannot encode escaped; the rest as it was."""
    if isinstance(value, str):
        try:
            value.encode()
        except UnicodeEncodeError:
            return value.encode(errors="backslashreplace").decode()
        return value
    if isinstance(value, bytes):
        return value.decode(errors="backslashreplace")
    if isinstance(value, dict):
        return {encodable(key): encodable(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [encodable(item) for item in value]
    return value


def error_json(error: Mapping[str, Any]) -> bytes:
    """One validation error as JSON, whatever its input was."""
    options: dict[str, Any] = {"inf_nan_mode": "strings", "fallback": str}
    value = error.get("input")
    if isinstance(value, dict | list) and len(value) > ECHOED_MEMBERS:
        kind = "an object" if isinstance(value, dict) else "an array"
        error = {**error, "input": f"(not shown: {kind} of {len(value)} members)"}
    try:
        return to_json(error, **options)
    except PydanticSerializationError:
        pass
    try:
        return to_json(encodable(dict(error)), **options)
    except (PydanticSerializationError, RecursionError):
        return to_json(encodable({**error, "input": NOT_SHOWN}), **options)


def validation_errors_json(errors: Sequence[Mapping[str, Any]], shown: int) -> bytes:
    """`{"detail": [the first `shown` errors]}`, and `"error_count"` when there were more."""
    detail = b",".join(error_json(error) for error in errors[:shown])
    count = b',"error_count":%d' % len(errors) if len(errors) > shown else b""
    return b'{"detail":[' + detail + b"]" + count + b"}"


@runs_on_loop
async def request_validation_error(request: Request, exc: Exception) -> Response:
    """FastAPI's own 422 (`{"detail": [errors]}`), bounded, and sendable whatever the input was."""
    assert isinstance(exc, RequestValidationError)
    settings: Settings = request.app.state.settings
    content = validation_errors_json(exc.errors(), settings.max_validation_errors)
    return Response(content, status_code=422, media_type="application/json")


def add_unavailable_handler(app: FastAPI, dependency: str, errors: tuple[type[Exception], ...]) -> None:
    """Answer 503 naming `dependency` when one of `errors` escapes an endpoint."""

    @runs_on_loop
    async def unavailable(request: Request, exc: Exception) -> JSONResponse:
        reason = f"{type(exc).__name__}: {exc}"[:300]
        names = (" or ".join(waited_on()) or dependency) if dependency == ANY_DEPENDENCY else dependency
        return JSONResponse(
            status_code=503,
            content={"detail": f"{names} is unavailable, try again later ({reason})"},
            headers={"retry-after": str(RETRY_AFTER_SECONDS)},
        )

    for error in errors:
        app.add_exception_handler(error, unavailable)


def add_error_handlers(app: FastAPI) -> None:
    app.add_exception_handler(RequestValidationError, request_validation_error)
    # A refused connection and a wait past its timeout, whichever client raised them.
    add_unavailable_handler(app, ANY_DEPENDENCY, (ConnectionError, TimeoutError))
