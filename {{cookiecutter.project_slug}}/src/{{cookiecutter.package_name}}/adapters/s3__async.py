"""S3-compatible object storage through one aioboto3 client per process, owned by the lifespan.

The client's HTTP calls are coroutines (aiohttp underneath), but two steps of its set-up
block, and aiobotocore runs both on the loop:

* making the client: botocore reads its config files and parses large JSON models (the
  S3 API, endpoint rules, partitions). `load_botocore_data` does those reads first, in
  a worker thread, into the session's caches; making the client then finds them there.
* the first request: it opens the connection pool, whose TLS context loads the CA
  bundle (tens of milliseconds). `PreparedTLSSession` builds that context in a worker
  thread when the client is entered, the same way aiobotocore would.

Both lean on aiobotocore internals; should an upgrade move a file read back onto the
loop, the test suite's blocking guard names it. One read is left on the loop: without
S3_ACCESS_KEY_ID and S3_SECRET_ACCESS_KEY, botocore's credential chain runs when the
client is made, and reads ~/.aws/credentials if there is one (once, at start-up).

Every call is bounded by the client's connect and read timeouts and one retry, sized to
end within `request_deadline` (botocore's defaults are 60 s each, times the retries): a
slow store fails a request, it does not hold it for minutes. Custom endpoints (MinIO, moto) get path-style addressing,
since `bucket.host` rarely resolves there, and SigV4 presigned URLs, which every S3 API
accepts.
"""

from __future__ import annotations

import ssl
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Annotated, Any

import aioboto3
import aioboto3.s3.inject  # imported by the first S3 client otherwise, on the loop
import aiohttp
from aiobotocore.config import AioConfig
from aiobotocore.httpsession import AIOHTTPSession
from aiobotocore.session import AioSession
from botocore.exceptions import ClientError
from botocore.httpsession import get_cert_path
from fastapi import Depends, Request

from ..concurrency import run_blocking, runs_on_loop
from ..deadline import attempt_timeouts, waits_on
from ..settings import Settings

CONNECT_TIMEOUT = 1.0
MAX_ATTEMPTS = 2
"""One retry; every attempt's connect and read timeouts fit in `request_deadline` (`attempt_timeouts`)."""
MAX_POOL_CONNECTIONS = 50
"""Concurrent S3 calls per process (botocore's default, 10, queues requests early)."""

NOT_FOUND_CODES = frozenset({"404", "NoSuchKey", "NotFound"})
BUCKET_MISSING_CODES = frozenset({"NoSuchBucket"})


@dataclass(frozen=True)
class S3:
    client: Any  # an aiobotocore S3 client: its methods are generated from botocore's JSON model at run time
    bucket: str


class BucketMissing(Exception):
    """The configured bucket does not exist: the deployment is wrong, not the request (no 404 for it)."""

    def __init__(self, bucket: str) -> None:
        super().__init__(f"bucket {bucket!r} does not exist (HEAD bucket: 404): check S3_BUCKET or S3_CREATE_BUCKET")
        self.bucket = bucket


def is_not_found(error: ClientError) -> bool:
    """The object (or, answering a HEAD, possibly its bucket: see `head_object`) does not exist."""
    return error.response.get("Error", {}).get("Code") in NOT_FOUND_CODES


def is_bucket_missing(error: ClientError) -> bool:
    return error.response.get("Error", {}).get("Code") in BUCKET_MISSING_CODES


async def require_bucket(s3: S3) -> None:
    """HEAD the bucket: `BucketMissing` if it does not exist, the `ClientError` for any other refusal."""
    try:
        await s3.client.head_bucket(Bucket=s3.bucket)
    except ClientError as exc:
        if is_not_found(exc):
            raise BucketMissing(s3.bucket) from None
        raise


async def head_object(s3: S3, key: str) -> None:
    """HEAD `key`: the `ClientError` if it is not there, `BucketMissing` if its bucket is not.

    A HEAD answer has no body, so its 404 cannot say which of the two is missing (GET,
    PUT and LIST say `NoSuchBucket`): after a 404 the bucket is asked too.
    """
    try:
        await s3.client.head_object(Bucket=s3.bucket, Key=key)
    except ClientError as exc:
        if is_not_found(exc):
            await require_bucket(s3)
        raise


