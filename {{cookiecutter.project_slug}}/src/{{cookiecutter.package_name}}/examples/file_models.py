"""Response models of the files example, and the validator of its file names.

Both stacks serve the same API from these definitions, so one HTTP-level test suite checks
either. Every constraint a client can break is declared here (the upload size limit in
`uploads.py`), where FastAPI turns it into a 4xx with a reason before any I/O happens: a
name that leaves the storage directory never reaches the disk.

The name validator is `async def` and marked `runs_on_loop`: it only matches a regular
expression, so neither stack should pay a thread hop for it.
"""

from __future__ import annotations

import re
from typing import Annotated

from fastapi import Depends, HTTPException, status
from pydantic import BaseModel

from ..concurrency import runs_on_loop

FILE_NAME_RE = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,254}")
"""A plain file name: no separator, and no leading dot (so neither `..` nor hidden or temporary files)."""


class StoredFile(BaseModel):
    name: str
    size: int


class FileList(BaseModel):
    files: list[StoredFile]


@runs_on_loop
async def valid_file_name(name: str) -> str:
    """400 unless `name` is a plain file name that stays inside the storage directory."""
    if FILE_NAME_RE.fullmatch(name) is None:
        raise HTTPException(
            status.HTTP_400_BAD_REQUEST,
            f"invalid file name {name!r}: use 1-255 characters among A-Z a-z 0-9 . _ - starting with a letter or digit",
        )
    return name


FileName = Annotated[str, Depends(valid_file_name)]
