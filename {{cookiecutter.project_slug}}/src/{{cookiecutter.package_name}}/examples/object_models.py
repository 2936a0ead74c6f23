"""Response models of the objects example, and the validator of its object keys.

Both stacks serve the same API from these definitions, so one HTTP-level test suite checks
either. Every constraint a client can break is declared here (the upload size limit in
`uploads.py`), where FastAPI turns it into a 4xx with a reason before any I/O happens: a
key S3 would reject (past its length limit) never reaches it as a 500.

The key validator is `async def` and marked `runs_on_loop`: it only matches a regular
expression, so neither stack should pay a thread hop for it.
"""

from __future__ import annotations

import re
from typing import Annotated

from fastapi import Depends, HTTPException, status
from pydantic import BaseModel, Field

from ..concurrency import runs_on_loop

OBJECT_KEY_RE = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]*(/[A-Za-z0-9][A-Za-z0-9._-]*)*")
"""Segments like file names joined by `/`: no empty, `.` or `..` segment, no leading or trailing slash."""
MAX_OBJECT_KEY_BYTES = 1024  # S3's limit
PRESIGN_SUFFIX = "/url"  # `GET /objects/{key}/url` presigns `key`, so no key may end with it


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


ObjectKey = Annotated[str, Depends(valid_object_key)]
