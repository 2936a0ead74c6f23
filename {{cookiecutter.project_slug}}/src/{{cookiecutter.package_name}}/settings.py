"""Service configuration, read from environment variables and `.env`.

Every tunable that affects concurrency (thread tokens, pool sizes, timeouts) lives
here, so capacity is a deliberate choice that can be changed without touching code.
"""

from __future__ import annotations

from functools import lru_cache
{%- if cookiecutter.use_local_files == 'y' %}
from pathlib import Path
{%- endif %}

from pydantic import Field{% if cookiecutter.use_s3 == 'y' %}, SecretStr{% endif %}
from pydantic_settings import BaseSettings, SettingsConfigDict


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_file=".env", env_file_encoding="utf-8", extra="ignore")

    app_name: str = {{ cookiecutter.project_name | py_quoted }}
    log_level: str = "INFO"

    # Event loop and thread capacity (see README, "Keeping the event loop free").
{%- if cookiecutter.stack == 'sync' %}
    threadpool_tokens: int = Field(
        default=100,
        ge=1,
        description="AnyIO threadpool size: every `def` endpoint and dependency holds one token while it runs.",
    )
{%- else %}
    threadpool_tokens: int = Field(
        default=40,
        ge=1,
        description="AnyIO threadpool size, used by run_blocking and by any `def` dependency.",
    )
{%- endif %}
    process_pool_workers: int = Field(default=2, ge=1, description="Worker processes for CPU-bound work.")
    readiness_timeout: float = Field(default=2.0, gt=0, description="Seconds /health/ready waits per dependency.")
    watchdog_enabled: bool = Field(default=True, description="Measure event-loop lag in production.")
    watchdog_interval: float = Field(default=0.1, gt=0, description="Seconds between two loop-lag samples.")
    watchdog_threshold: float = Field(default=0.1, gt=0, description="Loop lag (s) above which a warning is logged.")

    # Request budget: what one request may cost the event loop (see README, "Keeping the event loop free").
    max_request_bytes: int = Field(
        default=64 * 1024,
        ge=1,
        description="Largest request body but an upload's (a 413 past it). FastAPI parses and validates a body "
        "on the event loop: this bounds how long one request can hold it.",
    )
    max_validation_errors: int = Field(
        default=20, ge=1, description="Errors a 422 lists; past them it gives their count (`error_count`)."
    )
{%- if cookiecutter.use_postgres == 'y' %}

    # PostgreSQL
    database_url: str = Field(description="postgresql://user:password@host:port/database")
{%- if cookiecutter.stack == 'sync' %}
    db_pool_min_size: int = Field(default=2, ge=0)
    db_pool_max_size: int | None = Field(
        default=None,
        ge=1,
        description="Defaults to threadpool_tokens: one connection per worker thread, so no thread waits for one.",
    )
{%- else %}
    db_pool_min_size: int = Field(default=2, ge=0)
    db_pool_max_size: int = Field(default=20, ge=1)
    db_reset_on_release: bool = Field(
        default=True,
        description=(
            "asyncpg's reset query when a connection goes back to the pool. false saves a round trip per checkout, "
            "and is safe only while no query changes its session: no SET, LISTEN or session advisory lock."
        ),
    )
{%- endif %}
    db_connect_timeout: float = Field(
        default=2.0, gt=0, description="Connecting, and waiting for a pooled connection: below request_deadline."
    )
    db_command_timeout: float = Field(default=4.0, gt=0, description="One statement: below request_deadline.")
{%- endif %}
{%- if cookiecutter.use_http_client == 'y' %}

    # Upstream HTTP service
    upstream_base_url: str = Field(description="Base URL of the upstream HTTP service.")
    upstream_timeout: float = Field(default=2.0, gt=0, description="Overall deadline of one upstream operation.")
    upstream_connect_timeout: float = Field(default=1.0, gt=0)
{%- if cookiecutter.stack == 'sync' %}
    http_max_connections: int | None = Field(
        default=None,
        ge=1,
        description="Defaults to 2 x threadpool_tokens: every thread may hold two fan-out calls at once.",
    )
{%- else %}
    http_max_connections: int = Field(default=100, ge=1, description="Upstream calls in flight at once.")
    http_keepalive_expiry: float = Field(default=15.0, ge=0, description="Seconds an idle connection is kept open.")
{%- endif %}
{%- endif %}
{%- if cookiecutter.use_local_files == 'y' or cookiecutter.use_s3 == 'y' %}

    # Uploads (local files and S3 objects alike)
    max_upload_bytes: int = Field(default=10 * 1024 * 1024, ge=1)
{%- endif %}
{%- if cookiecutter.use_local_files == 'y' %}

    # Local file storage
    storage_dir: Path = Field(default=Path("var/storage"), description="Directory for uploaded files.")
{%- endif %}
{%- if cookiecutter.use_s3 == 'y' %}

    # S3-compatible object storage
    s3_endpoint_url: str | None = Field(default=None, description="None means AWS; set it for MinIO and others.")
    s3_bucket: str = "{{ cookiecutter.project_slug }}"
    s3_region: str = "us-east-1"
    s3_access_key_id: str | None = None
    s3_secret_access_key: SecretStr | None = None
    s3_create_bucket: bool = Field(default=False, description="Create the bucket at startup if it is missing.")
    s3_presign_expires: int = Field(default=3600, ge=1, le=7 * 24 * 3600)
{%- endif %}

    # Deadlines (see README, "Capacity"): one bound on a request's waits for its dependencies.
    request_deadline: float = Field(
        default=5.0,
        gt=0,
        description="Seconds a request may wait on PostgreSQL, S3 or the upstream before it gets a 504.",
    )
    request_body_timeout: float = Field(
        default=30.0,
        gt=0,
        description="Seconds a client may take to send a request body (from the request's start) before a 408.",
    )
{%- if cookiecutter.stack == 'sync' %}
{%- if cookiecutter.use_postgres == 'y' %}

    @property
    def db_pool_size(self) -> int:
        return self.db_pool_max_size or self.threadpool_tokens
{%- endif %}
{%- if cookiecutter.use_http_client == 'y' %}

    @property
    def http_connection_limit(self) -> int:
        return self.http_max_connections or 2 * self.threadpool_tokens
{%- endif %}
{%- endif %}


@lru_cache
def get_settings() -> Settings:
{%- if cookiecutter.use_postgres == 'y' or cookiecutter.use_http_client == 'y' %}
    return Settings()  # type: ignore[call-arg]  # required fields come from the environment
{%- else %}
    return Settings()
{%- endif %}
