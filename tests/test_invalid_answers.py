"""A bad answer stops the bake with one clear line and leaves nothing behind.

Each case runs the real cookiecutter CLI in a subprocess, as a user would, so the exit code,
stderr and the output directory are exactly what the user gets.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.bake import cookiecutter_cli

INVALID_ANSWERS = [
    # (answer, start of the hook's message after "ERROR: ")
    ("package_name=asyncio", "package_name 'asyncio'"),
    ("package_name=json", "package_name 'json'"),
    ("package_name=fastapi", "package_name 'fastapi'"),
    ("package_name=httpx", "package_name 'httpx'"),
    ("package_name=class", "package_name 'class'"),
    ("package_name=1abc", "package_name '1abc'"),
    ("package_name=My-Pkg", "package_name 'My-Pkg'"),
    ("project_slug=My Service", "project_slug 'My Service'"),
    ("project_slug=-x", "project_slug '-x'"),
    ("project_slug=UPPER", "project_slug 'UPPER'"),
    ("project_slug=ab", "project_slug 'ab' is also the default S3 bucket name"),
    ("author_email=nobody.example.com", "author_email 'nobody.example.com'"),
    ("version=one", "version 'one'"),
    ("use_postgres=maybe", "use_postgres"),
    ("use_s3=yes", "use_s3"),
    ("include_examples=N", "include_examples"),
]


@pytest.mark.parametrize(("answer", "message"), INVALID_ANSWERS, ids=[answer for answer, _ in INVALID_ANSWERS])
def test_invalid_answer_stops_the_bake(answer: str, message: str, tmp_path: Path) -> None:
    output = tmp_path / "out"
    output.mkdir()
    result = cookiecutter_cli(output, answer)

    assert result.returncode != 0, result.stdout + result.stderr
    errors = [line for line in result.stderr.splitlines() if line.startswith("ERROR: ") and "hook" not in line]
    assert len(errors) == 1, result.stderr
    assert errors[0].startswith(f"ERROR: {message}"), errors[0]
    option = answer.split("=", 1)[0]
    assert f"To retry with the same answers: correct {option} in ~/.cookiecutter_replay/" in result.stderr
    assert f"{option}=...`" in result.stderr
    assert list(output.iterdir()) == []


@pytest.mark.parametrize("answer", ["stack=fast", "ci=gitlab", "license=GPL"])
def test_invalid_choice_fails_before_generation(answer: str, tmp_path: Path) -> None:
    output = tmp_path / "out"
    output.mkdir()
    result = cookiecutter_cli(output, answer)

    assert result.returncode != 0, result.stdout + result.stderr
    value = answer.split("=", 1)[1]
    assert f"{value} provided for choice variable" in result.stderr
    assert list(output.iterdir()) == []


def test_empty_project_name_fails_and_leaves_nothing(tmp_path: Path) -> None:
    """An empty name slugifies to an empty directory name: cookiecutter itself refuses it
    (before the hook can run), and still nothing is written."""
    output = tmp_path / "out"
    output.mkdir()
    (output / "unrelated.txt").write_text("kept", encoding="utf-8")
    result = cookiecutter_cli(output, "project_name=")

    assert result.returncode != 0, result.stdout + result.stderr
    assert [path.name for path in output.iterdir()] == ["unrelated.txt"]


def test_valid_answers_bake(tmp_path: Path) -> None:
    """The control case: the same command with good answers does produce a project."""
    output = tmp_path / "out"
    output.mkdir()
    result = cookiecutter_cli(output, "project_slug=good-one", "package_name=good_one")

    assert result.returncode == 0, result.stderr
    assert [path.name for path in output.iterdir()] == ["good-one"]
    assert (output / "good-one" / "src" / "good_one" / "app.py").is_file()
    # The post-generation hook says where the project is and what to type next.
    assert f"Created {output / 'good-one'}" in result.stdout
    assert f"cd {output / 'good-one'}" in result.stdout
    assert "make test" in result.stdout
