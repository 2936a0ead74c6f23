{%- set with_items = cookiecutter.use_postgres == 'y' and cookiecutter.include_examples == 'y' -%}
{%- set with_fanout = cookiecutter.use_http_client == 'y' and cookiecutter.include_examples == 'y' -%}
"""The baseline: a bare FastAPI app, written the way the tutorials and driver docs show.

`make bench` serves it beside the service, with the same uvicorn command line and the
same database, so the differences it prints are what the template changes:
{% if with_fanout %}
* `/slow` calls the upstream with a sync `httpx.Client` inside `async def`, the mistake
  the seed article warns about: while it waits, the event loop waits, and so does every
  other request (the health probe included);
{%- else %}
* `/slow` waits with `time.sleep` inside `async def`, the mistake the seed article warns
  about: while it sleeps, the event loop sleeps, and so does every other request (the
  health probe included);
{%- endif %}
{%- if with_items %}
* the items endpoints use `asyncpg.create_pool()` with its defaults (10 connections, and
  a reset query on every release) and return `dict(record)` through a `response_model`.
{%- endif %}

It is not part of the service: it only exists to be measured against.
"""

from __future__ import annotations
{% if with_items or with_fanout %}
import os
{%- endif %}
{%- if not with_fanout %}
import time
{%- endif %}
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
{%- if with_items %}
from datetime import datetime
{%- endif %}
from typing import Any
{% if with_items %}
import asyncpg
{%- endif %}
{%- if with_fanout %}
import httpx
{%- endif %}
from fastapi import FastAPI{% if with_items %}, HTTPException{% endif %}
{%- if with_items %}
from pydantic import BaseModel


class Item(BaseModel):
    id: int
    name: str
    description: str
    price_cents: int
    created_at: datetime


class ItemPage(BaseModel):
    items: list[Item]
    limit: int
    offset: int
    total: int
{%- endif %}
{%- if with_items or with_fanout %}


class Resources:
{%- if with_items %}
    pool: Any  # asyncpg.Pool (asyncpg has no type hints)
{%- endif %}
{%- if with_fanout %}
    upstream: httpx.Client
{%- endif %}


resources = Resources()
{%- endif %}


@asynccontextmanager
async def lifespan(app: FastAPI) -> AsyncIterator[None]:
{%- if with_items %}
    resources.pool = await asyncpg.create_pool(os.environ["DATABASE_URL"])
{%- endif %}
{%- if with_fanout %}
    resources.upstream = httpx.Client(base_url=os.environ["UPSTREAM_BASE_URL"])
{%- endif %}
    yield
{%- if with_fanout %}
    resources.upstream.close()
{%- endif %}
{%- if with_items %}
    await resources.pool.close()
{%- endif %}


app = FastAPI(lifespan=lifespan)


@app.get("/health/live")
async def live() -> dict[str, str]:
    return {"status": "ok"}


@app.get("/slow")
async def slow(delay: float) -> dict[str, Any]:
{%- if with_fanout %}
    response = resources.upstream.get("/echo/a", params={"delay": delay})  # blocks the event loop
    result: dict[str, Any] = response.json()
    return result
{%- else %}
    time.sleep(delay)  # noqa: ASYNC251  # the mistake under test: it blocks the event loop
    return {"delay": delay}
{%- endif %}
{%- if with_items %}


@app.get("/items/{item_id}", response_model=Item)
async def read_item(item_id: int) -> Any:
    row = await resources.pool.fetchrow(
        "SELECT id, name, description, price_cents, created_at FROM items WHERE id = $1", item_id
    )
    if row is None:
        raise HTTPException(status_code=404, detail="item not found")
    return dict(row)


@app.get("/items", response_model=ItemPage)
async def list_items(limit: int = 20, offset: int = 0) -> Any:
    rows = await resources.pool.fetch(
        "SELECT id, name, description, price_cents, created_at FROM items ORDER BY id LIMIT $1 OFFSET $2",
        limit,
        offset,
    )
    total = await resources.pool.fetchval("SELECT count(*) FROM items")
    return {"items": [dict(row) for row in rows], "limit": limit, "offset": offset, "total": total}
{%- endif %}
