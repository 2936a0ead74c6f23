"""Unit tests of the two hooks, imported as plain modules (their Jinja sits in string literals).

The pre-gen hook's checks decide which answers can ever reach a bake; the post-gen hook's
pruning decides which files a project keeps. Both are tested here on values and trees
built by hand, and the rendered hooks are checked to stay valid Python for any answer.
"""

from __future__ import annotations

import ast
import importlib.util
import json
import sys
from collections.abc import Callable
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest
from cookiecutter.utils import create_env_with_context

from tests.bake import HOOKS_DIR, default_answers, load_hook

pre = load_hook("pre_gen_project")
post = load_hook("post_gen_project")


def valid_answers(**changes: str) -> dict[str, str]:
    """A full set of valid answers, as the pre-gen hook receives them."""
    answers = {
        "project_name": "My Service",
        "project_slug": "my-service",
        "package_name": "my_service",
        "description": "A FastAPI service that keeps its event loop free.",
        "author_name": "Your Name",
        "author_email": "you@example.com",
        "version": "0.1.0",
        "stack": "async",
        "use_postgres": "y",
        "use_s3": "y",
        "use_http_client": "y",
        "use_local_files": "y",
        "include_examples": "y",
        "ci": "github",
        "license": "MIT",
    }
    answers.update(changes)
    return answers


# --- pre_gen_project: each check -------------------------------------------------------


@pytest.mark.parametrize("slug", ["my-service", "svc", "a", "svc2", "my-service-2", "a1-b2-c3"])
def test_slug_accepted(slug: str) -> None:
    assert pre.check_slug(slug) is None


@pytest.mark.parametrize(
    "slug",
    ["My Service", "my service", "-x", "x-", "UPPER", "My-Service", "my--service", "my_service", "1abc", "", "sérvice"],
)
def test_slug_rejected(slug: str) -> None:
    message = pre.check_slug(slug)
    assert message is not None
    assert repr(slug) in message


@pytest.mark.parametrize(("slug", "ok"), [("svc", True), ("a" * 63, True), ("ab", False), ("a" * 64, False)])
def test_bucket_name_length(slug: str, ok: bool) -> None:
    message = pre.check_bucket_name(slug)
    assert (message is None) is ok
    if not ok:
        assert repr(slug) in message
        assert "S3 bucket" in message


def test_a_short_slug_is_refused_only_with_s3() -> None:
    assert pre.validate(valid_answers(project_slug="ab", use_s3="n")) == []
    assert pre.validate(valid_answers(project_slug="ab", use_s3="y")) == [pre.check_bucket_name("ab")]
    # A slug that is invalid anyway gets one message, not two.
    assert len(pre.validate(valid_answers(project_slug="-x", use_s3="y"))) == 1


@pytest.mark.parametrize("name", ["my_service", "svc", "a1", "my_service_2", "_private", "loopsafe"])
def test_package_name_accepted(name: str) -> None:
    assert pre.check_package_name(name) is None


@pytest.mark.parametrize(
    ("name", "reason"),
    [
        ("1abc", "identifier"),
        ("My-Pkg", "identifier"),
        ("my service", "identifier"),
        ("", "identifier"),
        ("sérvice", "identifier"),
        ("My_Pkg", "lowercase"),
        ("class", "keyword"),
        ("import", "keyword"),
        ("async", "keyword"),
        ("match", "keyword"),
        ("asyncio", "standard-library"),
        ("json", "standard-library"),
        ("typing", "standard-library"),
        ("logging", "standard-library"),
        ("test", "project's own"),
        ("tests", "project's own"),
        ("bench", "project's own"),
        ("flake8", "dependency"),
        ("pre_commit", "dependency"),
    ],
)
def test_package_name_rejected(name: str, reason: str) -> None:
    message = pre.check_package_name(name)
    assert message is not None
    assert reason in message


@pytest.mark.parametrize(
    "name",
    ["fastapi", "starlette", "httpx", "asyncpg", "psycopg", "psycopg_pool", "aioboto3", "boto3", "aiofiles",
     "sqlalchemy", "alembic", "uvicorn", "pydantic", "pydantic_settings", "anyio", "blockbuster", "pgserver", "moto",
     "pytest", "mypy", "ruff"],
)  # fmt: skip
def test_package_name_rejects_dependencies(name: str) -> None:
    message = pre.check_package_name(name)
    assert message is not None
    assert "dependency" in message


