"""The upstream HTTP service through one `httpx.AsyncClient` per process, owned by the lifespan.

Endpoints get httpx's API (requests, responses, exceptions, timeouts), but the sockets
are aiohttp's: the client's transport hands each request to one `aiohttp.ClientSession`.
httpx's own connection pool re-examines every pooled connection on each request and
each release, so its cost per call grows with the number of connections: at 64
concurrent calls of 0.2 s it served about 40% of the ideal throughput here and held the
event loop for tens of milliseconds at a time; aiohttp's pool served 97% (`make bench`
measures it). Swapping the transport keeps every endpoint, test and mock written for httpx.

One client means one connection pool: connections are reused across requests instead of
being set up for each. `http_max_connections` calls are in flight at once (the rest wait
for a connection, within the pool timeout); an idle connection stays open for
`http_keepalive_expiry` seconds. Every call is bounded by the client's timeouts
(`upstream_connect_timeout` to connect and to wait for a pooled connection,
`upstream_timeout` for each read); endpoints add one overall deadline per operation.

Loading the CA certificates for TLS takes 50-100 ms of file reads, so the lifespan does
it in a worker thread, once.
"""

from __future__ import annotations

import ssl
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager, contextmanager
from typing import Annotated

import aiohttp
import httpx
from fastapi import Depends, Request

from ..concurrency import run_blocking, runs_on_loop
from ..deadline import waits_on
from ..settings import Settings


class AiohttpTransport(httpx.AsyncBaseTransport):
    """Send httpx requests through an `aiohttp.ClientSession`; raise httpx's exceptions.

    Redirects, cookies, auth, base URL and default timeouts stay httpx's job (the client
    does them before the transport sees a request); aiohttp only moves bytes.
    """

    def __init__(self, session: aiohttp.ClientSession) -> None:
        self.session = session

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        timeout = request.extensions.get("timeout", {})
        headers = request.headers.multi_items()
        body: bytes | httpx.AsyncByteStream | None = None
        if isinstance(request.stream, httpx.ByteStream):
            body = request.content or None
        elif isinstance(request.stream, httpx.AsyncByteStream):
            body = request.stream
            headers = [(name, value) for name, value in headers if name.lower() != "transfer-encoding"]  # aiohttp's job
        with _httpx_errors(request):
            response = await self.session.request(
                request.method,
                str(request.url),
                headers=headers,
                data=body,
                allow_redirects=False,  # httpx follows redirects itself when asked to
                auto_decompress=False,  # and decodes the body itself
                skip_auto_headers=("User-Agent", "Accept", "Accept-Encoding", "Content-Type"),
                timeout=aiohttp.ClientTimeout(
                    connect=timeout.get("pool"), sock_connect=timeout.get("connect"), sock_read=timeout.get("read")
                ),
            )
        return httpx.Response(
            response.status,
            headers=list(response.raw_headers),
            stream=_ResponseBody(response, request),
            request=request,
            extensions={"http_version": b"HTTP/1.1", "reason_phrase": (response.reason or "").encode("latin-1")},
        )

    async def aclose(self) -> None:
        await self.session.close()


class _ResponseBody(httpx.AsyncByteStream):
    def __init__(self, response: aiohttp.ClientResponse, request: httpx.Request) -> None:
        self.response = response
        self.request = request

    async def __aiter__(self) -> AsyncIterator[bytes]:
        with _httpx_errors(self.request):
            async for chunk in self.response.content.iter_any():
                yield chunk

    async def aclose(self) -> None:
        self.response.release()  # the connection goes back to the pool once the body is read


# aiohttp's exceptions and the httpx ones endpoints catch, most specific first.
_ERRORS: tuple[tuple[type[Exception], type[httpx.TransportError]], ...] = (
    (aiohttp.ConnectionTimeoutError, httpx.ConnectTimeout),  # connecting, or waiting for a pooled connection
    (aiohttp.SocketTimeoutError, httpx.ReadTimeout),
    (aiohttp.ServerTimeoutError, httpx.ReadTimeout),  # any other wait for the server that timed out
    (aiohttp.ClientConnectorError, httpx.ConnectError),
    (aiohttp.ServerDisconnectedError, httpx.RemoteProtocolError),
    (aiohttp.ClientResponseError, httpx.RemoteProtocolError),  # a malformed answer
    (aiohttp.ClientPayloadError, httpx.ReadError),
    (aiohttp.InvalidURL, httpx.UnsupportedProtocol),
    (aiohttp.ClientError, httpx.NetworkError),
)


@contextmanager
def _httpx_errors(request: httpx.Request) -> Iterator[None]:
    """Re-raise aiohttp's exceptions as httpx's, with the request attached."""
    try:
        yield
    except aiohttp.ClientError as error:
        target = next(target for source, target in _ERRORS if isinstance(error, source))
        raise target(str(error) or type(error).__name__, request=request) from error


def create_tls_context() -> ssl.SSLContext:
    """Blocking (reads the CA certificates): call it through `run_blocking`."""
    return httpx.create_ssl_context()


def create_client(settings: Settings, transport: httpx.AsyncBaseTransport) -> httpx.AsyncClient:
    """httpx's side of the client. Call it through `run_blocking`, like every client's creation."""
    return httpx.AsyncClient(
        base_url=settings.upstream_base_url,
        timeout=httpx.Timeout(
            settings.upstream_timeout, connect=settings.upstream_connect_timeout, pool=settings.upstream_connect_timeout
        ),
        transport=transport,
        trust_env=False,  # no proxies from the environment: they would bypass the transport
    )


@asynccontextmanager
async def open_http_client(settings: Settings) -> AsyncIterator[httpx.AsyncClient]:
    tls = await run_blocking(create_tls_context)
    connector = aiohttp.TCPConnector(
        limit=settings.http_max_connections,
        limit_per_host=0,  # `limit` is the only bound, as in httpx
        keepalive_timeout=settings.http_keepalive_expiry,
        ssl=tls,
    )
    session = aiohttp.ClientSession(connector=connector, cookie_jar=aiohttp.DummyCookieJar(), trust_env=False)
    client = await run_blocking(create_client, settings, AiohttpTransport(session))
    async with client:  # closing the client closes the transport, and with it the session
        yield client


async def check_upstream(client: httpx.AsyncClient) -> None:
    """Readiness: the upstream's `/health` answers 2xx."""
    response = await client.get("/health")
    response.raise_for_status()


@runs_on_loop
async def get_http_client(request: Request) -> httpx.AsyncClient:
    waits_on("upstream")
    client: httpx.AsyncClient = request.state.http
    return client


HttpClientDep = Annotated[httpx.AsyncClient, Depends(get_http_client)]
