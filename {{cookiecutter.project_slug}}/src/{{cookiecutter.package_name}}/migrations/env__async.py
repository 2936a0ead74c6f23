"""The alembic environment: how `alembic upgrade` reaches the database.

The URL comes from `apply_migrations` (in-process), or from DATABASE_URL in the
environment or `.env` (the `alembic` command): never from `alembic.ini`, so it is set
in one place. Only DATABASE_URL is read, so migrations run where the rest of the
service's settings are absent (a one-off migration job).

Migrations go through SQLAlchemy with asyncpg, the driver the app already has. Revisions
are written by hand (`target_metadata` is None): the app uses SQL, not ORM models, so
there is nothing to autogenerate from.
"""

from __future__ import annotations

import asyncio
from logging.config import fileConfig

from alembic import context
from pydantic_settings import BaseSettings, SettingsConfigDict
from sqlalchemy import pool
from sqlalchemy.engine import Connection, make_url
from sqlalchemy.ext.asyncio import create_async_engine

DRIVER = "postgresql+asyncpg"

config = context.config
if config.config_file_name is not None:
    fileConfig(config.config_file_name, disable_existing_loggers=False)


class MigrationSettings(BaseSettings):
    model_config = SettingsConfigDict(env_file=".env", env_file_encoding="utf-8", extra="ignore")

    database_url: str


def database_url() -> str:
    """The configured `postgresql://` URL, with the driver SQLAlchemy should use."""
    url = config.attributes.get("database_url") or MigrationSettings().database_url  # type: ignore[call-arg]
    return make_url(url).set(drivername=DRIVER).render_as_string(hide_password=False)


def run_migrations_offline() -> None:
    """`alembic upgrade --sql`: print the SQL instead of running it."""
    context.configure(url=database_url(), literal_binds=True, dialect_opts={"paramstyle": "named"})
    with context.begin_transaction():
        context.run_migrations()


def run_migrations(connection: Connection) -> None:
    context.configure(connection=connection, target_metadata=None)
    with context.begin_transaction():
        context.run_migrations()


async def run_migrations_online() -> None:
    engine = create_async_engine(database_url(), poolclass=pool.NullPool)
    try:
        async with engine.connect() as connection:
            await connection.run_sync(run_migrations)
    finally:
        await engine.dispose()


if context.is_offline_mode():
    run_migrations_offline()
else:
    asyncio.run(run_migrations_online())
