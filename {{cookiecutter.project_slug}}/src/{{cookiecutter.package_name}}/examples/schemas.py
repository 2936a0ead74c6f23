"""Request and response models of the example API, and the validators of its path parameters.

Both stacks serve the same API from these definitions, so one HTTP-level test suite checks
either. Every constraint a client can break is declared here, where FastAPI turns it into
a 4xx with a reason before any I/O happens: a value the database or S3 would reject (a
negative price, an id past bigint, a NUL in a name, a name that leaves the storage
directory, an upload past the limit) never reaches them as a 500.

The path validators are `async def` and marked `runs_on_loop`: they only match a regular
expression, so neither stack should pay a thread hop for them.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Coroutine
from datetime import datetime
from typing import Annotated, Any
from urllib.parse import quote

from fastapi import Depends, HTTPException, Path, Query, Request, Response, status
from fastapi.routing import APIRoute
from pydantic import AfterValidator, BaseModel, ConfigDict, Field, model_validator

from ..concurrency import runs_on_loop

CHUNK_SIZE = 64 * 1024
"""Uploads and downloads move in chunks of this size, so no file sits in memory whole."""

# PostgreSQL's integer and bigint ranges: larger values are a 422 here, not a database error.
MAX_PRICE_CENTS = 2**31 - 1
MAX_ITEM_ID = 2**63 - 1

FILE_NAME_RE = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,254}")
"""A plain file name: no separator, and no leading dot (so neither `..` nor hidden or temporary files)."""

OBJECT_KEY_RE = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]*(/[A-Za-z0-9][A-Za-z0-9._-]*)*")
"""Segments like file names joined by `/`: no empty, `.` or `..` segment, no leading or trailing slash."""
MAX_OBJECT_KEY_BYTES = 1024  # S3's limit
PRESIGN_SUFFIX = "/url"  # `GET /objects/{key}/url` presigns `key`, so no key may end with it

MAX_PRIMES_LIMIT = 2_000_000


# --- items (PostgreSQL) ---------------------------------------------------------------


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


ItemId = Annotated[int, Path(ge=1, le=MAX_ITEM_ID)]
PageLimit = Annotated[int, Query(ge=1, le=100)]
PageOffset = Annotated[int, Query(ge=0, le=MAX_ITEM_ID)]


def duplicate_name(name: str) -> HTTPException:
    return HTTPException(status.HTTP_409_CONFLICT, f"an item named {name!r} already exists")


def item_not_found(item_id: int) -> HTTPException:
    return HTTPException(status.HTTP_404_NOT_FOUND, f"item {item_id} not found")


# --- files (local storage) and objects (S3) ---------------------------------------------


class StoredFile(BaseModel):
    name: str
    size: int


class FileList(BaseModel):
    files: list[StoredFile]


class StoredObject(BaseModel):
    key: str
    size: int


class ObjectList(BaseModel):
    prefix: str
    objects: list[StoredObject]
    truncated: bool = Field(description="True when more than the first 1000 keys match: narrow the prefix.")


class PresignedUrl(BaseModel):
    url: str
    expires_in: int


@runs_on_loop
async def valid_file_name(name: str) -> str:
    """400 unless `name` is a plain file name that stays inside the storage directory."""
    if FILE_NAME_RE.fullmatch(name) is None:
        raise HTTPException(
            status.HTTP_400_BAD_REQUEST,
            f"invalid file name {name!r}: use 1-255 characters among A-Z a-z 0-9 . _ - starting with a letter or digit",
        )
    return name


@runs_on_loop
async def valid_object_key(key: str) -> str:
    """400 unless `key` is made of file-name-like segments joined by `/`."""
    if OBJECT_KEY_RE.fullmatch(key) is None or len(key.encode()) > MAX_OBJECT_KEY_BYTES:
        raise HTTPException(
            status.HTTP_400_BAD_REQUEST,
            f"invalid object key {key!r}: use segments of A-Z a-z 0-9 . _ - (each starting with a letter or digit) "
            f"joined by '/', at most {MAX_OBJECT_KEY_BYTES} bytes",
        )
    if key.endswith(PRESIGN_SUFFIX):
        raise HTTPException(
            status.HTTP_400_BAD_REQUEST,
            f"invalid object key {key!r}: keys may not end with {PRESIGN_SUFFIX!r} (GET /objects/<key>/url presigns)",
        )
    return key


FileName = Annotated[str, Depends(valid_file_name)]
ObjectKey = Annotated[str, Depends(valid_object_key)]


def upload_too_large(limit: int) -> HTTPException:
    return HTTPException(413, f"upload larger than the limit of {limit} bytes (MAX_UPLOAD_BYTES)")


MULTIPART_ALLOWANCE = 16 * 1024
"""Room for the multipart framing around an upload (boundaries, part headers) in its Content-Length."""


class UploadLimitRoute(APIRoute):
    """Refuse a body whose Content-Length is past `max_upload_bytes` plus framing: a 413, none of it read.

    FastAPI reads the whole multipart body (Starlette spools it to disk) before the
    endpoint or any dependency runs, so only the route's handler can refuse it early. A
    chunked body declares no length: the endpoint's check as the upload is copied still
    bounds it.
    """

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handler = super().get_route_handler()

        async def refuse_declared_oversize(request: Request) -> Response:
            limit: int = request.state.settings.max_upload_bytes
            declared = request.headers.get("content-length", "")
            if declared.isdigit() and int(declared) > limit + MULTIPART_ALLOWANCE:
                raise upload_too_large(limit)
            return await handler(request)

        return refuse_declared_oversize


def download_headers(filename: str, size: int) -> dict[str, str]:
    """Headers of a download: its length, and a browser must save it, never render it on this API's origin.

    `attachment` stops a browser from showing an uploaded `text/html` (or SVG...) as a page
    of this site, and `nosniff` from guessing a type the server did not send. A name
    that is not plain ASCII travels percent-encoded (RFC 6266's `filename*`).
    """
    quoted = quote(filename, safe="")
    if quoted == filename:
        disposition = f'attachment; filename="{filename}"'
    else:
        disposition = f"attachment; filename*=UTF-8''{quoted}"
    return {"content-length": str(size), "content-disposition": disposition, "x-content-type-options": "nosniff"}


# --- upstream (HTTP client) -------------------------------------------------------------


class UpstreamResult(BaseModel):
    result: dict[str, Any] = Field(description="The upstream's JSON answer to /echo/a.")
    elapsed_ms: float


class FanoutResult(BaseModel):
    results: list[dict[str, Any]] = Field(description="The upstream's JSON answers to /echo/a and /echo/b, in order.")
    elapsed_ms: float


UpstreamDelay = Annotated[float, Query(ge=0, le=30, description="Seconds each upstream call takes.")]
UpstreamStatus = Annotated[
    int, Query(alias="status", ge=200, le=599, description="Status each upstream call answers with.")
]


# --- offload (threads and processes) ----------------------------------------------------


class Report(BaseModel):
    report_id: int
    title: str
    rows: int
    checksum: str


ReportId = Annotated[int, Path(ge=1, le=1_000_000)]


class PrimesRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    limit: int = Field(ge=1, le=MAX_PRIMES_LIMIT, description="Count the primes below this number.")


class PrimesResult(BaseModel):
    limit: int
    count: int
    elapsed_ms: float
