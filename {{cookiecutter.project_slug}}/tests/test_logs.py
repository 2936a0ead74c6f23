"""Log records leave the event loop through a queue: a slow stderr cannot stall requests."""

from __future__ import annotations

import logging
import subprocess
import sys
import textwrap


def test_records_go_through_a_queue_in_order_and_none_is_lost() -> None:
    """Run in a fresh interpreter: the test session's root logger already has pytest's handlers."""
    script = textwrap.dedent(
        """
        import logging
        from {{ cookiecutter.package_name }}.logs import configure_logging

        configure_logging("INFO")
        configure_logging("INFO")  # a second app in the same process adds nothing
        root = logging.getLogger()
        assert len(root.handlers) == 1, root.handlers
        assert type(root.handlers[0]).__name__ == "QueueHandler"
        for n in range(200):
            logging.getLogger("app").info("line %d", n)
        logging.getLogger("app").debug("below the level")
        """
    )
    result = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=60, check=False)
    assert result.returncode == 0, result.stderr
    lines = result.stderr.splitlines()
    assert len(lines) == 200, result.stderr[-2000:]
    assert lines[0].endswith("INFO app: line 0")
    assert lines[-1].endswith("INFO app: line 199")  # written out in order, the queue drained at exit


def test_logging_configured_elsewhere_is_left_alone() -> None:
    from {{ cookiecutter.package_name }}.logs import configure_logging

    before = list(logging.getLogger().handlers)
    configure_logging("DEBUG")
    assert logging.getLogger().handlers == before
