"""Corrections, withdrawal and expiry through the pipeline on moto: S3, the DynamoDB index."""

from __future__ import annotations

import json
import threading
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import boto3
import feedparser
import pytest
from lxml import etree

from newswire.adapters.s3 import S3FeedStore
from newswire.domain.feeds import FeedFormat
from newswire.domain.model import Tombstone
from newswire.pipeline.changes import ArticleChange, PublishAction
from newswire.pipeline.ports import ArticleStatus
from tests.support.aws import Stack
from tests.support.feedcheck import assert_valid
from tests.support.sequencing import Sequencer

NOW = datetime(2026, 3, 10, 12, 0, tzinfo=UTC)
AT = "{http://purl.org/atompub/tombstones/1.0}"
#: Every document an article of March 2026, tagged world, is in.
ITS_FEEDS = [
    folder + fmt.filename
    for folder in ("", "tags/world/", "authors/english-news-desk/", "archive/2026-03/")
    for fmt in FeedFormat
]


def article(title: str, published: str = "2026-03-02T09:00:00Z", extra: str = "") -> bytes:
    front = f'title: "{title}"\npublished: {published}\ntags: [world]\n{extra}'
    return f"---\n{front}---\n\nBody.\n".encode()


def publish(
    stack: Stack, seq: Callable[[], str], key: str, body: bytes | None, now: datetime = NOW
) -> Any:
    """Write (or delete, when ``body`` is None) an article and publish the change."""
    if body is None:
        stack.s3.delete_object(Bucket=stack.content_bucket, Key=key)
    else:
        stack.put_article(key, body)
    return stack.publisher(clock=lambda: now).publish(ArticleChange(key, body is None, seq()))


def titles(stack: Stack, path: str) -> list[str]:
    parsed = feedparser.parse(stack.feed(path))
    assert not parsed.bozo, parsed.bozo_exception
    return [entry.title for entry in parsed.entries]


def tombstones(stack: Stack, path: str) -> list[tuple[str | None, str | None, str | None]]:
    root = etree.fromstring(stack.feed(path))
    return [
        (t.get("ref"), t.get("when"), t.findtext(f"{AT}comment"))
        for t in root.iter(f"{AT}deleted-entry")
    ]


def shown_anywhere(stack: Stack, text: bytes) -> list[str]:
    listing = stack.s3.list_objects_v2(Bucket=stack.feeds_bucket)["Contents"]
    return [o["Key"] for o in listing if text in stack.feed(o["Key"])]


URL = "https://englishnews.example/articles/story/"


@pytest.fixture
def live(stack: Stack, seq: Sequencer) -> Stack:
    """A month with two live articles: ``story`` and ``other``."""
    publish(stack, seq, "articles/other.md", article("Other", "2026-03-01T09:00:00Z"))
    publish(stack, seq, "articles/story.md", article("Story"))
    assert titles(stack, "rss.xml") == ["Story", "Other"]
    return stack


def test_a_correction_reaches_every_feed(live: Stack, seq: Sequencer) -> None:
    corrected = article(
        "Story", extra="corrections: [{date: 2026-03-03T10:00:00Z, text: The vote is on Friday.}]\n"
    )

    publish(live, seq, "articles/story.md", corrected)

    for path in ITS_FEEDS:
        assert b"Correction (3 March 2026):" in live.feed(path), path
    atom = feedparser.parse(live.feed("atom.xml"))
    assert atom.entries[0].updated == "2026-03-03T10:00:00+00:00"


def test_a_withdrawal_takes_it_out_and_leaves_a_tombstone(live: Stack, seq: Sequencer) -> None:
    withdrawn = article(
        "Story", extra='updated: 2026-03-09T08:00:00Z\nwithdrawn: "Legal reasons"\n'
    )

    outcome = publish(live, seq, "articles/story.md", withdrawn)

    assert outcome.action is PublishAction.WITHDRAWN
    for path in ITS_FEEDS:
        assert b"Other" in live.feed(path), path
    assert shown_anywhere(live, b"Story") == []  # its title: in no feed, sitemap or JSON
    assert URL.encode() not in live.feed("sitemaps/2026-03.xml")
    expected = [(URL, "2026-03-09T08:00:00+00:00", "Legal reasons")]
    assert tombstones(live, "atom.xml") == expected
    assert tombstones(live, "archive/2026-03/atom.xml") == expected
    assert tombstones(live, "tags/world/atom.xml") == []
    for path in ("atom.xml", "archive/2026-03/atom.xml"):
        assert_valid(live.feed(path), FeedFormat.ATOM)


