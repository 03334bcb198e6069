"""The schedule Lambda handler: scheduled articles enter the feeds when their time comes."""

from __future__ import annotations

import json
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import feedparser

from newswire.handlers import reindex, schedule
from tests.handlers.conftest import FakeLambdaContext
from tests.support.aws import Stack
from tests.support.factories import CONTENT

EVENT = json.loads(
    (Path(__file__).parent.parent / "events" / "eventbridge-scheduled.json").read_text()
)


def titles(stack: Stack) -> list[str]:
    return [e.title for e in feedparser.parse(stack.feed("rss.xml")).entries]


def test_a_scheduled_article_appears_when_due_without_anyone_touching_it(
    lambda_stack: Stack,
) -> None:
    stack = lambda_stack
    stack.s3.put_object(
        Bucket=stack.content_bucket, Key="site.yaml", Body=(CONTENT / "site.yaml").read_bytes()
    )
    due = datetime.now(UTC) + timedelta(seconds=2)
    stack.put_article(
        "articles/soon.md",
        f"---\ntitle: Soon\npublished: {due.isoformat()}\n---\n\nComing up.\n".encode(),
    )
    stack.put_article("articles/now.md", b"---\ntitle: Now\npublished: 2026-01-01\n---\n\nHere.\n")
    reindex.handler({}, FakeLambdaContext())
    assert titles(stack) == ["Now"]
    assert schedule.handler(EVENT, FakeLambdaContext()) == {"published": [], "rejected": []}

    time.sleep(max(0.0, (due - datetime.now(UTC)).total_seconds()) + 0.2)
    result = schedule.handler(EVENT, FakeLambdaContext())
    assert result == {"published": ["articles/soon.md"], "rejected": []}
    assert titles(stack) == ["Soon", "Now"]
    # the next minute's run finds nothing left to do: published exactly once
    assert schedule.handler(EVENT, FakeLambdaContext())["published"] == []
