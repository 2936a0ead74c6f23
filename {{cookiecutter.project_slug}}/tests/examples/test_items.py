"""The items example on PostgreSQL: CRUD, pagination, and a 4xx with a reason for every bad input."""

from __future__ import annotations

from collections.abc import Callable
from contextlib import AbstractAsyncContextManager
from typing import Any

import httpx
import pytest

from {{ cookiecutter.package_name }}.embedded import free_port

ClientWith = Callable[..., AbstractAsyncContextManager[httpx.AsyncClient]]

WIDGET = {"name": "widget", "description": "a small part", "price_cents": 1250}


async def create(client: httpx.AsyncClient, **fields: Any) -> dict[str, Any]:
    response = await client.post("/items", json={**WIDGET, **fields})
    assert response.status_code == 201, response.text
    item: dict[str, Any] = response.json()
    return item


async def test_create_then_get(client: httpx.AsyncClient) -> None:
    created = await create(client)
    assert created["id"] >= 1
    assert {k: created[k] for k in WIDGET} == WIDGET
    assert created["created_at"]

    fetched = await client.get(f"/items/{created['id']}")
    assert fetched.status_code == 200
    assert fetched.json() == created


async def test_description_defaults_to_empty(client: httpx.AsyncClient) -> None:
    response = await client.post("/items", json={"name": "bare", "price_cents": 0})
    assert response.status_code == 201
    assert response.json()["description"] == ""


async def test_a_duplicate_name_is_a_conflict(client: httpx.AsyncClient) -> None:
    await create(client)
    response = await client.post("/items", json=WIDGET)
    assert response.status_code == 409
    assert "widget" in response.json()["detail"]


async def test_values_are_stored_verbatim_never_spliced_into_sql(client: httpx.AsyncClient) -> None:
    hostile = "x'); DROP TABLE items; --"
    created = await create(client, name=hostile, description="$1 \\ ' \"")
    fetched = (await client.get(f"/items/{created['id']}")).json()
    assert (fetched["name"], fetched["description"]) == (hostile, "$1 \\ ' \"")
    assert (await client.get("/items")).json()["total"] == 1


async def test_a_missing_item_is_404(client: httpx.AsyncClient) -> None:
    for response in (
        await client.get("/items/999"),
        await client.patch("/items/999", json={"price_cents": 1}),
        await client.delete("/items/999"),
    ):
        assert response.status_code == 404
        assert "999" in response.json()["detail"]


async def test_list_pages_in_id_order(client: httpx.AsyncClient) -> None:
    empty = (await client.get("/items")).json()
    assert empty == {"items": [], "limit": 20, "offset": 0, "total": 0}
    ids = [(await create(client, name=f"item-{n}"))["id"] for n in range(5)]

    page = (await client.get("/items", params={"limit": 2, "offset": 2})).json()
    assert [item["id"] for item in page["items"]] == ids[2:4]
    assert (page["limit"], page["offset"], page["total"]) == (2, 2, 5)

    default = (await client.get("/items")).json()
    assert [item["id"] for item in default["items"]] == ids
    assert (default["limit"], default["offset"]) == (20, 0)

    past_the_end = (await client.get("/items", params={"offset": 10})).json()
    assert past_the_end["items"] == []
    assert past_the_end["total"] == 5


@pytest.mark.parametrize("params", [{"limit": 0}, {"limit": 101}, {"offset": -1}, {"limit": "ten"}])
async def test_bad_pagination_is_422(client: httpx.AsyncClient, params: dict[str, Any]) -> None:
    response = await client.get("/items", params=params)
    assert response.status_code == 422
    assert response.json()["detail"][0]["loc"][:1] == ["query"]


async def test_update_changes_only_the_given_fields(client: httpx.AsyncClient) -> None:
    created = await create(client)
    response = await client.patch(f"/items/{created['id']}", json={"price_cents": 999})
    assert response.status_code == 200
    assert response.json() == {**created, "price_cents": 999}
    assert (await client.get(f"/items/{created['id']}")).json()["price_cents"] == 999

    unchanged = await client.patch(f"/items/{created['id']}", json={})
    assert unchanged.json() == {**created, "price_cents": 999}


async def test_renaming_onto_an_existing_name_is_a_conflict(client: httpx.AsyncClient) -> None:
    await create(client, name="first")
    second = await create(client, name="second")
    response = await client.patch(f"/items/{second['id']}", json={"name": "first"})
    assert response.status_code == 409
    assert (await client.get(f"/items/{second['id']}")).json()["name"] == "second"


