"""The upstream HTTP service: one `httpx.Client` and one fan-out thread pool per process.

A `def` endpoint may make a single call with `http.client.get(...)` in its own worker
thread: the client's timeouts bound each step of it (connect, each read), not the whole.
For one deadline over a call, or to make several at once (the sync counterpart of
`asyncio.gather`), it submits them with `http.submit(...)` and waits for the futures with
that deadline. The executor is created here, once: a pool per request would start and
join threads on every request.

Sizing, with T = `threadpool_tokens`: at most T endpoints run at once, and each fans out to
at most two calls, so both the executor and the connection pool hold
`settings.http_connection_limit` (default 2T). Every submitted call then finds a thread and
every thread finds a connection: nothing queues behind anything else, and the overall
deadline measures the upstream, not our own queues. The pool holds one connection more than
the executor has threads, for the readiness probe: it never waits behind the workload.

Every call is bounded by the client's timeouts (`upstream_connect_timeout` to connect,
`upstream_timeout` for the rest), including calls a request stopped waiting for: they end
on their own soon after and give back their thread and connection.

Endpoints get httpx's API (requests, responses, exceptions, timeouts), but the sockets
are urllib3's: the client's transport hands each request to one `urllib3.PoolManager`.
httpx's own pool re-examines every pooled connection on each request and release, under
a lock all threads share, so its cost grows with the number of threads calling at once:
at 64 concurrent calls of 0.2 s it served 45-90% of the ideal throughput here, from one
run to the next; urllib3's pool (a queue of idle connections) served 96% (`make bench`
measures it). Swapping the transport keeps every endpoint and test written for httpx.

Creating the client loads CA certificates (50-100 ms of file reads), so the lifespan does
it in a worker thread; closing joins the executor's threads, also off the loop.
"""

from __future__ import annotations

import contextvars
import functools
import ssl
from collections.abc import AsyncIterator, Callable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import asynccontextmanager, contextmanager
from dataclasses import dataclass
from typing import Annotated, ParamSpec, TypeVar

import httpx
import urllib3
from fastapi import Depends, Request
from urllib3 import exceptions as urllib3_errors

from ..concurrency import BlockingLane, run_blocking, runs_on_loop
from ..deadline import waits_on
from ..settings import Settings

P = ParamSpec("P")
T = TypeVar("T")

_probe_lane = BlockingLane(1, abandon_on_cancel=True)


@dataclass(frozen=True)
class HttpClient:
    client: httpx.Client
    executor: ThreadPoolExecutor

    def submit(self, func: Callable[P, T], /, *args: P.args, **kwargs: P.kwargs) -> Future[T]:
        """Run `func` on the fan-out pool with the caller's context variables (the request id)."""
        context = contextvars.copy_context()
        return self.executor.submit(context.run, functools.partial(func, *args, **kwargs))


class Urllib3Transport(httpx.BaseTransport):
    """Send httpx requests through a `urllib3.PoolManager`; raise httpx's exceptions.

    Redirects, cookies, auth, base URL and default timeouts stay httpx's job (the client
    does them before the transport sees a request); urllib3 only moves bytes. A thread
    that finds every connection busy waits for one, up to the pool timeout.
    """

    def __init__(self, max_connections: int, tls: ssl.SSLContext) -> None:
        self.pools = urllib3.PoolManager(maxsize=max_connections, block=True, retries=False, ssl_context=tls)

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        timeout = request.extensions.get("timeout", {})
        headers = urllib3.HTTPHeaderDict()
        for name, value in request.headers.multi_items():
            headers.add(name, value)
        body: bytes | httpx.SyncByteStream | None = None
        if isinstance(request.stream, httpx.ByteStream):
            body = request.content or None
        elif isinstance(request.stream, httpx.SyncByteStream):
            body = request.stream
            headers.discard("transfer-encoding")  # urllib3 sends the chunks and the header
        with _httpx_errors(request):
            response = self.pools.urlopen(
                request.method,
                str(request.url),
                body=body,
                headers=headers,
                chunked=isinstance(body, httpx.SyncByteStream),
                redirect=False,  # httpx follows redirects itself when asked to
                retries=False,
                preload_content=False,
                decode_content=False,  # httpx decodes the body itself
                timeout=urllib3.Timeout(connect=timeout.get("connect"), read=timeout.get("read")),
                pool_timeout=timeout.get("pool"),
            )
        return httpx.Response(
            response.status,
            headers=list(response.headers.items()),
            stream=_ResponseBody(response, request),
            request=request,
            extensions={"http_version": b"HTTP/1.1", "reason_phrase": (response.reason or "").encode("latin-1")},
        )

    def close(self) -> None:
        self.pools.clear()


