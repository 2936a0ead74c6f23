{%- set with_postgres = cookiecutter.use_postgres == 'y' -%}
{%- set with_s3 = cookiecutter.use_s3 == 'y' -%}
{%- set with_upstream = cookiecutter.use_http_client == 'y' -%}
{%- set with_any = with_postgres or with_s3 or with_upstream -%}
{%- if with_any -%}
"""`make run`: the app under uvicorn, plus a local server for every service not configured.

A service is configured when its settings are in the environment or in `.env` (the
sources Settings reads). Each one that is not gets an embedded server on 127.0.0.1,
started here and stopped with the app, so a fresh clone runs with no setup at all.
{%- if with_postgres %}
The embedded PostgreSQL keeps its data in `.data/postgres` and gets the migrations.
{%- endif %}

Development only: in production, run `uvicorn <package>.app:create_app --factory` with
every service configured.
"""
{%- else -%}
"""`make run`: the app under uvicorn, on 127.0.0.1, optionally reloading on changes.

Development only: in production, run `uvicorn <package>.app:create_app --factory`.
"""
{%- endif %}

from __future__ import annotations

import argparse
{%- if with_any %}
import os
import signal
import threading
{%- endif %}
from pathlib import Path
{%- if with_any %}
from types import FrameType
from typing import NamedTuple
{%- endif %}

import uvicorn
{%- if with_any %}
from dotenv import dotenv_values

from .embedded import embedded_services, is_running, running_children
{%- endif %}
{%- if with_postgres %}
from .migrations import apply_migrations
{%- endif %}

PACKAGE = __spec__.parent  # not __name__: that is "__main__" under `python -m`
{%- if with_postgres %}
POSTGRES_DATA_DIR = Path(".data/postgres")
{%- endif %}
{%- if with_any %}


class Embedded(NamedTuple):
    label: str
    configured_by: tuple[str, ...]  # any of these set means "use mine, start nothing"


# keyed by the env var that embedded_services yields
EMBEDDED: dict[str, Embedded] = {
{%- if with_postgres %}
    "DATABASE_URL": Embedded("PostgreSQL", ("DATABASE_URL",)),
{%- endif %}
{%- if with_s3 %}
    # credentials without an endpoint mean AWS itself
    "S3_ENDPOINT_URL": Embedded("S3 API (moto, in memory)", ("S3_ENDPOINT_URL", "S3_ACCESS_KEY_ID")),
{%- endif %}
{%- if with_upstream %}
    "UPSTREAM_BASE_URL": Embedded("upstream stub", ("UPSTREAM_BASE_URL",)),
{%- endif %}
}
{%- endif %}
{%- if with_s3 %}
# moto accepts any credentials; these keep the app from looking for real AWS ones
EMBEDDED_S3_SETTINGS = {"S3_CREATE_BUCKET": "true", "S3_ACCESS_KEY_ID": "test", "S3_SECRET_ACCESS_KEY": "test"}
{%- endif %}


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8000)
    parser.add_argument("--reload", action="store_true", help="restart the app when its source changes")
    return parser.parse_args(argv)


def serve(args: argparse.Namespace) -> None:
    uvicorn.run(
        f"{PACKAGE}.app:create_app",
        factory=True,
        host=args.host,
        port=args.port,
        reload=args.reload,
        reload_dirs=[str(Path(__file__).resolve().parent)] if args.reload else None,
    )
{%- if with_any %}


def configured_names(env_file: Path = Path(".env")) -> set[str]:
    """Upper-cased names set to a non-empty value in the environment or in `env_file`.

    Upper-cased because Settings matches variable names case-insensitively.
    """
    values = {**dotenv_values(env_file), **os.environ}
    return {name.upper() for name, value in values.items() if value}


def exit_on_sigterm() -> None:
    """Make SIGTERM (and SIGHUP) unwind like Ctrl-C, so the embedded servers are stopped.

    While uvicorn serves, it handles SIGTERM itself (graceful shutdown) and then re-raises
    it, which lands here.
    """

    def terminate(signum: int, frame: FrameType | None) -> None:
        raise SystemExit(128 + signum)

    signal.signal(signal.SIGTERM, terminate)
    signal.signal(signal.SIGHUP, lambda signum, frame: signal.raise_signal(signal.SIGTERM))


def exit_reason(code: int) -> str:
    if code < 0:
        try:
            return f"killed by {signal.Signals(-code).name}"
        except ValueError:
            return f"killed by signal {-code}"
    return f"exited with code {code}"


def report_exits(interval: float = 1.0, stop: threading.Event | None = None) -> None:
    """Say in one line when an embedded server ends while the app still serves; returns once `stop` is set.

    Polling also reaps the dead child, so no zombie keeps its pid (and PostgreSQL's lock
    file) looking alive to another `make run`.
    """
    stop = stop or threading.Event()
    reported: set[int] = set()
    while not stop.wait(interval):
        for child in running_children():
            code = child.process.poll()
            if code is not None and is_running(child) and child.process.pid not in reported:
                reported.add(child.process.pid)
                print(
                    f"embedded {child.name} (port {child.port}) {exit_reason(code)}: requests that need it fail;"
                    " restart `make run` to start it again",
                    flush=True,
                )


def main(argv: list[str] | None = None) -> None:
    args = parse_args(argv)
    exit_on_sigterm()
    configured = configured_names()
    wanted = {name for name, service in EMBEDDED.items() if configured.isdisjoint(service.configured_by)}
    with embedded_services(
{%- if with_postgres %}
        postgres="DATABASE_URL" in wanted,
        postgres_data_dir=POSTGRES_DATA_DIR,
{%- endif %}
{%- if with_s3 %}
        s3="S3_ENDPOINT_URL" in wanted,
{%- endif %}
{%- if with_upstream %}
        upstream="UPSTREAM_BASE_URL" in wanted,
{%- endif %}
    ) as urls:
        os.environ.update(urls)
{%- if with_s3 %}
        if "S3_ENDPOINT_URL" in urls:
            os.environ.update(EMBEDDED_S3_SETTINGS)
{%- endif %}
        for name, service in EMBEDDED.items():
            settings = " or ".join(service.configured_by)
            if name in urls:
                print(f"embedded {service.label} on {urls[name]}  (set {settings} to use your own)", flush=True)
            else:
                print(f"embedded {service.label}: not started, {settings} is set", flush=True)
{%- if with_postgres %}
        if "DATABASE_URL" in urls:
            apply_migrations(urls["DATABASE_URL"])
{%- endif %}
        threading.Thread(target=report_exits, name="embedded-exits", daemon=True).start()
        serve(args)
{%- else %}


def main(argv: list[str] | None = None) -> None:
    serve(parse_args(argv))
{%- endif %}


if __name__ == "__main__":
    main()