def load_botocore_data(session: AioSession) -> None:
    """Read, into `session`'s caches, every file botocore reads when it creates an S3 client.

    Blocking: call it through `run_blocking`. The loader caches by exact arguments,
    hence `api_version=None` spelled out as botocore's client factory spells it.
    """
    session.get_scoped_config()  # ~/.aws/config
    loader = session.get_component("data_loader")
    for name in ("endpoints", "partitions", "sdk-default-configuration", "_retry"):
        loader.load_data(name)
    for type_name in ("service-2", "endpoint-rule-set-1", "paginators-1"):
        loader.load_service_model("s3", type_name, api_version=None)


def create_session(settings: Settings) -> aioboto3.Session:
    """A session whose client creation does no file I/O. Blocking: call it through `run_blocking`."""
    core = AioSession()
    load_botocore_data(core)
    secret = settings.s3_secret_access_key
    return aioboto3.Session(
        botocore_session=core,
        aws_access_key_id=settings.s3_access_key_id,
        aws_secret_access_key=secret.get_secret_value() if secret is not None else None,
        region_name=settings.s3_region,
    )


class PreparedTLSSession(AIOHTTPSession):  # type: ignore[misc]  # aiobotocore is untyped
    """aiobotocore's HTTP session, with its TLS context built off the loop when the client is entered."""

    _tls_context: ssl.SSLContext | None = None

    async def __aenter__(self) -> PreparedTLSSession:
        await super().__aenter__()
        if self._verify:
            self._tls_context = await run_blocking(self._build_tls_context)
        return self

    def _build_tls_context(self) -> ssl.SSLContext:
        """What aiobotocore's `_create_connector` does for a direct connection. Blocking."""
        context: ssl.SSLContext = self._get_ssl_context()
        if self._cert_file:
            context.load_cert_chain(self._cert_file, self._key_file)
        ca_certs = get_cert_path(self._verify)
        if ca_certs:
            context.load_verify_locations(ca_certs)
        return context

    def _create_connector(self, proxy_url: str | None) -> aiohttp.TCPConnector:
        if proxy_url is not None or self._tls_context is None:
            connector: aiohttp.TCPConnector = super()._create_connector(proxy_url)
            return connector
        return aiohttp.TCPConnector(limit=self._max_pool_connections, ssl=self._tls_context, **self._connector_args)


def client_config(settings: Settings) -> AioConfig:
    connect_timeout, read_timeout = attempt_timeouts(settings.request_deadline, MAX_ATTEMPTS, CONNECT_TIMEOUT)
    return AioConfig(
        connect_timeout=connect_timeout,
        read_timeout=read_timeout,
        retries={"max_attempts": MAX_ATTEMPTS, "mode": "standard"},
        max_pool_connections=MAX_POOL_CONNECTIONS,
        signature_version="s3v4",
        s3={"addressing_style": "path" if settings.s3_endpoint_url else "auto"},
        http_session_cls=PreparedTLSSession,
    )


async def create_bucket_if_missing(client: Any, bucket: str, region: str) -> None:
    try:
        await client.head_bucket(Bucket=bucket)
    except ClientError as exc:
        if not is_not_found(exc):
            raise
        if region == "us-east-1":
            await client.create_bucket(Bucket=bucket)
        else:
            await client.create_bucket(Bucket=bucket, CreateBucketConfiguration={"LocationConstraint": region})


@asynccontextmanager
async def open_s3(settings: Settings) -> AsyncIterator[S3]:
    """Enter the client (its connection pool) for the app's lifetime; close it on exit."""
    session = await run_blocking(create_session, settings)
    async with session.client("s3", endpoint_url=settings.s3_endpoint_url, config=client_config(settings)) as client:
        if settings.s3_create_bucket:
            await create_bucket_if_missing(client, settings.s3_bucket, settings.s3_region)
        yield S3(client=client, bucket=settings.s3_bucket)


async def check_s3(s3: S3) -> None:
    """Readiness: the bucket exists and the credentials may use it (HEAD bucket)."""
    await require_bucket(s3)


@runs_on_loop
async def get_s3(request: Request) -> S3:
    waits_on("S3")
    s3: S3 = request.state.s3
    return s3


S3Dep = Annotated[S3, Depends(get_s3)]
