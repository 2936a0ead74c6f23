{%- set with_items = cookiecutter.use_postgres == 'y' and cookiecutter.include_examples == 'y' -%}
{%- set with_fanout = cookiecutter.use_http_client == 'y' and cookiecutter.include_examples == 'y' -%}
{%- set embedded = [] -%}
{%- if cookiecutter.use_postgres == 'y' %}{% set _ = embedded.append('postgres=True') %}{% endif -%}
{%- if cookiecutter.use_s3 == 'y' %}{% set _ = embedded.append('s3=True') %}{% endif -%}
{%- if cookiecutter.use_http_client == 'y' %}{% set _ = embedded.append('upstream=True') %}{% endif -%}
"""What the benchmark measures in this project: the one bench module cookiecutter renders.

Everything that depends on the options the project was generated with is here: which
app is served, which endpoints each scenario drives, and which embedded services the
service needs. The other bench modules only read these names.
"""

from __future__ import annotations
{% if not with_fanout and cookiecutter.stack == 'sync' %}
import time
{%- endif %}
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
{% if not with_fanout and cookiecutter.stack == 'async' %}
import anyio
{%- endif %}
{%- if not with_fanout %}
from fastapi import FastAPI

from {{ cookiecutter.package_name }}.app import create_app
{%- endif %}
from {{ cookiecutter.package_name }}.embedded import embedded_services
{%- if cookiecutter.use_postgres == 'y' %}
from {{ cookiecutter.package_name }}.migrations import apply_migrations
{%- endif %}

STACK = "{{ cookiecutter.stack }}"
SLOW_DELAY = 0.2  # seconds a request of the slow endpoint waits on I/O
{%- if cookiecutter.stack == 'async' %}

# The servers of a comparison run at once on one shared CPU (bench/placement.py): each
# serves every request on its one event-loop thread, so sharing a CPU changes how much of
# it each gets, not how a request runs.
COMPARE_ON_SHARED_CPU = True
{%- else %}

# The servers of a comparison run in alternating rounds, each with the machine to itself:
# a request here hops between threads (from the event loop to a worker and back), and on a
# CPU shared with another server every hop would also wait for that server's turn, which
# measures the sharing rather than the server.
COMPARE_ON_SHARED_CPU = False
{%- endif %}
{%- if with_fanout %}

# The service's own app, as production serves it; its slow endpoint makes one upstream
# call that takes SLOW_DELAY, as the naive app's does.
TEMPLATE_APP = "{{ cookiecutter.package_name }}.app:create_app"
SLOW_PATH = f"/upstream/call?delay={SLOW_DELAY}"
SLOW_LABEL = "GET /upstream/call: one upstream call of 0.2 s through the service's client"
{%- else %}

# The service's own app plus one endpoint that waits like an I/O call: the project has
# no upstream example to measure.
TEMPLATE_APP = "bench.project:create_template_app"
SLOW_PATH = f"/bench/slow?delay={SLOW_DELAY}"
{%- if cookiecutter.stack == 'async' %}
SLOW_LABEL = "GET /bench/slow: await anyio.sleep(0.2) in async def"


def create_template_app() -> FastAPI:
    app = create_app()

    @app.get("/bench/slow")
    async def slow(delay: float) -> dict[str, float]:
        await anyio.sleep(delay)  # an I/O wait done the async way: the loop serves others meanwhile
        return {"delay": delay}

    return app
{%- else %}
SLOW_LABEL = "GET /bench/slow: a blocking 0.2 s call in a def endpoint"


def create_template_app() -> FastAPI:
    app = create_app()

    @app.get("/bench/slow")
    def slow(delay: float) -> dict[str, float]:
        time.sleep(delay)  # a blocking I/O call in a `def` endpoint: it holds a worker thread, not the loop
        return {"delay": delay}

    return app
{%- endif %}
{%- endif %}


# The comparison app, bench/naive.py.
NAIVE_APP = "bench.naive:app"
NAIVE_SLOW_PATH = f"/slow?delay={SLOW_DELAY}"
{%- if with_fanout and cookiecutter.stack == 'async' %}
NAIVE_SLOW_LABEL = "GET /slow: one 0.2 s upstream call with a sync httpx.Client inside async def"
{%- elif with_fanout %}
NAIVE_SLOW_LABEL = "GET /slow: one 0.2 s upstream call with httpx.Client in a def endpoint, 40-token threadpool"
{%- elif cookiecutter.stack == 'async' %}
NAIVE_SLOW_LABEL = "GET /slow: time.sleep(0.2) inside async def"
{%- else %}
NAIVE_SLOW_LABEL = "GET /slow: time.sleep(0.2) in a def endpoint, 40-token threadpool"
{%- endif %}
{%- if with_items %}

# The database scenarios use the items example API on PostgreSQL, in both apps.
ITEMS = True
{%- else %}

# No items example on PostgreSQL in this project: no database scenario.
ITEMS = False
{%- endif %}
{%- if cookiecutter.use_s3 == 'y' %}

# moto accepts any credentials; these keep the app from looking for real AWS ones.
EMBEDDED_S3_SETTINGS = {"S3_CREATE_BUCKET": "true", "S3_ACCESS_KEY_ID": "test", "S3_SECRET_ACCESS_KEY": "test"}
{%- endif %}


@contextmanager
def services(scratch: Path) -> Iterator[dict[str, str]]:
    """Start the embedded services the app needs; yield the environment that points it at them.

    `scratch` is a directory that lives as long as the run, for the files the app writes.
    """
    with embedded_services({{ embedded | join(', ') }}) as urls:
{%- if cookiecutter.use_postgres == 'y' %}
        apply_migrations(urls["DATABASE_URL"])
{%- endif %}
        env = {
            **urls,
            # INFO would log every upstream call: the bench measures the service, not its log.
            "LOG_LEVEL": "WARNING",
{%- if cookiecutter.use_local_files == 'y' %}
            "STORAGE_DIR": str(scratch / "storage"),
{%- endif %}
        }
{%- if cookiecutter.use_s3 == 'y' %}
        env.update(EMBEDDED_S3_SETTINGS)
{%- endif %}
        yield env
