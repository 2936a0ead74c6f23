"""The app factory's wiring: the request id middleware and the routes it serves."""

from __future__ import annotations

import httpx
from fastapi import FastAPI
from fastapi.routing import APIRoute

from {{ cookiecutter.package_name }} import health
from {{ cookiecutter.package_name }}.app import create_app
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


def test_the_app_documents_the_routes_of_the_routers_it_includes(settings: Settings) -> None:
    documented = create_app(settings).openapi()["paths"]
    paths = {route.path for route in health.router.routes if isinstance(route, APIRoute)}
    assert {"/health/live", "/health/ready"} <= paths <= set(documented)
