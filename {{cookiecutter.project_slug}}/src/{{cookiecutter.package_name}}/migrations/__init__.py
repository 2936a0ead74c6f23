"""Database migrations: alembic revisions shipped inside the package.

Inside the package, the revisions travel with the code: the production image has them
without copying the source tree, and `alembic.ini` (for `make migrate`) finds them by
package name. `apply_migrations` runs them from Python: the embedded development and
test databases get them this way.
"""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config

SCRIPT_LOCATION = Path(__file__).resolve().parent


def alembic_config(database_url: str) -> Config:
    """A configuration without `alembic.ini`; the URL goes through `attributes`, where `%` is not special."""
    config = Config()
    config.set_main_option("script_location", str(SCRIPT_LOCATION).replace("%", "%%"))
    config.attributes["database_url"] = database_url
    return config


def apply_migrations(database_url: str) -> None:
    """`alembic upgrade head` on `database_url` (a `postgresql://` URL, as in settings).

    Blocking, and it runs its own event loop: call it before the app's loop starts (or
    from a thread), never from async code.
    """
    command.upgrade(alembic_config(database_url), "head")