def test_deleting_a_live_file_leaves_a_tombstone_dated_by_the_deletion(
    live: Stack, seq: Sequencer
) -> None:
    deleted_at = NOW + timedelta(hours=2)

    outcome = publish(live, seq, "articles/story.md", None, now=deleted_at)

    assert outcome.action is PublishAction.REMOVED
    assert titles(live, "atom.xml") == ["Other"]
    assert tombstones(live, "atom.xml") == [(URL, "2026-03-10T14:00:00+00:00", None)]
    assert tombstones(live, "archive/2026-03/atom.xml") == tombstones(live, "atom.xml")


def test_deleting_a_withdrawn_file_keeps_its_tombstone(live: Stack, seq: Sequencer) -> None:
    publish(live, seq, "articles/story.md", article("Story", extra="withdrawn: Wrong\n"))
    before = live.feed("atom.xml")

    publish(live, seq, "articles/story.md", None, now=NOW + timedelta(days=1))

    assert live.feed("atom.xml") == before
    assert tombstones(live, "atom.xml") == [(URL, "2026-03-02T09:00:00+00:00", "Wrong")]


def test_an_article_brought_back_takes_its_tombstone_away(live: Stack, seq: Sequencer) -> None:
    publish(live, seq, "articles/story.md", article("Story", extra="withdrawn: Wrong\n"))
    publish(live, seq, "articles/story.md", article("Story, again"))
    assert titles(live, "atom.xml") == ["Story, again", "Other"]
    assert tombstones(live, "atom.xml") == []

    publish(live, seq, "articles/story.md", None)
    publish(live, seq, "articles/story.md", article("Story, undeleted"))
    assert tombstones(live, "atom.xml") == []
    assert live.publisher().index.tombstones() == []


def test_a_rename_that_keeps_its_id_leaves_no_tombstone(stack: Stack, seq: Sequencer) -> None:
    publish(stack, seq, "articles/old-name.md", article("Story", extra="id: urn:story:1\n"))

    publish(stack, seq, "articles/old-name.md", None)
    assert [ref for ref, _w, _c in tombstones(stack, "atom.xml")] == ["urn:story:1"]
    publish(stack, seq, "articles/new-name.md", article("Story", extra="id: urn:story:1\n"))

    assert titles(stack, "atom.xml") == ["Story"]
    assert tombstones(stack, "atom.xml") == []


def test_tombstones_leave_after_thirty_days_by_the_schedule(live: Stack, seq: Sequencer) -> None:
    publish(live, seq, "articles/story.md", None)
    month = "archive/2026-03/atom.xml"
    assert len(tombstones(live, "atom.xml")) == len(tombstones(live, month)) == 1

    day_before = live.publisher(clock=lambda: NOW + timedelta(days=29, hours=23))
    day_before.publish_due()
    assert len(tombstones(live, "atom.xml")) == 1
    publisher = live.publisher(clock=lambda: NOW + timedelta(days=30))
    publisher.publish_due()

    assert tombstones(live, "atom.xml") == tombstones(live, month) == []
    assert b"xmlns:at" not in live.feed("atom.xml")
    assert publisher.index.tombstones() == []


def test_the_index_keeps_a_tombstone_a_withdrawal_replaced(live: Stack, seq: Sequencer) -> None:
    """An expired tombstone is forgotten only if it is still the one listed."""
    publish(live, seq, "articles/story.md", article("Story", extra="withdrawn: First\n"))
    index = live.publisher().index
    (first,) = index.tombstones()
    publish(live, seq, "articles/story.md", article("Story", extra="withdrawn: Second\n"))

    index.forget_tombstone(first)

    assert [t.comment for t in index.tombstones()] == ["Second"]
    assert index.state("articles/story.md").status is ArticleStatus.WITHDRAWN  # type: ignore[union-attr]


