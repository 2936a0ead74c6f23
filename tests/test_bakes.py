"""Bake the supported option combinations and check each bake.

Quick checks (a bake takes well under a second): everything rendered, nothing left of the
options not chosen, dependencies that match the options, the license asked for, the
answers carried into the project. Slow checks (marked `slow`): the bake's own `make lint`
and `make test`, exactly as a user would run them, in a fresh bake each.

Every value of every option appears in SUPPORTED_COMBINATIONS at least once (a test checks
that); the list stays short because each slow check installs and tests a whole project.
"""

from __future__ import annotations

import ast
import json
import re
import shutil
import subprocess
import time
import tomllib
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml
from packaging.version import Version

from tests.bake import assert_success, bake, default_answers, load_hook, run_in, tail
from tests.conftest import TIMING

RecordProperty = Callable[[str, object], None]

post = load_hook("post_gen_project")
pre = load_hook("pre_gen_project")

ALL_OFF = {"use_postgres": "n", "use_s3": "n", "use_http_client": "n", "use_local_files": "n"}

SUPPORTED_COMBINATIONS: list[dict[str, str]] = [
    # Both stacks with every component on (the defaults).
    {"stack": "async"},
    {"stack": "sync", "license": "Apache-2.0"},
    # Both stacks with every component (and the examples, and CI) off.
    {"stack": "async", **ALL_OFF, "include_examples": "n", "ci": "none", "license": "BSD-3-Clause"},
    {"stack": "sync", **ALL_OFF, "include_examples": "n", "ci": "none", "license": "Proprietary"},
    # Components off but examples on: only the offload examples remain.
    {"stack": "sync", **ALL_OFF, "include_examples": "y"},
    # One or two components at a time (S3 without local files: their shared upload module stays).
    {"stack": "async", **ALL_OFF, "use_postgres": "y", "use_s3": "y", "ci": "none", "license": "Apache-2.0"},
    {"stack": "sync", **ALL_OFF, "use_s3": "y", "use_local_files": "y", "license": "BSD-3-Clause"},
    # Components on, examples off.
    {"stack": "async", "include_examples": "n", "ci": "none", "license": "Proprietary"},
    {"stack": "sync", **ALL_OFF, "use_postgres": "y", "use_http_client": "y", "include_examples": "n"},
    # Free text that needs escaping everywhere it lands (TOML, Python, Markdown, YAML).
    {
        "stack": "async",
        **ALL_OFF,
        "use_http_client": "y",
        "project_name": 'Ünïcode "Quoted" Service',
        "project_slug": "quoted-service",
        "package_name": "quoted_service",
        "description": "Says \"hi\", it's O'Brien's \\ backslash; {braces} & <tags> 😀",
        "author_name": "Zoë O'Brien \"Z\"",
        "author_email": "zoe.o-brien+svc@example.org",
        "version": "2.0.0rc1",
    },
]


def combination_id(answers: dict[str, str]) -> str:
    parts = [answers.get("stack", "async")]
    for option, short in (("use_postgres", "pg"), ("use_s3", "s3"), ("use_http_client", "http"),
                          ("use_local_files", "files"), ("include_examples", "ex")):  # fmt: skip
        if answers.get(option, "y") == "y":
            parts.append(short)
    parts.append(answers.get("ci", "github"))
    parts.append(answers.get("license", "MIT"))
    if "project_name" in answers:
        parts.append("text")
    return "-".join(parts)


IDS = [combination_id(answers) for answers in SUPPORTED_COMBINATIONS]


def full_answers(answers: dict[str, str], project: Path) -> dict[str, str]:
    """The answers with every default filled in, the way the hooks saw them.

    The two derived defaults (slug and package name) are read off the bake unless given.
    """
    merged = {
        key: str(value[0] if isinstance(value, list) else value)
        for key, value in default_answers().items()
        if not key.startswith("_")
    }
    merged.update(answers)
    if "project_slug" not in answers:
        merged["project_slug"] = project.name
    if "package_name" not in answers:
        merged["package_name"] = next((project / "src").iterdir()).name
    return merged


