"""Prune the generated project down to the options that were chosen.

Only removes and renames files: no `git init`, no installs, no network, so that
`cruft update` (which re-runs this hook) is safe. One small function per option (and one
for the upload helpers the local-files and S3 examples share).

Stack-specific files are written whole, twice, as `name__async.py` and `name__sync.py`;
`select_stack` keeps the chosen one under its plain name and deletes the other, so the
generated code holds only one stack and no runtime switch.
"""

from __future__ import annotations

import json
import re
import shutil
import sys
from pathlib import Path

STACK_FILE_RE = re.compile(r"^(?P<base>.+?)__(?P<stack>async|sync)(?P<ext>\.[A-Za-z0-9]+)?$")

POSTGRES_PATHS = (
    "alembic.ini",
    "src/{package}/migrations",
    "src/{package}/adapters/postgres.py",
    "src/{package}/embedded/postgres.py",
    "src/{package}/examples/items.py",
    "src/{package}/examples/item_models.py",
    "tests/adapters/test_postgres.py",
    "tests/examples/test_items.py",
)
S3_PATHS = (
    "src/{package}/adapters/s3.py",
    "src/{package}/embedded/s3.py",
    "src/{package}/examples/objects.py",
    "src/{package}/examples/object_models.py",
    "tests/adapters/test_s3.py",
    "tests/examples/test_objects.py",
)
HTTP_CLIENT_PATHS = (
    "src/{package}/adapters/http_client.py",
    "src/{package}/embedded/upstream.py",
    "src/{package}/examples/upstream.py",
    "src/{package}/examples/upstream_models.py",
    "tests/adapters/test_http_client.py",
    "tests/examples/test_upstream.py",
    "tests/raw_server.py",
)
LOCAL_FILES_PATHS = (
    "src/{package}/adapters/storage.py",
    "src/{package}/examples/files.py",
    "src/{package}/examples/file_models.py",
    "tests/adapters/test_storage.py",
    "tests/examples/test_files.py",
)
# What the files (local storage) and objects (S3) examples share: kept while either is on.
UPLOAD_PATHS = (
    "src/{package}/examples/uploads.py",
    "tests/examples/uploads.py",
)
EXAMPLE_PATHS = (
    "src/{package}/examples",
    "tests/examples",
    "tests/test_deadline.py",  # it freezes each service under the example endpoints that need it
    "src/{package}/migrations/versions/0001_create_items.py",
)
GITHUB_CI_PATHS = (".github",)


def remove_paths(root: Path, package: str, paths: tuple[str, ...]) -> None:
    for pattern in paths:
        path = root / pattern.format(package=package)
        if path.is_dir():
            shutil.rmtree(path)
        elif path.exists():
            path.unlink()


def select_stack(root: Path, stack: str) -> None:
    """Keep `name__<stack>.ext` as `name.ext`; delete every other stack's variant."""
    for path in sorted(root.rglob("*")):
        match = STACK_FILE_RE.match(path.name)
        if match is None or not path.is_file():
            continue
        if match["stack"] == stack:
            path.rename(path.with_name(match["base"] + (match["ext"] or "")))
        else:
            path.unlink()


def remove_postgres_files(root: Path, package: str) -> None:
    remove_paths(root, package, POSTGRES_PATHS)


def remove_s3_files(root: Path, package: str) -> None:
    remove_paths(root, package, S3_PATHS)


def remove_http_client_files(root: Path, package: str) -> None:
    remove_paths(root, package, HTTP_CLIENT_PATHS)


def remove_local_files_files(root: Path, package: str) -> None:
    remove_paths(root, package, LOCAL_FILES_PATHS)


def remove_upload_files(root: Path, package: str) -> None:
    remove_paths(root, package, UPLOAD_PATHS)


def remove_example_files(root: Path, package: str) -> None:
    remove_paths(root, package, EXAMPLE_PATHS)


def remove_github_ci_files(root: Path, package: str) -> None:
    remove_paths(root, package, GITHUB_CI_PATHS)


def remove_empty_dirs(root: Path) -> None:
    for path in sorted(root.rglob("*"), key=lambda p: len(p.parts), reverse=True):
        if path.is_dir() and not any(path.iterdir()):
            path.rmdir()


def prune(root: Path, answers: dict[str, str]) -> None:
    package = answers["package_name"]
    select_stack(root, answers["stack"])
    if answers["use_postgres"] != "y":
        remove_postgres_files(root, package)
    if answers["use_s3"] != "y":
        remove_s3_files(root, package)
    if answers["use_http_client"] != "y":
        remove_http_client_files(root, package)
    if answers["use_local_files"] != "y":
        remove_local_files_files(root, package)
    if answers["use_local_files"] != "y" and answers["use_s3"] != "y":
        remove_upload_files(root, package)
    if answers["include_examples"] != "y":
        remove_example_files(root, package)
    if answers["ci"] != "github":
        remove_github_ci_files(root, package)
    remove_empty_dirs(root)


def rendered_answers() -> dict[str, str]:
    return {
        "package_name": json.loads(r'''{{ cookiecutter.package_name | tojson }}'''),
        "stack": json.loads(r'''{{ cookiecutter.stack | tojson }}'''),
        "use_postgres": json.loads(r'''{{ cookiecutter.use_postgres | tojson }}'''),
        "use_s3": json.loads(r'''{{ cookiecutter.use_s3 | tojson }}'''),
        "use_http_client": json.loads(r'''{{ cookiecutter.use_http_client | tojson }}'''),
        "use_local_files": json.loads(r'''{{ cookiecutter.use_local_files | tojson }}'''),
        "include_examples": json.loads(r'''{{ cookiecutter.include_examples | tojson }}'''),
        "ci": json.loads(r'''{{ cookiecutter.ci | tojson }}'''),
    }


def next_steps(project: Path) -> str:
    """What to type after the bake. Printing is no side effect: `cruft update` may re-run this."""
    return (
        f"\nCreated {project}\n"
        "Next (Python 3.11+ and make are all it needs; uv is installed into .tools/ if missing):\n"
        f"  cd {project}\n"
        "  make test    # installs the dependencies (writes uv.lock: commit it), then runs the suite\n"
        "  make run     # serves on http://127.0.0.1:8000 (docs at /docs)\n"
        "  make help    # every target\n"
    )


def main() -> int:
    project = Path.cwd()
    prune(project, rendered_answers())
    print(next_steps(project))
    return 0


if __name__ == "__main__":
    sys.exit(main())
