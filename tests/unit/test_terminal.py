"""The local terminal's line for each kind of record the handlers log."""

from __future__ import annotations

import logging
import sys
from typing import Any

import pytest

from newswire.local.terminal import event_line
from newswire.pipeline.changes import PublishAction


def record(message: str, level: int = logging.INFO, **extra: Any) -> logging.LogRecord:
    made = logging.LogRecord("newswire", level, __file__, 1, message, None, None)
    made.__dict__.update(extra)
    return made


@pytest.mark.parametrize(
    ("logged", "line"),
    [
        pytest.param(
            record(
                "article change applied", key="articles/a.md", action="hidden", feeds_written=[]
            ),
            "newswire: held back articles/a.md (a draft, or scheduled for later) -> 0 feeds",
            id="draft",
        ),
        pytest.param(
            record("article change applied", key="articles/a.md", action="stale", feeds_written=[]),
            None,
            id="stale-event-says-nothing",
        ),
        pytest.param(
            record(
                "article change applied",
                key="articles/a.md",
                action=PublishAction.REMOVED,
                feeds_written=["rss.xml", "atom.xml"],
            ),
            "newswire: deleted articles/a.md -> 2 feeds",
            id="removed",
        ),
        pytest.param(
            record(
                "article change applied",
                key="articles/a.md",
                action=PublishAction.WITHDRAWN,
                feeds_written=["rss.xml", "atom.xml", "feed.json"],
            ),
            "newswire: withdrawn articles/a.md -> 3 feeds",
            id="withdrawn",
        ),
        pytest.param(record("scheduled articles published", published=["a"]), None, id="info"),
        pytest.param(
            record("hub unreachable: http://hub/", logging.WARNING),
            "newswire: hub unreachable: http://hub/",
            id="warning",
        ),
    ],
)
def test_event_line(logged: logging.LogRecord, line: str | None) -> None:
    assert event_line(logged) == line


def test_a_failure_is_one_line_without_its_traceback() -> None:
    try:
        raise TimeoutError("moto took too long")
    except TimeoutError:
        failed = record("message failed, SQS will retry it", logging.ERROR, exc_info=None)
        failed.exc_info = sys.exc_info()
    assert event_line(failed) == (
        "newswire: message failed, SQS will retry it (TimeoutError: moto took too long)"
    )


def test_a_rejection_shows_every_problem_on_its_line(caplog: pytest.LogCaptureFixture) -> None:
    from newswire.errors import InvalidArticleError, Problem
    from newswire.handlers.observability import log_rejected, logger

    error = InvalidArticleError(
        "articles/a.md",
        "title",
        "missing",
        "a title of 1 to 300 characters",
        Problem("published", "'yesterday' is not a date", "an ISO 8601 date-time"),
    )
    with caplog.at_level(logging.WARNING, logger=logger.name):
        log_rejected(error)
    assert [event_line(r) for r in caplog.records] == [
        "newswire: rejected articles/a.md: title: missing, expected a title of 1 to 300"
        " characters; published: 'yesterday' is not a date, expected an ISO 8601 date-time"
    ]
