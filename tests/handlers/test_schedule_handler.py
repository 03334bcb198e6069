"""The schedule Lambda handler: scheduled articles enter the feeds when their time comes."""

from __future__ import annotations

import json
import logging
from collections.abc import Callable, Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path
from types import ModuleType

import feedparser
import pytest

from newswire.adapters.dynamodb import DynamoArticleIndex
from newswire.errors import TransientStorageError
from newswire.handlers import reindex, schedule
from newswire.pipeline.publisher import Publisher
from newswire.runtime import Settings
from tests.handlers.conftest import FakeLambdaContext, fail_put_once, run_reindex
from tests.support.aws import Stack
from tests.support.factories import CONTENT

EVENT = json.loads(
    (Path(__file__).parent.parent / "events" / "eventbridge-scheduled.json").read_text()
)


def titles(stack: Stack) -> list[str]:
    return [e.title for e in feedparser.parse(stack.feed("rss.xml")).entries]


class Clock:
    """The time every publisher the handlers make reads: moved by the test, not waited for."""

    def __init__(self, now: datetime) -> None:
        self.now = now

    def wire(self, monkeypatch: pytest.MonkeyPatch, *modules: ModuleType) -> None:
        for module in modules:
            real = module.publisher_from_env  # type: ignore[attr-defined]

            def with_clock(
                settings: Settings | None = None,
                changed: Sequence[str] = (),
                real: Callable[..., Publisher] = real,
            ) -> Publisher:
                publisher = real(settings, changed)
                publisher.clock = lambda: self.now
                return publisher

            monkeypatch.setattr(module, "publisher_from_env", with_clock)


@pytest.fixture(autouse=True)
def cold_start(monkeypatch: pytest.MonkeyPatch) -> None:
    """Each test runs as in a fresh execution environment (what a module remembers)."""
    monkeypatch.setattr(schedule, "site_watch", schedule.SiteWatch())


def test_a_scheduled_article_appears_when_due_without_anyone_touching_it(
    lambda_stack: Stack, monkeypatch: pytest.MonkeyPatch
) -> None:
    stack = lambda_stack
    stack.s3.put_object(
        Bucket=stack.content_bucket, Key="site.yaml", Body=(CONTENT / "site.yaml").read_bytes()
    )
    due = datetime(2031, 1, 1, 12, 0, tzinfo=UTC)
    clock = Clock(due - timedelta(minutes=1))
    clock.wire(monkeypatch, reindex, schedule)
    stack.put_article(
        "articles/soon.md",
        f"---\ntitle: Soon\npublished: {due.isoformat()}\n---\n\nComing up.\n".encode(),
    )
    stack.put_article("articles/now.md", b"---\ntitle: Now\npublished: 2026-01-01\n---\n\nHere.\n")
    run_reindex(stack)
    assert titles(stack) == ["Now"]
    assert schedule.handler(EVENT, FakeLambdaContext()) == {"published": [], "rejected": []}

    clock.now = due  # the next minute's run
    result = schedule.handler(EVENT, FakeLambdaContext())
    assert result == {"published": ["articles/soon.md"], "rejected": []}
    assert titles(stack) == ["Soon", "Now"]
    # the minute after finds nothing left to do: published exactly once
    clock.now = due + timedelta(minutes=1)
    assert schedule.handler(EVENT, FakeLambdaContext())["published"] == []


def test_a_run_whose_feeds_could_not_be_written_is_finished_by_the_next(
    lambda_stack: Stack, monkeypatch: pytest.MonkeyPatch
) -> None:
    stack = lambda_stack
    stack.s3.put_object(
        Bucket=stack.content_bucket, Key="site.yaml", Body=(CONTENT / "site.yaml").read_bytes()
    )
    due = datetime(2031, 1, 1, 12, 0, tzinfo=UTC)
    clock = Clock(due)
    clock.wire(monkeypatch, schedule)
    stack.put_article(
        "articles/soon.md",
        f"---\ntitle: Soon\npublished: {due.isoformat()}\n---\n\nComing up.\n".encode(),
    )
    run_reindex(stack)
    failed = fail_put_once(stack, key="rss.xml")

    with pytest.raises(TransientStorageError):  # the index says published, the feed does not
        schedule.handler(EVENT, FakeLambdaContext())
    assert failed == ["rss.xml"]
    assert "Soon" not in titles(stack)

    clock.now = due + timedelta(minutes=1)  # the next minute's run writes what was left
    assert schedule.handler(EVENT, FakeLambdaContext()) == {"published": [], "rejected": []}
    assert titles(stack) == ["Soon"]
    index = DynamoArticleIndex(stack.dynamodb, stack.table)
    assert index.due(due + timedelta(days=1), 10) == []  # and is done with it


def test_before_site_yaml_the_schedule_does_nothing_and_says_so_in_one_line(
    lambda_stack: Stack, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.INFO, logger="newswire"):
        result = schedule.handler(EVENT, FakeLambdaContext())

    assert result == {"published": [], "rejected": []}
    (said,) = caplog.records
    assert said.levelno == logging.INFO
    assert "no site configuration" in said.getMessage()
    assert said.error.startswith("site.yaml: file: not found")  # type: ignore[attr-defined]


def test_a_missing_site_yaml_is_said_once_per_cold_start_and_again_only_if_it_vanishes(
    lambda_stack: Stack, caplog: pytest.LogCaptureFixture
) -> None:
    # runs every minute: a line each time would be 1,440 a day
    def said() -> int:
        return sum("no site configuration" in r.getMessage() for r in caplog.records)

    with caplog.at_level(logging.INFO, logger="newswire"):
        for _ in range(3):
            assert schedule.handler(EVENT, FakeLambdaContext()) == {"published": [], "rejected": []}
        assert said() == 1

        site_yaml = (CONTENT / "site.yaml").read_bytes()
        stack = lambda_stack
        stack.s3.put_object(Bucket=stack.content_bucket, Key="site.yaml", Body=site_yaml)
        schedule.handler(EVENT, FakeLambdaContext())
        stack.s3.delete_object(Bucket=stack.content_bucket, Key="site.yaml")
        schedule.handler(EVENT, FakeLambdaContext())
        schedule.handler(EVENT, FakeLambdaContext())

    assert said() == 2