async def test_delete_removes_the_item(client: httpx.AsyncClient) -> None:
    created = await create(client)
    response = await client.delete(f"/items/{created['id']}")
    assert response.status_code == 204
    assert response.content == b""
    assert (await client.get(f"/items/{created['id']}")).status_code == 404


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"description": "no name", "price_cents": 1}, "name"),
        ({"name": "", "price_cents": 1}, "name"),
        ({"name": "x" * 201, "price_cents": 1}, "name"),
        ({"name": "negative", "price_cents": -1}, "price_cents"),
        ({"name": "too dear", "price_cents": 2**31}, "price_cents"),
        ({"name": "not a number", "price_cents": "lots"}, "price_cents"),
        ({"name": "surprise", "price_cents": 1, "colour": "red"}, "colour"),
    ],
)
async def test_an_invalid_body_is_422_naming_the_field(
    client: httpx.AsyncClient, body: dict[str, Any], field: str
) -> None:
    response = await client.post("/items", json=body)
    assert response.status_code == 422
    assert response.json()["detail"][0]["loc"][-1] == field


async def test_an_invalid_update_is_422(client: httpx.AsyncClient) -> None:
    created = await create(client)
    for body in ({"name": None}, {"price_cents": -5}, {"id": 7}):
        response = await client.patch(f"/items/{created['id']}", json=body)
        assert response.status_code == 422, body
    assert (await client.get(f"/items/{created['id']}")).json() == created


@pytest.mark.parametrize("item_id", ["0", "-1", str(2**63), "abc"])
async def test_an_id_out_of_range_is_422_not_a_database_error(client: httpx.AsyncClient, item_id: str) -> None:
    response = await client.get(f"/items/{item_id}")
    assert response.status_code == 422
    assert response.json()["detail"][0]["loc"] == ["path", "item_id"]


async def test_a_body_that_is_not_json_is_422(client: httpx.AsyncClient) -> None:
    response = await client.post("/items", content=b"name=widget", headers={"content-type": "application/json"})
    assert response.status_code == 422


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"name": "nul\u0000byte", "price_cents": 1}, "name"),
        ({"name": "fine", "description": "a \u0000 inside", "price_cents": 1}, "description"),
    ],
)
async def test_a_nul_character_is_422_not_a_database_error(
    client: httpx.AsyncClient, body: dict[str, Any], field: str
) -> None:
    """PostgreSQL text cannot store NUL: the driver would fail on it (a 500) if the model let it through."""
    created = await create(client)
    for response in (
        await client.post("/items", json=body),
        await client.patch(f"/items/{created['id']}", json={field: body[field]}),
    ):
        assert response.status_code == 422, response.text
        error = response.json()["detail"][0]
        assert error["loc"] == ["body", field]
        assert "NUL" in error["msg"]
    assert (await client.get("/items")).json()["total"] == 1


async def test_an_ordinary_422_keeps_fastapis_body(client: httpx.AsyncClient) -> None:
    response = await client.post("/items", json={"name": "negative", "price_cents": -1})
    assert response.status_code == 422
    assert response.json() == {
        "detail": [
            {
                "type": "greater_than_equal",
                "loc": ["body", "price_cents"],
                "msg": "Input should be greater than or equal to 0",
                "input": -1,
                "ctx": {"ge": 0},
            }
        ]
    }


@pytest.mark.parametrize(
    ("raw", "field", "echoed"),
    [
        (b'{"name": "\\ud800", "price_cents": 1}', "name", "\\ud800"),
        (b'{"name": "ok", "description": "x\\udfffy", "price_cents": 1}', "description", "x\\udfffy"),
        (b'{"name": "ok", "price_cents": "\\ud800"}', "price_cents", "\\ud800"),
    ],
)
async def test_a_lone_surrogate_is_422_with_its_input_escaped(
    client: httpx.AsyncClient, raw: bytes, field: str, echoed: str
) -> None:
    """`\\ud800` is a valid JSON escape but no character: the 422 that echoes it must still encode as UTF-8."""
    response = await client.post("/items", content=raw, headers={"content-type": "application/json"})
    assert response.status_code == 422, response.text
    error = response.json()["detail"][0]
    assert (error["loc"], error["input"]) == (["body", field], echoed)


async def test_a_lone_surrogate_in_a_key_is_422(client: httpx.AsyncClient) -> None:
    raw = b'{"name": "ok", "price_cents": 1, "\\udc00": 1}'
    response = await client.post("/items", content=raw, headers={"content-type": "application/json"})
    assert response.status_code == 422, response.text
    assert response.json()["detail"][0]["input"] == "\\udc00"


async def test_a_database_that_is_down_is_a_503_with_a_reason_not_a_500(client_with: ClientWith) -> None:
    """The request was fine and may succeed later: 503 and Retry-After, and no traceback for the client."""
    nothing_there = f"postgresql://postgres@127.0.0.1:{free_port()}/postgres"
    async with client_with(database_url=nothing_there, db_pool_min_size=0, db_connect_timeout=1.0) as client:
        for response in (await client.get("/items/1"), await client.post("/items", json=WIDGET)):
            assert response.status_code == 503, response.text
            assert response.headers["retry-after"] == "1"
            assert "unavailable, try again later" in response.json()["detail"]