def test_an_article_expires_by_itself_through_the_schedule(live: Stack, seq: Sequencer) -> None:
    expires = datetime(2026, 3, 11, 6, 0, tzinfo=UTC)
    publish(
        live, seq, "articles/story.md", article("Story", extra=f"expires: {expires.isoformat()}\n")
    )
    early = live.publisher(clock=lambda: expires - timedelta(seconds=1))
    assert early.publish_due() == []
    assert titles(live, "rss.xml") == ["Story", "Other"]

    publisher = live.publisher(clock=lambda: expires)
    outcomes = publisher.publish_due()

    assert [(o.key, o.action) for o in outcomes] == [("articles/story.md", PublishAction.EXPIRED)]
    assert shown_anywhere(live, b"Story") == []
    assert URL.encode() not in live.feed("sitemaps/2026-03.xml")
    assert tombstones(live, "atom.xml") == []  # an expiry is no withdrawal
    assert publisher.publish_due() == []  # exactly once
    assert publisher.index.due(expires + timedelta(days=1), 10) == []


def test_an_article_whose_file_turned_invalid_still_expires(live: Stack, seq: Sequencer) -> None:
    """The last good version stays published after an invalid edit; it expires all the same,
    once, and the file's problem is still reported."""
    expires = datetime(2026, 3, 11, 6, 0, tzinfo=UTC)
    publish(
        live, seq, "articles/story.md", article("Story", extra=f"expires: {expires.isoformat()}\n")
    )
    rejected = publish(live, seq, "articles/story.md", b"---\ntitle: [\n---\nBody.\n")
    assert rejected.action is PublishAction.REJECTED
    assert titles(live, "rss.xml") == ["Story", "Other"]

    publisher = live.publisher(clock=lambda: expires + timedelta(minutes=1))
    outcomes = publisher.publish_due()

    assert [(o.key, o.action) for o in outcomes] == [("articles/story.md", PublishAction.REJECTED)]
    assert shown_anywhere(live, b"Story") == []
    assert publisher.index.state("articles/story.md").status is ArticleStatus.EXPIRED  # type: ignore[union-attr]
    assert publisher.publish_due() == []
    assert publisher.index.due(expires + timedelta(days=1), 10) == []


def test_an_expiry_moved_by_an_edit_fires_at_the_new_time(live: Stack, seq: Sequencer) -> None:
    publish(
        live, seq, "articles/story.md", article("Story", extra="expires: 2026-03-11T06:00:00Z\n")
    )
    publish(
        live, seq, "articles/story.md", article("Story", extra="expires: 2026-03-12T06:00:00Z\n")
    )

    assert live.publisher(clock=lambda: datetime(2026, 3, 11, 7, tzinfo=UTC)).publish_due() == []
    assert titles(live, "rss.xml") == ["Story", "Other"]
    later = live.publisher(clock=lambda: datetime(2026, 3, 12, 6, tzinfo=UTC)).publish_due()
    assert [o.action for o in later] == [PublishAction.EXPIRED]


def test_an_article_already_expired_is_never_shown(stack: Stack, seq: Sequencer) -> None:
    outcome = publish(
        stack, seq, "articles/story.md", article("Story", extra="expires: 2026-03-03T00:00:00Z\n")
    )

    assert outcome.action is PublishAction.EXPIRED
    assert titles(stack, "rss.xml") == []


def test_tombstones_cost_a_query_per_render_of_the_feeds(live: Stack, seq: Sequencer) -> None:
    """One to render the main feed and its archive, one to check after writing them that
    the index did not move (as their listings are checked)."""
    queries: list[str] = []
    live.dynamodb.meta.events.register(
        "before-parameter-build.dynamodb.Query",
        lambda params, **_: queries.append(json.dumps(params["ExpressionAttributeValues"])),
    )

    publish(live, seq, "articles/story.md", article("Story, edited"))

    assert sum('"tombstones"' in q for q in queries) == 2


def test_a_tombstone_round_trips_through_the_state(live: Stack, seq: Sequencer) -> None:
    publish(live, seq, "articles/story.md", article("Story", extra='withdrawn: "A & B"\n'))

    state = live.publisher().index.state("articles/story.md")

    assert state is not None
    assert state.tombstones == {
        Tombstone(
            URL, datetime(2026, 3, 2, 9, tzinfo=UTC), "A & B", datetime(2026, 3, 2, 9, tzinfo=UTC)
        )
    }


