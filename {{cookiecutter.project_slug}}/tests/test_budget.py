"""The request budget (budget.py, errors.py) holds for any route, one added after the app was built included.

Each test adds its own routes to a fresh app, the way a new router of the project would
be: the budget must not depend on the routes it was written with.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi import APIRouter, Request
from pydantic import BaseModel, ConfigDict

from {{ cookiecutter.package_name }}.app import create_app

from .conftest import make_settings, serve


class Thing(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str
    weight: float


later = APIRouter(prefix="/later", tags=["later"])


@later.post("/things")
async def create_thing(thing: Thing) -> Thing:
    return thing


@later.post("/raw")
async def raw(request: Request) -> dict[str, int]:
    """Reads the body itself, past FastAPI's parsing."""
    return {"size": len(await request.body())}


@pytest.fixture
async def client(service_urls: dict[str, str], tmp_path: Path) -> AsyncIterator[httpx.AsyncClient]:
    """The app with a router included after create_app, and small limits to test against."""
    settings = make_settings(service_urls, tmp_path / "storage", max_request_bytes=1000, max_validation_errors=3)
    app = create_app(settings)
    app.include_router(later)
    async with serve(app) as client:
        yield client


def post_json(client: httpx.AsyncClient, path: str, raw: bytes, **kwargs: Any) -> Any:
    return client.post(path, content=raw, headers={"content-type": "application/json", **kwargs})


class Chunks:
    """A body sent in chunks with no Content-Length, counting the chunks the app has read."""

    def __init__(self, chunk: bytes, count: int) -> None:
        self.chunk, self.count, self.sent = chunk, count, 0

    async def __aiter__(self) -> AsyncIterator[bytes]:
        for _ in range(self.count):
            self.sent += 1
            yield self.chunk


@pytest.mark.parametrize("path", ["/later/things", "/later/raw"])
async def test_a_declared_length_past_the_limit_is_413_before_the_body_is_read(
    client: httpx.AsyncClient, path: str
) -> None:
    body = Chunks(b"x" * 500, 10)
    response = await client.post(path, content=body, headers={"content-length": "5000"})
    assert response.status_code == 413, response.text
    assert response.json() == {"detail": "request body larger than the limit of 1000 bytes (MAX_REQUEST_BYTES)"}
    assert body.sent == 0


@pytest.mark.parametrize("path", ["/later/things", "/later/raw"])
async def test_a_chunked_body_is_413_as_soon_as_it_passes_the_limit(client: httpx.AsyncClient, path: str) -> None:
    body = Chunks(b"x" * 400, 100)
    response = await client.post(path, content=body, headers={"content-type": "application/json"})
    assert response.status_code == 413, response.text
    assert "MAX_REQUEST_BYTES" in response.json()["detail"]
    assert body.sent == 3  # 1200 bytes: the third chunk passed the limit, and nothing after it was read


async def test_a_body_at_the_limit_is_served(client: httpx.AsyncClient) -> None:
    response = await client.post("/later/raw", content=b"x" * 1000)
    assert response.status_code == 200, response.text
    assert response.json() == {"size": 1000}


@pytest.mark.parametrize(
    ("number", "reason"),
    [
        ("NaN", "NaN is not a JSON number"),
        ("Infinity", "Infinity is not a JSON number"),
        ("-Infinity", "-Infinity is not a JSON number"),
        ("1e400", "1e400 is out of the range of a JSON number"),
        ("-1" + "0" * 400 + ".5", "out of the range of a JSON number"),
    ],
)
async def test_a_number_json_does_not_have_is_422(client: httpx.AsyncClient, number: str, reason: str) -> None:
    """Python's parser reads these (as floats), and the field here is a float: it would have taken them."""
    for path in ("/later/things", "/later/raw"):
        response = await post_json(client, path, b'{"name": "x", "weight": %s}' % number.encode())
        assert response.status_code == 422, (path, response.text)
        [error] = response.json()["detail"]
        assert (error["type"], error["loc"]) == ("json_invalid", ["body"])
        assert reason in error["ctx"]["error"]


async def test_those_words_inside_strings_and_big_but_finite_numbers_are_fine(client: httpx.AsyncClient) -> None:
    response = await post_json(client, "/later/things", b'{"name": "NaN, Infinity, 1e400", "weight": 1.5e308}')
    assert response.status_code == 200, response.text
    assert response.json() == {"name": "NaN, Infinity, 1e400", "weight": 1.5e308}


async def test_a_422_lists_the_first_errors_and_counts_them_all(client: httpx.AsyncClient) -> None:
    raw = b'{"name": "x", "weight": 1, %s}' % b", ".join(b'"k%d": 0' % i for i in range(50))
    response = await post_json(client, "/later/things", raw)
    assert response.status_code == 422, response.text
    body = response.json()
    assert [error["loc"] for error in body["detail"]] == [["body", "k0"], ["body", "k1"], ["body", "k2"]]
    assert body["error_count"] == 50


async def test_a_422_within_the_cap_is_fastapis_own(client: httpx.AsyncClient) -> None:
    response = await post_json(client, "/later/things", b'{"name": "x", "weight": "heavy"}')
    assert response.status_code == 422, response.text
    assert response.json() == {
        "detail": [
            {
                "type": "float_parsing",
                "loc": ["body", "weight"],
                "msg": "Input should be a valid number, unable to parse string as a number",
                "input": "heavy",
            }
        ]
    }


@pytest.mark.parametrize(
    ("raw", "content_type"),
    [
        (b"\xff\xfe not UTF-8", "text/plain"),
        (b'{"name": ' + b"[" * 400 + b"]" * 400 + b', "weight": 1}', "application/json"),
        (b'{"name": ' + b'{"a": ' * 400 + b"1" + b"}" * 400 + b', "weight": 1}', "application/json"),
        (b"[" * 100_000, "application/json"),
        (b"[" + b"0," * 300 + b"0]", "application/json"),
    ],
)
async def test_an_input_that_cannot_be_echoed_is_still_a_4xx(
    client: httpx.AsyncClient, raw: bytes, content_type: str
) -> None:
    """Bytes that are not UTF-8, nesting deeper than an encoder goes, a long array."""
    response = await client.post("/later/things", content=raw, headers={"content-type": content_type})
    assert 400 <= response.status_code < 500, response.text
    assert len(response.content) < 2000, response.text