@pytest.mark.parametrize(
    "name",
    ["dotenv", "certifi", "idna", "sniffio", "click", "greenlet", "yarl", "multidict", "s3transfer", "multipart",
     "mypy_boto3_s3", "jmespath", "dateutil", "typing_extensions", "annotated_types", "pydantic_core", "aiosignal",
     "frozenlist", "propcache", "aiohappyeyeballs", "psycopg_binary", "h11", "httptools", "watchfiles", "websockets",
     "yaml", "six", "jinja2", "flask", "werkzeug"],
)  # fmt: skip
def test_package_name_rejects_what_the_dependencies_install(name: str) -> None:
    """Modules the project does not declare but installs (its dependencies' own dependencies) shadow just the same."""
    message = pre.check_package_name(name)
    assert message is not None
    assert "dependency" in message
    assert "\n" not in message


@pytest.mark.parametrize("email", ["you@example.com", "a.b+c@sub.example.org", "x@localhost"])
def test_email_accepted(email: str) -> None:
    assert pre.check_email(email) is None


@pytest.mark.parametrize("email", ["you", "you.example.com", "you@", "@example.com", "a@b@c", "a b@c.d", "", "<a@b>"])
def test_email_rejected(email: str) -> None:
    message = pre.check_email(email)
    assert message is not None
    assert "author_email" in message


@pytest.mark.parametrize("version", ["0.1.0", "1", "1.2", "10.20.30", "1.0a1", "2.0.0rc1", "1.0b2"])
def test_version_accepted(version: str) -> None:
    assert pre.check_version(version) is None


@pytest.mark.parametrize("version", ["one", "v1.0", "1.2.3.4", "", "1.0-beta", "1.0 ", "latest"])
def test_version_rejected(version: str) -> None:
    message = pre.check_version(version)
    assert message is not None
    assert "version" in message


@pytest.mark.parametrize("value", ["y", "n"])
def test_yes_no_accepted(value: str) -> None:
    assert pre.check_choice("use_postgres", value, pre.YES_NO) is None


@pytest.mark.parametrize("value", ["maybe", "yes", "no", "Y", "N", "true", "1", ""])
def test_yes_no_rejected(value: str) -> None:
    message = pre.check_choice("use_postgres", value, pre.YES_NO)
    assert message is not None
    assert "use_postgres" in message


@pytest.mark.parametrize("value", ["async", "sync"])
def test_stack_accepted(value: str) -> None:
    assert pre.check_choice("stack", value, pre.STACKS) is None


@pytest.mark.parametrize("value", ["fast", "Async", "asyncio", "both", ""])
def test_stack_rejected(value: str) -> None:
    assert pre.check_choice("stack", value, pre.STACKS) is not None


@pytest.mark.parametrize("value", ["", "   ", "two\nlines"])
def test_free_text_rejected(value: str) -> None:
    assert pre.check_text("description", value) is not None


def test_free_text_accepts_any_single_line() -> None:
    assert pre.check_text("description", """Quotes ' " ''' \"\"\" and \\ backslashes, ünïcödé 😀""") is None


# --- pre_gen_project: validate() over a whole set of answers ------------------------------


def test_valid_answers_pass() -> None:
    assert pre.validate(valid_answers()) == []


def test_cookiecutter_json_defaults_pass() -> None:
    """The defaults, rendered as cookiecutter would (first choice of each list), are valid."""
    answers = {
        key: value[0] if isinstance(value, list) else value
        for key, value in default_answers().items()
        if not key.startswith("_")
    }
    answers["project_slug"] = "my-service"
    answers["package_name"] = "my_service"
    assert pre.validate({key: value for key, value in answers.items() if isinstance(value, str)}) == []


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("project_name", ""),
        ("project_slug", "My Service"),
        ("package_name", "json"),
        ("description", "a\nb"),
        ("author_name", " "),
        ("author_email", "nobody"),
        ("version", "one"),
        ("stack", "fast"),
        ("use_postgres", "maybe"),
        ("use_s3", "yes"),
        ("use_http_client", "Y"),
        ("use_local_files", ""),
        ("include_examples", "no"),
    ],
)
def test_each_invalid_answer_is_reported(field: str, value: str) -> None:
    errors = pre.validate(valid_answers(**{field: value}))
    assert len(errors) == 1
    assert field in errors[0]


def test_errors_come_in_prompt_order() -> None:
    errors = pre.validate(valid_answers(project_slug="Bad Slug", version="one", use_s3="maybe"))
    assert [error.split(" ", 1)[0] for error in errors] == ["project_slug", "version", "use_s3"]


# --- the rendered hooks stay valid Python for any answer ----------------------------------

TRICKY_TEXT = [
    "My Service",
    'Say "hi"',
    "O'Brien",
    'Triple """ quotes',
    "Triple ''' quotes",
    "Back\\slash",
    "Ends with a backslash \\",
    "Ünïcödé 😀 <b>&amp;</b>",
    "{{ not jinja }}",
]


