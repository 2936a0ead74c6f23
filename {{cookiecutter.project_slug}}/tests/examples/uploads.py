"""A multipart upload sent the way a client streams it, for tests of how much of it the app reads."""

from __future__ import annotations

from collections.abc import AsyncIterator


class StreamedUpload:
    """A multipart upload of `data` sent in chunks, counting the chunks the app has read."""

    BOUNDARY = "test-boundary"

    def __init__(self, data: bytes, chunk_size: int = 64 * 1024) -> None:
        head = (
            f"--{self.BOUNDARY}\r\n"
            'Content-Disposition: form-data; name="file"; filename="upload.bin"\r\n'
            "Content-Type: application/octet-stream\r\n\r\n"
        ).encode()
        content = head + data + f"\r\n--{self.BOUNDARY}--\r\n".encode()
        self.parts = [content[start : start + chunk_size] for start in range(0, len(content), chunk_size)]
        self.size = len(content)
        self.sent = 0

    def headers(self, *, declared: bool = True) -> dict[str, str]:
        headers = {"content-type": f"multipart/form-data; boundary={self.BOUNDARY}"}
        if declared:
            headers["content-length"] = str(self.size)
        return headers

    async def chunks(self) -> AsyncIterator[bytes]:
        for part in self.parts:
            self.sent += 1
            yield part
