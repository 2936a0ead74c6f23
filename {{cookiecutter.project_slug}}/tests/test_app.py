"""The app factory's wiring: the request id middleware and the route table."""

from __future__ import annotations

import httpx
from fastapi import APIRouter, FastAPI

from {{ cookiecutter.package_name }}.app import add_routes, create_app
from {{ cookiecutter.package_name }}.middleware import RequestIdMiddleware, request_id
from {{ cookiecutter.package_name }}.settings import Settings


def echo_app() -> FastAPI:
    """An app whose endpoint answers with the request id it sees."""
    app = FastAPI()
    app.add_middleware(RequestIdMiddleware)

    @app.get("/id")
    async def current_id() -> dict[str, str]:
        return {"id": request_id.get()}

    return app


async def test_the_callers_request_id_is_seen_by_the_endpoint_and_echoed() -> None:
    transport = httpx.ASGITransport(app=echo_app())
    async with httpx.AsyncClient(transport=transport, base_url="http://app") as client:
        response = await client.get("/id", headers={"x-request-id": "trace-42"})
    assert response.json() == {"id": "trace-42"}
    assert response.headers["x-request-id"] == "trace-42"


async def test_a_missing_or_unusable_request_id_is_replaced_by_a_fresh_one() -> None:
    transport = httpx.ASGITransport(app=echo_app())
    async with httpx.AsyncClient(transport=transport, base_url="http://app") as client:
        missing = await client.get("/id")
        too_long = await client.get("/id", headers={"x-request-id": "x" * 129})
        again = await client.get("/id")
    ids = [response.headers["x-request-id"] for response in (missing, too_long, again)]
    assert [response.json()["id"] for response in (missing, too_long, again)] == ids
    assert all(len(rid) == 32 for rid in ids)
    assert len(set(ids)) == 3
    assert request_id.get() == "-"  # reset once the request is over


async def test_routes_added_to_the_app_serve_and_document_what_include_router_would(settings: Settings) -> None:
    """`add_routes` flattens routers for speed: the API and its OpenAPI document must not change."""
    router = APIRouter(prefix="/things", tags=["things"])

    @router.get("/{thing_id}")
    async def get_thing(thing_id: int) -> dict[str, int]:
        return {"id": thing_id}

    included, added = FastAPI(), FastAPI()
    included.include_router(router)
    add_routes(added, router)
    assert added.openapi() == included.openapi()
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=added), base_url="http://app") as client:
        assert (await client.get("/things/7")).json() == {"id": 7}
        assert (await client.get("/things/x")).status_code == 422
        assert (await client.post("/things/7")).status_code == 405
        assert (await client.get("/nothing")).status_code == 404
    documented = set(create_app(settings).openapi()["paths"])
    assert "/health/live" in documented
    assert "/health/ready" in documented
