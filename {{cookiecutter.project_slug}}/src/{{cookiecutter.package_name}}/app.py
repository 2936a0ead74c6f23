"""Application factory and lifespan.

The lifespan owns every long-lived resource: it creates each one once, before the
first request, hands it to endpoints through the lifespan state (`request.state.<name>`)
and closes it on shutdown. Clients are never created per request: creating one loads
certificates and blocks.
"""

from __future__ import annotations

import functools
import gc
import logging
from collections.abc import AsyncIterator
from contextlib import AsyncExitStack, asynccontextmanager
from typing import Any

import anyio
from fastapi import FastAPI

from . import __version__, health
{%- if cookiecutter.use_http_client == 'y' %}
from .adapters.http_client import check_upstream, open_http_client
{%- endif %}
{%- if cookiecutter.use_postgres == 'y' %}
from .adapters.postgres import UNAVAILABLE as DATABASE_UNAVAILABLE
from .adapters.postgres import check_database, open_database
{%- endif %}
{%- if cookiecutter.use_s3 == 'y' %}
from .adapters.s3 import check_s3, open_s3
{%- endif %}
{%- if cookiecutter.use_local_files == 'y' %}
from .adapters.storage import check_storage, open_storage
{%- endif %}
from .budget import add_request_budget
from .concurrency import configure_threadpool, create_process_pool, run_blocking, start_process_pool
from .deadline import RequestDeadlineMiddleware
from .errors import add_error_handlers{% if cookiecutter.use_postgres == 'y' %}, add_unavailable_handler{% endif %}
{%- if cookiecutter.include_examples == 'y' %}
from .examples.routes import routers as example_routers
{%- endif %}
from .health import ReadinessCheck
from .logs import configure_logging
from .middleware import RequestIdMiddleware
from .settings import Settings, get_settings
from .slow_clients import BodyTimeoutMiddleware
from .watchdog import LoopLagMonitor

logger = logging.getLogger(__name__)


@asynccontextmanager
async def lifespan(app: FastAPI) -> AsyncIterator[dict[str, Any]]:
    settings: Settings = app.state.settings
    configure_threadpool(settings.threadpool_tokens)
    checks: dict[str, ReadinessCheck] = {}
    async with AsyncExitStack() as resources:
        # Creating the pool makes multiprocessing locks, which talk to the resource tracker: blocking.
        process_pool = await run_blocking(create_process_pool, settings.process_pool_workers)
        resources.push_async_callback(
            functools.partial(run_blocking, process_pool.shutdown, wait=True, cancel_futures=True)
        )
        await run_blocking(start_process_pool, process_pool, settings.process_pool_workers)
        state: dict[str, Any] = {
            "settings": settings,
            "process_pool": process_pool,
            "readiness_checks": checks,
        }
{%- if cookiecutter.use_postgres == 'y' %}
        state["db"] = db = await resources.enter_async_context(open_database(settings))
        checks["postgres"] = functools.partial(check_database, db)
{%- endif %}
{%- if cookiecutter.use_http_client == 'y' %}
        state["http"] = http = await resources.enter_async_context(open_http_client(settings))
        checks["upstream"] = functools.partial(check_upstream, http)
{%- endif %}
{%- if cookiecutter.use_local_files == 'y' %}
        state["storage"] = storage = await resources.enter_async_context(open_storage(settings))
        checks["storage"] = functools.partial(check_storage, storage)
{%- endif %}
{%- if cookiecutter.use_s3 == 'y' %}
        state["s3"] = s3 = await resources.enter_async_context(open_s3(settings))
        checks["s3"] = functools.partial(check_s3, s3)
{%- endif %}
        async with anyio.create_task_group() as background:
            monitor = None
            if settings.watchdog_enabled:
                monitor = LoopLagMonitor(settings.watchdog_interval, settings.watchdog_threshold)
                background.start_soon(monitor.run)
            state["watchdog"] = monitor
            logger.info("%s started (threadpool: %d tokens)", settings.app_name, settings.threadpool_tokens)
            # What exists now lives as long as the process (modules, clients, pools): take it out
            # of the garbage collector's sight, so a full collection under load only scans what
            # requests allocate (100-150 ms pauses of the event loop become a few ms).
            gc.collect()
            gc.freeze()
            yield state
            background.cancel_scope.cancel()


def create_app(settings: Settings | None = None) -> FastAPI:
    """Build the app; `uvicorn {{ cookiecutter.package_name }}.app:create_app --factory` serves it."""
    settings = settings or get_settings()
    configure_logging(settings.log_level)
    app = FastAPI(title=settings.app_name, version=__version__, lifespan=lifespan)
    app.state.settings = settings
    app.add_middleware(RequestDeadlineMiddleware, deadline=settings.request_deadline)
    add_request_budget(app, settings)
    app.add_middleware(BodyTimeoutMiddleware, timeout=settings.request_body_timeout)
    app.add_middleware(RequestIdMiddleware)  # outermost: every answer carries the id, a 504 of the deadline too
    add_error_handlers(app)
{%- if cookiecutter.use_postgres == 'y' %}
    add_unavailable_handler(app, "PostgreSQL", DATABASE_UNAVAILABLE)
{%- endif %}
    app.include_router(health.router)
{%- if cookiecutter.include_examples == 'y' %}
    for router in example_routers:
        app.include_router(router)
{%- endif %}
    return app
