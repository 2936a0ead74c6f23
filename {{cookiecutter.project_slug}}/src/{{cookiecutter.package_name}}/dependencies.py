"""FastAPI dependencies for the resources every stack has.

Each getter only reads what the lifespan created; none does I/O, so they are
`async def` (no threadpool hop) and marked as reviewed to run on the loop.
"""

from __future__ import annotations

from concurrent.futures import ProcessPoolExecutor
from typing import Annotated

from fastapi import Depends, Request

from .concurrency import runs_on_loop
from .settings import Settings


@runs_on_loop
async def get_settings_from_app(request: Request) -> Settings:
    settings: Settings = request.state.settings
    return settings


@runs_on_loop
async def get_process_pool(request: Request) -> ProcessPoolExecutor:
    pool: ProcessPoolExecutor = request.state.process_pool
    return pool


SettingsDep = Annotated[Settings, Depends(get_settings_from_app)]
ProcessPoolDep = Annotated[ProcessPoolExecutor, Depends(get_process_pool)]
