"""Logging that never blocks the event loop.

A log call writes its line at once, from the thread that made it: made on the event
loop, a write to a slow terminal or a full pipe stalls every request of the process.
Here every record goes onto a queue instead (a non-blocking put) and one background
thread writes them out, in order.
"""

from __future__ import annotations

import atexit
import logging
import queue
from logging.handlers import QueueHandler, QueueListener

FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"

_listener: QueueListener | None = None


def configure_logging(level: str | int) -> None:
    """Send the root logger's records through a queue to stderr, at `level`.

    Like `logging.basicConfig`, it does nothing when the root logger has handlers already:
    logging configured elsewhere (a `--log-config`, pytest's capture) is left as it is.
    """
    global _listener
    root = logging.getLogger()
    if root.handlers:
        return
    root.setLevel(level)
    records: queue.SimpleQueue[logging.LogRecord] = queue.SimpleQueue()
    output = logging.StreamHandler()
    output.setFormatter(logging.Formatter(FORMAT))
    root.addHandler(QueueHandler(records))
    _listener = QueueListener(records, output, respect_handler_level=True)
    _listener.start()
    atexit.register(_listener.stop)  # writes what is still queued