class _ResponseBody(httpx.SyncByteStream):
    def __init__(self, response: urllib3.BaseHTTPResponse, request: httpx.Request) -> None:
        self.response = response
        self.request = request

    def __iter__(self) -> Iterator[bytes]:
        with _httpx_errors(self.request):
            yield from self.response.stream(65536, decode_content=False)

    def close(self) -> None:
        self.response.release_conn()  # back to the pool once the body is read; closed if it was not


# urllib3's exceptions and the httpx ones endpoints catch, most specific first.
_ERRORS: tuple[tuple[type[Exception], type[httpx.TransportError]], ...] = (
    (urllib3_errors.NewConnectionError, httpx.ConnectError),  # (a ConnectTimeoutError subclass in urllib3)
    (urllib3_errors.ConnectTimeoutError, httpx.ConnectTimeout),
    (urllib3_errors.ReadTimeoutError, httpx.ReadTimeout),
    (urllib3_errors.EmptyPoolError, httpx.PoolTimeout),  # every connection stayed busy for the pool timeout
    (urllib3_errors.SSLError, httpx.ConnectError),
    (urllib3_errors.ProxyError, httpx.ProxyError),
    (urllib3_errors.LocationValueError, httpx.UnsupportedProtocol),
    (urllib3_errors.ProtocolError, httpx.RemoteProtocolError),  # the connection dropped mid-answer
    (urllib3_errors.HTTPError, httpx.NetworkError),
)


@contextmanager
def _httpx_errors(request: httpx.Request) -> Iterator[None]:
    """Re-raise urllib3's exceptions as httpx's, with the request attached."""
    try:
        yield
    except urllib3_errors.HTTPError as error:
        target = next(target for source, target in _ERRORS if isinstance(error, source))
        raise target(str(error) or type(error).__name__, request=request) from error


def create_client(settings: Settings) -> httpx.Client:
    """Blocking (reads CA certificates): call it through `run_blocking`."""
    transport = Urllib3Transport(settings.http_connection_limit + 1, httpx.create_ssl_context())
    return httpx.Client(
        base_url=settings.upstream_base_url,
        timeout=httpx.Timeout(settings.upstream_timeout, connect=settings.upstream_connect_timeout),
        transport=transport,
        trust_env=False,  # no proxies from the environment: they would bypass the transport
    )


@asynccontextmanager
async def open_http_client(settings: Settings) -> AsyncIterator[HttpClient]:
    client = await run_blocking(create_client, settings)
    executor = ThreadPoolExecutor(max_workers=settings.http_connection_limit, thread_name_prefix="upstream")
    try:
        yield HttpClient(client=client, executor=executor)
    finally:
        await run_blocking(executor.shutdown, wait=True, cancel_futures=True)
        await run_blocking(client.close)


def _get_health(client: httpx.Client) -> None:
    client.get("/health").raise_for_status()


async def check_upstream(http: HttpClient) -> None:
    """Readiness: the upstream's `/health` answers 2xx, within the client's timeouts."""
    await _probe_lane.run(_get_health, http.client)


@runs_on_loop
async def get_http_client(request: Request) -> HttpClient:
    waits_on("upstream")
    http: HttpClient = request.state.http
    return http


HttpClientDep = Annotated[HttpClient, Depends(get_http_client)]
