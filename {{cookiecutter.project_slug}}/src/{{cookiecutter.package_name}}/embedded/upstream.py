"""A stand-in for the upstream HTTP service, for development and tests.

`GET /echo/{name}?delay=&status=` answers after `delay` seconds with `status`, so the
upstream client's concurrency, deadlines and error handling can be exercised for real.
It runs in its own process (`python -m` this module), so its event loop never shares
time with the app under test and a slow answer is slow for real.

Under the base URL `<stub>/not-an-object/{shape}`, `/echo/{name}` answers 200 with JSON
that is not an object (a list, a number, a string or null): an upstream that breaks its
contract.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Annotated, Any, Literal

import anyio
import uvicorn
from fastapi import FastAPI, Query, Response
from fastapi.responses import JSONResponse

from .process import HOST, http_status, serve_child

# Statuses that must not carry a body. 1xx are not final responses, so they are refused.
BODYLESS_STATUSES = frozenset({204, 205, 304})
NOT_AN_OBJECT: dict[str, Any] = {"list": ["a"], "number": 42, "string": "a", "null": None}


def create_app() -> FastAPI:
    app = FastAPI(title="upstream stub", openapi_url=None)

    @app.get("/health")
    async def health() -> dict[str, str]:
        return {"status": "ok"}

    @app.get("/echo/{name}")
    async def echo(
        name: str,
        delay: Annotated[float, Query(ge=0, le=30)] = 0.0,
        status: Annotated[int, Query(ge=200, le=599)] = 200,
    ) -> Response:
        await anyio.sleep(delay)
        if status in BODYLESS_STATUSES:
            return Response(status_code=status)
        return JSONResponse({"name": name, "delay": delay, "status": status}, status_code=status)

    @app.get("/not-an-object/{shape}/echo/{name}")
    async def echo_not_an_object(shape: Literal["list", "number", "string", "null"], name: str) -> Response:
        return JSONResponse(NOT_AN_OBJECT[shape])

    return app


@contextmanager
def embedded_upstream() -> Iterator[str]:
    """Run the stub on a free loopback port and yield its base URL; stop it on exit."""
    with (
        tempfile.TemporaryDirectory(prefix="upstream-stub-") as scratch,
        serve_child(
            "upstream stub",
            # -W: runpy warns that this module was imported (by the package) before it runs as __main__
            lambda port: [sys.executable, "-W", "ignore::RuntimeWarning:runpy", "-m", __name__, "--port", str(port)],
            lambda port: http_status(port, "/health") == 200,
            log=Path(scratch) / "upstream.log",
        ) as port,
    ):
        yield f"http://{HOST}:{port}"


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description="Serve the upstream stub on 127.0.0.1.")
    parser.add_argument("--port", type=int, default=8001)
    args = parser.parse_args(argv)
    uvicorn.run(create_app(), host=HOST, port=args.port, log_level="warning", access_log=False)


if __name__ == "__main__":
    main()