TEMPLATE = "gh:example/loopsafe"
REPO_DIR = "/home/user/.cookiecutters/loopsafe"


def render_hook(name: str, answers: dict[str, str], tmp_path: Path) -> ModuleType:
    """Render hooks/<name>.py the way cookiecutter does and import the result."""
    # The two private names cookiecutter adds: what the user named the template, and where it was checked out.
    context: dict[str, Any] = {"cookiecutter": {"_template": TEMPLATE, "_repo_dir": REPO_DIR, **answers}}
    source = (HOOKS_DIR / f"{name}.py").read_text(encoding="utf-8")
    rendered = create_env_with_context(context).from_string(source).render(**context)
    path = tmp_path / f"rendered_{name}.py"
    path.write_text(rendered, encoding="utf-8")
    spec = importlib.util.spec_from_file_location(f"rendered_{name}", path)
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.mark.parametrize("text", TRICKY_TEXT)
def test_rendered_pre_gen_hook_reads_back_every_answer(text: str, tmp_path: Path) -> None:
    answers = valid_answers(project_name=text, description=text, author_name=text)
    module = render_hook("pre_gen_project", answers, tmp_path)
    read_back = module.rendered_answers()
    assert read_back == {key: answers[key] for key in read_back}
    assert read_back["project_name"] == text


