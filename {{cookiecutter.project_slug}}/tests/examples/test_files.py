"""The local files example: streamed upload and download, size limit, and names that stay inside the directory."""

from __future__ import annotations

import os
import uuid
from collections.abc import Callable
from contextlib import AbstractAsyncContextManager
from pathlib import Path

import httpx
import pytest

from {{ cookiecutter.package_name }}.settings import Settings

from .uploads import StreamedUpload

ClientWith = Callable[..., AbstractAsyncContextManager[httpx.AsyncClient]]


def unique(name: str) -> str:
    """The session's app shares one storage directory between tests: keep names apart."""
    return f"{uuid.uuid4().hex[:8]}-{name}"


async def upload(client: httpx.AsyncClient, name: str, data: bytes) -> httpx.Response:
    return await client.put(f"/files/{name}", files={"file": ("ignored.bin", data, "application/octet-stream")})


async def test_upload_then_download(client: httpx.AsyncClient) -> None:
    name = unique("report.txt")
    response = await upload(client, name, b"hello, files")
    assert response.status_code == 201
    assert response.json() == {"name": name, "size": 12}

    download = await client.get(f"/files/{name}")
    assert download.status_code == 200
    assert download.content == b"hello, files"
    assert download.headers["content-length"] == "12"
    assert download.headers["content-type"] == "application/octet-stream"


async def test_a_download_is_an_attachment_that_is_never_sniffed(client: httpx.AsyncClient) -> None:
    name = unique("page.html")
    await upload(client, name, b"<script>alert(document.cookie)</script>")
    download = await client.get(f"/files/{name}")
    assert download.headers["content-disposition"] == f'attachment; filename="{name}"'
    assert download.headers["x-content-type-options"] == "nosniff"


async def test_a_name_of_the_maximum_length_round_trips(client: httpx.AsyncClient, settings: Settings) -> None:
    """255 bytes is the longest name a file system takes: the temporary upload name must not grow from it."""
    name = unique("n" * 255)[:255]
    assert len(name) == 255
    response = await upload(client, name, b"long name")
    assert response.status_code == 201, response.text
    assert (await client.get(f"/files/{name}")).content == b"long name"
    assert name in {entry["name"] for entry in (await client.get("/files")).json()["files"]}
    assert (await client.delete(f"/files/{name}")).status_code == 204
    assert not [path for path in settings.storage_dir.iterdir() if path.name.startswith(".")]  # no temporary left


async def test_a_large_file_streams_both_ways_intact(client: httpx.AsyncClient) -> None:
    name = unique("large.bin")
    data = os.urandom(3 * 1024 * 1024 + 17)  # many 64 KiB chunks, and a partial last one
    assert (await upload(client, name, data)).json()["size"] == len(data)

    received = bytearray()
    async with client.stream("GET", f"/files/{name}") as response:
        assert response.headers["content-length"] == str(len(data))
        async for chunk in response.aiter_raw():
            received += chunk
    assert received == data


async def test_upload_replaces_a_file_of_the_same_name(client: httpx.AsyncClient) -> None:
    name = unique("notes.txt")
    await upload(client, name, b"first version")
    await upload(client, name, b"second")
    assert (await client.get(f"/files/{name}")).content == b"second"


async def test_list_shows_stored_files_with_sizes(client: httpx.AsyncClient) -> None:
    names = sorted(unique(f"listed-{n}.txt") for n in range(3))
    for size, name in enumerate(names, start=1):
        await upload(client, name, b"x" * size)
    listed = {entry["name"]: entry["size"] for entry in (await client.get("/files")).json()["files"]}
    assert {name: listed.get(name) for name in names} == {name: size for size, name in enumerate(names, start=1)}


async def test_delete_removes_the_file(client: httpx.AsyncClient) -> None:
    name = unique("doomed.txt")
    await upload(client, name, b"bye")
    response = await client.delete(f"/files/{name}")
    assert response.status_code == 204
    assert (await client.get(f"/files/{name}")).status_code == 404
    assert name not in {entry["name"] for entry in (await client.get("/files")).json()["files"]}


async def test_a_missing_file_is_404(client: httpx.AsyncClient) -> None:
    for response in (await client.get("/files/nothing-here.txt"), await client.delete("/files/nothing-here.txt")):
        assert response.status_code == 404
        assert "nothing-here.txt" in response.json()["detail"]


async def test_an_upload_past_the_limit_is_413_and_leaves_nothing(client_with: ClientWith, tmp_path: Path) -> None:
    async with client_with(max_upload_bytes=100_000) as client:
        at_limit = await upload(client, "fits.bin", b"x" * 100_000)
        too_large = await upload(client, "too-large.bin", b"x" * 200_000)
        listed = (await client.get("/files")).json()["files"]

    assert at_limit.status_code == 201
    assert too_large.status_code == 413
    assert "100000" in too_large.json()["detail"]
    assert listed == [{"name": "fits.bin", "size": 100_000}]
    assert sorted(path.name for path in (tmp_path / "storage").iterdir()) == ["fits.bin"]  # no partial file


async def test_a_declared_length_past_the_limit_is_413_before_the_body_is_read(client_with: ClientWith) -> None:
    """The Content-Length alone is enough to refuse: none of the body is read (or spooled to disk)."""
    body = StreamedUpload(b"x" * 1_000_000)
    async with client_with(max_upload_bytes=1000) as client:
        response = await client.put("/files/huge.bin", content=body.chunks(), headers=body.headers())
        listed = (await client.get("/files")).json()["files"]
    assert response.status_code == 413
    assert "1000" in response.json()["detail"]
    assert body.sent == 0
    assert listed == []


async def test_a_chunked_upload_past_the_limit_is_413_and_leaves_nothing(
    client_with: ClientWith, tmp_path: Path
) -> None:
    """No Content-Length to judge by: the size is checked as the upload is copied."""
    body = StreamedUpload(b"x" * 5000)
    async with client_with(max_upload_bytes=1000) as client:
        response = await client.put("/files/chunked.bin", content=body.chunks(), headers=body.headers(declared=False))
    assert response.status_code == 413
    assert "1000" in response.json()["detail"]
    assert body.sent > 0
    assert list((tmp_path / "storage").iterdir()) == []


@pytest.mark.parametrize(
    "name",
    [
        "..%2F..%2Fetc%2Fpasswd",
        "%2Fetc%2Fpasswd",
        ".hidden",
        "sub/dir.txt",
        "with space.txt",
        "-starts-with-dash",
        "x" * 256,
    ],
)
async def test_a_name_that_could_escape_or_hide_is_400(client: httpx.AsyncClient, name: str) -> None:
    for response in (
        await upload(client, name, b"nope"),
        await client.get(f"/files/{name}"),
        await client.delete(f"/files/{name}"),
    ):
        assert response.status_code == 400, (response.request.method, name)
        assert "invalid file name" in response.json()["detail"]


async def test_an_upload_without_the_file_field_is_422(client: httpx.AsyncClient) -> None:
    response = await client.put(f"/files/{unique('empty.txt')}", data={"other": "field"})
    assert response.status_code == 422
    assert response.json()["detail"][0]["loc"] == ["body", "file"]
