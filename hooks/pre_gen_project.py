"""Validate the answers before anything is written.

Each check returns an error message or None; `main()` prints the first error as one
line and exits non-zero, and cookiecutter then removes the directory it created, so a
bad answer never leaves a half-written project behind.

Answers are rendered through `tojson` (which escapes single quotes) inside raw
triple-single-quoted strings, so any value (quotes, backslashes) still yields valid
Python and this module stays importable for its tests.
"""

from __future__ import annotations

import json
import keyword
import os
import re
import sys
from pathlib import Path

SLUG_RE = re.compile(r"^[a-z][a-z0-9]*(-[a-z0-9]+)*$")
EMAIL_RE = re.compile(r"^[^@\s\"'<>]+@[^@\s\"'<>]+$")
VERSION_RE = re.compile(r"^\d+(\.\d+){0,2}([abc]|rc)?\d*$")
YES_NO = ("y", "n")
STACKS = ("async", "sync")

# Top-level packages of the generated project itself (its test suite and benchmark).
PROJECT_NAMES = frozenset({"bench", "test", "tests"})

# Import names a generated package must not take: shadowing one of these breaks the
# service (or its tests) in confusing ways. Stdlib names come from the interpreter.
# The rest are the top-level modules installed by `make install` in a default bake of
# either stack (direct dependencies, dev tools and everything they pull in); the slow
# test tests/test_bakes.py::test_package_name_check_covers_every_installed_module lists
# whatever a fresh install adds to them.
DEPENDENCY_NAMES = frozenset(
    {
        "_cffi_backend",
        "_postgresql",
        "_pytest",
        "_yaml",
        "aioboto3",
        "aiobotocore",
        "aiofiles",
        "aiohappyeyeballs",
        "aiohttp",
        "aioitertools",
        "aiosignal",
        "alembic",
        "annotated_doc",
        "annotated_types",
        "antlr4",
        "anyio",
        "asgi_lifespan",
        "ast_serialize",
        "asyncpg",
        "attr",
        "attrs",
        "aws_xray_sdk",
        "blinker",
        "blockbuster",
        "boto3",
        "botocore",
        "certifi",
        "cffi",
        "cfgv",
        "cfnlint",
        "charset_normalizer",
        "click",
        "cryptography",
        "dateutil",
        "distlib",
        "docker",
        "dotenv",
        "fastapi",
        "fasteners",
        "filelock",
        "flake8",
        "flake8_async",
        "flask",
        "flask_cors",
        "forbiddenfruit",
        "frozenlist",
        "graphql",
        "greenlet",
        "h11",
        "httpcore",
        "httptools",
        "httpx",
        "identify",
        "idna",
        "iniconfig",
        "isympy",
        "itsdangerous",
        "jinja2",
        "jmespath",
        "joserfc",
        "jsonpatch",
        "jsonpatch_cli",
        "jsonpath_ng",
        "jsonpointer",
        "jsonschema",
        "jsonschema_path",
        "jsonschema_specifications",
        "lazy_object_proxy",
        "libcst",
        "librt",
        "mako",
        "markupsafe",
        "mccabe",
        "moto",
        "mpmath",
        "multidict",
        "multipart",
        "mypy",
        "mypy_boto3_s3",
        "mypy_extensions",
        "mypyc",
        "networkx",
        "nodeenv",
        "openapi_schema_validator",
        "openapi_spec_validator",
        "opentelemetry",
        "packaging",
        "pathable",
        "pathspec",
        "pgserver",
        "platformdirs",
        "pluggy",
        "pre_commit",
        "propcache",
        "psutil",
        "psycopg",
        "psycopg_binary",
        "psycopg_pool",
        "py",
        "py_partiql_parser",
        "pycodestyle",
        "pycparser",
        "pydantic",
        "pydantic_core",
        "pydantic_settings",
        "pyflakes",
        "pygments",
        "pyparsing",
        "pytest",
        "python_discovery",
        "python_multipart",
        "referencing",
        "regex",
        "requests",
        "responses",
        "rfc3339_validator",
        "rpds",
        "ruff",
        "s3transfer",
        "six",
        "sniffio",
        "sqlalchemy",
        "starlette",
        "sympy",
        "typing_extensions",
        "typing_inspection",
        "urllib3",
        "uvicorn",
        "uvloop",
        "virtualenv",
        "watchfiles",
        "websockets",
        "werkzeug",
        "wrapt",
        "xmltodict",
        "yaml",
        "yarl",
    }
)


def check_slug(slug: str) -> str | None:
    if SLUG_RE.match(slug):
        return None
    return (
        f"project_slug {slug!r} is not valid: use lowercase letters, digits and single dashes, "
        "starting with a letter (e.g. 'my-service')"
    )


def check_bucket_name(slug: str) -> str | None:
    """With S3 on, the slug is also the default bucket name, and S3 wants 3 to 63 characters."""
    if 3 <= len(slug) <= 63:
        return None
    return (
        f"project_slug {slug!r} is also the default S3 bucket name, which must be 3 to 63 characters: "
        "pick another slug, or answer use_s3=n"
    )


