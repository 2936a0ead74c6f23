"""Local file storage: one directory, plain `open()`, called from `def` endpoints.

File I/O blocks, so it only ever runs in worker threads: `def` endpoints and
dependencies, Starlette's iteration of a sync body iterator, and `run_blocking` in the
lifespan. Files move in 64 KiB chunks, so a large upload or download never sits in
memory whole.

A file is written under a temporary name and renamed into place once complete: readers
see the old file or the new one, never half of one, and a failed or oversized upload
leaves nothing behind. Temporary names start with a dot, which no valid name does (so
listings skip them), and do not contain the file's name: a name of the maximum
length (255 bytes) would leave no room for a prefix and a suffix.
"""

from __future__ import annotations

import os
import re
import uuid
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, BinaryIO

from fastapi import Depends, Request

from ..concurrency import BlockingLane, run_blocking, runs_on_loop
from ..settings import Settings

CHUNK_SIZE = 64 * 1024
NAME_RE = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,254}")

_probe_lane = BlockingLane(1, abandon_on_cancel=True)


class InvalidName(ValueError):
    pass


class TooLarge(Exception):
    def __init__(self, limit: int) -> None:
        super().__init__(f"larger than {limit} bytes")
        self.limit = limit


@dataclass(frozen=True)
class StoredFile:
    name: str
    size: int


@dataclass(frozen=True)
class Download:
    """An open file to stream: its size (for Content-Length) and its chunks (closing it at the end).

    `chunks` is a plain iterator: Starlette's `StreamingResponse` reads each chunk in a
    worker thread.
    """

    size: int
    chunks: Iterator[bytes]


@dataclass(frozen=True)
class Storage:
    root: Path

    def path(self, name: str) -> Path:
        """The file's path; `InvalidName` unless `name` is a plain name that stays in `root`."""
        if NAME_RE.fullmatch(name) is None:
            raise InvalidName(f"invalid name {name!r}: use 1-255 of A-Z a-z 0-9 . _ - not starting with . _ -")
        path = self.root / name
        if path.parent != self.root:
            raise InvalidName(f"invalid name {name!r}: it leaves the storage directory")
        return path

    def save(self, name: str, source: BinaryIO, limit: int) -> StoredFile:
        """Copy `source` to `name` in chunks; `TooLarge` (and nothing written) past `limit` bytes."""
        target = self.path(name)
        partial = self.root / f".upload-{uuid.uuid4().hex}.part"
        size = 0
        try:
            with partial.open("xb") as out:
                while chunk := source.read(CHUNK_SIZE):
                    size += len(chunk)
                    if size > limit:
                        raise TooLarge(limit)
                    out.write(chunk)
            partial.replace(target)
        except BaseException:
            partial.unlink(missing_ok=True)
            raise
        return StoredFile(name=name, size=size)

    def open(self, name: str) -> Download:
        """Open for streaming; `FileNotFoundError` if there is no such file.

        The file is opened before the response starts, so a missing file is a 404 rather
        than a response cut short, and a file replaced meanwhile is still read whole.
        """
        file = self.path(name).open("rb")
        try:
            size = os.fstat(file.fileno()).st_size
        except BaseException:
            file.close()
            raise
        return Download(size=size, chunks=_read_chunks(file))

    def list_files(self) -> list[StoredFile]:
        files = []
        with os.scandir(self.root) as entries:
            for entry in entries:
                if NAME_RE.fullmatch(entry.name) is None:
                    continue
                try:
                    if entry.is_file():
                        files.append(StoredFile(name=entry.name, size=entry.stat().st_size))
                except FileNotFoundError:
                    continue  # deleted between the listing and its stat
        return sorted(files, key=lambda file: file.name)

    def delete(self, name: str) -> None:
        """`FileNotFoundError` if there is no such file."""
        self.path(name).unlink()


def _read_chunks(file: BinaryIO) -> Iterator[bytes]:
    with file:
        while chunk := file.read(CHUNK_SIZE):
            yield chunk


def _prepare(directory: Path) -> Path:
    directory.mkdir(parents=True, exist_ok=True)
    return directory.resolve()


@asynccontextmanager
async def open_storage(settings: Settings) -> AsyncIterator[Storage]:
    yield Storage(root=await run_blocking(_prepare, settings.storage_dir))


def _writable(root: Path) -> None:
    if not root.is_dir():
        raise FileNotFoundError(f"{root} is not a directory")
    if not os.access(root, os.W_OK | os.X_OK):
        raise PermissionError(f"{root} is not writable")


async def check_storage(storage: Storage) -> None:
    """Readiness: the directory exists and this process may write to it."""
    await _probe_lane.run(_writable, storage.root)


@runs_on_loop
async def get_storage(request: Request) -> Storage:
    storage: Storage = request.state.storage
    return storage


StorageDep = Annotated[Storage, Depends(get_storage)]
