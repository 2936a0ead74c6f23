"""The S3 example: streamed objects, listing by prefix, presigned URLs, and validated keys."""

from __future__ import annotations

import os
import uuid
from collections.abc import Callable
from contextlib import AbstractAsyncContextManager

import anyio.to_thread
import httpx
import pytest

from .uploads import StreamedUpload

ClientWith = Callable[..., AbstractAsyncContextManager[httpx.AsyncClient]]


def unique(key: str) -> str:
    """The session's app shares one bucket between tests: keep keys apart."""
    return f"{uuid.uuid4().hex[:8]}/{key}"


async def put(client: httpx.AsyncClient, key: str, data: bytes, content_type: str = "text/plain") -> httpx.Response:
    return await client.put(f"/objects/{key}", files={"file": ("ignored", data, content_type)})


async def test_put_then_get(client: httpx.AsyncClient) -> None:
    key = unique("docs/readme.md")
    response = await put(client, key, b"# readme", "text/markdown")
    assert response.status_code == 201
    assert response.json() == {"key": key, "size": 8}

    fetched = await client.get(f"/objects/{key}")
    assert fetched.status_code == 200
    assert fetched.content == b"# readme"
    assert fetched.headers["content-type"].startswith("text/markdown")
    assert fetched.headers["content-length"] == "8"


async def test_a_download_is_an_attachment_that_is_never_sniffed(client: httpx.AsyncClient) -> None:
    """The uploader's Content-Type comes back: a browser must save an uploaded page, not render it on this origin."""
    key = unique("site/page.html")
    await put(client, key, b"<script>alert(document.cookie)</script>", "text/html")
    fetched = await client.get(f"/objects/{key}")
    assert fetched.headers["content-type"].startswith("text/html")
    assert fetched.headers["content-disposition"] == 'attachment; filename="page.html"'
    assert fetched.headers["x-content-type-options"] == "nosniff"


async def test_a_large_object_streams_back_intact(client: httpx.AsyncClient) -> None:
    key = unique("large.bin")
    data = os.urandom(2 * 1024 * 1024 + 5)
    assert (await put(client, key, data, "application/octet-stream")).status_code == 201
    received = bytearray()
    async with client.stream("GET", f"/objects/{key}") as response:
        async for chunk in response.aiter_raw():
            received += chunk
    assert received == data


async def test_list_filters_by_prefix(client: httpx.AsyncClient) -> None:
    folder = uuid.uuid4().hex[:8]
    for key in ("a.txt", "b.txt", "sub/c.txt"):
        await put(client, f"{folder}/{key}", key.encode())
    await put(client, unique("elsewhere.txt"), b"not listed")

    listed = (await client.get("/objects", params={"prefix": f"{folder}/"})).json()
    assert listed == {
        "prefix": f"{folder}/",
        "objects": [
            {"key": f"{folder}/a.txt", "size": 5},
            {"key": f"{folder}/b.txt", "size": 5},
            {"key": f"{folder}/sub/c.txt", "size": 9},
        ],
        "truncated": False,
    }


async def test_delete_removes_the_object(client: httpx.AsyncClient) -> None:
    key = unique("doomed.txt")
    await put(client, key, b"bye")
    assert (await client.delete(f"/objects/{key}")).status_code == 204
    assert (await client.get(f"/objects/{key}")).status_code == 404


async def test_a_missing_object_is_404(client: httpx.AsyncClient) -> None:
    key = unique("nothing.txt")
    for response in (
        await client.get(f"/objects/{key}"),
        await client.delete(f"/objects/{key}"),
        await client.get(f"/objects/{key}/url"),
    ):
        assert response.status_code == 404
        assert key in response.json()["detail"]


async def test_a_presigned_url_fetches_the_object_without_credentials(client: httpx.AsyncClient) -> None:
    key = unique("shared.txt")
    await put(client, key, b"for anyone with the link")
    response = await client.get(f"/objects/{key}/url")
    assert response.status_code == 200
    body = response.json()
    assert body["expires_in"] == 3600

    direct = await anyio.to_thread.run_sync(httpx.get, body["url"])  # straight to S3, not through the app
    assert direct.status_code == 200
    assert direct.content == b"for anyone with the link"