def chosen(answers: dict[str, str], option: str) -> str:
    """The value of `option` in a combination (its default when the combination omits it)."""
    if option in answers:
        return answers[option]
    default = default_answers()[option]
    return str(default[0] if isinstance(default, list) else default)


class Bake:
    """A baked project and the answers it was baked with."""

    def __init__(self, path: Path, answers: dict[str, str]) -> None:
        self.path = path
        self.answers = answers
        self.package = answers["package_name"]

    def on(self, option: str) -> bool:
        return self.answers[option] == "y"

    def files(self) -> Iterator[Path]:
        return (path for path in sorted(self.path.rglob("*")) if path.is_file())

    def python_files(self, under: str = "") -> Iterator[Path]:
        return (path for path in self.files() if path.suffix == ".py" and path.is_relative_to(self.path / under))

    def pyproject(self) -> dict[str, Any]:
        return tomllib.loads((self.path / "pyproject.toml").read_text(encoding="utf-8"))


@pytest.fixture(scope="session", params=SUPPORTED_COMBINATIONS, ids=IDS)
def baked(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Bake:
    """One bake per combination, shared by the quick checks (which only read it)."""
    answers: dict[str, str] = request.param
    project = bake(tmp_path_factory.mktemp(combination_id(answers)), **answers)
    return Bake(project, full_answers(answers, project))


# --- the list itself ------------------------------------------------------------------------


def test_every_option_value_is_baked() -> None:
    for option, value in default_answers().items():
        if option.startswith("_") or not (isinstance(value, list) or value in ("y", "n")):
            continue
        values = value if isinstance(value, list) else ["y", "n"]
        baked_values = {chosen(answers, option) for answers in SUPPORTED_COMBINATIONS}
        assert baked_values == set(values), f"{option}: never baked with {set(values) - baked_values}"


def test_combinations_are_distinct() -> None:
    assert len(set(IDS)) == len(IDS)


def test_default_bake_takes_under_two_seconds(tmp_path: Path, record_property: RecordProperty) -> None:
    start = time.perf_counter()
    bake(tmp_path)
    elapsed = time.perf_counter() - start
    record_property(TIMING, f"default bake: {elapsed:.2f} s")
    # The goal is < 2 s; only a wide margin is asserted, to stay clear of a busy machine.
    assert elapsed < 10


# --- quick checks of each bake ------------------------------------------------------------

OPTION_KEYS = [key for key in default_answers() if not key.startswith("_")]
UNRENDERED = re.compile(
    r"\{%|%\}|(?<!\$)\{\{|\{\{\s*cookiecutter|cookiecutter\.(?:" + "|".join(map(re.escape, OPTION_KEYS)) + r")\b"
)


def test_everything_is_rendered(baked: Bake) -> None:
    """No Jinja left in any text file (GitHub Actions' own `${{ ... }}` excepted)."""
    problems = []
    for path in baked.files():
        try:
            text = path.read_text(encoding="utf-8")
        except UnicodeDecodeError:
            continue
        for number, line in enumerate(text.splitlines(), 1):
            if UNRENDERED.search(line):
                problems.append(f"{path.relative_to(baked.path)}:{number}: {line.strip()}")
    for path in baked.path.rglob("*"):
        if "{{" in path.name or "{%" in path.name:
            problems.append(f"unrendered path: {path.relative_to(baked.path)}")
    assert not problems, "\n".join(problems)


def test_python_files_parse(baked: Bake) -> None:
    for path in baked.python_files():
        ast.parse(path.read_text(encoding="utf-8"), filename=str(path))


def test_toml_files_parse(baked: Bake) -> None:
    for path in baked.files():
        if path.suffix == ".toml":
            tomllib.loads(path.read_text(encoding="utf-8"))


def test_no_stack_variant_is_left(baked: Bake) -> None:
    leftovers = [
        str(path.relative_to(baked.path)) for path in baked.path.rglob("*") if post.STACK_FILE_RE.match(path.name)
    ]
    assert leftovers == []
    assert not [path for path in baked.path.rglob("*") if "__async" in path.name or "__sync" in path.name]


def test_no_empty_directory_is_left(baked: Bake) -> None:
    empty = [
        str(path.relative_to(baked.path)) for path in baked.path.rglob("*") if path.is_dir() and not any(path.iterdir())
    ]
    assert empty == []


# Each path list of the post-gen hook, and the options that keep it (any one of them).
PATH_LISTS: dict[str, tuple[str, ...]] = {
    "POSTGRES_PATHS": ("use_postgres",),
    "S3_PATHS": ("use_s3",),
    "HTTP_CLIENT_PATHS": ("use_http_client",),
    "LOCAL_FILES_PATHS": ("use_local_files",),
    "UPLOAD_PATHS": ("use_local_files", "use_s3"),
    "EXAMPLE_PATHS": ("include_examples",),
    "GITHUB_CI_PATHS": ("ci",),
}


def list_is_kept(baked: Bake, list_name: str) -> bool:
    return any(baked.answers[option] == ("github" if option == "ci" else "y") for option in PATH_LISTS[list_name])


def test_component_paths_follow_the_options(baked: Bake) -> None:
    """A listed path exists exactly when every list that covers it (itself or a parent) is kept.

    So the files of an option switched off are gone, and every path the hook lists does
    exist in the bakes that keep it (a typo in the hook's lists shows up here).
    """
    patterns = {name: [p.format(package=baked.package) for p in getattr(post, name)] for name in PATH_LISTS}
    problems = []
    for paths in patterns.values():
        for path in paths:
            covering = [
                name
                for name, others in patterns.items()
                if any(path == other or path.startswith(other + "/") for other in others)
            ]
            expected = all(list_is_kept(baked, name) for name in covering)
            exists = (baked.path / path).exists()
            if exists != expected:
                problems.append(f"{path}: {'missing' if expected else 'left over'} (lists: {', '.join(covering)})")
    assert not problems, "\n".join(problems)


def test_github_ci_only_when_chosen(baked: Bake) -> None:
    workflows = baked.path / ".github" / "workflows"
    if baked.answers["ci"] == "github":
        assert sorted(workflows.glob("*.yml")), "ci=github but no workflow"
    else:
        assert not (baked.path / ".github").exists()


def requirement_names(requirements: list[str]) -> set[str]:
    names = set()
    for requirement in requirements:
        match = re.match(r"[A-Za-z0-9][A-Za-z0-9._-]*", requirement)
        assert match, requirement
        names.add(re.sub(r"[-_.]+", "-", match.group(0)).lower())
    return names


def dependency_sets(baked: Bake) -> tuple[set[str], set[str]]:
    """(runtime dependencies, every dependency incl. groups and extras)."""
    pyproject = baked.pyproject()
    runtime = requirement_names(pyproject["project"].get("dependencies", []))
    everything = set(runtime)
    for group in pyproject.get("dependency-groups", {}).values():
        everything |= requirement_names([item for item in group if isinstance(item, str)])
    for extra in pyproject["project"].get("optional-dependencies", {}).values():
        everything |= requirement_names(extra)
    return runtime, everything


# Distributions (anywhere in pyproject.toml) and import names (anywhere in the code) that
# belong to one component: none may be left when it is switched off.
COMPONENT_LIBRARIES = {
    "use_postgres": ({"asyncpg", "psycopg", "psycopg-pool", "alembic", "sqlalchemy", "pgserver"},
                     {"asyncpg", "psycopg", "psycopg_pool", "alembic", "sqlalchemy", "pgserver"}),
    "use_s3": ({"aioboto3", "aiobotocore", "boto3", "botocore", "moto", "boto3-stubs", "types-aioboto3"},
               {"aioboto3", "aiobotocore", "boto3", "botocore", "moto", "mypy_boto3_s3"}),
    "use_local_files": ({"aiofiles", "types-aiofiles"}, {"aiofiles"}),
    # httpx stays with the HTTP client off: the tests drive the app through it.
    "use_http_client": (set(), set()),
}  # fmt: skip

# What one stack must never depend on (runtime) nor import (in its package, outside the
# dev-only embedded services): the other stack's blocking or async libraries.
STACK_FORBIDDEN = {
    "async": ({"psycopg", "psycopg-pool", "boto3", "requests"}, {"psycopg", "psycopg_pool", "boto3", "requests"}),
    "sync": ({"asyncpg", "aiofiles", "aioboto3", "aiobotocore"}, {"asyncpg", "aiofiles", "aioboto3", "aiobotocore"}),
}


def imports_of(path: Path) -> set[str]:
    modules = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            modules |= {alias.name.split(".")[0] for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            modules.add(node.module.split(".")[0])
    return modules


def test_dependencies_follow_the_options(baked: Bake) -> None:
    runtime, everything = dependency_sets(baked)
    for option, (distributions, _) in COMPONENT_LIBRARIES.items():
        if not baked.on(option):
            assert not (everything & distributions), f"{option}=n but pyproject has {everything & distributions}"
    forbidden, _ = STACK_FORBIDDEN[baked.answers["stack"]]
    assert not (runtime & forbidden), f"stack={baked.answers['stack']} depends on {runtime & forbidden}"
    if baked.answers["stack"] == "sync":
        assert not (everything & forbidden), f"stack=sync has {everything & forbidden} in a dependency group"


def test_imports_follow_the_options(baked: Bake) -> None:
    problems = []
    forbidden_by_stack = STACK_FORBIDDEN[baked.answers["stack"]][1]
    embedded = baked.path / "src" / baked.package / "embedded"
    for path in baked.python_files():
        modules = imports_of(path)
        relative = path.relative_to(baked.path)
        for option, (_, import_names) in COMPONENT_LIBRARIES.items():
            if not baked.on(option) and modules & import_names:
                problems.append(f"{relative}: {option}=n but imports {sorted(modules & import_names)}")
        in_package = path.is_relative_to(baked.path / "src") and not path.is_relative_to(embedded)
        if in_package and modules & forbidden_by_stack:
            problems.append(
                f"{relative}: stack={baked.answers['stack']} imports {sorted(modules & forbidden_by_stack)}"
            )
    assert not problems, "\n".join(problems)


def test_runtime_dependencies_are_declared(baked: Bake) -> None:
    """Every third-party module the package imports is a runtime dependency (dev tools excepted)."""
    # import name -> the runtime distributions that provide it (any one will do)
    providers = {
        "fastapi": {"fastapi"}, "starlette": {"fastapi"}, "pydantic": {"fastapi"}, "anyio": {"anyio"},
        "pydantic_settings": {"pydantic-settings"}, "uvicorn": {"uvicorn"}, "asyncpg": {"asyncpg"},
        "psycopg": {"psycopg"}, "psycopg_pool": {"psycopg", "psycopg-pool"}, "sqlalchemy": {"sqlalchemy"},
        "alembic": {"alembic"}, "httpx": {"httpx"}, "aiofiles": {"aiofiles"}, "aioboto3": {"aioboto3"},
        "aiobotocore": {"aioboto3"}, "boto3": {"boto3"}, "botocore": {"boto3", "aioboto3"},
        "multipart": {"python-multipart"}, "python_multipart": {"python-multipart"},
    }  # fmt: skip
    runtime, _ = dependency_sets(baked)
    embedded = baked.path / "src" / baked.package / "embedded"
    missing = []
    for path in baked.python_files("src"):
        if path.is_relative_to(embedded):
            continue  # dev and test services: their packages are dev dependencies
        for module in imports_of(path):
            wanted = providers.get(module, set())
            if wanted and not wanted & runtime:
                missing.append(f"{path.relative_to(baked.path)}: {module} (needs one of {sorted(wanted)})")
    assert not missing, "\n".join(missing)


def test_package_name_check_covers_every_dependency(baked: Bake) -> None:
    """A package named like one of the project's dependencies would shadow it: the pre-gen hook
    must refuse each of them (stubs packages have no import name of their own)."""
    _, everything = dependency_sets(baked)
    import_names = {name.replace("-", "_") for name in everything if not name.startswith("types-")}
    import_names = {name for name in import_names if not name.endswith("_stubs")}
    unguarded = sorted(name for name in import_names if pre.check_package_name(name) is None)
    assert unguarded == [], f"hooks/pre_gen_project.py DEPENDENCY_NAMES lacks {unguarded}"


# Prints the top-level modules installed in the environment it runs in: directories,
# `.py` files and extension modules in site-packages (not *.dist-info, *-stubs, *.libs).
LIST_INSTALLED_MODULES = """
import sysconfig
from pathlib import Path

names = set()
for entry in Path(sysconfig.get_paths()["purelib"]).iterdir():
    if entry.is_dir():
        names.add(entry.name)
    elif entry.suffix in (".py", ".so", ".pyd"):
        names.add(entry.name.split(".")[0])
print(" ".join(sorted(name for name in names if name.isidentifier() and name != "__pycache__")))
"""


@pytest.mark.slow
@pytest.mark.parametrize("stack", ["async", "sync"])
def test_package_name_check_covers_every_installed_module(stack: str, installed_bake: Callable[..., Path]) -> None:
    """Every module `make install` puts into a default bake's environment (dependencies of
    dependencies included: certifi, idna, dotenv...) is one a package of the same name would
    shadow, so the pre-gen hook must refuse its name. A bake with fewer components installs
    a subset of these."""
    project = installed_bake(stack=stack)
    result = run_in(project, ".venv/bin/python", "-c", LIST_INSTALLED_MODULES, timeout=120)
    assert_success(result)
    package = next((project / "src").iterdir()).name
    installed = set(result.stdout.split()) - {package}
    assert "fastapi" in installed, result.stdout
    unguarded = sorted(name for name in installed if pre.check_package_name(name) is None)
    assert unguarded == [], f"hooks/pre_gen_project.py DEPENDENCY_NAMES lacks {unguarded}"


def test_package_name_check_covers_top_level_packages(baked: Bake) -> None:
    """The bake's own top-level packages (tests/, bench/, ...) sit on sys.path beside the
    package in the test and bench runs: a package of the same name would clash with them."""
    packages = sorted(path.parent.name for path in baked.path.glob("*/__init__.py"))
    assert "tests" in packages
    unguarded = [name for name in packages if pre.check_package_name(name) is None]
    assert unguarded == [], f"hooks/pre_gen_project.py accepts package_name {unguarded}"


# What a bake's README must not mention: the modules, settings and endpoints of an option
# switched off, and (in what it recommends) the other stack's libraries.
README_ABSENT: dict[tuple[str, str], tuple[str, ...]] = {
    ("use_postgres", "n"): ("asyncpg", "psycopg", "DATABASE_URL", "DB_POOL", "alembic", "adapters/postgres", "/items"),
    ("use_s3", "n"): ("S3_", "boto3", "MinIO", "moto", "adapters/s3", "/objects"),
    ("use_http_client", "n"): ("UPSTREAM_", "HTTP_MAX_CONNECTIONS", "adapters/http_client", "/upstream"),
    ("use_local_files", "n"): ("STORAGE_DIR", "aiofiles", "adapters/storage", "/files"),
    ("include_examples", "n"): ("examples/", "fetch_report", "count_primes", "/items", "/files", "/objects",
                                "/upstream", "/offload"),
}  # fmt: skip
README_NOT_RECOMMENDED = {
    "sync": ("asyncpg", "aiofiles", "aioboto3", "AsyncClient"),
    "async": ("psycopg", "boto3.client", "httpx.Client"),
}


def readme_sections(baked: Bake) -> tuple[str, str]:
    """(the README, what it recommends): both without the benchmark section, whose results
    come from a bake with every component on; the second also without the first cell of
    each table row (the "blocks the loop" column names what not to use)."""
    text = (baked.path / "README.md").read_text(encoding="utf-8")
    text = re.sub(r"^## Benchmark.*?^(?=## )", "", text, flags=re.MULTILINE | re.DOTALL)
    advice = "\n".join("|".join(line.split("|")[2:]) if line.startswith("|") else line for line in text.splitlines())
    return text, advice


def test_readme_mentions_only_what_the_bake_has(baked: Bake) -> None:
    text, advice = readme_sections(baked)
    problems = [
        f"{option}={value} but README.md mentions {word!r}"
        for (option, value), words in README_ABSENT.items()
        if baked.answers[option] == value
        for word in words
        if word in text
    ]
    stack = baked.answers["stack"]
    problems += [
        f"stack={stack} but README.md recommends {word!r}" for word in README_NOT_RECOMMENDED[stack] if word in advice
    ]
    assert not problems, "\n".join(problems)


LICENSE_MARKERS = {
    "MIT": "MIT License",
    "Apache-2.0": "Apache License, Version 2.0",
    "BSD-3-Clause": "BSD 3-Clause License",
    "Proprietary": "All rights reserved",
}


def test_license_matches_the_answer(baked: Bake) -> None:
    license_name = baked.answers["license"]
    text = (baked.path / "LICENSE").read_text(encoding="utf-8")
    assert LICENSE_MARKERS[license_name] in text
    for other, marker in LICENSE_MARKERS.items():
        if other != license_name:
            assert marker not in text, f"{license_name} LICENSE also reads {marker!r}"
    assert baked.answers["author_name"] in text
    declared = baked.pyproject()["project"].get("license")
    assert declared == (None if license_name == "Proprietary" else license_name)


def test_answers_reach_the_project(baked: Bake) -> None:
    project = baked.pyproject()["project"]
    assert baked.path.name == baked.answers["project_slug"]
    assert project["name"] == baked.answers["project_slug"]
    assert project["version"] == baked.answers["version"]
    assert project["description"] == baked.answers["description"]
    assert project["authors"] == [{"name": baked.answers["author_name"], "email": baked.answers["author_email"]}]
    assert (baked.path / "src" / baked.package / "__init__.py").is_file()
    assert baked.answers["project_name"] in (baked.path / "README.md").read_text(encoding="utf-8")


# --- slow: the bake's own lint and test suite ----------------------------------------------

LINT_TIMEOUT = 600
TEST_TIMEOUT = 1200


def run_make(project: Path, target: str, timeout: float) -> subprocess.CompletedProcess[str]:
    try:
        return run_in(project, "make", target, timeout=timeout)
    except subprocess.TimeoutExpired as error:
        output = error.output if isinstance(error.output, str) else ""
        pytest.fail(f"`make {target}` did not finish in {timeout:.0f} s; last lines:\n{tail(output)}")


@pytest.mark.slow
@pytest.mark.parametrize("answers", SUPPORTED_COMBINATIONS, ids=IDS)
def test_bake_passes_its_own_lint(answers: dict[str, str], tmp_path: Path, record_property: RecordProperty) -> None:
    """`make lint` in a fresh bake: ruff, ruff format, mypy --strict, flake8-async."""
    project = bake(tmp_path, **answers)
    start = time.perf_counter()
    result = run_make(project, "lint", timeout=LINT_TIMEOUT)
    record_property(TIMING, f"{combination_id(answers)}: make lint {time.perf_counter() - start:.0f} s")
    assert_success(result)
    shutil.rmtree(project / ".venv", ignore_errors=True)  # ~0.4 GB; kept when the test failed


@pytest.mark.slow
@pytest.mark.parametrize("answers", SUPPORTED_COMBINATIONS, ids=IDS)
def test_bake_passes_its_own_tests(answers: dict[str, str], tmp_path: Path, record_property: RecordProperty) -> None:
    """`make test` in a fresh bake, as a user runs it right after baking (installs with uv first)."""
    project = bake(tmp_path, **answers)
    start = time.perf_counter()
    result = run_make(project, "test", timeout=TEST_TIMEOUT)
    seconds = time.perf_counter() - start
    summary = [line.strip("= ") for line in result.stdout.splitlines() if re.search(r"\d+ (passed|failed)", line)]
    outcome = summary[-1] if summary else f"exit {result.returncode}, no pytest summary"
    record_property(TIMING, f"{combination_id(answers)}: make test {seconds:.0f} s; {outcome}")
    assert_success(result)
    assert summary, f"no pytest summary in the output of make test:\n{tail(result.stdout)}"
    shutil.rmtree(project / ".venv", ignore_errors=True)


# --- the first hour: what a new user types and reads ----------------------------------------

BARE_UV = re.compile(r"^\s*uv |`uv ")


def test_readme_never_asks_for_bare_uv(baked: Bake) -> None:
    """uv may not be on the user's PATH (the Makefile bootstraps it into .tools/): every command goes through make."""
    lines = (baked.path / "README.md").read_text(encoding="utf-8").splitlines()
    offending = [f"README.md:{number}: {line}" for number, line in enumerate(lines, 1) if BARE_UV.search(line)]
    assert not offending, "\n".join(offending)


def test_make_help_prints_real_values(baked: Bake) -> None:
    result = run_in(baked.path, "make", "help", timeout=60)
    assert_success(result)
    assert "Serve on 127.0.0.1:8000" in result.stdout
    assert "HOST=127.0.0.1 PORT=8000" in result.stdout
    assert "$(" not in result.stdout
    for target in ("install", "run", "test", "lint", "fmt", "hooks"):
        assert f"make {target} " in result.stdout, target
    assert ("make revision " in result.stdout) == baked.on("use_postgres")


def test_uv_lock_is_part_of_the_project(baked: Bake) -> None:
    ignored = (baked.path / ".gitignore").read_text(encoding="utf-8").splitlines()
    assert "uv.lock" not in ignored
    assert "COPY pyproject.toml uv.lock" in (baked.path / "Dockerfile").read_text(encoding="utf-8")


def claimed_pythons(baked: Bake) -> list[str]:
    prefix = "Programming Language :: Python :: 3."
    minors = sorted(
        int(c.removeprefix(prefix)) for c in baked.pyproject()["project"]["classifiers"] if c.startswith(prefix)
    )
    return [f"3.{minor}" for minor in minors]


def test_claimed_pythons_start_at_requires_python(baked: Bake) -> None:
    project = baked.pyproject()["project"]
    claimed = claimed_pythons(baked)
    assert project["requires-python"] == f">={claimed[0]}"
    assert claimed == [f"3.{minor}" for minor in range(11, 11 + len(claimed))], "no gaps in the claimed versions"


def test_generated_ci_tests_the_oldest_and_newest_python_from_the_lock(baked: Bake) -> None:
    if baked.answers["ci"] != "github":
        pytest.skip("ci=none: no workflow")
    workflow = yaml.safe_load((baked.path / ".github" / "workflows" / "ci.yml").read_text(encoding="utf-8"))
    job = workflow["jobs"]["check"]
    claimed = claimed_pythons(baked)
    assert job["strategy"]["matrix"]["python-version"] == [claimed[0], claimed[-1]]
    assert job["env"]["UV_LOCKED"] == "1"
    setup_uv = next(step for step in job["steps"] if step.get("uses", "").startswith("astral-sh/setup-uv@"))
    assert setup_uv["with"]["cache-dependency-glob"] == "uv.lock"
    assert setup_uv["with"]["python-version"] == "${{ matrix.python-version }}"


# --- slow: the Pythons and the lower bounds the project claims --------------------------------

OLDEST_PYTHON = Path("/usr/bin/python3.11")  # Debian 12's system Python: 3.11.2


def python_version(python: Path) -> str:
    result = subprocess.run([str(python), "-c", "import platform; print(platform.python_version())"],
                            capture_output=True, text=True, check=True, timeout=60)  # fmt: skip
    return result.stdout.strip()


@pytest.mark.slow
@pytest.mark.parametrize("stack", ["async", "sync"])
def test_default_bake_passes_its_tests_on_the_oldest_python(
    stack: str, tmp_path: Path, record_property: RecordProperty
) -> None:
    """Python 3.11.0-3.11.3 differ from later 3.11s (an exception raised in `except*` is wrapped in a new
    group): requires-python admits them, so a whole default bake's suite runs on Debian 12's 3.11.2."""
    if not OLDEST_PYTHON.exists():
        pytest.skip(f"{OLDEST_PYTHON} is not on this machine")
    project = bake(tmp_path, stack=stack)
    start = time.perf_counter()
    result = run_in(project, "make", "test", timeout=TEST_TIMEOUT, env={"UV_PYTHON": str(OLDEST_PYTHON)})
    record_property(
        TIMING, f"{stack} on {python_version(OLDEST_PYTHON)}: make test {time.perf_counter() - start:.0f} s"
    )
    assert_success(result)
    assert python_version(project / ".venv" / "bin" / "python") == python_version(OLDEST_PYTHON)
    shutil.rmtree(project / ".venv", ignore_errors=True)


def in_floor_series(installed: str, floor: str) -> bool:
    """`installed` is the floor itself or a release within it (24.9 -> 24.9.1: there never was a 24.9.0)."""
    wanted = Version(floor).release
    have = Version(installed).release + (0,) * len(wanted)
    return have[: len(wanted)] == wanted


@pytest.mark.parametrize(
    ("installed", "floor", "expected"),
    [("24.9.1", "24.9", True), ("3.2.1", "3.2", True), ("24.1.0.20240626", "24.1", True), ("2.0", "2.0.0", True),
     ("3.3.3", "3.2", False), ("2.5", "2.0", False), ("0.28.1", "0.27.1", False)],
)  # fmt: skip
def test_a_floor_series_is_the_floor_and_its_patch_releases(installed: str, floor: str, expected: bool) -> None:
    assert in_floor_series(installed, floor) is expected


def floors(baked: Bake) -> dict[str, str]:
    """Every direct dependency with a `>=` floor (runtime and dev group), by normalised name."""
    pyproject = baked.pyproject()
    requirements = [*pyproject["project"]["dependencies"], *pyproject["dependency-groups"]["dev"]]
    found = {}
    for requirement in requirements:
        match = re.match(r"([A-Za-z0-9][A-Za-z0-9._-]*)(\[[^\]]*\])?\s*>=\s*([^,;\s]+)", requirement)
        assert match, f"{requirement!r} has no >= floor"
        found[re.sub(r"[-_.]+", "-", match.group(1)).lower()] = match.group(3)
    return found


@pytest.mark.slow
@pytest.mark.parametrize("stack", ["async", "sync"])
def test_declared_lower_bounds_are_true(stack: str, tmp_path: Path, record_property: RecordProperty) -> None:
    """With every direct dependency at its declared floor (uv's lowest-direct resolution), the bake's
    suite passes: a floor that is too low would fail here before it fails a user."""
    project = bake(tmp_path, stack=stack)
    start = time.perf_counter()
    result = run_in(project, "make", "test", timeout=TEST_TIMEOUT, env={"UV_RESOLUTION": "lowest-direct"})
    record_property(TIMING, f"{stack} lowest-direct: make test {time.perf_counter() - start:.0f} s")
    assert_success(result)
    listed = run_in(project, "uv", "pip", "list", "--format", "json", timeout=120)
    assert_success(listed)
    installed = {re.sub(r"[-_.]+", "-", item["name"]).lower(): item["version"] for item in json.loads(listed.stdout)}
    wrong = {
        name: f"declared >={floor}, installed {installed.get(name)}"
        for name, floor in floors(Bake(project, full_answers({"stack": stack}, project))).items()
        if name not in installed or not in_floor_series(installed[name], floor)
    }
    assert not wrong, f"lowest-direct did not install the floors: {wrong}"
    shutil.rmtree(project / ".venv", ignore_errors=True)


@pytest.mark.slow
def test_make_revision_writes_the_next_numbered_migration(installed_bake: Callable[..., Path]) -> None:
    project = installed_bake()
    versions = project / "src" / next((project / "src").iterdir()).name / "migrations" / "versions"
    assert (project / "uv.lock").is_file(), "make install did not write uv.lock"
    try:
        assert_success(run_in(project, "make", "revision", "m=add orders", timeout=300))
        created = versions / "0002_add_orders.py"
        assert created.is_file(), sorted(path.name for path in versions.iterdir())
        text = created.read_text(encoding="utf-8")
        assert 'revision: str = "0002"' in text
        assert 'down_revision: str | Sequence[str] | None = "0001"' in text
        # A fresh revision passes the project's lint as it is.
        for command in (("ruff", "check", str(created)), ("ruff", "format", "--check", str(created)), ("mypy",)):
            assert_success(run_in(project, "uv", "run", *command, timeout=300))
        refused = run_in(project, "make", "revision", timeout=120)
        assert refused.returncode != 0
        assert 'usage: make revision m="add orders"' in refused.stdout
    finally:
        for path in versions.glob("0002_*.py"):
            path.unlink()
