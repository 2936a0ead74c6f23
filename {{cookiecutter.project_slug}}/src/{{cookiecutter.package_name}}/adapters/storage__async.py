"""Local file storage: one directory, read and written through aiofiles.

A disk read or write blocks the thread that makes it (there is no non-blocking file I/O
on Linux worth the name), so aiofiles runs each call in the event loop's default
executor (asyncio's own threads, not the AnyIO pool that `run_blocking` uses) and the
loop awaits it. Files move in 64 KiB chunks: a large upload or download never sits in
memory whole, and each thread hop moves a useful amount of data. Work made of many small
calls (a directory listing: one `stat` per file) is sent to a thread in one piece.

A file is written under a temporary name and renamed into place once complete: readers
see the old file or the new one, never half of one, and a failed or oversized upload
leaves nothing behind. Temporary names start with a dot, which no valid name does (so
listings skip them), and do not contain the file's name: a name of the maximum
length (255 bytes) would leave no room for a prefix and a suffix.
"""

from __future__ import annotations

import contextlib
import os
import re
import uuid
from collections.abc import AsyncIterable, AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated

import aiofiles
import aiofiles.os
import anyio
from fastapi import Depends, Request

from ..concurrency import runs_on_loop
from ..settings import Settings

CHUNK_SIZE = 64 * 1024
NAME_RE = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,254}")


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
    """An open file to stream: its size (for Content-Length) and its chunks (closing it at the end)."""

    size: int
    chunks: AsyncIterator[bytes]


@dataclass(frozen=True)
class Storage:
    root: Path

    def path(self, name: str) -> Path:
        """The file's path; `InvalidName` unless `name` is a plain name that stays in `root`.

        Pure string work (no file system access), so it is safe on the loop.
        """
        if NAME_RE.fullmatch(name) is None:
            raise InvalidName(f"invalid name {name!r}: use 1-255 of A-Z a-z 0-9 . _ - not starting with . _ -")
        path = self.root / name
        if path.parent != self.root:
            raise InvalidName(f"invalid name {name!r}: it leaves the storage directory")
        return path

    async def save(self, name: str, chunks: AsyncIterable[bytes], limit: int) -> StoredFile:
        """Write `chunks` to `name`; `TooLarge` (and nothing written) past `limit` bytes."""
        target = self.path(name)
        partial = self.root / f".upload-{uuid.uuid4().hex}.part"
        size = 0
        try:
            async with aiofiles.open(partial, "xb") as out:
                async for chunk in chunks:
                    size += len(chunk)
                    if size > limit:
                        raise TooLarge(limit)
                    await out.write(chunk)
            await aiofiles.os.replace(partial, target)
        except BaseException:
            with anyio.CancelScope(shield=True), contextlib.suppress(FileNotFoundError):
                await aiofiles.os.remove(partial)
            raise
        return StoredFile(name=name, size=size)

    async def open(self, name: str) -> Download:
        """Open for streaming; `FileNotFoundError` if there is no such file.

        The file is opened before the response starts, so a missing file is a 404 rather
        than a response cut short, and a file replaced meanwhile is still read whole.
        """
        file = await aiofiles.open(self.path(name), "rb")
        try:
            size = (await _fstat(file.fileno())).st_size
        except BaseException:
            await file.close()
            raise

        async def chunks() -> AsyncIterator[bytes]:
            try:
                while chunk := await file.read(CHUNK_SIZE):
                    yield chunk
            finally:
                await file.close()

        return Download(size=size, chunks=chunks())

    async def list_files(self) -> list[StoredFile]:
        return await _list_files(self.root)

    async def delete(self, name: str) -> None:
        """`FileNotFoundError` if there is no such file."""
        await aiofiles.os.remove(self.path(name))


def _scan(root: Path) -> list[StoredFile]:
    files = []
    with os.scandir(root) as entries:
        for entry in entries:
            if not NAME_RE.fullmatch(entry.name):
                continue
            try:
                if entry.is_file():
                    files.append(StoredFile(name=entry.name, size=entry.stat().st_size))
            except FileNotFoundError:  # deleted between the scan and the stat
                continue
    return sorted(files, key=lambda file: file.name)


def _prepare(directory: Path) -> Path:
    directory.mkdir(parents=True, exist_ok=True)
    return directory.resolve()


def _writable(root: Path) -> None:
    if not root.is_dir():
        raise FileNotFoundError(f"{root} is not a directory")
    if not os.access(root, os.W_OK | os.X_OK):
        raise PermissionError(f"{root} is not writable")


# The same executor as aiofiles' own calls: all file I/O shares one set of threads.
_fstat = aiofiles.os.wrap(os.fstat)
_list_files = aiofiles.os.wrap(_scan)
_prepare_async = aiofiles.os.wrap(_prepare)
_writable_async = aiofiles.os.wrap(_writable)


@asynccontextmanager
async def open_storage(settings: Settings) -> AsyncIterator[Storage]:
    """Create the directory if needed; start-up fails if it cannot be."""
    yield Storage(root=await _prepare_async(settings.storage_dir))


async def check_storage(storage: Storage) -> None:
    """Readiness: the directory exists and this process may write to it."""
    await _writable_async(storage.root)


@runs_on_loop
async def get_storage(request: Request) -> Storage:
    storage: Storage = request.state.storage
    return storage


StorageDep = Annotated[Storage, Depends(get_storage)]
