"""Example resource on PostgreSQL: create, read, list, update and delete items.

Every query is a literal with `$n` placeholders: values travel separately from the SQL
text, so no input can change a query, and asyncpg prepares each text once per
connection and reuses it. Constraint violations the database detects (a duplicate
name) become 409s; everything else was already refused by the request models.
"""

from __future__ import annotations

from typing import Any

import asyncpg
from fastapi import APIRouter, Response, status

from ..adapters.postgres import DatabaseDep
from .item_models import (
    Item,
    ItemCreate,
    ItemId,
    ItemPage,
    ItemUpdate,
    PageLimit,
    PageOffset,
    duplicate_name,
    item_not_found,
    page_of,
)

router = APIRouter(prefix="/items", tags=["items"])

PAGE = (
    "SELECT t.total, p.id, p.name, p.description, p.price_cents, p.created_at"
    " FROM (SELECT count(*) AS total FROM items) AS t"
    " LEFT JOIN (SELECT id, name, description, price_cents, created_at FROM items"
    " ORDER BY id LIMIT $1 OFFSET $2) AS p ON true"
    " ORDER BY p.id"
)
"""The page and the count in one statement: one snapshot for both (a statement sees one), one
round trip and no transaction. The LEFT JOIN keeps the count's row when the page is empty."""


def to_item(row: Any) -> Item:
    return Item(**row)


@router.post("", status_code=status.HTTP_201_CREATED)
async def create_item(body: ItemCreate, db: DatabaseDep) -> Item:
    try:
        row = await db.fetchrow(
            "INSERT INTO items (name, description, price_cents) VALUES ($1, $2, $3) "
            "RETURNING id, name, description, price_cents, created_at",
            body.name,
            body.description,
            body.price_cents,
        )
    except asyncpg.UniqueViolationError:
        raise duplicate_name(body.name) from None
    return to_item(row)


@router.get("")
async def list_items(db: DatabaseDep, limit: PageLimit = 20, offset: PageOffset = 0) -> ItemPage:
    """One page, ordered by id, and `total`, the number of items, from one statement (see `PAGE`)."""
    rows = await db.fetch(PAGE, limit, offset)
    return page_of(rows, limit, offset)


@router.get("/{item_id}")
async def get_item(item_id: ItemId, db: DatabaseDep) -> Item:
    row = await db.fetchrow(
        "SELECT id, name, description, price_cents, created_at FROM items WHERE id = $1",
        item_id,
    )
    if row is None:
        raise item_not_found(item_id)
    return to_item(row)


@router.patch("/{item_id}")
async def update_item(item_id: ItemId, body: ItemUpdate, db: DatabaseDep) -> Item:
    """Fields left out keep their value: NULL means "unchanged" to COALESCE, and the model refuses null."""
    try:
        row = await db.fetchrow(
            "UPDATE items SET name = COALESCE($2, name), description = COALESCE($3, description), "
            "price_cents = COALESCE($4, price_cents) WHERE id = $1 "
            "RETURNING id, name, description, price_cents, created_at",
            item_id,
            body.name,
            body.description,
            body.price_cents,
        )
    except asyncpg.UniqueViolationError:  # only `name` is unique, so it was in the update
        raise duplicate_name(body.name or "") from None
    if row is None:
        raise item_not_found(item_id)
    return to_item(row)


@router.delete("/{item_id}", status_code=status.HTTP_204_NO_CONTENT, response_class=Response)
async def delete_item(item_id: ItemId, db: DatabaseDep) -> None:
    deleted = await db.fetchval("DELETE FROM items WHERE id = $1 RETURNING id", item_id)
    if deleted is None:
        raise item_not_found(item_id)
