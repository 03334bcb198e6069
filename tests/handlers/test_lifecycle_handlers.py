"""A correction, a withdrawal, a deletion and an expiry, each through the Lambda handlers (S3
events by SQS to the publish handler, EventBridge's minute to the schedule handler) on moto,
to the main feed, its month's archive and the Atom tombstones."""

from __future__ import annotations

import copy
import json
from collections.abc import Callable, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

import feedparser
import pytest
from lxml import etree

from newswire.domain.feeds import FeedFormat
from newswire.handlers import publish, schedule
from newswire.pipeline.publisher import Publisher
from newswire.runtime import Settings
from tests.handlers.conftest import FakeLambdaContext
from tests.support.aws import Stack
from tests.support.factories import CONTENT, REPO

EVENTS = REPO / "tests" / "events"
AT = "{http://purl.org/atompub/tombstones/1.0}"
COUNCIL_KEY = "articles/council-delays-budget-vote.md"
COUNCIL = (CONTENT / "articles" / "council-delays-budget-vote.md").read_text(encoding="utf-8")
COUNCIL_ID = "https://englishnews.example/articles/council-delays-budget-vote/"
#: The council article as first written: its correction came later.
UNCORRECTED = COUNCIL[: COUNCIL.index("corrections:")] + COUNCIL[COUNCIL.index("---\n\n") :]
OTHER_KEY = "articles/council-publishes-budget.md"
OTHER = (
    '---\ntitle: "Council publishes its budget"\npublished: 2024-06-20T09:00:00Z\n'
    "tags: [politics]\n---\n\nThe figures are out.\n"
)
#: Every document of the main feed and of the council article's month.
FEEDS = [f"{folder}{fmt.filename}" for folder in ("", "archive/2024-06/") for fmt in FeedFormat]
NOW = datetime(2024, 6, 25, 12, 0, tzinfo=UTC)


class Clock:
    """The time every publisher the handlers make reads: moved by the test, not waited for."""

    def __init__(self, now: datetime) -> None:
        self.now = now

    def wire(self, monkeypatch: pytest.MonkeyPatch) -> None:
        for module in (publish, schedule):
            real = module.publisher_from_env

            def with_clock(
                settings: Settings | None = None,
                changed: Sequence[str] = (),
                real: Callable[..., Publisher] = real,
            ) -> Publisher:
                publisher = real(settings, changed)
                publisher.clock = lambda: self.now
                return publisher

            monkeypatch.setattr(module, "publisher_from_env", with_clock)


class Bucket:
    """The content bucket as a newsroom uses it: each write or delete is followed by the SQS
    message S3 sends for it (the repository's event files, with its key and sequencer)."""

    def __init__(self, stack: Stack) -> None:
        self.stack = stack
        self.sequencer = 0x00674D8B00000000  # after those of the repository's event files

    def event(self, key: str, *, removed: bool) -> dict[str, Any]:
        name = "sqs-s3-delete.json" if removed else "sqs-s3-put-batch.json"
        event: dict[str, Any] = json.loads((EVENTS / name).read_text(encoding="utf-8"))
        record = event["Records"][0]
        body = json.loads(record["body"])
        self.sequencer += 1
        body["Records"][0]["s3"]["object"] |= {"key": key, "sequencer": f"{self.sequencer:018X}"}
        record["body"] = json.dumps(body)
        event["Records"] = [record]
        return event

    def put(self, key: str, text: str) -> dict[str, Any]:
        self.stack.put_article(key, text.encode())
        return self.publish(self.event(key, removed=False))

    def delete(self, key: str) -> dict[str, Any]:
        self.stack.s3.delete_object(Bucket=self.stack.content_bucket, Key=key)
        return self.publish(self.event(key, removed=True))

    @staticmethod
    def publish(event: dict[str, Any]) -> dict[str, Any]:
        result: dict[str, Any] = publish.handler(copy.deepcopy(event), FakeLambdaContext())
        assert result == {"batchItemFailures": []}
        return result


def scheduled_minute() -> dict[str, Any]:
    event = json.loads((EVENTS / "eventbridge-scheduled.json").read_text(encoding="utf-8"))
    result: dict[str, Any] = schedule.handler(event, FakeLambdaContext())
    return result


def titles(stack: Stack, path: str) -> list[str]:
    body = stack.feed(path)
    if path.endswith(".json"):
        return [item["title"] for item in json.loads(body)["items"]]
    parsed = feedparser.parse(body)
    assert not parsed.bozo, parsed.bozo_exception
    return [entry.title for entry in parsed.entries]


def partner_feeds(stack: Stack) -> dict[str, bytes]:
    """Every partner feed ``site.yaml`` enables, by path."""
    listing = stack.s3.list_objects_v2(Bucket=stack.feeds_bucket, Prefix="partners/")["Contents"]
    assert len(listing) == 5
    return {item["Key"]: stack.feed(item["Key"]) for item in listing}


def tombstones(stack: Stack, path: str) -> list[tuple[str | None, str | None, str | None]]:
    return [
        (t.get("ref"), t.get("when"), t.findtext(f"{AT}comment"))
        for t in etree.fromstring(stack.feed(path)).iter(f"{AT}deleted-entry")
    ]


@pytest.fixture
def clock(monkeypatch: pytest.MonkeyPatch) -> Clock:
    clock = Clock(NOW)
    clock.wire(monkeypatch)
    monkeypatch.setattr(schedule, "site_watch", schedule.SiteWatch())
    return clock


