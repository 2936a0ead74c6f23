"""The example API: one router per example, gathered into `router`. Delete what you do not need.

Each example shows how one kind of I/O stays off the event loop; see the docstring of
its module.
"""

from fastapi import APIRouter
{% if cookiecutter.use_local_files == 'y' %}
from .files import router as files_router
{%- endif %}
{%- if cookiecutter.use_postgres == 'y' %}
from .items import router as items_router
{%- endif %}
{%- if cookiecutter.use_s3 == 'y' %}
from .objects import router as objects_router
{%- endif %}
from .offload import router as offload_router
{%- if cookiecutter.use_http_client == 'y' %}
from .upstream import router as upstream_router
{%- endif %}

router = APIRouter()
{%- if cookiecutter.use_postgres == 'y' %}
router.include_router(items_router)
{%- endif %}
{%- if cookiecutter.use_local_files == 'y' %}
router.include_router(files_router)
{%- endif %}
{%- if cookiecutter.use_s3 == 'y' %}
router.include_router(objects_router)
{%- endif %}
{%- if cookiecutter.use_http_client == 'y' %}
router.include_router(upstream_router)
{%- endif %}
router.include_router(offload_router)
