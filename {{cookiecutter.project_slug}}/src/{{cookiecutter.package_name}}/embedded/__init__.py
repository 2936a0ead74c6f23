{%- set with_postgres = cookiecutter.use_postgres == 'y' -%}
{%- set with_s3 = cookiecutter.use_s3 == 'y' -%}
{%- set with_upstream = cookiecutter.use_http_client == 'y' -%}
{%- set with_any = with_postgres or with_s3 or with_upstream -%}
"""Real servers for development and tests, started on demand on 127.0.0.1.

Nothing here is imported by the app: `devserver` (`make run`) and the test suite start
what is not configured and hand the app its URLs through the usual settings.
{%- if with_any %}

Each service is a child process on a free loopback port, logging to a temporary file:
{% endif %}
{%- if with_postgres %}
* `postgres.embedded_postgres`: PostgreSQL from the `pgserver` wheel's binaries
  (`DATABASE_URL`), in a temporary data directory or a persistent one.
{%- endif %}
{%- if with_s3 %}
* `s3.embedded_s3`: moto's in-memory S3 API (`S3_ENDPOINT_URL`).
{%- endif %}
{%- if with_upstream %}
* `upstream.embedded_upstream`: a stub of the upstream HTTP service (`UPSTREAM_BASE_URL`).
{%- endif %}
{%- if with_any %}

`embedded_services` starts several at once, in threads, so start-up takes as long as
the slowest one rather than the sum.
{%- else %}

The service uses no external system yet, so `embedded_services` starts nothing;
`process` has the helpers (a free port, a child process waited for) to add one.
{%- endif %}
"""

from __future__ import annotations

from collections.abc import Iterator
{%- if with_any %}
from concurrent.futures import ThreadPoolExecutor, wait
from contextlib import AbstractContextManager, ExitStack, contextmanager
{%- else %}
from contextlib import contextmanager
{%- endif %}
{%- if with_postgres %}
from pathlib import Path
{%- endif %}

{% if with_postgres -%}
from .postgres import embedded_postgres
{% endif -%}
from .process import Child, free_port, is_running, running_children, wait_until_ready
{%- if with_s3 %}
from .s3 import embedded_s3
{%- endif %}
{%- if with_upstream %}
from .upstream import embedded_upstream
{%- endif %}

__all__ = [
    "Child",
{%- if with_postgres %}
    "embedded_postgres",
{%- endif %}
{%- if with_s3 %}
    "embedded_s3",
{%- endif %}
    "embedded_services",
{%- if with_upstream %}
    "embedded_upstream",
{%- endif %}
    "free_port",
    "is_running",
    "running_children",
    "wait_until_ready",
]


@contextmanager
def embedded_services(
{%- if with_any %}
    *,
{%- if with_postgres %}
    postgres: bool = False,
{%- endif %}
{%- if with_s3 %}
    s3: bool = False,
{%- endif %}
{%- if with_upstream %}
    upstream: bool = False,
{%- endif %}
{%- if with_postgres %}
    postgres_data_dir: Path | None = None,
{%- endif %}
{% endif -%}
) -> Iterator[dict[str, str]]:
{%- if not with_any %}
    """Yield {settings env var: URL} of the services started: none yet."""
    yield {}
{%- else %}
    """Start the requested services concurrently; yield {settings env var: URL}.

    Every service that started is stopped on exit, also when another one failed to start
    (the first failure is raised, with the others attached as notes).
{%- if with_postgres %}
    `postgres_data_dir` keeps the database between runs (None: a throwaway one).
{%- endif %}
    """
    services: dict[str, AbstractContextManager[str]] = {}
{%- if with_postgres %}
    if postgres:
        services["DATABASE_URL"] = embedded_postgres(postgres_data_dir)
{%- endif %}
{%- if with_s3 %}
    if s3:
        services["S3_ENDPOINT_URL"] = embedded_s3()
{%- endif %}
{%- if with_upstream %}
    if upstream:
        services["UPSTREAM_BASE_URL"] = embedded_upstream()
{%- endif %}
    with ExitStack() as stack:
        yield start_concurrently(services, stack)


def start_concurrently(services: dict[str, AbstractContextManager[str]], stack: ExitStack) -> dict[str, str]:
    """Enter every context manager in its own thread; register each success on `stack`.

    Waits for all of them, even after a failure or Ctrl-C, so that no service is left
    running without its exit registered.
    """
    if not services:
        return {}
    urls: dict[str, str] = {}
    errors: list[BaseException] = []
    with ThreadPoolExecutor(max_workers=len(services), thread_name_prefix="embedded") as pool:
        futures = {name: pool.submit(service.__enter__) for name, service in services.items()}
        try:
            wait(futures.values())
        finally:
            for name, future in futures.items():
                error = future.exception()
                if error is None:
                    urls[name] = future.result()
                    stack.push(services[name].__exit__)
                else:
                    errors.append(error)
    if errors:
        for other in errors[1:]:
            errors[0].add_note(f"also failed to start: {other}")
        raise errors[0]
    return urls
{%- endif %}