@pytest.fixture
def bucket(lambda_stack: Stack, clock: Clock) -> Bucket:
    """The site with two articles of June 2024 published: the council's (uncorrected) and
    another."""
    lambda_stack.s3.put_object(
        Bucket=lambda_stack.content_bucket,
        Key="site.yaml",
        Body=(CONTENT / "site.yaml").read_bytes(),
    )
    bucket = Bucket(lambda_stack)
    bucket.put(OTHER_KEY, OTHER)
    bucket.put(COUNCIL_KEY, UNCORRECTED)
    for path in FEEDS:
        assert titles(lambda_stack, path) == [
            "Council publishes its budget",
            "Council delays budget vote by a week",
        ]
    for path, body in partner_feeds(lambda_stack).items():
        assert COUNCIL_ID.encode() in body, path
    return bucket


def test_a_correction_reaches_the_main_feed_and_the_archive(bucket: Bucket) -> None:
    bucket.put(COUNCIL_KEY, COUNCIL)  # content/'s version: with its correction

    for path in FEEDS:
        assert b"Correction (24 June 2024):" in bucket.stack.feed(path), path
    for path, body in partner_feeds(bucket.stack).items():
        assert b"Correction (24 June 2024):" in body, path
    for path in ("atom.xml", "archive/2024-06/atom.xml"):
        entry = feedparser.parse(bucket.stack.feed(path)).entries[1]
        assert entry.updated == "2024-06-24T08:30:00+00:00"  # 09:30 BST
    assert b"<lastmod>2024-06-24T08:30:00+00:00</lastmod>" in bucket.stack.feed(
        "sitemaps/2024-06.xml"
    )


def test_a_withdrawal_reaches_the_main_feed_the_archive_and_their_tombstones(
    bucket: Bucket,
) -> None:
    withdrawn = COUNCIL.replace(
        "corrections:",
        'updated: 2024-06-25T10:00:00+01:00\nwithdrawn: "Legal advice"\ncorrections:',
    )

    bucket.put(COUNCIL_KEY, withdrawn)

    for path in FEEDS:
        assert titles(bucket.stack, path) == ["Council publishes its budget"], path
    expected = [(COUNCIL_ID, "2024-06-25T09:00:00+00:00", "Legal advice")]
    assert tombstones(bucket.stack, "atom.xml") == expected
    assert tombstones(bucket.stack, "archive/2024-06/atom.xml") == expected
    assert COUNCIL_ID.encode() not in bucket.stack.feed("sitemaps/2024-06.xml")
    for path, body in partner_feeds(bucket.stack).items():
        assert COUNCIL_ID.encode() not in body, path


def test_a_deletion_reaches_the_main_feed_the_archive_and_their_tombstones(
    bucket: Bucket, clock: Clock
) -> None:
    clock.now = NOW + timedelta(minutes=5)

    bucket.delete(COUNCIL_KEY)

    for path in FEEDS:
        assert titles(bucket.stack, path) == ["Council publishes its budget"], path
    expected = [(COUNCIL_ID, "2024-06-25T12:05:00+00:00", None)]
    assert tombstones(bucket.stack, "atom.xml") == expected
    assert tombstones(bucket.stack, "archive/2024-06/atom.xml") == expected

    clock.now += timedelta(days=30)  # the schedule handler's minute, 30 days on
    assert scheduled_minute() == {"published": [], "rejected": []}
    assert tombstones(bucket.stack, "atom.xml") == []
    assert tombstones(bucket.stack, "archive/2024-06/atom.xml") == []


def test_an_expiry_reaches_the_main_feed_and_the_archive_by_the_schedule(
    bucket: Bucket, clock: Clock
) -> None:
    expires = NOW + timedelta(hours=6)
    bucket.put(
        COUNCIL_KEY,
        COUNCIL.replace("corrections:", f"expires: {expires.isoformat()}\ncorrections:"),
    )
    clock.now = expires - timedelta(minutes=1)
    assert scheduled_minute() == {"published": [], "rejected": []}
    assert len(titles(bucket.stack, "rss.xml")) == 2

    clock.now = expires
    assert scheduled_minute() == {"published": [], "rejected": [], "expired": [COUNCIL_KEY]}

    for path in FEEDS:
        assert titles(bucket.stack, path) == ["Council publishes its budget"], path
    assert tombstones(bucket.stack, "atom.xml") == []
    assert COUNCIL_ID.encode() not in bucket.stack.feed("sitemaps/2024-06.xml")
    for path, body in partner_feeds(bucket.stack).items():
        assert COUNCIL_ID.encode() not in body, path


def test_an_id_change_and_a_deletion_leave_tombstones_that_go_each_on_its_own_date(
    bucket: Bucket, clock: Clock
) -> None:
    """The council article gets an id of its own, then is deleted five days on: readers of
    either id are told, and the schedule handler takes each tombstone out 30 days after it."""
    new_id = "urn:englishnews:council-vote"
    bucket.put(COUNCIL_KEY, UNCORRECTED.replace("published:", f"id: {new_id}\npublished:"))
    clock.now = NOW + timedelta(days=5)
    bucket.delete(COUNCIL_KEY)

    changed = (COUNCIL_ID, "2024-06-25T12:00:00+00:00", None)
    deleted = (new_id, "2024-06-30T12:00:00+00:00", None)
    for path in ("atom.xml", "archive/2024-06/atom.xml"):
        assert tombstones(bucket.stack, path) == [deleted, changed], path

    clock.now = NOW + timedelta(days=30)
    assert scheduled_minute() == {"published": [], "rejected": []}
    for path in ("atom.xml", "archive/2024-06/atom.xml"):
        assert tombstones(bucket.stack, path) == [deleted], path

    clock.now = NOW + timedelta(days=35)
    assert scheduled_minute() == {"published": [], "rejected": []}
    for path in ("atom.xml", "archive/2024-06/atom.xml"):
        assert tombstones(bucket.stack, path) == [], path
