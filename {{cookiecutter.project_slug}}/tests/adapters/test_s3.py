"""The S3 adapter: one client per app, the bucket made at start-up on request, bounded waits."""

from __future__ import annotations

import uuid

import pytest

from {{ cookiecutter.package_name }}.adapters.s3 import BucketMissing, check_s3, open_s3
from {{ cookiecutter.package_name }}.settings import Settings


def new_bucket() -> str:
    return f"adapter-{uuid.uuid4().hex[:12]}"


async def test_start_up_creates_the_bucket_when_asked(settings: Settings) -> None:
    async with open_s3(settings.model_copy(update={"s3_bucket": new_bucket(), "s3_create_bucket": True})) as s3:
        await check_s3(s3)


async def test_start_up_accepts_a_bucket_that_already_exists(settings: Settings) -> None:
    """Every start after the first finds the bucket there: that must not fail start-up."""
    bucket = settings.model_copy(update={"s3_bucket": new_bucket(), "s3_create_bucket": True})
    for _ in range(2):
        async with open_s3(bucket) as s3:
            await check_s3(s3)


async def test_a_missing_bucket_fails_the_check_unless_created(settings: Settings) -> None:
    async with open_s3(settings.model_copy(update={"s3_bucket": new_bucket(), "s3_create_bucket": False})) as s3:
        with pytest.raises(BucketMissing, match="does not exist"):
            await check_s3(s3)
