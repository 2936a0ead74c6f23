{%- set with_items = cookiecutter.use_postgres == 'y' and cookiecutter.include_examples == 'y' -%}
{%- set with_fanout = cookiecutter.use_http_client == 'y' and cookiecutter.include_examples == 'y' -%}
"""The baseline: a bare FastAPI app, written the way the tutorials and driver docs show.

`make bench` serves it beside the service, with the same uvicorn command line and the
same database, so the differences it prints are what the template changes. It is the
plain `def` style, every default left as it is:

* every endpoint is `def`, so each one, the health probe included, waits for one of the
  40 tokens of FastAPI's default threadpool;
{%- if with_fanout %}
* `/slow` calls the upstream with a sync `httpx.Client` (a 0.2 s call);
{%- else %}
* `/slow` makes a blocking 0.2 s call (`time.sleep`);
{%- endif %}
{%- if with_items %}
* the items endpoints use `psycopg_pool.ConnectionPool` with its defaults (4 connections,
  a transaction around every checkout) and return rows as dicts through a `response_model`.
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
{% if with_fanout %}
import httpx
{%- endif %}
from fastapi import FastAPI{% if with_items %}, HTTPException{% endif %}
{%- if with_items %}
from psycopg import Connection
from psycopg.rows import dict_row
from psycopg_pool import ConnectionPool
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
    pool: ConnectionPool[Connection[Any]]
{%- endif %}
{%- if with_fanout %}
    upstream: httpx.Client
{%- endif %}


resources = Resources()
{%- endif %}


@asynccontextmanager
async def lifespan(app: FastAPI) -> AsyncIterator[None]:
    # Start-up, before the first request: blocking here stalls nobody.
{%- if with_items %}
    resources.pool = ConnectionPool(os.environ["DATABASE_URL"], open=False)
    resources.pool.open(wait=True)
{%- endif %}
{%- if with_fanout %}
    resources.upstream = httpx.Client(base_url=os.environ["UPSTREAM_BASE_URL"])
{%- endif %}
    yield
{%- if with_fanout %}
    resources.upstream.close()
{%- endif %}
{%- if with_items %}
    resources.pool.close()
{%- endif %}


app = FastAPI(lifespan=lifespan)


@app.get("/health/live")
def live() -> dict[str, str]:
    return {"status": "ok"}


@app.get("/slow")
def slow(delay: float) -> dict[str, Any]:
{%- if with_fanout %}
    response = resources.upstream.get("/echo/a", params={"delay": delay})
    result: dict[str, Any] = response.json()
    return result
{%- else %}
    time.sleep(delay)
    return {"delay": delay}
{%- endif %}
{%- if with_items %}


@app.get("/items/{item_id}", response_model=Item)
def read_item(item_id: int) -> Any:
    with resources.pool.connection() as conn, conn.cursor(row_factory=dict_row) as cur:
        row = cur.execute(
            "SELECT id, name, description, price_cents, created_at FROM items WHERE id = %s", (item_id,)
        ).fetchone()
    if row is None:
        raise HTTPException(status_code=404, detail="item not found")
    return row


@app.get("/items", response_model=ItemPage)
def list_items(limit: int = 20, offset: int = 0) -> Any:
    with resources.pool.connection() as conn, conn.cursor(row_factory=dict_row) as cur:
        rows = cur.execute(
            "SELECT id, name, description, price_cents, created_at FROM items ORDER BY id LIMIT %s OFFSET %s",
            (limit, offset),
        ).fetchall()
        count = cur.execute("SELECT count(*) AS total FROM items").fetchone()
    return {"items": rows, "limit": limit, "offset": offset, "total": count["total"] if count else 0}
{%- endif %}
