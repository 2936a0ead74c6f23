"""Example API on local files: streamed upload and download, list, delete.

Plain `def` endpoints with plain file I/O: each runs in a worker thread, where blocking
is allowed. Starlette has already spooled a multipart upload to a temporary file (in
memory up to 1 MiB, on disk past that) when the endpoint runs; `Storage.save` copies it
from `UploadFile.file` to the storage directory one 64 KiB chunk at a time, stopping at
`max_upload_bytes`; a request whose Content-Length is already past that limit is refused
before any of it is read (`UploadLimitRoute`). A download is a plain iterator of chunks:
`StreamingResponse` reads each one in a worker thread, so the loop only ever sends bytes.
Downloads are attachments, whatever their name says.
"""

from __future__ import annotations

from fastapi import APIRouter, HTTPException, Response, UploadFile, status
from fastapi.responses import StreamingResponse

from ..adapters.storage import StorageDep, TooLarge
from ..dependencies import SettingsDep
from .file_models import FileList, FileName, StoredFile
from .uploads import UploadLimitRoute, download_headers, upload_too_large

router = APIRouter(prefix="/files", tags=["files"], route_class=UploadLimitRoute)


def file_not_found(name: str) -> HTTPException:
    return HTTPException(status.HTTP_404_NOT_FOUND, f"file {name!r} not found")


@router.get("")
def list_files(storage: StorageDep) -> FileList:
    return FileList(files=[StoredFile(name=file.name, size=file.size) for file in storage.list_files()])


@router.put("/{name:path}", status_code=status.HTTP_201_CREATED)
def upload_file(name: FileName, file: UploadFile, storage: StorageDep, settings: SettingsDep) -> StoredFile:
    """Store the multipart field `file` as `name`, replacing any file of that name."""
    try:
        stored = storage.save(name, file.file, limit=settings.max_upload_bytes)
    except TooLarge as exc:
        raise upload_too_large(exc.limit) from None
    return StoredFile(name=stored.name, size=stored.size)


@router.get("/{name:path}", response_class=StreamingResponse)
def download_file(name: FileName, storage: StorageDep) -> StreamingResponse:
    try:
        download = storage.open(name)
    except FileNotFoundError:
        raise file_not_found(name) from None
    return StreamingResponse(
        download.chunks, media_type="application/octet-stream", headers=download_headers(name, download.size)
    )


@router.delete("/{name:path}", status_code=status.HTTP_204_NO_CONTENT, response_class=Response)
def delete_file(name: FileName, storage: StorageDep) -> None:
    try:
        storage.delete(name)
    except FileNotFoundError:
        raise file_not_found(name) from None
