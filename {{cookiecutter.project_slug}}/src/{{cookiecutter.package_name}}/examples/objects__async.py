"""Example API on S3: upload, streamed download, list, delete and presigned URLs.

An upload is read into memory (at most `max_upload_bytes`, in 64 KiB chunks) and sent
with one PutObject: simple, and bounded by that setting. For objects past a few MiB,
switch to a multipart upload (create_multipart_upload / upload_part) to stream them.
A request whose Content-Length is already past the limit is refused before any of it
is read (`UploadLimitRoute`). Downloads stream: each chunk of the S3 response goes to
the client as it arrives, and the S3 connection goes back to the pool when the body is
done. A download keeps the Content-Type its uploader gave, so it is an attachment with
`nosniff`: a browser saves an uploaded `text/html`, never renders it on this API's origin.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from contextlib import contextmanager
from typing import Annotated, Any

from botocore.exceptions import (
    BotoCoreError,
    ClientError,
    ConnectTimeoutError,
    EndpointConnectionError,
    ReadTimeoutError,
)
from fastapi import APIRouter, HTTPException, Query, Response, UploadFile, status
from fastapi.responses import StreamingResponse

from ..adapters.s3 import BucketMissing, S3Dep, head_object, is_bucket_missing, is_not_found
from ..dependencies import SettingsDep
from ..errors import RETRY_AFTER_SECONDS
from .object_models import MAX_OBJECT_KEY_BYTES, ObjectKey, ObjectList, PresignedUrl, StoredObject
from .uploads import CHUNK_SIZE, UploadLimitRoute, download_headers, upload_too_large

router = APIRouter(prefix="/objects", tags=["objects"], route_class=UploadLimitRoute)

LIST_LIMIT = 1000  # one ListObjectsV2 page
RETRY = {"retry-after": str(RETRY_AFTER_SECONDS)}


def bucket_missing() -> HTTPException:
    detail = "S3 bucket missing: the service is misconfigured (see /health/ready)"
    return HTTPException(status.HTTP_503_SERVICE_UNAVAILABLE, detail)


@contextmanager
def s3_errors(key: str = "") -> Iterator[None]:
    """A missing object is a 404; any other S3 failure is the store's fault, not the client's: 502,
    or 504 / 503 with a `Retry-After` for a timeout / a refused connection (it may work later).

    A missing bucket is neither: this service is misconfigured (503; readiness names the bucket).
    """
    try:
        yield
    except BucketMissing:
        raise bucket_missing() from None
    except ClientError as exc:
        if is_bucket_missing(exc):
            raise bucket_missing() from None
        if is_not_found(exc):
            raise HTTPException(status.HTTP_404_NOT_FOUND, f"object {key!r} not found") from None
        code = exc.response.get("Error", {}).get("Code", "unknown")
        raise HTTPException(status.HTTP_502_BAD_GATEWAY, f"S3 error: {code}") from exc
    except (ConnectTimeoutError, ReadTimeoutError) as exc:  # its own timeouts, within the request deadline
        raise HTTPException(status.HTTP_504_GATEWAY_TIMEOUT, f"S3 did not answer in time: {exc}", RETRY) from exc
    except EndpointConnectionError as exc:
        raise HTTPException(status.HTTP_503_SERVICE_UNAVAILABLE, f"S3 is unavailable: {exc}", RETRY) from exc
    except BotoCoreError as exc:
        raise HTTPException(status.HTTP_502_BAD_GATEWAY, f"S3 unavailable: {exc}") from exc


async def read_limited(upload: UploadFile, limit: int) -> bytes:
    body = bytearray()
    while chunk := await upload.read(CHUNK_SIZE):
        body += chunk
        if len(body) > limit:
            raise upload_too_large(limit)
    return bytes(body)


async def stream_body(body: Any) -> AsyncIterator[bytes]:
    """Relay an S3 response body chunk by chunk; release its connection however the stream ends."""
    try:
        async for chunk in body.iter_chunks(CHUNK_SIZE):
            yield chunk
    finally:
        body.close()


@router.get("")
async def list_objects(s3: S3Dep, prefix: Annotated[str, Query(max_length=MAX_OBJECT_KEY_BYTES)] = "") -> ObjectList:
    """The first 1000 keys that start with `prefix`, in key order."""
    with s3_errors():
        page = await s3.client.list_objects_v2(Bucket=s3.bucket, Prefix=prefix, MaxKeys=LIST_LIMIT)
    objects = [StoredObject(key=entry["Key"], size=entry["Size"]) for entry in page.get("Contents", [])]
    return ObjectList(prefix=prefix, objects=objects, truncated=page.get("IsTruncated", False))


# Declared before `GET /objects/{key}`, which would otherwise take `<key>/url` as a key.
@router.get("/{key:path}/url")
async def presign_object(key: ObjectKey, s3: S3Dep, settings: SettingsDep) -> PresignedUrl:
    """A URL that lets anyone GET the object until it expires, without credentials."""
    expires = settings.s3_presign_expires
    with s3_errors(key):
        await head_object(s3, key)
        url = await s3.client.generate_presigned_url(
            "get_object", Params={"Bucket": s3.bucket, "Key": key}, ExpiresIn=expires
        )
    return PresignedUrl(url=url, expires_in=expires)


@router.put("/{key:path}", status_code=status.HTTP_201_CREATED)
async def upload_object(key: ObjectKey, file: UploadFile, s3: S3Dep, settings: SettingsDep) -> StoredObject:
    """Store the multipart field `file` under `key`, replacing any object there."""
    body = await read_limited(file, settings.max_upload_bytes)
    with s3_errors(key):
        await s3.client.put_object(
            Bucket=s3.bucket, Key=key, Body=body, ContentType=file.content_type or "application/octet-stream"
        )
    return StoredObject(key=key, size=len(body))


@router.get("/{key:path}", response_class=StreamingResponse)
async def download_object(key: ObjectKey, s3: S3Dep) -> StreamingResponse:
    with s3_errors(key):
        response = await s3.client.get_object(Bucket=s3.bucket, Key=key)
    return StreamingResponse(
        stream_body(response["Body"]),
        media_type=response.get("ContentType") or "application/octet-stream",
        headers=download_headers(key.rpartition("/")[2], response["ContentLength"]),
    )


@router.delete("/{key:path}", status_code=status.HTTP_204_NO_CONTENT, response_class=Response)
async def delete_object(key: ObjectKey, s3: S3Dep) -> None:
    """404 if there is no such object (S3's DeleteObject itself succeeds either way)."""
    with s3_errors(key):
        await head_object(s3, key)
        await s3.client.delete_object(Bucket=s3.bucket, Key=key)
