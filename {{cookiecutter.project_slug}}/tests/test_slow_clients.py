"""A client that sends its body too slowly gets a 408 and its connection closed (slow_clients.py)."""

from __future__ import annotations

from collections.abc import AsyncIterator

import anyio
import httpx
from starlette.types import Receive, Scope, Send

from {{ cookiecutter.package_name }}.slow_clients import BodyTimeoutMiddleware

TIMEOUT = 0.5


async def echo(scope: Scope, receive: Receive, send: Send) -> None:
    """Read the whole body, then send it back; stop at a disconnect, as Starlette does."""
    body = b""
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            return
        body += message.get("body", b"")
        if not message.get("more_body", False):
            break
    await send({"type": "http.response.start", "status": 200, "headers": [(b"content-length", b"%d" % len(body))]})
    await send({"type": "http.response.body", "body": body})


def client() -> httpx.AsyncClient:
    transport = httpx.ASGITransport(app=BodyTimeoutMiddleware(echo, TIMEOUT))
    return httpx.AsyncClient(transport=transport, base_url="http://testserver")


async def chunks(delay: float) -> AsyncIterator[bytes]:
    for byte in b"12345678":
        await anyio.sleep(delay)
        yield bytes([byte])


async def test_a_body_that_trickles_gets_a_408_and_connection_close() -> None:
    async with client() as c:
        with anyio.fail_after(10):
            response = await c.post("/", content=chunks(TIMEOUT / 4))  # 8 bytes: twice the timeout
    assert response.status_code == 408
    assert response.headers["connection"] == "close"
    assert "did not arrive in time" in response.json()["detail"]


async def test_a_body_that_arrives_in_time_is_served() -> None:
    async with client() as c:
        response = await c.post("/", content=chunks(0))
    assert response.status_code == 200
    assert response.content == b"12345678"
