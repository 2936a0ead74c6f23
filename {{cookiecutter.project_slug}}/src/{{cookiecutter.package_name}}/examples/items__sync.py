"""Example resource on PostgreSQL: create, read, list, update and delete items.

Plain `def` endpoints: FastAPI runs each in a worker thread, where psycopg may block.
Every query is a literal with `%s` placeholders: values travel separately from the SQL
text, so no input can change a query. Rows come back as `Item` models directly
(`class_row`).

Connections are in autocommit mode (see `adapters/postgres.py`), so a read costs one
round trip: no BEGIN and COMMIT around it. Writes, and reads of several statements that
must see one snapshot, open their transaction explicitly with `with conn.transaction():`;
a write that grows a second statement (an audit row, a counter) is then atomic without a
second thought.
Constraint violations the database detects (a duplicate name) become 409s; everything
else was already refused by the request models.
"""

from __future__ import annotations

from fastapi import APIRouter, Response, status
from psycopg import errors
from psycopg.rows import class_row, dict_row, scalar_row

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
    " ORDER BY id LIMIT %s OFFSET %s) AS p ON true"
    " ORDER BY p.id"
)
"""The page and the count in one statement: one snapshot for both (a statement sees one), one
round trip and no transaction. The LEFT JOIN keeps the count's row when the page is empty."""


@router.post("", status_code=status.HTTP_201_CREATED)
def create_item(body: ItemCreate, db: DatabaseDep) -> Item:
    try:
        with db.connection() as conn, conn.transaction(), conn.cursor(row_factory=class_row(Item)) as cur:
            item = cur.execute(
                "INSERT INTO items (name, description, price_cents) VALUES (%s, %s, %s) "
                "RETURNING id, name, description, price_cents, created_at",
                (body.name, body.description, body.price_cents),
            ).fetchone()
    except errors.UniqueViolation:
        raise duplicate_name(body.name) from None
    assert item is not None  # INSERT ... RETURNING returns the row it inserted
    return item


@router.get("")
def list_items(db: DatabaseDep, limit: PageLimit = 20, offset: PageOffset = 0) -> ItemPage:
    """One page, ordered by id, and `total`, the number of items, from one statement (see `PAGE`)."""
    with db.connection() as conn, conn.cursor(row_factory=dict_row) as cur:
        rows = cur.execute(PAGE, (limit, offset)).fetchall()
    return page_of(rows, limit, offset)


@router.get("/{item_id}")
def get_item(item_id: ItemId, db: DatabaseDep) -> Item:
    with db.connection() as conn, conn.cursor(row_factory=class_row(Item)) as cur:
        item = cur.execute(
            "SELECT id, name, description, price_cents, created_at FROM items WHERE id = %s", (item_id,)
        ).fetchone()
    if item is None:
        raise item_not_found(item_id)
    return item


@router.patch("/{item_id}")
def update_item(item_id: ItemId, body: ItemUpdate, db: DatabaseDep) -> Item:
    """Fields left out keep their value: NULL means "unchanged" to COALESCE, and the model refuses null."""
    try:
        with db.connection() as conn, conn.transaction(), conn.cursor(row_factory=class_row(Item)) as cur:
            item = cur.execute(
                "UPDATE items SET name = COALESCE(%s, name), description = COALESCE(%s, description), "
                "price_cents = COALESCE(%s, price_cents) WHERE id = %s "
                "RETURNING id, name, description, price_cents, created_at",
                (body.name, body.description, body.price_cents, item_id),
            ).fetchone()
    except errors.UniqueViolation:  # only `name` is unique, so it was in the update
        raise duplicate_name(body.name or "") from None
    if item is None:
        raise item_not_found(item_id)
    return item


@router.delete("/{item_id}", status_code=status.HTTP_204_NO_CONTENT, response_class=Response)
def delete_item(item_id: ItemId, db: DatabaseDep) -> None:
    with db.connection() as conn, conn.transaction(), conn.cursor(row_factory=scalar_row) as cur:
        deleted = cur.execute("DELETE FROM items WHERE id = %s RETURNING id", (item_id,)).fetchone()
    if deleted is None:
        raise item_not_found(item_id)
