"""The sync stack's rule: endpoints and dependencies are plain `def`, unless reviewed to run on the loop.

FastAPI runs a `def` endpoint or dependency in its threadpool, where this stack's sync
I/O (the psycopg pool, httpx.Client, boto3, open()) is fine. It runs an `async def` one
on the event loop instead, where one such call stops every request of the process. A
missing `async` costs nothing; a wrong one freezes the server. So every `async def` in
a route's dependency tree must carry `@runs_on_loop` (concurrency.py): the mark that
someone checked it only awaits async code or does no I/O at all.

`LOOPSAFE_ROUTE_RULE=0` skips these tests (tests/event_loop/switches.py).
"""

from __future__ import annotations

import functools
import inspect
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path
from typing import Any

import fastapi.routing
from fastapi import Depends, FastAPI
from fastapi.dependencies.models import Dependant

from {{ cookiecutter.package_name }}.app import create_app
from {{ cookiecutter.package_name }}.concurrency import runs_on_loop
from {{ cookiecutter.package_name }}.settings import Settings

from .switches import ROUTE_RULE

pytestmark = ROUTE_RULE.mark


def on_loop_function(call: Callable[..., Any]) -> Callable[..., Any] | None:
    """The coroutine (or async generator) function FastAPI would run on the loop for `call`, if any."""
    target: Any = call
    while isinstance(target, functools.partial):
        target = target.func
    target = inspect.unwrap(target)
    if inspect.isclass(target):
        return None  # FastAPI calls the class: `__init__` is sync, so it runs in the threadpool
    if not inspect.isroutine(target):
        target = inspect.unwrap(type(target).__call__)  # a callable instance
    if inspect.iscoroutinefunction(target) or inspect.isasyncgenfunction(target):
        return target  # type: ignore[no-any-return]
    return None


def dependants(dependant: Dependant) -> Iterator[Dependant]:
    yield dependant
    for sub in dependant.dependencies:
        yield from dependants(sub)


def routes(app: FastAPI) -> Iterator[tuple[str, Dependant]]:
    """Each path operation ("GET /items") and the root of its dependency tree."""
    # Recent FastAPI keeps included routers as they are: `iter_route_contexts` walks into them.
    contexts = getattr(fastapi.routing, "iter_route_contexts", None)
    found: Iterable[Any] = contexts(app.routes) if contexts is not None else app.routes
    for route in found:
        dependant = getattr(route, "dependant", None)
        if isinstance(dependant, Dependant):
            yield f"{'/'.join(sorted(route.methods))} {route.path}", dependant


def unreviewed_async(app: FastAPI) -> list[str]:
    """One line per `async def` endpoint or dependency without `@runs_on_loop`."""
    problems = []
    for operation, root in routes(app):
        for dependant in dependants(root):
            call = dependant.call
            function = on_loop_function(call) if call is not None else None
            if function is None or getattr(call, "__runs_on_loop__", False):
                continue
            if getattr(function, "__runs_on_loop__", False):
                continue
            role = "endpoint" if dependant is root else "dependency"
            code = function.__code__
            where = Path(code.co_filename)
            if where.is_relative_to(Path.cwd()):
                where = where.relative_to(Path.cwd())
            problems.append(
                f"{operation}: {role} {function.__qualname__} ({where}:{code.co_firstlineno}) is `async def`"
            )
    return problems


def test_every_async_endpoint_and_dependency_is_reviewed(settings: Settings) -> None:
    app = create_app(settings)
    assert any(operation == "GET /health/live" for operation, _ in routes(app)), "the route walk found no routes"
    problems = unreviewed_async(app)
    assert not problems, (
        "In the sync stack, an endpoint or dependency must be a plain `def` (FastAPI runs it in the threadpool): "
        "an `async def` runs on the event loop, where one sync call (psycopg, httpx.Client, boto3, open()) stops "
        "every request. Make each of these a plain `def`; one that only awaits async code or does no I/O may "
        "stay `async def` with @runs_on_loop (concurrency.py). See README 'Keeping the event loop free'.\n"
        + "\n".join(problems)
    )


def test_the_check_sees_an_unreviewed_async_dependency(settings: Settings) -> None:
    async def unreviewed() -> int:
        return 1

    @runs_on_loop
    async def reviewed(value: int = Depends(unreviewed)) -> int:
        return value

    def plain(value: int = Depends(reviewed)) -> dict[str, int]:
        return {"value": value}

    app = create_app(settings)
    app.add_api_route("/check/plain", plain, methods=["GET"])
    app.add_api_route("/check/reviewed", reviewed, methods=["GET"])

    problems = [problem for problem in unreviewed_async(app) if " /check/" in problem]
    assert len(problems) == 2, problems
    assert all(".<locals>.unreviewed (" in problem for problem in problems), problems
    assert problems[0].startswith("GET /check/plain:")
    assert problems[1].startswith("GET /check/reviewed:")
