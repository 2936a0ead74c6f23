"""Each switch of switches.py turns its check off, and only when it says so.

The runs below are in-process pytest runs (pytester) that only collect, or run one tiny
test file: they take milliseconds.
"""

from __future__ import annotations

import warnings
from pathlib import Path

import pytest

from .switches import AWAIT_CHECK, LOOP_LAG, {% if cookiecutter.stack == 'sync' %}ROUTE_RULE, {% endif %}SWITCHES, Switch

HERE = Path(__file__).parent


@pytest.mark.parametrize("switch", SWITCHES, ids=[switch.name for switch in SWITCHES])
def test_a_switch_is_on_unless_set_to_off(switch: Switch, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(switch.name, raising=False)
    assert switch.on
    for value in ("1", "true", "yes", ""):
        monkeypatch.setenv(switch.name, value)
        assert switch.on, value
    for value in ("0", "false", "No", " OFF "):
        monkeypatch.setenv(switch.name, value)
        assert not switch.on, value
        assert f"({switch.name}={value})" in switch.notice


@pytest.mark.parametrize(
    ("switch", "module"),
    [
        (LOOP_LAG, "test_loop_lag.py"),
{%- if cookiecutter.stack == 'sync' %}
        (ROUTE_RULE, "test_routes_are_def.py"),
{%- endif %}
    ],
    ids=lambda value: value.name if isinstance(value, Switch) else value,
)
def test_the_tests_of_a_check_that_is_off_are_skipped(
    switch: Switch, module: str, pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch
) -> None:
    def skip_reasons() -> dict[str, str | None]:
        items, _ = pytester.inline_genitems(str(HERE / module))
        assert items, f"collected nothing from {module}"
        marks = {item.nodeid: item.get_closest_marker("skip") for item in items}
        return {nodeid: mark.kwargs["reason"] if mark else None for nodeid, mark in marks.items()}

    monkeypatch.delenv(switch.name, raising=False)
    on = skip_reasons()
    monkeypatch.setenv(switch.name, "0")
    off = skip_reasons()

    assert set(on.values()) == {None}, on
    assert set(off.values()) == {switch.notice}, off


FORGETS_AN_AWAIT = """
async def work() -> None:
    pass


def test_forgets_an_await() -> None:
    work()
"""


@pytest.mark.parametrize("on", [True, False], ids=["on", "off"])
def test_the_await_check_fails_a_forgotten_await_unless_off(
    on: bool, pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch
) -> None:
    if on:
        monkeypatch.delenv(AWAIT_CHECK.name, raising=False)
    else:
        monkeypatch.setenv(AWAIT_CHECK.name, "0")
    pytester.makepyfile(test_forgets=FORGETS_AN_AWAIT)
    with warnings.catch_warnings():
        warnings.simplefilter("default")  # this run's own filters must not decide for the inner one
        result = pytester.runpytest_inprocess("-p", "tests.event_loop.switches", "-p", "no:cacheprovider")
    if on:
        result.assert_outcomes(failed=1)
        result.stdout.fnmatch_lines(["*coroutine 'work' was never awaited*"])
    else:
        result.assert_outcomes(passed=1, warnings=1)
