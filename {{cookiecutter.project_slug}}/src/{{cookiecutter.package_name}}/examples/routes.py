{%- set modules = [] -%}
{%- if cookiecutter.use_local_files == 'y' %}{% set _ = modules.append('files') %}{% endif -%}
{%- if cookiecutter.use_postgres == 'y' %}{% set _ = modules.append('items') %}{% endif -%}
{%- if cookiecutter.use_s3 == 'y' %}{% set _ = modules.append('objects') %}{% endif -%}
{%- set _ = modules.append('offload') -%}
{%- if cookiecutter.use_http_client == 'y' %}{% set _ = modules.append('upstream') %}{% endif -%}
"""The example routers, in the order requests are matched against them.

`create_app` includes each with FastAPI's `include_router`; deleting `examples/` (and this
list's use in app.py) removes the whole example API.
"""

from fastapi import APIRouter

from . import {{ modules | join(', ') }}

routers: list[APIRouter] = [
{%- if cookiecutter.use_postgres == 'y' %}
    items.router,
{%- endif %}
{%- if cookiecutter.use_local_files == 'y' %}
    files.router,
{%- endif %}
{%- if cookiecutter.use_s3 == 'y' %}
    objects.router,
{%- endif %}
{%- if cookiecutter.use_http_client == 'y' %}
    upstream.router,
{%- endif %}
    offload.router,
]
