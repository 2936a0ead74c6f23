"""S3-compatible object storage through one boto3 client per process.

boto3 clients are thread-safe (sessions are not), so every worker thread shares the one
client made here. Making it is slow and blocking (botocore reads and parses its JSON
service models), so the lifespan makes it in a worker thread, once.

Sizing: each `def` endpoint makes one S3 call at a time, so the client's connection
pool holds `threadpool_tokens` connections, one per worker thread (botocore's default is
10: with more threads, connections would be opened and thrown away on every call). A
streamed download keeps its connection until the body is sent, without holding a thread
between chunks; past the pool size botocore opens an extra connection rather than wait.

Every call is bounded by botocore's connect and read timeouts and one retry, sized to
end within `request_deadline` (the default is 60 s each, times the retries): a slow store
fails a request, it does not hold a thread for minutes. Custom endpoints (MinIO, moto) get
path-style addressing, since `bucket.host` rarely resolves there.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import TYPE_CHECKING, Annotated, cast

import boto3
from botocore.config import Config
from botocore.exceptions import ClientError
from fastapi import Depends, Request

from ..concurrency import BlockingLane, run_blocking, runs_on_loop
from ..deadline import attempt_timeouts, waits_on
from ..settings import Settings

if TYPE_CHECKING:
    from mypy_boto3_s3 import S3Client
    from mypy_boto3_s3.literals import BucketLocationConstraintType

CONNECT_TIMEOUT = 1.0
MAX_ATTEMPTS = 2
"""One retry; every attempt's connect and read timeouts fit in `request_deadline` (`attempt_timeouts`)."""

NOT_FOUND_CODES = frozenset({"404", "NoSuchKey", "NotFound"})
BUCKET_MISSING_CODES = frozenset({"NoSuchBucket"})

_probe_lane = BlockingLane(1, abandon_on_cancel=True)


@dataclass(frozen=True)
class S3:
    client: S3Client
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


def require_bucket(s3: S3) -> None:
    """HEAD the bucket: `BucketMissing` if it does not exist, the `ClientError` for any other refusal."""
    try:
        s3.client.head_bucket(Bucket=s3.bucket)
    except ClientError as exc:
        if is_not_found(exc):
            raise BucketMissing(s3.bucket) from None
        raise


def head_object(s3: S3, key: str) -> None:
    """HEAD `key`: the `ClientError` if it is not there, `BucketMissing` if its bucket is not.

    A HEAD answer has no body, so its 404 cannot say which of the two is missing (GET,
    PUT and LIST say `NoSuchBucket`): after a 404 the bucket is asked too.
    """
    try:
        s3.client.head_object(Bucket=s3.bucket, Key=key)
    except ClientError as exc:
        if is_not_found(exc):
            require_bucket(s3)
        raise


def create_client(settings: Settings) -> S3Client:
    """Blocking (loads botocore's service models): call it through `run_blocking`."""
    secret = settings.s3_secret_access_key
    session = boto3.session.Session(
        aws_access_key_id=settings.s3_access_key_id,
        aws_secret_access_key=secret.get_secret_value() if secret is not None else None,
        region_name=settings.s3_region,
    )
    connect_timeout, read_timeout = attempt_timeouts(settings.request_deadline, MAX_ATTEMPTS, CONNECT_TIMEOUT)
    config = Config(
        connect_timeout=connect_timeout,
        read_timeout=read_timeout,
        retries={"max_attempts": MAX_ATTEMPTS, "mode": "standard"},
        max_pool_connections=settings.threadpool_tokens,
        signature_version="s3v4",
        s3={"addressing_style": "path" if settings.s3_endpoint_url else "auto"},
    )
    return session.client("s3", endpoint_url=settings.s3_endpoint_url, config=config)


def create_bucket_if_missing(client: S3Client, bucket: str, region: str) -> None:
    try:
        client.head_bucket(Bucket=bucket)
    except ClientError as exc:
        if not is_not_found(exc):
            raise
        if region == "us-east-1":
            client.create_bucket(Bucket=bucket)
        else:
            location = cast("BucketLocationConstraintType", region)
            client.create_bucket(Bucket=bucket, CreateBucketConfiguration={"LocationConstraint": location})


@asynccontextmanager
async def open_s3(settings: Settings) -> AsyncIterator[S3]:
    client = await run_blocking(create_client, settings)
    try:
        if settings.s3_create_bucket:
            await run_blocking(create_bucket_if_missing, client, settings.s3_bucket, settings.s3_region)
        yield S3(client=client, bucket=settings.s3_bucket)
    finally:
        await run_blocking(client.close)


async def check_s3(s3: S3) -> None:
    """Readiness: the bucket exists and the credentials may use it (HEAD bucket)."""
    await _probe_lane.run(require_bucket, s3)


@runs_on_loop
async def get_s3(request: Request) -> S3:
    waits_on("S3")
    s3: S3 = request.state.s3
    return s3


S3Dep = Annotated[S3, Depends(get_s3)]
