"""The request deadline (deadline.py), on a bare ASGI app: what it answers, and what it leaves alone."""

from __future__ import annotations

import anyio
import httpx
import pytest
from starlette.types import Receive, Scope, Send

from {{ cookiecutter.package_name }}.deadline import RequestDeadlineMiddleware, waited_on, waits_on

DEADLINE = 0.3


async def respond(send: Send, status: int = 200, body: bytes = b"ok") -> None:
    await send({"type": "http.response.start", "status": status, "headers": [(b"content-length", b"%d" % len(body))]})
    await send({"type": "http.response.body", "body": body})


async def app(scope: Scope, receive: Receive, send: Send) -> None:
    """`/hang`: waits on two dependencies forever; `/fast`: answers at once; `/none`: waits on nothing."""
    path = scope["path"]
    if path == "/hang":
        waits_on("PostgreSQL")
        waits_on("S3")
        waits_on("PostgreSQL")
        await anyio.sleep_forever()
    if path == "/fast":
        waits_on("PostgreSQL")
        await respond(send, body=", ".join(waited_on()).encode())
        return
    if path == "/none":
        await anyio.sleep(DEADLINE * 2)
        await respond(send)
        return
    if path == "/stream":  # a response under way when the deadline passes
        waits_on("S3")
        await send({"type": "http.response.start", "status": 200, "headers": []})
        await anyio.sleep(DEADLINE * 2)
        await send({"type": "http.response.body", "body": b"late but whole"})
        return
    if path == "/bug":
        waits_on("PostgreSQL")
        raise LookupError("a bug")


def client() -> httpx.AsyncClient:
    transport = httpx.ASGITransport(app=RequestDeadlineMiddleware(app, DEADLINE))
    return httpx.AsyncClient(transport=transport, base_url="http://testserver")


async def test_past_the_deadline_the_answer_is_a_504_naming_each_dependency_once() -> None:
    async with client() as c:
        with anyio.fail_after(DEADLINE + 5):
            response = await c.get("/hang")
    assert response.status_code == 504
    assert response.json() == {"detail": f"PostgreSQL or S3 did not answer within {DEADLINE:g}s, try again later"}
    assert response.headers["retry-after"] == "1"


async def test_an_answer_before_the_deadline_is_left_alone() -> None:
    async with client() as c:
        response = await c.get("/fast")
    assert response.status_code == 200
    assert response.text == "PostgreSQL"


async def test_a_request_that_waits_on_no_dependency_has_no_deadline() -> None:
    async with client() as c:
        response = await c.get("/none")
    assert response.status_code == 200


async def test_a_response_under_way_is_not_cut() -> None:
    async with client() as c:
        response = await c.get("/stream")
    assert response.status_code == 200
    assert response.text == "late but whole"


async def test_an_error_of_the_app_comes_out_as_it_was() -> None:
    async with client() as c:
        with pytest.raises(LookupError, match="a bug"):
            await c.get("/bug")


def test_outside_a_request_nothing_is_recorded() -> None:
    waits_on("PostgreSQL")
    assert waited_on() == []
