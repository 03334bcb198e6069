"""The terminal of ``newswire serve``: one readable line per event, where Lambda logs JSON.

In Lambda the handlers log structured JSON for CloudWatch Logs and flush their metrics as EMF
JSON after every invocation (:mod:`newswire.handlers.observability`). On a terminal that is
noise: a metrics line every five seconds from the idle scheduler, and a publish that shows only
JSON. While the local stack runs, :func:`terminal_output` takes the Powertools logger's JSON
handler off and prints each event the handlers log as one line instead
(``published <key> -> N feeds``, ``rejected <key>: <reasons>``, ``deleted <key> -> N feeds``);
the handlers themselves are the ones Lambda runs, unchanged.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Callable, Iterator
from contextlib import contextmanager

from newswire.handlers.observability import logger, metrics
from newswire.pipeline.changes import PublishAction

#: Powertools' switch that stops the metrics flush from printing EMF JSON.
METRICS_DISABLED_ENV = "POWERTOOLS_METRICS_DISABLED"
#: Outcomes the terminal leaves out: nothing changed for the writer.
_SILENT_ACTIONS = frozenset({PublishAction.STALE, PublishAction.REDELIVERED})


def event_line(record: logging.LogRecord) -> str | None:
    """The terminal's line for one of the handlers' log records, or ``None`` to print nothing.

    Reads the fields the handlers log (``key``, ``action``, ``feeds_written``; the
    ``problems`` of a rejection), so the line says what the JSON would.
    """
    key = getattr(record, "key", None)
    problems = getattr(record, "problems", None)
    if key and problems:  # every problem, so the writer fixes them all in one go
        return f"newswire: rejected {key}: {'; '.join(problems)}"
    action = getattr(record, "action", None)
    if key and action and record.levelno == logging.INFO:
        feeds = len(getattr(record, "feeds_written", ()) or ())
        if action == PublishAction.PUBLISHED:
            return f"newswire: published {key} -> {feeds} feeds"
        if action == PublishAction.REMOVED:
            return f"newswire: deleted {key} -> {feeds} feeds"
        if action in (PublishAction.WITHDRAWN, PublishAction.EXPIRED):
            return f"newswire: {action} {key} -> {feeds} feeds"
        if action == PublishAction.HIDDEN:
            return f"newswire: held back {key} (a draft, or scheduled for later) -> {feeds} feeds"
        if action not in _SILENT_ACTIONS:
            return f"newswire: {action} {key}"
        return None
    if record.levelno < logging.WARNING:
        return None  # summaries the stack prints itself, and Lambda-only detail
    message = record.getMessage()
    if record.exc_info and record.exc_info[1] is not None:
        error = record.exc_info[1]
        message = f"{message} ({type(error).__name__}: {error})"
    return f"newswire: {message}"


class EventPrinter(logging.Handler):
    """Prints :func:`event_line` of every record it gets, through ``say``."""

    def __init__(self, say: Callable[[str], None]) -> None:
        super().__init__(logging.DEBUG)
        self._say = say

    def emit(self, record: logging.LogRecord) -> None:
        line = event_line(record)
        if line is not None:
            self._say(line)


@contextmanager
def terminal_output(say: Callable[[str], None]) -> Iterator[None]:
    """Within the block, the handlers' logs reach ``say`` as event lines and metrics go nowhere.

    The environment variable must stay set while handlers run: Powertools reads it at each
    flush. :func:`discard_metrics` after each local invocation keeps the unflushed values from
    piling up (Powertools prints them anyway once a metric holds 100).
    """
    json_handler = logger.registered_handler
    target = logging.getLogger(logger.service)  # the stdlib logger Powertools writes through
    printer = EventPrinter(say)
    previous = os.environ.get(METRICS_DISABLED_ENV)
    os.environ[METRICS_DISABLED_ENV] = "true"
    target.removeHandler(json_handler)
    target.addHandler(printer)
    try:
        yield
    finally:
        target.removeHandler(printer)
        target.addHandler(json_handler)
        if previous is None:
            os.environ.pop(METRICS_DISABLED_ENV, None)
        else:
            os.environ[METRICS_DISABLED_ENV] = previous


def discard_metrics() -> None:
    """Drop the metrics an invocation added: locally there is no CloudWatch to send them to."""
    metrics.clear_metrics()
