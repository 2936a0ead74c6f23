"""What the files (local storage) and objects (S3) examples share: the upload limit, chunks, download headers.

Both stacks serve the same API from these definitions, so one HTTP-level test suite checks
either. An upload past `max_upload_bytes` is a 413 with a reason, never a 500 from the
storage behind it: refused by its Content-Length before any of it is read
(`UploadLimitRoute`), or as a body that declared no length arrives.
"""

from __future__ import annotations

from collections.abc import Callable, Coroutine
from typing import Any
from urllib.parse import quote

from fastapi import HTTPException, Request, Response
from fastapi.routing import APIRoute

from ..budget import set_body_limit

CHUNK_SIZE = 64 * 1024
"""Uploads and downloads move in chunks of this size, so no file sits in memory whole."""

MULTIPART_ALLOWANCE = 16 * 1024
"""Room for the multipart framing around an upload (boundaries, part headers) in its Content-Length."""


def upload_limit_reason(limit: int) -> str:
    return f"upload larger than the limit of {limit} bytes (MAX_UPLOAD_BYTES)"


def upload_too_large(limit: int) -> HTTPException:
    return HTTPException(413, upload_limit_reason(limit))


class UploadLimitRoute(APIRoute):
    """Allow a body up to `max_upload_bytes` plus framing, and refuse one that declares more: a 413, none of it read.

    Every other route keeps the app's smaller limit (`max_request_bytes`, budget.py); this
    one raises it for its own requests. FastAPI reads the whole multipart body (Starlette
    spools it to disk) before the endpoint or any dependency runs, so only the route's
    handler can do that, or refuse the body early. A chunked body declares no length: the
    app's limit refuses it as soon as it passes the same size, and the endpoint's check as
    the upload is copied counts the file's own bytes.
    """

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handler = super().get_route_handler()

        async def refuse_declared_oversize(request: Request) -> Response:
            limit: int = request.state.settings.max_upload_bytes
            set_body_limit(request.scope, limit + MULTIPART_ALLOWANCE, upload_limit_reason(limit))
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