def test_a_tombstone_change_whose_writer_found_nothing_to_write_is_not_lost(
    live: Stack, seq: Sequencer
) -> None:
    """A slow publisher renders a withdrawal's new reason and stalls before writing; the
    reason is then changed back, and that change's publisher finds the feeds as they should
    be: nothing to write. No membership moved (a withdrawn article is in no feed), so the
    slow publisher must see from the tombstones listed again that the index moved."""
    first = article("Story", extra="withdrawn: First\n")
    publish(live, seq, "articles/story.md", first)
    live.put_article("articles/story.md", article("Story", extra="withdrawn: Second\n"))
    slow_client = boto3.client("s3", region_name="us-east-1")
    stalled, resume = threading.Event(), threading.Event()

    def stall_writes(**_: Any) -> None:
        stalled.set()
        resume.wait(10)

    slow_client.meta.events.register("before-call.s3.PutObject", stall_writes)
    slow = live.publisher(clock=lambda: NOW)
    slow.feeds = S3FeedStore(slow_client, live.feeds_bucket)
    change = ArticleChange("articles/story.md", False, seq())
    thread = threading.Thread(target=lambda: slow.publish(change))
    thread.start()
    assert stalled.wait(10)  # indexed, its feeds rendered, not written yet
    try:
        publish(live, seq, "articles/story.md", first)
    finally:
        resume.set()
        thread.join(10)

    assert not thread.is_alive()
    for path in ("atom.xml", "archive/2026-03/atom.xml"):
        assert [c for _r, _w, c in tombstones(live, path)] == ["First"], path


def test_a_withdrawn_article_scheduled_for_later_leaves_its_tombstone_when_due(
    live: Stack, seq: Sequencer
) -> None:
    due = datetime(2026, 3, 20, 9, 0, tzinfo=UTC)
    later = article("Later", due.isoformat(), extra="withdrawn: Cancelled\n")
    assert publish(live, seq, "articles/later.md", later).action is PublishAction.HIDDEN
    assert tombstones(live, "atom.xml") == []

    outcomes = live.publisher(clock=lambda: due).publish_due()

    assert [o.action for o in outcomes] == [PublishAction.WITHDRAWN]
    later_url = "https://englishnews.example/articles/later/"
    assert tombstones(live, "atom.xml") == [(later_url, "2026-03-20T09:00:00+00:00", "Cancelled")]
    assert b"Later" not in live.feed("rss.xml")


# --- a withdrawal always leaves a tombstone; a tombstone stays its article's --------------------

OLD = "2026-01-05T09:00:00Z"  # over 30 days before NOW
OLD_URL = "https://englishnews.example/articles/old/"


def test_an_undated_withdrawal_of_an_old_article_is_dated_when_first_seen(
    live: Stack, seq: Sequencer
) -> None:
    """Its ``updated`` is its publication, 64 days back: dated by it, its tombstone would be
    over before it was written. The index remembers when it first saw the withdrawal, so a
    later edit and a reindex keep that date."""
    publish(live, seq, "articles/old.md", article("Old", OLD))

    publish(live, seq, "articles/old.md", article("Old", OLD, extra="withdrawn: Wrong\n"))
    expected = [(OLD_URL, "2026-03-10T12:00:00+00:00", "Wrong")]
    assert tombstones(live, "atom.xml") == tombstones(live, "archive/2026-01/atom.xml") == expected

    edited = article("Old, edited", OLD, extra="withdrawn: Wrong\n")
    publish(live, seq, "articles/old.md", edited, now=NOW + timedelta(days=3))
    live.publisher(clock=lambda: NOW + timedelta(days=4)).reindex()
    assert tombstones(live, "atom.xml") == expected

    live.publisher(clock=lambda: NOW + timedelta(days=30)).publish_due()
    assert tombstones(live, "atom.xml") == []


def test_a_dated_withdrawal_is_dated_as_its_file_says(live: Stack, seq: Sequencer) -> None:
    publish(live, seq, "articles/old.md", article("Old", OLD))
    dated = "withdrawn: {reason: Wrong, date: 2026-03-09T18:00:00Z}\n"

    publish(live, seq, "articles/old.md", article("Old", OLD, extra=dated))

    assert tombstones(live, "atom.xml") == [(OLD_URL, "2026-03-09T18:00:00+00:00", "Wrong")]


