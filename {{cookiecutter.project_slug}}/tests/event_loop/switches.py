"""The switches of the event-loop checks that run with the tests, and the forgotten-await check.

Each check (README, "Keeping the event loop free") is on unless its environment variable
is `0`, `false`, `no` or `off`, and this module is the one place that reads it:

* `LOOPSAFE_GUARD`: the blocking guard around every test (guard.py);
* `LOOPSAFE_LOOP_LAG`: the loop-lag test under real load (test_loop_lag.py);
{%- if cookiecutter.stack == 'sync' %}
* `LOOPSAFE_ROUTE_RULE`: every `async def` endpoint or dependency is reviewed (test_routes_are_def.py);
{%- endif %}
* `LOOPSAFE_AWAIT_CHECK`: a coroutine that is never awaited fails the test that created it.

A run with a check off says so in its closing "event loop" section; the tests of a check
that is off are skipped, with the switch as the reason. The static checks of `make lint`
have their own switch, `LOOPSAFE_STATIC_CHECKS`, in the Makefile.
"""

from __future__ import annotations

import gc
import os
from dataclasses import dataclass

import pytest

OFF = frozenset({"0", "false", "no", "off"})


@dataclass(frozen=True)
class Switch:
    """The environment variable `name` turns `check` off when set to 0, false, no or off."""

    name: str
    check: str

    @property
    def on(self) -> bool:
        return os.environ.get(self.name, "1").strip().lower() not in OFF

    @property
    def notice(self) -> str:
        return f"{self.check} off for the whole run ({self.name}={os.environ.get(self.name, '')})"

    @property
    def mark(self) -> pytest.MarkDecorator:
        """For the tests that are the check: they are skipped while the switch is off."""
        return pytest.mark.event_loop_check(self)


GUARD = Switch("LOOPSAFE_GUARD", "blocking guard")
LOOP_LAG = Switch("LOOPSAFE_LOOP_LAG", "loop-lag test")
{%- if cookiecutter.stack == 'sync' %}
ROUTE_RULE = Switch("LOOPSAFE_ROUTE_RULE", "route rule")
{%- endif %}
AWAIT_CHECK = Switch("LOOPSAFE_AWAIT_CHECK", "forgotten-await check")
SWITCHES = (GUARD, LOOP_LAG, {% if cookiecutter.stack == 'sync' %}ROUTE_RULE, {% endif %}AWAIT_CHECK)

# A coroutine that is never awaited warns (RuntimeWarning) when it is freed. As an error,
# raised in a finalizer, that becomes an "Exception ignored", which pytest reports as a
# PytestUnraisableExceptionWarning: an error too. Filters in pyproject's `filterwarnings`
# come after these, so one of yours there takes precedence.
AWAIT_FILTERS = ("error::RuntimeWarning", "error::pytest.PytestUnraisableExceptionWarning")


def off_notices() -> list[str]:
    """One line per check that is off, for the closing "event loop" section (guard.py)."""
    return [switch.notice for switch in SWITCHES if not switch.on]


class CollectGarbage:
    """Collect garbage after each test, so that a never-awaited coroutine caught in a reference
    cycle warns inside the test that made it, not in whichever test the collector next runs."""

    @pytest.hookimpl(trylast=True)  # after the fixtures' teardown, before pytest reports unraisables
    def pytest_runtest_teardown(self) -> None:
        gc.collect()


def pytest_configure(config: pytest.Config) -> None:
    if AWAIT_CHECK.on:
        config.getini("filterwarnings")[:0] = AWAIT_FILTERS
        config.pluginmanager.register(CollectGarbage(), "loopsafe-await-check")


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        marker = item.get_closest_marker("event_loop_check")
        if marker is None:
            continue
        switch = marker.args[0]
        assert isinstance(switch, Switch), f"{item.nodeid}: use a switch's `.mark` (tests/event_loop/switches.py)"
        if not switch.on:
            item.add_marker(pytest.mark.skip(reason=switch.notice))
