"""Example API on local files: streamed upload and download, list, delete.

Starlette has already spooled a multipart upload to a temporary file (in memory up to
1 MiB, on disk past that) when the endpoint runs; `UploadFile.read` moves it off that
file in a worker thread, and `Storage.save` writes it to the storage directory through
aiofiles, one 64 KiB chunk at a time, stopping at `max_upload_bytes`. A request whose
Content-Length is already past that limit is refused before any of it is read
(`UploadLimitRoute`). Downloads are attachments, whatever their name says.
"""

from __future__ import annotations

from collections.abc import AsyncIterator

from fastapi import APIRouter, HTTPException, Response, UploadFile, status
from fastapi.responses import StreamingResponse

from ..adapters.storage import StorageDep, TooLarge
from ..dependencies import SettingsDep
from .file_models import FileList, FileName, StoredFile
from .uploads import CHUNK_SIZE, UploadLimitRoute, download_headers, upload_too_large

router = APIRouter(prefix="/files", tags=["files"], route_class=UploadLimitRoute)


def file_not_found(name: str) -> HTTPException:
    return HTTPException(status.HTTP_404_NOT_FOUND, f"file {name!r} not found")


async def read_chunks(upload: UploadFile) -> AsyncIterator[bytes]:
    while chunk := await upload.read(CHUNK_SIZE):
        yield chunk


@router.get("")
async def list_files(storage: StorageDep) -> FileList:
    return FileList(files=[StoredFile(name=file.name, size=file.size) for file in await storage.list_files()])


@router.put("/{name:path}", status_code=status.HTTP_201_CREATED)
async def upload_file(name: FileName, file: UploadFile, storage: StorageDep, settings: SettingsDep) -> StoredFile:
    """Store the multipart field `file` as `name`, replacing any file of that name."""
    try:
        stored = await storage.save(name, read_chunks(file), limit=settings.max_upload_bytes)
    except TooLarge as exc:
        raise upload_too_large(exc.limit) from None
    return StoredFile(name=stored.name, size=stored.size)


@router.get("/{name:path}", response_class=StreamingResponse)
async def download_file(name: FileName, storage: StorageDep) -> StreamingResponse:
    try:
        download = await storage.open(name)
    except FileNotFoundError:
        raise file_not_found(name) from None
    return StreamingResponse(
        download.chunks, media_type="application/octet-stream", headers=download_headers(name, download.size)
    )


@router.delete("/{name:path}", status_code=status.HTTP_204_NO_CONTENT, response_class=Response)
async def delete_file(name: FileName, storage: StorageDep) -> None:
    try:
        await storage.delete(name)
    except FileNotFoundError:
        raise file_not_found(name) from None
