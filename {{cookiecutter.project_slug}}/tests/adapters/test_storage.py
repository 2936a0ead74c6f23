"""The local storage adapter: its directory is made at start-up and checked by readiness."""

from __future__ import annotations

from pathlib import Path

import pytest

from {{ cookiecutter.package_name }}.adapters.storage import check_storage, open_storage
from {{ cookiecutter.package_name }}.settings import Settings


async def test_start_up_creates_the_directory(settings: Settings, tmp_path: Path) -> None:
    directory = tmp_path / "not" / "yet" / "there"
    async with open_storage(settings.model_copy(update={"storage_dir": directory})) as storage:
        assert directory.is_dir()
        await check_storage(storage)


async def test_start_up_fails_when_the_directory_cannot_be_made(settings: Settings, tmp_path: Path) -> None:
    blocker = tmp_path / "a-file"
    blocker.write_text("not a directory")
    with pytest.raises(OSError, match="a-file"):
        async with open_storage(settings.model_copy(update={"storage_dir": blocker / "storage"})):
            pass


async def test_the_check_fails_once_the_directory_is_gone(settings: Settings, tmp_path: Path) -> None:
    directory = tmp_path / "storage"
    async with open_storage(settings.model_copy(update={"storage_dir": directory})) as storage:
        directory.rmdir()
        with pytest.raises(OSError, match="not a directory"):
            await check_storage(storage)
