"""The event-loop rules of this service, in one place.

An `async def` function runs on the event loop: while it runs, nothing else in the
process does. So, from async code:

* sync I/O (a sync SDK, `open()`, a sync driver) goes through `run_blocking`, which runs
  it in a worker thread and awaits the result;
* CPU-bound work goes through `run_in_process`: threads do not help CPU work (the GIL),
  worker processes do;
* everything else should be an async library (asyncpg, httpx.AsyncClient, aiofiles...).

`def` path operations and dependencies need none of this: FastAPI already runs them in
the same AnyIO threadpool that `run_blocking` uses, whose size is set from settings in
the lifespan by `configure_threadpool`.
"""

from __future__ import annotations

import asyncio
import functools
import multiprocessing
import signal
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor
from typing import Any, ParamSpec, TypeVar

import anyio
import anyio.to_thread

P = ParamSpec("P")
T = TypeVar("T")
F = TypeVar("F", bound=Callable[..., Any])


async def run_blocking(func: Callable[P, T], /, *args: P.args, **kwargs: P.kwargs) -> T:
    """Run a blocking call in a worker thread and await its result.

    Uses AnyIO's default threadpool (shared with `def` endpoints), so its size is the
    one set by `configure_threadpool`. Context variables (request ids, log context)
    are copied into the thread. If the caller is cancelled, the thread still finishes
    its call: a sync call cannot be interrupted safely.
    """
    return await anyio.to_thread.run_sync(functools.partial(func, *args, **kwargs))


class BlockingLane:
    """A separate, bounded set of threads for one slow or unreliable dependency.

    Calls through a lane hold the lane's tokens instead of the shared threadpool's, so a
    dependency that hangs can fill its lane but never starve the `def` endpoints.

    With `abandon_on_cancel=True` a cancelled caller (a timeout) returns at once and
    leaves the thread to finish on its own: right for probes, wrong for writes.
    """

    def __init__(self, tokens: int, *, abandon_on_cancel: bool = False) -> None:
        self.limiter = anyio.CapacityLimiter(tokens)
        self.abandon_on_cancel = abandon_on_cancel

    async def run(self, func: Callable[P, T], /, *args: P.args, **kwargs: P.kwargs) -> T:
        return await anyio.to_thread.run_sync(
            functools.partial(func, *args, **kwargs),
            limiter=self.limiter,
            abandon_on_cancel=self.abandon_on_cancel,
        )


def runs_on_loop(func: F) -> F:
    """Mark an `async def` endpoint or dependency as reviewed to run on the event loop.

    Use it only for code that awaits async libraries or does no I/O at all. The sync
    stack's route inspection test accepts an `async def` only with this mark.
    """
    func.__runs_on_loop__ = True  # type: ignore[attr-defined]
    return func


def configure_threadpool(tokens: int) -> None:
    """Size AnyIO's default threadpool; call it from the lifespan (it needs a running loop)."""
    anyio.to_thread.current_default_thread_limiter().total_tokens = tokens


def create_process_pool(workers: int) -> ProcessPoolExecutor:
    """A pool of worker processes for CPU-bound work.

    `spawn` rather than `fork`: forking a process that already runs threads can copy a
    lock held by another thread and deadlock the child.
    """
    return ProcessPoolExecutor(
        max_workers=workers,
        mp_context=multiprocessing.get_context("spawn"),
        initializer=_ignore_interrupts,
    )


def _ignore_interrupts() -> None:
    """Workers leave Ctrl-C to the server, which shuts the pool down in its lifespan."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)


def start_process_pool(pool: ProcessPoolExecutor, workers: int) -> None:
    """Start every worker now (blocking: call it through `run_blocking`).

    A pool starts a worker lazily, on a `submit` that finds none idle; starting them all
    here keeps that process start-up off the event loop once requests arrive.
    """
    futures = [pool.submit(_ready) for _ in range(workers)]
    for future in futures:
        future.result()


def _ready() -> None:
    return None


async def run_in_process(pool: ProcessPoolExecutor, func: Callable[P, T], /, *args: P.args, **kwargs: P.kwargs) -> T:
    """Run CPU-bound `func` in a worker process and await its result.

    `func` and its arguments must be picklable (a module-level function, plain data).
    """
    loop = asyncio.get_running_loop()
    return await loop.run_in_executor(pool, functools.partial(func, *args, **kwargs))