def check_package_name(name: str) -> str | None:
    if not name.isidentifier() or not name.isascii():
        return f"package_name {name!r} is not a valid Python identifier (e.g. 'my_service')"
    if name != name.lower():
        return f"package_name {name!r} must be lowercase (PEP 8), e.g. {name.lower()!r}"
    if keyword.iskeyword(name) or keyword.issoftkeyword(name):
        return f"package_name {name!r} is a Python keyword; pick another name"
    if name in PROJECT_NAMES:
        return f"package_name {name!r} clashes with the generated project's own {name!r} package; pick another name"
    if name in sys.stdlib_module_names:
        return f"package_name {name!r} shadows the standard-library module {name!r}; pick another name"
    if name in DEPENDENCY_NAMES:
        return f"package_name {name!r} shadows the dependency {name!r}; pick another name"
    return None


def check_email(email: str) -> str | None:
    if EMAIL_RE.match(email):
        return None
    return f"author_email {email!r} is not an email address (expected name@domain)"


def check_version(version: str) -> str | None:
    if VERSION_RE.match(version):
        return None
    return f"version {version!r} is not a PEP 440 release version (e.g. '0.1.0')"


def check_choice(name: str, value: str, allowed: tuple[str, ...]) -> str | None:
    if value in allowed:
        return None
    return f"{name} must be one of {', '.join(allowed)}; got {value!r}"


def check_text(name: str, value: str) -> str | None:
    if value.strip() and "\n" not in value:
        return None
    return f"{name} must be a single, non-empty line"


def validate(answers: dict[str, str]) -> list[str]:
    """Every problem with the answers, in prompt order (empty when all is well)."""
    checks = [
        check_text("project_name", answers["project_name"]),
        check_slug(answers["project_slug"]),
        check_package_name(answers["package_name"]),
        check_text("description", answers["description"]),
        check_text("author_name", answers["author_name"]),
        check_email(answers["author_email"]),
        check_version(answers["version"]),
        check_choice("stack", answers["stack"], STACKS),
    ]
    for option in ("use_postgres", "use_s3", "use_http_client", "use_local_files", "include_examples"):
        checks.append(check_choice(option, answers[option], YES_NO))
    if answers["use_s3"] == "y" and check_slug(answers["project_slug"]) is None:
        checks.insert(2, check_bucket_name(answers["project_slug"]))
    return [message for message in checks if message is not None]


def rendered_answers() -> dict[str, str]:
    return {
        "project_name": json.loads(r'''{{ cookiecutter.project_name | tojson }}'''),
        "project_slug": json.loads(r'''{{ cookiecutter.project_slug | tojson }}'''),
        "package_name": json.loads(r'''{{ cookiecutter.package_name | tojson }}'''),
        "description": json.loads(r'''{{ cookiecutter.description | tojson }}'''),
        "author_name": json.loads(r'''{{ cookiecutter.author_name | tojson }}'''),
        "author_email": json.loads(r'''{{ cookiecutter.author_email | tojson }}'''),
        "version": json.loads(r'''{{ cookiecutter.version | tojson }}'''),
        "stack": json.loads(r'''{{ cookiecutter.stack | tojson }}'''),
        "use_postgres": json.loads(r'''{{ cookiecutter.use_postgres | tojson }}'''),
        "use_s3": json.loads(r'''{{ cookiecutter.use_s3 | tojson }}'''),
        "use_http_client": json.loads(r'''{{ cookiecutter.use_http_client | tojson }}'''),
        "use_local_files": json.loads(r'''{{ cookiecutter.use_local_files | tojson }}'''),
        "include_examples": json.loads(r'''{{ cookiecutter.include_examples | tojson }}'''),
    }


def retry_hint(message: str, template: str, repo_dir: str) -> str:
    """How to bake again without retyping every answer (cookiecutter saved them before this hook ran).

    Every message starts with the name of the option it is about.
    """
    option = message.split(maxsplit=1)[0]
    # cookiecutter names the file after the template's directory. A relative one (`cookiecutter .`)
    # is relative to where the user ran it, which is $PWD: this hook runs in the new project.
    directory = Path(os.path.normpath(Path(os.environ.get("PWD", ""), repo_dir)))
    replay = f"~/.cookiecutter_replay/{directory.name}.json"
    return (
        f"To retry with the same answers: correct {option} in {replay} and run "
        f"`cookiecutter --replay-file {replay} {template}`, or give it on the command line: "
        f"`cookiecutter {template} {option}=...`"
    )


def main() -> int:
    errors = validate(rendered_answers())
    if errors:
        print(f"ERROR: {errors[0]}", file=sys.stderr)
        template = json.loads(r'''{{ cookiecutter._template | default('') | tojson }}''')
        repo_dir = json.loads(r'''{{ cookiecutter._repo_dir | default('') | tojson }}''')
        print(retry_hint(errors[0], template, repo_dir), file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