def test_a_tombstone_another_file_took_over_is_not_deleted(stack: Stack, seq: Sequencer) -> None:
    """a.md leaves a tombstone of urn:x:1 when deleted; b.md then takes that id and is
    withdrawn, its own tombstone in the same item, and is deleted (the id is free again).
    a.md comes back as a draft under that id, which takes back the tombstone of its own
    deletion: it must leave b.md's."""
    transactions: list[dict[str, Any]] = []
    stack.dynamodb.meta.events.register(
        "before-parameter-build.dynamodb.TransactWriteItems",
        lambda params, **_: transactions.append(params),
    )
    publish(stack, seq, "articles/a.md", article("A", extra="id: urn:x:1\n"))
    publish(stack, seq, "articles/a.md", None)
    taken = article("B", extra='id: urn:x:1\nwithdrawn: "B was wrong"\n')
    publish(stack, seq, "articles/b.md", taken, now=NOW + timedelta(hours=1))
    b_tombstone = [("urn:x:1", "2026-03-02T09:00:00+00:00", "B was wrong")]
    assert tombstones(stack, "atom.xml") == b_tombstone
    publish(stack, seq, "articles/b.md", None, now=NOW + timedelta(hours=2))
    transactions.clear()

    draft = article("A again", extra="id: urn:x:1\ndraft: true\n")
    outcome = publish(stack, seq, "articles/a.md", draft, now=NOW + timedelta(hours=3))

    assert outcome.action is PublishAction.HIDDEN
    assert tombstones(stack, "atom.xml") == b_tombstone
    assert [t.comment for t in stack.publisher().index.tombstones()] == ["B was wrong"]
    # what AWS is asked: the delete is conditioned on the item still being a.md's
    deletes = [
        item["Delete"]
        for params in transactions
        for item in params["TransactItems"]
        if item.get("Delete", {}).get("Key", {}).get("sk") == {"S": "urn:x:1"}
    ]
    assert deletes, "a.md's old tombstone was never asked to go"
    assert deletes[0]["ConditionExpression"] == "attribute_not_exists(pk) OR #k = :key"
    assert deletes[0]["ExpressionAttributeValues"] == {":key": {"S": "articles/a.md"}}


def test_an_id_change_leaves_a_tombstone_of_the_old_id(stack: Stack, seq: Sequencer) -> None:
    publish(stack, seq, "articles/story.md", article("Story", extra="id: urn:story:1\n"))

    publish(stack, seq, "articles/story.md", article("Story", extra="id: urn:story:2\n"))

    atom = feedparser.parse(stack.feed("atom.xml"))
    assert [entry.id for entry in atom.entries] == ["urn:story:2"]
    old_id = [("urn:story:1", "2026-03-10T12:00:00+00:00", None)]
    assert tombstones(stack, "atom.xml") == old_id
    assert tombstones(stack, "archive/2026-03/atom.xml") == old_id
    for path in ("atom.xml", "archive/2026-03/atom.xml"):
        assert_valid(stack.feed(path), FeedFormat.ATOM)

    edit = article("Story, edited", extra="id: urn:story:2\n")
    publish(stack, seq, "articles/story.md", edit, now=NOW + timedelta(days=1))
    assert tombstones(stack, "atom.xml") == old_id  # kept by later changes
    stack.publisher(clock=lambda: NOW + timedelta(days=30)).publish_due()
    assert tombstones(stack, "atom.xml") == []


def test_an_id_changed_back_takes_its_tombstone_away(stack: Stack, seq: Sequencer) -> None:
    publish(stack, seq, "articles/story.md", article("Story", extra="id: urn:story:1\n"))
    publish(stack, seq, "articles/story.md", article("Story", extra="id: urn:story:2\n"))

    publish(stack, seq, "articles/story.md", article("Story", extra="id: urn:story:1\n"))

    assert tombstones(stack, "atom.xml") == [("urn:story:2", "2026-03-10T12:00:00+00:00", None)]
    assert [t.ref for t in stack.publisher().index.tombstones()] == ["urn:story:2"]


# --- review of lifecycle2: what the tombstones must keep ------------------------------------

KEY = "articles/story.md"


def refs(stack: Stack, path: str = "atom.xml") -> set[str | None]:
    return {ref for ref, _when, _comment in tombstones(stack, path)}


def test_an_invalid_file_put_back_at_a_deleted_key_keeps_the_deletions_tombstone(
    stack: Stack, seq: Sequencer
) -> None:
    """The article was deleted; a broken copy of it comes back (rejected, in no feed). Its
    readers were told to drop it for 30 days: a rejected upload must not take that back."""
    publish(stack, seq, KEY, article("Story", extra="id: urn:story:1\n"))
    publish(stack, seq, KEY, None)
    assert refs(stack) == {"urn:story:1"}

    outcome = publish(stack, seq, KEY, article("Story", extra="id: urn:story:1\ntitel: x\n"))

    assert outcome.action is PublishAction.REJECTED
    assert refs(stack) == {"urn:story:1"}
