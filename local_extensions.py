"""Jinja filters for this template (loaded by cookiecutter through `_extensions`)."""

from __future__ import annotations

import json

from jinja2 import Environment
from jinja2.ext import Extension


def quoted(value: object) -> str:
    """A double-quoted string literal valid in both Python and TOML.

    Jinja's `tojson` writes characters outside the BMP (an emoji) as surrogate pairs
    (`\\ud83d\\ude00`), which TOML rejects; this keeps them as UTF-8 and escapes only
    quotes, backslashes and control characters.
    """
    return json.dumps(str(value), ensure_ascii=False)


def py_quoted(value: object) -> str:
    """A Python string literal in the quotes ruff's formatter would choose (fewer escapes wins, else double)."""
    text = str(value)
    if text.count('"') <= text.count("'"):
        return quoted(text)
    inner = json.dumps(text, ensure_ascii=False)[1:-1].replace('\\"', '"').replace("'", "\\'")
    return f"'{inner}'"


class QuotedExtension(Extension):
    def __init__(self, environment: Environment) -> None:
        super().__init__(environment)
        environment.filters["quoted"] = quoted
        environment.filters["py_quoted"] = py_quoted
