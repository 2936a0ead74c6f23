"""A real PostgreSQL server for development and tests, with no system install or Docker.

The binaries come from the `pgserver` wheel (a relocatable PostgreSQL build, a dev
dependency). They are found through the import system without importing pgserver,
whose import has side effects.

PostgreSQL refuses to run as root. Under root (containers, CI) the binaries are copied
once to a directory that user `nobody` can read, and the server runs as `nobody`.
"""

from __future__ import annotations

import hashlib
import importlib.metadata
import importlib.util
import logging
import os
import pwd
import shutil
import signal
import subprocess
import tempfile
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from .process import HOST, log_tail, serve_child

logger = logging.getLogger(__name__)

PROJECT = __name__.partition(".")[0]
SERVER_USER = "nobody"
# A throwaway database gives up durability for speed: nothing survives it anyway.
THROWAWAY_SETTINGS = ("fsync=off", "synchronous_commit=off", "full_page_writes=off")


@dataclass(frozen=True)
class RunAs:
    """The unprivileged user that runs PostgreSQL when we are root."""

    uid: int
    gid: int

    @classmethod
    def for_current_user(cls) -> RunAs | None:
        if os.geteuid() != 0:
            return None
        try:
            entry = pwd.getpwnam(SERVER_USER)
        except KeyError:
            raise RuntimeError(
                f"PostgreSQL cannot run as root and there is no user {SERVER_USER!r} to run it as"
            ) from None
        return cls(entry.pw_uid, entry.pw_gid)

    def can_traverse(self, directory: Path) -> bool:
        """Whether this user can reach paths under `directory` (mode bits; ACLs ignored)."""
        for path in (directory, *directory.parents):
            info = path.stat()
            if info.st_uid == self.uid:
                allowed = bool(info.st_mode & 0o100)
            elif info.st_gid == self.gid:
                allowed = bool(info.st_mode & 0o010)
            else:
                allowed = bool(info.st_mode & 0o001)
            if not allowed:
                return False
        return True

    def own(self, root: Path) -> None:
        for directory, _, files in os.walk(root):
            for name in (directory, *(os.path.join(directory, file) for file in files)):
                os.chown(name, self.uid, self.gid)


def pgserver_install() -> Path:
    """`<site-packages>/pgserver/pginstall`, located without importing pgserver."""
    spec = importlib.util.find_spec("pgserver")
    if spec is None or not spec.submodule_search_locations:
        raise RuntimeError("pgserver is not installed: it is a dev dependency, run `make install`")
    return Path(next(iter(spec.submodule_search_locations))) / "pginstall"


def readable_install(install: Path) -> Path:
    """A copy of `install` that `nobody` can read: made once per pgserver version, then reused.

    The binaries find their bundled libraries at `$ORIGIN/../../../pgserver.libs`, so the
    copy keeps that layout. It is built under a temporary name and renamed into place, so
    concurrent first runs never see a half-made copy.
    """
    version = importlib.metadata.version("pgserver")
    target = Path(tempfile.gettempdir()) / f"{PROJECT}-pgserver-{version}"
    if not target.exists():
        staging = Path(tempfile.mkdtemp(prefix=f"{target.name}.", dir=target.parent))
        try:
            shutil.copytree(install, staging / "pgserver" / "pginstall", symlinks=True)
            libs = install.parent.parent / "pgserver.libs"
            if libs.is_dir():
                shutil.copytree(libs, staging / "pgserver.libs", symlinks=True)
            staging.chmod(0o755)
            staging.rename(target)
        except OSError:
            shutil.rmtree(staging, ignore_errors=True)
            if not target.is_dir():
                raise
            # another process made the copy first: use theirs
    if target.stat().st_uid != os.geteuid():
        raise RuntimeError(f"{target} belongs to another user; remove it and try again")
    return target / "pgserver" / "pginstall"


def persistent_data_dir(requested: Path, run_as: RunAs | None) -> Path:
    """The directory that will hold `requested`'s data.

    As root, the server runs as `nobody`, which cannot reach a directory under, say, a
    mode-700 home: then the data lives in the temp directory, under a name derived from
    the requested path, so every run still finds the same database.
    """
    path = requested.resolve()
    path.parent.mkdir(parents=True, exist_ok=True)
    if run_as is None or run_as.can_traverse(path.parent):
        return path
    digest = hashlib.sha256(str(path).encode()).hexdigest()[:12]
    fallback = Path(tempfile.gettempdir()) / f"{PROJECT}-postgres-{digest}"
    logger.warning(
        "user %r cannot reach %s (PostgreSQL cannot run as root); keeping this database in %s instead",
        SERVER_USER,
        path,
        fallback,
    )
    return fallback