def test_rendered_pre_gen_hook_rejects_with_one_line(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    module = render_hook("pre_gen_project", valid_answers(package_name="asyncio", version="one"), tmp_path)
    assert module.main() == 1
    error, hint = capsys.readouterr().err.splitlines()
    assert error.startswith("ERROR: package_name 'asyncio'")
    # The answers were saved before the hook ran: the hint says how to reuse them.
    replay = "~/.cookiecutter_replay/loopsafe.json"
    assert f"correct package_name in {replay}" in hint
    assert f"`cookiecutter --replay-file {replay} {TEMPLATE}`" in hint
    assert f"`cookiecutter {TEMPLATE} package_name=...`" in hint


def test_every_error_message_starts_with_its_option() -> None:
    """retry_hint names the option from the message's first word."""
    answers = valid_answers(
        project_name=" ", project_slug="ab", package_name="json", description="", author_name="\n",
        author_email="x", version="one", stack="fast", use_postgres="maybe", use_s3="y", use_http_client="1",
        use_local_files="?", include_examples="N",
    )  # fmt: skip
    options = [message.split(maxsplit=1)[0] for message in pre.validate(answers)]
    assert options == [
        "project_name", "project_slug", "package_name", "description", "author_name", "author_email", "version",
        "stack", "use_postgres", "use_http_client", "use_local_files", "include_examples",
    ]  # fmt: skip


def test_rendered_pre_gen_hook_accepts_valid_answers(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    module = render_hook("pre_gen_project", valid_answers(), tmp_path)
    assert module.main() == 0
    assert capsys.readouterr().err == ""


def test_rendered_post_gen_hook_reads_back_its_answers(tmp_path: Path) -> None:
    answers = valid_answers(stack="sync", use_s3="n", ci="none")
    module = render_hook("post_gen_project", answers, tmp_path)
    read_back = module.rendered_answers()
    assert read_back == {key: answers[key] for key in read_back}
    assert {"package_name", "stack", "ci", "use_postgres", "include_examples"} <= set(read_back)


def imported_modules(name: str) -> set[str]:
    tree = ast.parse((HOOKS_DIR / f"{name}.py").read_text(encoding="utf-8"))
    modules: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            modules |= {alias.name.split(".")[0] for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module:
            modules.add(node.module.split(".")[0])
    return modules


@pytest.mark.parametrize("name", ["pre_gen_project", "post_gen_project"])
def test_hooks_only_import_the_standard_library(name: str) -> None:
    """Hooks run under whatever Python runs cookiecutter: they must not need any package."""
    assert imported_modules(name) <= set(sys.stdlib_module_names)


def test_post_gen_hook_has_no_side_effects_beyond_the_tree() -> None:
    """cruft re-runs the post-gen hook on update: no git, no installs, no network."""
    assert imported_modules("post_gen_project").isdisjoint(
        {"subprocess", "socket", "urllib", "http", "ftplib", "ensurepip", "venv", "multiprocessing"}
    )
    tree = ast.parse((HOOKS_DIR / "post_gen_project.py").read_text(encoding="utf-8"))
    calls = {
        node.func.attr for node in ast.walk(tree) if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute)
    }
    assert calls.isdisjoint({"system", "popen", "execv", "execvp", "spawnv", "startfile"})


# --- post_gen_project: pruning on a hand-built tree ---------------------------------------

PACKAGE = "my_service"


def touch(root: Path, *relative: str) -> None:
    for name in relative:
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(name, encoding="utf-8")


def files_under(root: Path) -> set[str]:
    return {path.relative_to(root).as_posix() for path in root.rglob("*") if path.is_file()}


STACK_TREE = [
    "src/my_service/adapters/postgres__async.py",
    "src/my_service/adapters/postgres__sync.py",
    "src/my_service/migrations/env__async.py",
    "src/my_service/migrations/env__sync.py",
    ".flake8__async",
    ".flake8__sync",
    "docs/notes__async.md",
    "docs/notes__sync.md",
    "only_async__async.py",
    "only_sync__sync.py",
    "src/my_service/__init__.py",
    "src/my_service/my__asyncio.py",
    "src/my_service/sync__helpers.py",
    "tests/test__sync_helpers.py",
]


@pytest.mark.parametrize("stack", ["async", "sync"])
def test_select_stack_keeps_the_chosen_variant_under_its_plain_name(stack: str, tmp_path: Path) -> None:
    touch(tmp_path, *STACK_TREE)
    post.select_stack(tmp_path, stack)
    expected = {
        "src/my_service/adapters/postgres.py",
        "src/my_service/migrations/env.py",
        ".flake8",
        "docs/notes.md",
        "src/my_service/__init__.py",
        "src/my_service/my__asyncio.py",
        "src/my_service/sync__helpers.py",
        "tests/test__sync_helpers.py",
        "only_async.py" if stack == "async" else "only_sync.py",
    }
    assert files_under(tmp_path) == expected
    # The kept file is the chosen variant's content, not the other one's.
    assert (
        tmp_path / "src/my_service/adapters/postgres.py"
    ).read_text() == f"src/my_service/adapters/postgres__{stack}.py"
    assert (tmp_path / ".flake8").read_text() == f".flake8__{stack}"


def test_select_stack_leaves_directories_alone(tmp_path: Path) -> None:
    touch(tmp_path, "pkg__async/x.py")
    post.select_stack(tmp_path, "sync")
    assert files_under(tmp_path) == {"pkg__async/x.py"}


COMPONENT_REMOVERS: dict[str, tuple[str, tuple[str, ...]]] = {
    # remover function -> (name of the path list in the hook, the options that keep it: any one will do)
    "remove_postgres_files": ("POSTGRES_PATHS", ("use_postgres",)),
    "remove_s3_files": ("S3_PATHS", ("use_s3",)),
    "remove_http_client_files": ("HTTP_CLIENT_PATHS", ("use_http_client",)),
    "remove_local_files_files": ("LOCAL_FILES_PATHS", ("use_local_files",)),
    "remove_upload_files": ("UPLOAD_PATHS", ("use_local_files", "use_s3")),
    "remove_example_files": ("EXAMPLE_PATHS", ("include_examples",)),
    "remove_github_ci_files": ("GITHUB_CI_PATHS", ("ci",)),
}


def build_full_tree(root: Path) -> set[str]:
    """Every path of every list, as a file (or a file inside it when it names a directory)."""
    names: set[str] = set()
    all_lists = [getattr(post, list_name) for list_name, _ in COMPONENT_REMOVERS.values()]
    directories = {pattern for paths in all_lists for pattern in paths if "." not in Path(pattern).name}
    for paths in all_lists:
        for pattern in paths:
            name = pattern.format(package=PACKAGE)
            names.add(f"{name}/inside.txt" if pattern in directories else name)
    names |= {"src/my_service/__init__.py", "src/my_service/app.py", "README.md", "tests/conftest.py"}
    touch(root, *names)
    return names


def is_removed(root: Path, pattern: str) -> bool:
    return not (root / pattern.format(package=PACKAGE)).exists()


@pytest.mark.parametrize("remover", sorted(COMPONENT_REMOVERS))
def test_each_remover_removes_exactly_its_paths(remover: str, tmp_path: Path) -> None:
    build_full_tree(tmp_path)
    list_name, _ = COMPONENT_REMOVERS[remover]
    paths: tuple[str, ...] = getattr(post, list_name)
    assert paths, f"{list_name} is empty"
    function: Callable[[Path, str], None] = getattr(post, remover)
    function(tmp_path, PACKAGE)
    for pattern in paths:
        assert is_removed(tmp_path, pattern), pattern
    removed_paths = {pattern.format(package=PACKAGE) for pattern in paths}
    for path in files_under(tmp_path):
        assert not any(path == removed or path.startswith(removed + "/") for removed in removed_paths)
    for other_name, _ in COMPONENT_REMOVERS.values():
        for pattern in getattr(post, other_name):
            name = pattern.format(package=PACKAGE)
            inside_removed = any(name == removed or name.startswith(removed + "/") for removed in removed_paths)
            if not inside_removed:
                assert not is_removed(tmp_path, pattern), f"{remover} also removed {name}"
    assert (tmp_path / "src/my_service/app.py").exists()


def test_removers_tolerate_missing_paths(tmp_path: Path) -> None:
    for remover in COMPONENT_REMOVERS:
        getattr(post, remover)(tmp_path, PACKAGE)
    assert list(tmp_path.iterdir()) == []


def test_remove_empty_dirs(tmp_path: Path) -> None:
    touch(tmp_path, "keep/file.txt", "deep/keep/file.txt")
    for empty in ("empty", "nested/empty/deeper", "deep/keep/empty", "deep/other/x/y"):
        (tmp_path / empty).mkdir(parents=True)
    post.remove_empty_dirs(tmp_path)
    remaining = {path.relative_to(tmp_path).as_posix() for path in tmp_path.rglob("*")}
    assert remaining == {"keep", "keep/file.txt", "deep", "deep/keep", "deep/keep/file.txt"}
    assert tmp_path.is_dir()


@pytest.mark.parametrize("stack", ["async", "sync"])
def test_prune_with_everything_on_only_selects_the_stack(stack: str, tmp_path: Path) -> None:
    names = build_full_tree(tmp_path)
    touch(tmp_path, "src/my_service/adapters/s3__async.py", "src/my_service/adapters/s3__sync.py")
    post.prune(tmp_path, valid_answers(stack=stack))
    assert files_under(tmp_path) == names


def test_prune_with_everything_off_removes_every_component(tmp_path: Path) -> None:
    build_full_tree(tmp_path)
    touch(tmp_path, "src/my_service/adapters/s3__async.py", "src/my_service/adapters/s3__sync.py")
    (tmp_path / "src/my_service/empty").mkdir()
    answers = valid_answers(stack="sync", ci="none")
    answers.update({option: "n" for _, kept_by in COMPONENT_REMOVERS.values() for option in kept_by if option != "ci"})
    post.prune(tmp_path, answers)
    assert files_under(tmp_path) == {
        "src/my_service/__init__.py",
        "src/my_service/app.py",
        "README.md",
        "tests/conftest.py",
    }
    assert not (tmp_path / "src/my_service/empty").exists()


@pytest.mark.parametrize(("local_files", "s3"), [("y", "y"), ("y", "n"), ("n", "y"), ("n", "n")])
def test_prune_keeps_the_upload_helpers_while_files_or_objects_use_them(
    local_files: str, s3: str, tmp_path: Path
) -> None:
    build_full_tree(tmp_path)
    post.prune(tmp_path, valid_answers(use_local_files=local_files, use_s3=s3))
    for pattern in post.UPLOAD_PATHS:
        assert is_removed(tmp_path, pattern) is ("y" not in (local_files, s3)), pattern
    for pattern in post.LOCAL_FILES_PATHS:
        assert is_removed(tmp_path, pattern) is (local_files == "n"), pattern
    for pattern in post.S3_PATHS:
        assert is_removed(tmp_path, pattern) is (s3 == "n"), pattern


def test_every_component_option_has_a_remover() -> None:
    """A new y/n option in cookiecutter.json needs its files pruned (or a reason not to)."""
    options = {key for key, value in default_answers().items() if value in ("y", "n")}
    assert options == {option for _, kept_by in COMPONENT_REMOVERS.values() for option in kept_by} - {"ci"}


def test_every_path_list_of_the_hook_has_its_remover_here() -> None:
    """A new path list in the hook is pruned by these tests too, not only by the bakes."""
    lists = {name for name in vars(post) if name.endswith("_PATHS")}
    assert lists == {list_name for list_name, _ in COMPONENT_REMOVERS.values()}


def test_hook_path_lists_are_relative_and_package_templated() -> None:
    for list_name, _ in COMPONENT_REMOVERS.values():
        for pattern in getattr(post, list_name):
            assert not pattern.startswith("/")
            assert ".." not in Path(pattern).parts
            assert "{{" not in pattern
            if pattern.startswith("src/"):
                assert pattern.startswith("src/{package}/"), pattern


def test_json_of_cookiecutter_is_loadable() -> None:
    json.loads((HOOKS_DIR.parent / "cookiecutter.json").read_text(encoding="utf-8"))
