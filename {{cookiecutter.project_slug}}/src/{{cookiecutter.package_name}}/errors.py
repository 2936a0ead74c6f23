"""Error responses FastAPI's defaults get wrong.

A service this one depends on that is down or too slow (PostgreSQL refusing
connections, say) is not the client's fault and not a bug either: the
request was fine and may succeed later. FastAPI's default is a bare 500; the handlers
added by `add_unavailable_handler` answer 503 with the reason and a `Retry-After`, and
`/health/ready` says which dependency it is.

FastAPI answers a request it cannot validate with a 422 that echoes the offending input.
A JSON body may carry a lone surrogate (the escape `\\ud800`: valid JSON, but no
character): pydantic refuses it, and FastAPI's handler then fails to encode the echo as
UTF-8, so the client gets a 500 instead. The handler here sends FastAPI's 422 body
unchanged, except that a string UTF-8 cannot encode shows the offending code points
backslash-escaped.
"""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI, Request
from fastapi.encoders import jsonable_encoder
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse

from .concurrency import runs_on_loop
from .deadline import waited_on

RETRY_AFTER_SECONDS = 1
ANY_DEPENDENCY = "a service this request needs"
"""Named by the handler of Python's ConnectionError and TimeoutError, whoever raised them:
it names the dependencies the request asked for instead, when it knows them (deadline.py)."""


def encodable(value: Any) -> Any:
    """`value` (JSON-ready) with every string that UTF-8 cannot encode escaped; the rest as it was."""
    if isinstance(value, str):
        try:
            value.encode()
        except UnicodeEncodeError:
            return value.encode(errors="backslashreplace").decode()
        return value
    if isinstance(value, dict):
        return {encodable(key): encodable(item) for key, item in value.items()}
    if isinstance(value, list):
        return [encodable(item) for item in value]
    return value


@runs_on_loop
async def request_validation_error(request: Request, exc: Exception) -> JSONResponse:
    """FastAPI's own 422 (`{"detail": [errors]}`), sendable whatever the input was."""
    assert isinstance(exc, RequestValidationError)
    return JSONResponse(status_code=422, content={"detail": encodable(jsonable_encoder(exc.errors()))})


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