def clear_stale_pid_file(data: Path) -> None:
    """Remove the lock file of a server that crashed, refuse if that server still runs.

    PostgreSQL ignores a lock file whose process is gone, but in a container the old pid is
    often reused by an unrelated process, and then PostgreSQL refuses to start.
    """
    pid_file = data / "postmaster.pid"
    try:
        first_line = pid_file.read_text(encoding="utf-8", errors="replace").split("\n", 1)[0]
    except FileNotFoundError:
        return
    if first_line.strip().isdigit() and is_postgres(int(first_line)):
        raise RuntimeError(
            f"PostgreSQL (pid {first_line.strip()}) is already running on {data}: "
            "stop it, or set DATABASE_URL to use it"
        )
    logger.info("removing %s, left behind by a server that is gone", pid_file)
    pid_file.unlink()


def is_postgres(pid: int) -> bool:
    """Whether `pid` is a live PostgreSQL server (a zombie, one killed but not yet reaped, is not)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        pass  # it exists and belongs to another user
    try:
        stat = Path(f"/proc/{pid}/stat").read_text(encoding="utf-8")
    except OSError:
        return True  # no /proc to tell (macOS): assume the worst
    name, _, rest = stat.partition("(")[2].rpartition(")")
    return name == "postgres" and rest.split()[0] not in ("Z", "X")  # the state follows the name


def prepare_data_dir(data: Path, run_as: RunAs | None) -> None:
    data.mkdir(mode=0o700, parents=True, exist_ok=True)
    if not (data / "PG_VERSION").exists() and any(data.iterdir()):
        raise RuntimeError(f"{data} holds files but no PostgreSQL data: empty it or choose another directory")
    if run_as is not None and data.stat().st_uid != run_as.uid:
        run_as.own(data)


def initdb(bin_dir: Path, data: Path, log: Path, run_as: RunAs | None) -> None:
    command = [
        str(bin_dir / "initdb"),
        *("-D", str(data), "-U", "postgres", "--auth=trust", "-E", "UTF8", "--locale=C", "--no-sync"),
    ]
    with log.open("ab") as output:
        result = subprocess.run(
            command,
            stdin=subprocess.DEVNULL,
            stdout=output,
            stderr=subprocess.STDOUT,
            timeout=120,
            check=False,
            user=None if run_as is None else run_as.uid,
            group=None if run_as is None else run_as.gid,
            extra_groups=None if run_as is None else [],
            cwd=None if run_as is None else "/",
        )
    if result.returncode != 0:
        raise RuntimeError(f"initdb failed for {data} (code {result.returncode}); its log ends with:\n{log_tail(log)}")


def is_ready(bin_dir: Path, port: int) -> bool:
    """pg_isready, not a TCP connect: PostgreSQL accepts connections while it still says "starting up"."""
    command = [str(bin_dir / "pg_isready"), "-q", "-h", HOST, "-p", str(port), "-t", "1"]
    return subprocess.run(command, stdin=subprocess.DEVNULL, capture_output=True, check=False).returncode == 0


@contextmanager
def embedded_postgres(data_dir: Path | None = None) -> Iterator[str]:
    """Run PostgreSQL on a free loopback port and yield its URL; stop it on exit.

    With no `data_dir` the database lives in a temporary directory, removed on exit.
    With one, its data persists there between runs (created by initdb on first use).
    Users connect as `postgres` without a password (trust authentication, loopback only).
    """
    run_as = RunAs.for_current_user()
    install = pgserver_install()
    bin_dir = (install if run_as is None else readable_install(install)) / "bin"
    with tempfile.TemporaryDirectory(prefix=f"{PROJECT}-postgres-") as scratch:
        scratch_dir = Path(scratch)
        log = scratch_dir / "postgres.log"
        settings: Sequence[str] = ()
        if data_dir is None:
            if run_as is not None:
                scratch_dir.chmod(0o711)  # let `nobody` reach the data directory inside
            data = scratch_dir / "data"
            settings = THROWAWAY_SETTINGS
        else:
            data = persistent_data_dir(data_dir, run_as)
        prepare_data_dir(data, run_as)
        clear_stale_pid_file(data)
        if not (data / "PG_VERSION").exists():
            initdb(bin_dir, data, log, run_as)

        def command(port: int) -> list[str]:
            # `-k ""`: no Unix socket, so no socket directory and no path-length limit
            server = [str(bin_dir / "postgres"), "-D", str(data), "-h", HOST, "-p", str(port), "-k", ""]
            return server + [arg for setting in settings for arg in ("-c", setting)]

        with serve_child(
            "PostgreSQL",
            command,
            lambda port: is_ready(bin_dir, port),
            log=log,
            stop_signal=signal.SIGINT,  # "fast" shutdown: ends sessions, then a clean checkpoint
            stop_timeout=10.0,
            user=None if run_as is None else run_as.uid,
            group=None if run_as is None else run_as.gid,
            cwd=None if run_as is None else Path("/"),  # `nobody` may not be able to read ours
        ) as port:
            yield f"postgresql://postgres@{HOST}:{port}/postgres"