async def test_an_upload_past_the_limit_is_413_and_stores_nothing(client_with: ClientWith) -> None:
    async with client_with(max_upload_bytes=1000) as client:
        at_limit = await put(client, "fits.bin", b"x" * 1000)
        too_large = await put(client, "too-large.bin", b"x" * 1001)
        listed = (await client.get("/objects")).json()["objects"]
    assert at_limit.status_code == 201
    assert too_large.status_code == 413
    assert "1000" in too_large.json()["detail"]
    assert listed == [{"key": "fits.bin", "size": 1000}]


async def test_a_declared_length_past_the_limit_is_413_before_the_body_is_read(client_with: ClientWith) -> None:
    """The Content-Length alone is enough to refuse: none of the body is read (or spooled to disk)."""
    body = StreamedUpload(b"x" * 1_000_000)
    async with client_with(max_upload_bytes=1000) as client:
        response = await client.put("/objects/huge.bin", content=body.chunks(), headers=body.headers())
        listed = (await client.get("/objects")).json()["objects"]
    assert response.status_code == 413
    assert "1000" in response.json()["detail"]
    assert body.sent == 0
    assert listed == []


async def test_a_chunked_upload_past_the_limit_is_413(client_with: ClientWith) -> None:
    """No Content-Length to judge by: the size is checked as the upload is read."""
    body = StreamedUpload(b"x" * 5000)
    async with client_with(max_upload_bytes=1000) as client:
        response = await client.put("/objects/chunked.bin", content=body.chunks(), headers=body.headers(declared=False))
        listed = (await client.get("/objects")).json()["objects"]
    assert response.status_code == 413
    assert body.sent > 0
    assert listed == []


async def test_a_missing_bucket_is_a_503_not_a_missing_object(client_with: ClientWith) -> None:
    """The bucket is the deployment's: its absence is no 404 for the object, and readiness names it."""
    bucket = f"missing-{uuid.uuid4().hex[:12]}"
    async with client_with(s3_bucket=bucket, s3_create_bucket=False) as client:
        responses = [
            await client.get("/objects/some/key.txt"),
            await client.get("/objects/some/key.txt/url"),
            await client.delete("/objects/some/key.txt"),
            await put(client, "some/key.txt", b"data"),
            await client.get("/objects"),
        ]
        ready = await client.get("/health/ready")
    for response in responses:
        assert response.status_code == 503, (response.request.method, response.request.url, response.text)
        assert "bucket" in response.json()["detail"]
    assert ready.status_code == 503
    assert ready.json()["failing"] == ["s3"]
    assert bucket in ready.json()["checks"]["s3"]


@pytest.mark.parametrize(
    "key",
    ["..%2Fsecret", "a//b", "a%2F..%2Fb", ".hidden", "dir/.hidden", "trailing/", "with space", "k" * 1025],
)
async def test_an_invalid_key_is_400(client: httpx.AsyncClient, key: str) -> None:
    for response in (
        await put(client, key, b"nope"),
        await client.get(f"/objects/{key}"),
        await client.delete(f"/objects/{key}"),
    ):
        assert response.status_code == 400, (response.request.method, key)
        assert "invalid object key" in response.json()["detail"]


async def test_a_key_ending_in_url_is_refused(client: httpx.AsyncClient) -> None:
    """`GET /objects/<key>/url` presigns `<key>`, so no object may be stored under a key ending in `/url`."""
    for response in (await put(client, "ends/in/url", b"nope"), await client.delete("/objects/ends/in/url")):
        assert response.status_code == 400
        assert "may not end with '/url'" in response.json()["detail"]


async def test_an_upload_without_the_file_field_is_422(client: httpx.AsyncClient) -> None:
    response = await client.put(f"/objects/{unique('empty')}", data={"other": "field"})
    assert response.status_code == 422
    assert response.json()["detail"][0]["loc"] == ["body", "file"]
