"""Request and response models of the items example, and the validators of its parameters.

Both stacks serve the same API from these definitions, so one HTTP-level test suite checks
either. Every constraint a client can break is declared here, where FastAPI turns it into
a 4xx with a reason before any query runs: a value the database would reject (a negative
price, an id past bigint, a NUL in a name) never reaches it as a 500.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Annotated, Any

from fastapi import HTTPException, Path, Query, status
from pydantic import AfterValidator, BaseModel, ConfigDict, Field, model_validator

# PostgreSQL's integer and bigint ranges: larger values are a 422 here, not a database error.
MAX_PRICE_CENTS = 2**31 - 1
MAX_ITEM_ID = 2**63 - 1


def no_nul(value: str) -> str:
    """PostgreSQL text cannot hold NUL: the driver would fail on it, so refuse it here with a reason."""
    if "\x00" in value:
        raise ValueError("must not contain NUL (\\u0000) characters: PostgreSQL text cannot store them")
    return value


Text = Annotated[str, AfterValidator(no_nul)]


class ItemCreate(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    name: Text = Field(min_length=1, max_length=200, description="Unique.")
    description: Text = Field(default="", max_length=2000)
    price_cents: int = Field(ge=0, le=MAX_PRICE_CENTS)


class ItemUpdate(BaseModel):
    """A partial update: only the fields present change. None is refused (no column is nullable)."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    name: Text | None = Field(default=None, min_length=1, max_length=200)
    description: Text | None = Field(default=None, max_length=2000)
    price_cents: int | None = Field(default=None, ge=0, le=MAX_PRICE_CENTS)

    @model_validator(mode="after")
    def no_nulls(self) -> ItemUpdate:
        nulls = sorted(name for name in self.model_fields_set if getattr(self, name) is None)
        if nulls:
            raise ValueError(f"{', '.join(nulls)} cannot be null: leave a field out to keep its value")
        return self


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


def page_of(rows: Sequence[Mapping[str, Any]], limit: int, offset: int) -> ItemPage:
    """The page from the list query's rows: each row is an item plus `total`; past the last
    item the query still returns one row, all NULL but `total`."""
    items = [Item(**{name: row[name] for name in Item.model_fields}) for row in rows if row["id"] is not None]
    return ItemPage(items=items, limit=limit, offset=offset, total=rows[0]["total"])


ItemId = Annotated[int, Path(ge=1, le=MAX_ITEM_ID)]
PageLimit = Annotated[int, Query(ge=1, le=100)]
PageOffset = Annotated[int, Query(ge=0, le=MAX_ITEM_ID)]


def duplicate_name(name: str) -> HTTPException:
    return HTTPException(status.HTTP_409_CONFLICT, f"an item named {name!r} already exists")


def item_not_found(item_id: int) -> HTTPException:
    return HTTPException(status.HTTP_404_NOT_FOUND, f"item {item_id} not found")
