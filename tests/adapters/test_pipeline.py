"""The publish pipeline against moto: S3 content and feeds, the DynamoDB index."""

from __future__ import annotations

import json
import threading
from collections import Counter
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import quote_plus

import feedparser
import pytest
from aws_lambda_powertools.utilities.data_classes import S3Event
from botocore.exceptions import ClientError
from lxml import etree

from newswire.adapters.dynamodb_layout import MONTHS_PK
from newswire.adapters.websub import WebSubNotifier
from newswire.content.articles import MAX_KEY_BYTES
from newswire.domain.feeds import FeedFormat, is_feed_path
from newswire.domain.partners import Partner
from newswire.errors import TransientStorageError
from newswire.pipeline.changes import ArticleChange, PublishAction, normalise_sequencer
from newswire.pipeline.events import changes_from_s3_event
from newswire.pipeline.outcomes import PublishOutcome
from newswire.rendering import sitemap
from tests.support.aws import Stack
from tests.support.feedcheck import assert_valid, check_sitemap
from tests.support.hub import Hub
from tests.support.sequencing import Sequencer

NOW = datetime(2026, 11, 26, 12, 0, tzinfo=UTC)


def article(
    title: str, *, tags: str = "[world]", published: str = "2026-01-01T10:00:00Z", extra: str = ""
) -> bytes:
    return (
        f'---\ntitle: "{title}"\npublished: {published}\ntags: {tags}\n{extra}---\n\n'
        f"Body of {title}.\n"
    ).encode()


def publish(
    stack: Stack, seq: Callable[[], str], key: str, body: bytes | None, **kwargs: Any
) -> Any:
    """Write (or delete, when ``body`` is None) an article and publish the change."""
    if body is None:
        stack.s3.delete_object(Bucket=stack.content_bucket, Key=key)
    else:
        stack.put_article(key, body)
    publisher = stack.publisher(clock=lambda: NOW, **kwargs)
    return publisher.publish(ArticleChange(key, body is None, seq()))


def titles(stack: Stack, path: str = "rss.xml") -> list[str]:
    parsed = feedparser.parse(stack.feed(path))
    assert not parsed.bozo, parsed.bozo_exception
    return [entry.title for entry in parsed.entries]


def rss_items(feed: bytes) -> dict[str, bytes]:
    """Each ``<item>`` of an RSS feed, as written, by its guid."""
    return {
        item.findtext("guid"): etree.tostring(item) for item in etree.fromstring(feed).iter("item")
    }


def heads(stack: Stack) -> dict[str, tuple[str, datetime]]:
    listing = stack.s3.list_objects_v2(Bucket=stack.feeds_bucket).get("Contents", [])
    return {o["Key"]: (o["ETag"], o["LastModified"]) for o in listing}


def without_atom(found: dict[str, Any]) -> dict[str, Any]:
    return {path: head for path, head in found.items() if not path.endswith("atom.xml")}


def test_publish_writes_every_format_served_right(stack: Stack, seq: Sequencer) -> None:
    outcome = publish(
        stack, seq, "articles/first.md", article("First", tags="[World, Café Society]")
    )
    assert outcome.action is PublishAction.PUBLISHED
    for fmt in FeedFormat:
        for folder in ("", "tags/world/", "tags/cafe-society/", "authors/english-news-desk/"):
            path = folder + fmt.filename
            head = stack.s3.head_object(Bucket=stack.feeds_bucket, Key=path)
            assert head["ContentType"] == fmt.content_type
            assert "max-age" in head["CacheControl"]
            assert_valid(stack.feed(path), fmt)
    assert titles(stack, "tags/cafe-society/rss.xml") == ["First"]


def test_newest_first_and_edits_replace_the_entry(stack: Stack, seq: Sequencer) -> None:
    publish(stack, seq, "articles/a.md", article("A", published="2026-01-01T10:00:00Z"))
    publish(stack, seq, "articles/b.md", article("B", published="2026-01-02T10:00:00Z"))
    publish(stack, seq, "articles/a.md", article("A, edited", published="2026-01-03T10:00:00Z"))
    assert titles(stack) == ["A, edited", "B"]


def test_redelivered_event_changes_nothing(stack: Stack, seq: Sequencer) -> None:
    stack.put_article("articles/a.md", article("A"))
    change = ArticleChange("articles/a.md", False, seq())
    publisher = stack.publisher(clock=lambda: NOW)
    publisher.publish(change)
    before = heads(stack)
    outcome = publisher.publish(change)
    assert outcome.action is PublishAction.REDELIVERED
    assert outcome.feeds_written == ()
    assert heads(stack) == before


def test_older_event_never_rolls_back(stack: Stack, seq: Sequencer) -> None:
    older, newer = seq(), seq()
    stack.put_article("articles/a.md", article("Version 2"))
    publisher = stack.publisher(clock=lambda: NOW)
    written = publisher.publish(ArticleChange("articles/a.md", False, newer))
    assert written.action is PublishAction.PUBLISHED
    # the delete that happened *before* the write arrives late: ignored
    late = publisher.publish(ArticleChange("articles/a.md", True, older))
    assert late.action is PublishAction.STALE
    assert titles(stack) == ["Version 2"]


def test_delete_and_takedown_remove_from_every_feed(stack: Stack, seq: Sequencer) -> None:
    publish(stack, seq, "articles/a.md", article("A", tags="[world, politics]"))
    publish(stack, seq, "articles/b.md", article("B", tags="[world]"))
    publish(stack, seq, "articles/a.md", None)
    assert titles(stack) == ["B"]
    assert titles(stack, "tags/politics/rss.xml") == []
    publish(stack, seq, "articles/b.md", article("B", extra="draft: true\n"))
    assert titles(stack) == []
    assert titles(stack, "tags/world/atom.xml") == []


def test_an_article_leaves_the_tags_it_lost(stack: Stack, seq: Sequencer) -> None:
    publish(stack, seq, "articles/a.md", article("A", tags="[world, politics]"))
    publish(stack, seq, "articles/a.md", article("A", tags="[world]"))
    assert titles(stack, "tags/politics/rss.xml") == []
    assert titles(stack, "tags/world/rss.xml") == ["A"]


def test_unchanged_feeds_are_not_rewritten(stack: Stack, seq: Sequencer) -> None:
    publish(stack, seq, "articles/a.md", article("A", tags="[world]"))
    publish(stack, seq, "articles/b.md", article("B", tags="[sport]"))
    before = heads(stack)
    outcome = publish(stack, seq, "articles/b.md", article("B, edited", tags="[sport]"))
    after = heads(stack)
    assert "tags/world/rss.xml" not in outcome.feeds_written
    assert after["tags/world/rss.xml"] == before["tags/world/rss.xml"]
    assert after["rss.xml"] != before["rss.xml"]


def test_scheduled_article_stays_out_until_due(stack: Stack, seq: Sequencer) -> None:
    outcome = publish(
        stack, seq, "articles/later.md", article("Later", published="2031-01-01T09:00:00Z")
    )
    assert outcome.action is PublishAction.HIDDEN
    # only the main feed (empty: it exists from the first change on) and what comes with it
    listed = stack.s3.list_objects_v2(Bucket=stack.feeds_bucket).get("Contents", [])
    partners = [f"partners/{partner}/rss.xml" for partner in Partner]
    assert sorted(o["Key"] for o in listed) == sorted(
        [
            "rss.xml",
            "atom.xml",
            "feed.json",
            "news-sitemap.xml",
            "sitemap.xml",
            "feed.xsl",
            *partners,
            *("directory.json", "feeds.opml", "index.html"),
        ]
    )
    assert b"No articles yet." in stack.feed("index.html")
    assert titles(stack) == []


def test_bad_edit_is_reported_and_last_good_version_stays(stack: Stack, seq: Sequencer) -> None:
    publish(stack, seq, "articles/a.md", article("Good"))
    outcome = publish(stack, seq, "articles/a.md", b"---\ntitle: [broken\n---\n")
    assert outcome.action is PublishAction.REJECTED
    assert outcome.error is not None and outcome.error.field == "front matter"
    report_key = "_reports/articles/a.md.json"
    report = json.loads(
        stack.s3.get_object(Bucket=stack.content_bucket, Key=report_key)["Body"].read()
    )
    assert report["key"] == "articles/a.md" and report["field"] == "front matter"
    assert titles(stack) == ["Good"]
    publish(stack, seq, "articles/a.md", article("Fixed"))
    assert titles(stack) == ["Fixed"]
    listing = stack.s3.list_objects_v2(Bucket=stack.content_bucket, Prefix="_reports/")
    assert listing.get("KeyCount", 0) == 0


def test_two_files_cannot_share_an_id(stack: Stack, seq: Sequencer) -> None:
    same = "id: urn:uuid:7d9f1c1e-0000-4000-8000-000000000001\n"
    first = publish(stack, seq, "articles/a.md", article("A", extra=same))
    assert first.action is PublishAction.PUBLISHED
    outcome = publish(stack, seq, "articles/b.md", article("B", extra=same))
    assert outcome.action is PublishAction.REJECTED and outcome.error is not None
    assert outcome.error.field == "id"
    assert titles(stack) == ["A"]
    publish(stack, seq, "articles/a.md", None)  # the id is free again: B waited for it
    assert titles(stack) == ["B"]
    assert reports(stack) == []
    again = publish(stack, seq, "articles/b.md", article("B", extra=same))
    assert again.action is PublishAction.PUBLISHED
    assert titles(stack) == ["B"]


def test_concurrent_publishers_lose_no_update(server: Stack) -> None:
    """Many invocations at once, each publishing its own article: none fails (lost races are
    rendered again), the feeds show every article, and the directory every feed.

    Runs against moto's server, one request at a time like AWS's per-request atomicity. Which
    interleavings happen is up to the threads; the race the conditional writes close is pinned
    down, deterministically, by the next test.
    """
    stack = server
    count = 24
    keys = [
        stack.put_article(
            f"articles/story-{i:02d}.md", article(f"Story {i:02d}", tags=f"[world, desk {i:02d}]")
        )
        for i in range(count)
    ]
    barrier = threading.Barrier(count)
    errors: list[BaseException] = []

    def run(i: int) -> None:
        publisher = stack.publisher(clock=lambda: NOW)
        barrier.wait()
        try:
            publisher.publish(ArticleChange(keys[i], False, normalise_sequencer(f"{0x200 + i:X}")))
        except BaseException as e:  # pragma: no cover - reported below
            errors.append(e)

    threads = [threading.Thread(target=run, args=(i,)) for i in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    expected = sorted(f"Story {i:02d}" for i in range(count))
    assert sorted(titles(stack)) == expected
    assert sorted(titles(stack, "tags/world/atom.xml")) == expected
    listed = {f["id"]: f for f in json.loads(stack.feed("directory.json"))["feeds"]}
    assert listed["main"]["articles"] == listed["tag:world"]["articles"] == count
    assert {f"tag:desk-{i:02d}" for i in range(count)} <= listed.keys()


def publish_a_while_b_lands(
    stack: Stack, seq: Sequencer, stall_at: Callable[[str], bool]
) -> list[PublishOutcome]:
    """Publish ``articles/a.md``, held just before its first S3 write of a key ``stall_at``
    picks, while ``articles/b.md`` is published in full; A's outcomes."""
    import boto3

    from newswire.adapters.s3 import S3FeedStore

    slow_client = boto3.client("s3", region_name="us-east-1")
    stalled, resume = threading.Event(), threading.Event()

    def stall(params: dict[str, Any], **_: Any) -> None:
        if stall_at(params.get("Key", "")) and not stalled.is_set():
            stalled.set()
            resume.wait(10)

    slow_client.meta.events.register("before-parameter-build.s3.PutObject", stall)
    slow = stack.publisher(clock=lambda: NOW)
    slow.feeds = S3FeedStore(slow_client, stack.feeds_bucket)
    change_a, change_b = (
        ArticleChange("articles/a.md", False, seq()),
        ArticleChange("articles/b.md", False, seq()),
    )
    outcomes: list[PublishOutcome] = []
    thread = threading.Thread(target=lambda: outcomes.append(slow.publish(change_a)))
    thread.start()
    assert stalled.wait(10)
    stack.publisher(clock=lambda: NOW).publish(change_b)
    resume.set()
    thread.join(10)
    assert not thread.is_alive()
    return outcomes


def test_a_stale_render_is_never_written_last(stack: Stack, seq: Sequencer) -> None:
    """Publisher A renders, stalls before writing; B publishes meanwhile; A's write must lose.

    A deterministic interleaving of the race the conditional writes exist for: without
    ``IfMatch`` A would overwrite B's feed with a render that lacks B's article.
    """

    publish(stack, seq, "articles/first.md", article("First"))
    stack.put_article("articles/a.md", article("A"))
    stack.put_article("articles/b.md", article("B"))
    # A has rendered a feed without B and is about to write it when B is published
    outcomes = publish_a_while_b_lands(stack, seq, lambda _key: True)

    assert [o.action for o in outcomes] == [PublishAction.PUBLISHED]  # A re-rendered after losing
    feeds = [p for p in heads(stack) if is_feed_path(p)]
    assert "archive/2026-01/atom.xml" in feeds
    for path in feeds:
        if path.endswith(".json"):
            shown = [item["title"] for item in json.loads(stack.feed(path))["items"]]
        else:
            shown = titles(stack, path)
        assert sorted(shown) == ["A", "B", "First"], path


@pytest.mark.parametrize(
    ("then", "shown", "action"),
    [
        (None, ["First"], PublishAction.REMOVED),  # deleted
        (article("A"), ["First", "A"], PublishAction.PUBLISHED),  # its edit undone
    ],
    ids=["deleted", "edit-undone"],
)
def test_a_change_whose_writer_found_nothing_to_write_is_not_lost(
    stack: Stack, seq: Sequencer, then: bytes | None, shown: list[str], action: PublishAction
) -> None:
    """A slow publisher renders its change to an article, stalls before writing; the article
    then changes back (deleted, or its edit undone), and that change's publisher finds the
    feeds already as they should be: nothing to write. The slow publisher's conditional
    writes still hold (S3's ETag is the MD5 of the bytes, and nothing was written): it must
    find out from the index that it moved, and write the feeds again.
    """
    import boto3

    from newswire.adapters.s3 import S3FeedStore

    publish(stack, seq, "articles/first.md", article("First"))
    if then is not None:
        publish(stack, seq, "articles/a.md", then)
    stack.put_article("articles/a.md", article("A2" if then else "A"))
    slow_client = boto3.client("s3", region_name="us-east-1")
    stalled, resume = threading.Event(), threading.Event()

    def stall_writes(**_: Any) -> None:
        stalled.set()
        resume.wait(10)

    slow_client.meta.events.register("before-call.s3.PutObject", stall_writes)
    slow = stack.publisher(clock=lambda: NOW)
    slow.feeds = S3FeedStore(slow_client, stack.feeds_bucket)
    outcomes: list[Any] = []
    change = ArticleChange("articles/a.md", False, seq())
    thread = threading.Thread(target=lambda: outcomes.append(slow.publish(change)))
    thread.start()
    assert stalled.wait(10)  # indexed, its feeds rendered, not written yet
    # the feeds were already as the change leaves them (but for the Atom feeds, where a
    # deletion leaves a tombstone)
    before = without_atom(heads(stack))
    try:
        second = publish(stack, seq, "articles/a.md", then)
        untouched = without_atom(heads(stack)) == before
    finally:
        resume.set()
        thread.join(10)
    assert second.action is action
    assert untouched

    assert not thread.is_alive()
    assert [o.action for o in outcomes] == [PublishAction.PUBLISHED]
    feeds = [p for p in heads(stack) if is_feed_path(p)]
    assert "archive/2026-01/atom.xml" in feeds
    for path in feeds:
        if path.endswith(".json"):
            titles_shown = [item["title"] for item in json.loads(stack.feed(path))["items"]]
        else:
            titles_shown = titles(stack, path)
        assert sorted(titles_shown) == sorted(shown), path


def test_an_entry_read_between_an_edit_and_its_undo_is_not_written_last(
    stack: Stack, seq: Sequencer
) -> None:
    """A slow rebuild lists the main feed (A as it is), then an edit of A is indexed, then
    the rebuild reads the entries (the edit's), then the edit is undone. Both changes'
    writers find the feed as the undo leaves it: nothing to write. The slow rebuild's write
    of the edit holds (same ETag), and its listing after writing equals the one before: it
    must compare that listing with the entries it rendered, and write again.
    """
    import boto3

    from newswire.adapters.dynamodb import DynamoArticleIndex
    from newswire.adapters.s3 import S3FeedStore
    from newswire.domain.feeds import MAIN_FEED

    publish(stack, seq, "articles/first.md", article("First"))
    publish(stack, seq, "articles/a.md", article("A"))
    stall = {name: (threading.Event(), threading.Event()) for name in ("read", "write", "head")}

    def stalling(name: str, once: bool) -> Callable[..., None]:
        reached, go = stall[name]

        def hook(**_: Any) -> None:
            if not (once and reached.is_set()):
                reached.set()
                go.wait(10)

        return hook

    def client(service: str, operation: str, name: str, *, once: bool = False) -> Any:
        made = boto3.client(service, region_name="us-east-1")  # type: ignore[call-overload]
        made.meta.events.register(f"before-call.{service}.{operation}", stalling(name, once))
        return made

    slow = stack.publisher(clock=lambda: NOW)
    slow.writer.index = DynamoArticleIndex(
        client("dynamodb", "BatchGetItem", "read", once=True), stack.table
    )
    slow.writer.feeds = S3FeedStore(client("s3", "PutObject", "write"), stack.feeds_bucket)
    rebuilt: list[Any] = []
    rebuild = threading.Thread(target=lambda: rebuilt.append(slow.writer.rebuild({MAIN_FEED})))
    editor = stack.publisher(clock=lambda: NOW)
    editor.feeds = S3FeedStore(client("s3", "HeadObject", "head"), stack.feeds_bucket)
    edits: list[Any] = []
    edit = ArticleChange("articles/a.md", False, "")
    edit_thread = threading.Thread(target=lambda: edits.append(editor.publish(edit)))
    before = heads(stack)
    try:
        rebuild.start()
        assert stall["read"][0].wait(10)  # listed (A), entries not read yet
        stack.put_article("articles/a.md", article("A2"))
        edit = ArticleChange("articles/a.md", False, seq())
        edit_thread.start()
        assert stall["head"][0].wait(10)  # the edit indexed, its feeds not read yet
        stall["read"][1].set()
        assert stall["write"][0].wait(10)  # rendered with the edit's entry, not written yet
        undone = publish(stack, seq, "articles/a.md", article("A"))
        stall["head"][1].set()
        edit_thread.join(10)
        untouched = heads(stack) == before  # both changes found nothing to write
    finally:
        for _reached, go in stall.values():
            go.set()
        rebuild.join(10)
        edit_thread.join(10)
    assert undone.action is PublishAction.PUBLISHED
    assert [o.action for o in edits] == [PublishAction.PUBLISHED]
    assert untouched
    assert not rebuild.is_alive() and rebuilt[0].failed == {}
    for path in ("rss.xml", "atom.xml"):
        assert sorted(titles(stack, path)) == ["A", "First"], path


def test_listings_name_each_entry_by_its_revision(stack: Stack, seq: Sequencer) -> None:
    """The index lists a feed's articles with the revision of each one's entry, as its
    entries are read: an edit changes it (same keys), an edit back restores it, and a
    membership written before revisions were lists as ``""``."""
    from newswire.adapters.dynamodb import DynamoArticleIndex
    from newswire.adapters.dynamodb_layout import membership_sort_key
    from newswire.domain.feeds import MAIN_FEED

    index = DynamoArticleIndex(stack.dynamodb, stack.table)
    publish(stack, seq, "articles/a.md", article("A"))
    first = index.newest(MAIN_FEED, 10)
    stored = index.entries(first.keys)
    assert first.keys == ("articles/a.md",)
    assert first.revisions == (stored["articles/a.md"].revision,)
    assert index.month(MAIN_FEED, "2026-01") == first

    publish(stack, seq, "articles/a.md", article("A2"))
    edited = index.newest(MAIN_FEED, 10)
    assert edited.keys == first.keys and edited.revisions != first.revisions
    assert edited.revisions == (index.entries(edited.keys)["articles/a.md"].revision,)
    publish(stack, seq, "articles/a.md", article("A"))
    assert index.newest(MAIN_FEED, 10) == first

    published = datetime(2026, 1, 2, tzinfo=UTC)
    stack.dynamodb.put_item(
        TableName=stack.table,
        Item={
            "pk": {"S": f"feed#{MAIN_FEED.id}"},
            "sk": {"S": membership_sort_key(published, "urn:old")},
            "key": {"S": "articles/old.md"},
        },
    )
    assert index.newest(MAIN_FEED, 10) == (
        ("articles/old.md", *first.keys),
        ("", *first.revisions),
    )


def test_the_directory_loses_no_feed_to_a_race(stack: Stack, seq: Sequencer) -> None:
    """Publisher A stalls just before writing the directory; B publishes all through; A's
    directory write then loses and A writes it again: both new tags are listed, and the
    main feed as B, who rendered it last, counts it."""

    publish(stack, seq, "articles/first.md", article("First"))
    stack.put_article("articles/a.md", article("A", tags="[Alpha]"))
    stack.put_article("articles/b.md", article("B", tags="[Beta]"))
    # A has rendered a directory without B and is about to write it when B is published
    outcomes = publish_a_while_b_lands(stack, seq, lambda key: key == "directory.json")

    assert [o.action for o in outcomes] == [PublishAction.PUBLISHED]
    listed = {f["id"]: f for f in json.loads(stack.feed("directory.json"))["feeds"]}
    assert {"main", "tag:alpha", "tag:beta", "tag:world"} <= listed.keys()
    assert listed["main"]["articles"] == 3
    page = stack.feed("index.html")
    assert b'href="tags/alpha/rss.xml"' in page and b'href="tags/beta/rss.xml"' in page
    opml = etree.fromstring(stack.feed("feeds.opml"))
    urls = {o.get("xmlUrl") for o in opml.iter("outline")}
    assert "https://englishnews.example/feeds/tags/alpha/rss.xml" in urls
    assert "https://englishnews.example/feeds/tags/beta/rss.xml" in urls


def test_a_feed_emptied_leaves_the_directory(stack: Stack, seq: Sequencer) -> None:
    publish(stack, seq, "articles/a.md", article("A", tags="[Passing Fad]"))
    assert b"tags/passing-fad/rss.xml" in stack.feed("feeds.opml")
    publish(stack, seq, "articles/a.md", article("A", tags="[world]"))
    assert b"tags/passing-fad/" not in stack.feed("feeds.opml")
    assert b"tags/passing-fad/" not in stack.feed("index.html")
    assert b"tags/world/rss.xml" in stack.feed("feeds.opml")
    assert stack.s3.head_object(Bucket=stack.feeds_bucket, Key="feeds.opml")["ContentType"] == (
        "text/x-opml; charset=utf-8"
    )


def test_requests_per_publish_do_not_grow_with_the_index(stack: Stack, seq: Sequencer) -> None:
    """One publish costs the same AWS requests with 5 or 60 articles already indexed."""
    calls: Counter[str] = Counter()

    def count(event_name: str, **_: Any) -> None:
        calls[event_name.split(".")[1]] += 1

    stack.s3.meta.events.register("before-call.*.*", count)
    stack.dynamodb.meta.events.register("before-call.*.*", count)
    for size in (5, 60):
        for i in range(size - (5 if size == 60 else 0)):
            publish(
                stack,
                seq,
                f"articles/old-{size}-{i}.md",
                article(f"Old {i}", published="2025-01-01T00:00:00Z"),
            )
        calls.clear()
        # each new article opens a month of its own, so both publishes do the same work
        month = "2026-02" if size == 5 else "2026-03"
        publish(
            stack,
            seq,
            f"articles/new-{size}.md",
            article(f"New {size}", published=f"{month}-01T10:00:00Z"),
        )
        if size == 5:
            small = dict(calls)
    assert dict(calls) == small
    # 1 GET; the article's state, its waiters, the index write; for 3 feeds, 2 archives, the
    # sitemaps and the 5 partner feeds (rendered from the main feed's read): the HEADs, the
    # listings and the months, the entries (one BatchGet), the PUTs, then the listings and
    # the months again for the jobs that wrote; the feed directory's GET, 2 HEADs and 3 PUTs
    # (no index request: it is updated from its own data), and its 3 HEADs after writing,
    # which check that the three documents agree
    assert sum(small.values()) <= 79


def test_a_rebuild_reads_each_entry_once_however_many_feeds_show_it(
    stack: Stack, seq: Sequencer
) -> None:
    """The main feed, the month's archive, the sitemap and the article's tag feeds show the
    same articles: one BatchGetItem reads them all, however many feeds are rebuilt."""
    for i in range(4):
        publish(stack, seq, f"articles/a{i}.md", article(f"A {i}", tags="[sport, port, harbour]"))
    batches: list[int] = []

    def count(params: dict[str, Any], **_: Any) -> None:
        batches.extend(len(table["Keys"]) for table in params["RequestItems"].values())

    stack.dynamodb.meta.events.register("provide-client-params.dynamodb.BatchGetItem", count)
    publish(stack, seq, "articles/a4.md", article("A 4", tags="[sport, port, harbour]"))
    assert batches == [5]
    assert sorted(titles(stack, "tags/harbour/rss.xml")) == [f"A {i}" for i in range(5)]


def test_reindex_rebuilds_everything_from_the_bucket(stack: Stack, seq: Sequencer) -> None:
    publish(stack, seq, "articles/a.md", article("A"))
    publish(stack, seq, "articles/b.md", article("B", tags="[sport]"))
    items_before = rss_items(stack.feed("rss.xml"))
    # lose the index entirely
    for item in stack.dynamodb.scan(TableName=stack.table)["Items"]:
        stack.dynamodb.delete_item(TableName=stack.table, Key={"pk": item["pk"], "sk": item["sk"]})
    stack.put_article("articles/c.md", article("C"))  # its event was lost too
    report = stack.publisher(clock=lambda: NOW).reindex()
    assert report.articles == 3 and report.rejected == []
    assert sorted(titles(stack)) == ["A", "B", "C"]
    items_after = rss_items(stack.feed("rss.xml"))
    assert {guid: items_after.get(guid) for guid in items_before} == items_before  # as they were
    added = [items_after[guid] for guid in items_after.keys() - items_before.keys()]
    assert [etree.fromstring(item).findtext("title") for item in added] == ["C"]
    assert titles(stack, "tags/sport/rss.xml") == ["B"]


def test_a_partner_taken_out_of_site_yaml_loses_its_feed_at_the_reindex(
    stack: Stack, seq: Sequencer
) -> None:
    publish(stack, seq, "articles/a.md", article("A"))
    site = stack.s3.get_object(Bucket=stack.content_bucket, Key="site.yaml")["Body"].read()
    only_msn = site.split(b"partners:")[0] + b"partners:\n  msn:\n"
    stack.s3.put_object(Bucket=stack.content_bucket, Key="site.yaml", Body=only_msn)

    stack.publisher(clock=lambda: NOW).reindex()

    listed = stack.s3.list_objects_v2(Bucket=stack.feeds_bucket, Prefix="partners/")
    assert [o["Key"] for o in listed.get("Contents", [])] == ["partners/msn/rss.xml"]
    # Deleted once: a reindex with nothing left to remove deletes nothing.
    deletes: list[str] = []
    stack.s3.meta.events.register(
        "provide-client-params.s3.DeleteObject", lambda params, **_: deletes.append(params["Key"])
    )
    stack.publisher(clock=lambda: NOW).reindex()
    assert deletes == []


def test_scheduled_articles_publish_when_due_in_order_once(stack: Stack, seq: Sequencer) -> None:
    times = {"b": "2031-01-01T09:00:00Z", "a": "2031-01-01T08:00:00Z", "c": "2031-06-01T08:00:00Z"}
    for name, when in times.items():
        outcome = publish(stack, seq, f"articles/{name}.md", article(name.upper(), published=when))
        assert outcome.action is PublishAction.HIDDEN
    # c is moved later by an edit; its old slot must not fire
    publish(stack, seq, "articles/c.md", article("C", published="2032-01-01T08:00:00Z"))
    clock = {"now": datetime(2031, 1, 1, 7, 59, tzinfo=UTC)}
    publisher = stack.publisher(clock=lambda: clock["now"])
    assert publisher.publish_due() == []
    clock["now"] = datetime(2031, 6, 2, tzinfo=UTC)
    puts: Counter[str] = Counter()
    stack.s3.meta.events.register(
        "before-parameter-build.s3.PutObject", lambda params, **_: puts.update([params["Key"]])
    )
    outcomes = publisher.publish_due()
    assert [(o.key, o.action) for o in outcomes] == [
        ("articles/a.md", PublishAction.PUBLISHED),
        ("articles/b.md", PublishAction.PUBLISHED),
    ]
    assert puts["rss.xml"] == 1  # the feeds both touch are rebuilt once, together
    assert titles(stack) == ["B", "A"]
    assert publisher.publish_due() == []  # exactly once
    clock["now"] = datetime(2032, 1, 1, 8, 0, tzinfo=UTC)
    assert [o.key for o in publisher.publish_due()] == ["articles/c.md"]
    assert titles(stack) == ["C", "B", "A"]


def test_a_due_run_that_failed_is_finished_by_the_next_with_its_month_linked(
    stack: Stack, seq: Sequencer
) -> None:
    publish(stack, seq, "articles/old.md", article("OLD", published="2026-10-05T10:00:00Z"))
    publish(stack, seq, "articles/s.md", article("S", published="2031-01-01T08:00:00Z"))
    publisher = stack.publisher(clock=lambda: datetime(2031, 1, 2, tzinfo=UTC))
    # S opens a month: the month before links it, but that write fails
    failed = fail_once(stack, "PutObject", "archive/2026-10/rss.xml", bucket=stack.feeds_bucket)

    with pytest.raises(TransientStorageError):
        publisher.publish_due()
    assert failed == ["archive/2026-10/rss.xml"]

    assert publisher.publish_due() == []  # published already: its feeds are written now
    assert titles(stack) == ["S", "OLD"]
    next_archive = archive_links(stack, "archive/2026-10/rss.xml").get("next-archive")
    assert next_archive == "archive/2031-01/rss.xml"
    assert publisher.index.due(datetime(2032, 1, 1, tzinfo=UTC), 10) == []


def long_key(size: int) -> str:
    """An article key of ``size`` bytes in UTF-8, long by its folder (its slug is short)."""
    head, tail = "articles/", "/story.md"
    room = size - len(head) - len(tail)
    return head + "é" * (room // 2) + "a" * (room % 2) + tail


def test_a_key_too_long_for_the_index_is_rejected_with_a_report(
    stack: Stack, seq: Sequencer
) -> None:
    later = article("Later", published="2031-01-01T09:00:00Z")
    longest, too_long = long_key(MAX_KEY_BYTES), long_key(MAX_KEY_BYTES + 1)
    assert publish(stack, seq, longest, later).action == "hidden"

    outcome = publish(stack, seq, too_long, later)

    assert outcome.action == "rejected" and outcome.error is not None
    assert outcome.error.field == "file"
    assert f"{MAX_KEY_BYTES + 1} bytes" in outcome.error.problem
    assert f"at most {MAX_KEY_BYTES} bytes" in outcome.error.expected
    [report_key] = reports(stack)
    report = json.loads(
        stack.s3.get_object(Bucket=stack.content_bucket, Key=report_key)["Body"].read()
    )
    assert report["key"] == too_long and report["field"] == "file"
    publisher = stack.publisher(clock=lambda: datetime(2031, 1, 2, tzinfo=UTC))
    assert [o.key for o in publisher.publish_due()] == [longest]
    assert titles(stack) == ["Later"]


def test_an_article_a_due_article_moved_is_told_with_the_due_ones(
    stack: Stack, seq: Sequencer
) -> None:
    """A scheduled article, edited (its event not here yet) to take the id of an article
    whose file is gone (its event not here either), takes the id over when it comes due."""
    publish(stack, seq, "articles/old.md", article("Old", extra=RENAMED))
    later = "2031-01-01T09:00:00Z"
    publish(stack, seq, "articles/later.md", article("Later", published=later))
    stack.put_article("articles/later.md", article("Later", published=later, extra=RENAMED))
    stack.s3.delete_object(Bucket=stack.content_bucket, Key="articles/old.md")

    publisher = stack.publisher(clock=lambda: datetime(2031, 1, 2, tzinfo=UTC))
    outcomes = publisher.publish_due()

    assert [(o.key, o.action) for o in outcomes] == [
        ("articles/later.md", "published"),
        ("articles/old.md", "removed"),
    ]
    assert outcomes[0].feeds_written and titles(stack) == ["Later"]


def test_a_scheduled_article_turned_draft_never_fires(stack: Stack, seq: Sequencer) -> None:
    publish(stack, seq, "articles/a.md", article("A", published="2031-01-01T08:00:00Z"))
    publish(
        stack,
        seq,
        "articles/a.md",
        article("A", published="2031-01-01T08:00:00Z", extra="draft: true\n"),
    )
    publisher = stack.publisher(clock=lambda: datetime(2032, 1, 1, tzinfo=UTC))
    assert publisher.publish_due() == []


def test_section_feeds_follow_the_article(stack: Stack, seq: Sequencer) -> None:
    publish(stack, seq, "articles/a.md", article("A", extra="section: World\n"))
    assert titles(stack, "sections/world/rss.xml") == ["A"]
    publish(stack, seq, "articles/a.md", article("A", extra="section: Business\n"))
    assert titles(stack, "sections/world/rss.xml") == []
    assert titles(stack, "sections/business/atom.xml") == ["A"]


def test_news_sitemap_lists_the_last_two_days(stack: Stack, seq: Sequencer) -> None:
    publish(stack, seq, "articles/old.md", article("Old", published="2026-11-20T10:00:00Z"))
    publish(stack, seq, "articles/new.md", article("Fresh & new", published="2026-11-25T10:00:00Z"))
    root = etree.fromstring(stack.feed("news-sitemap.xml"))
    ns = {
        "s": "http://www.sitemaps.org/schemas/sitemap/0.9",
        "n": "http://www.google.com/schemas/sitemap-news/0.9",
    }
    assert root.xpath("//s:loc/text()", namespaces=ns) == [
        "https://englishnews.example/articles/new/"
    ]
    assert root.xpath("//n:title/text()", namespaces=ns) == ["Fresh & new"]
    assert root.xpath("//n:name/text()", namespaces=ns) == ["English News"]
    assert root.xpath("//n:language/text()", namespaces=ns) == ["en"]
    assert root.xpath("//n:publication_date/text()", namespaces=ns) == ["2026-11-25T10:00:00+00:00"]
    # two days later the scheduler's run ages it out
    later = stack.publisher(clock=lambda: datetime(2026, 11, 28, 12, 0, tzinfo=UTC))
    later.publish_due()
    assert etree.fromstring(stack.feed("news-sitemap.xml")).xpath("//s:url", namespaces=ns) == []


def test_the_news_sitemap_is_not_rewritten_because_the_clock_moved(
    stack: Stack, seq: Sequencer
) -> None:
    """Its window is measured from each rebuild's now, but now is not in its bytes: a later
    change that leaves the last two days' articles as they were, and the scheduler's runs,
    leave the object (and its ETag, for readers' 304s) alone; an article aging out rewrites
    it."""
    publish(stack, seq, "articles/new.md", article("New", published="2026-11-25T10:00:00Z"))
    publish(stack, seq, "articles/old.md", article("Old", published="2026-01-01T10:00:00Z"))
    before = heads(stack)["news-sitemap.xml"]
    puts: list[str] = []
    stack.s3.meta.events.register(
        "before-parameter-build.s3.PutObject",
        lambda params, **_: puts.append(params["Key"]),
    )

    def at(hours: float) -> Any:
        return stack.publisher(clock=lambda: NOW + timedelta(hours=hours))

    stack.put_article("articles/old.md", article("Old, edited", published="2026-01-01T10:00:00Z"))
    at(3).publish(ArticleChange("articles/old.md", False, seq()))  # rebuilds the main feed
    at(6).publish_due()  # the scheduler's refresh

    assert "rss.xml" in puts  # the edit was written
    assert "news-sitemap.xml" not in puts
    assert heads(stack)["news-sitemap.xml"] == before

    at(22.5).publish_due()  # 25 November 10:00 is now over two days ago

    assert puts[-1] == "news-sitemap.xml"
    assert b"articles/new/" not in stack.feed("news-sitemap.xml")


def walk_back(stack: Stack, path: str) -> list[list[str]]:
    """Follow prev-archive from ``path`` like an RFC 5005 reader; titles per document."""
    feeds = "https://englishnews.example/feeds/"
    pages = []
    while path:
        parsed = feedparser.parse(stack.feed(path))
        assert not parsed.bozo, parsed.bozo_exception
        pages.append([entry.title for entry in parsed.entries])
        older = [link.href for link in parsed.feed.links if link.rel == "prev-archive"]
        path = older[0].removeprefix(feeds) if older else ""
    return pages


def test_monthly_archives_let_a_reader_walk_back_to_the_first_article(
    stack: Stack, seq: Sequencer
) -> None:
    dates = {"jan-1": "2026-01-05", "jan-2": "2026-01-20", "mar": "2026-03-02", "apr": "2026-04-09"}
    for slug, day in dates.items():
        publish(
            stack, seq, f"articles/{slug}.md", article(slug.upper(), published=f"{day}T10:00:00Z")
        )
    assert walk_back(stack, "atom.xml") == [
        ["APR", "MAR", "JAN-2", "JAN-1"],  # the subscription feed
        ["APR"],
        ["MAR"],
        ["JAN-2", "JAN-1"],
    ]
    archive = feedparser.parse(stack.feed("archive/2026-03/rss.xml")).feed
    links = {link.rel: link.href for link in archive.links}
    assert links["current"] == "https://englishnews.example/feeds/rss.xml"
    assert links["next-archive"].endswith("/archive/2026-04/rss.xml")
    assert b"<fh:archive/>" in stack.feed("archive/2026-03/atom.xml")
    assert b"fh:archive" not in stack.feed("atom.xml")
    # JSON Feed walks back through next_url
    document = json.loads(stack.feed("feed.json"))
    assert document["next_url"].endswith("/archive/2026-04/feed.json")

    # an edit to an old article rewrites only its own month's archive
    before = heads(stack)
    outcome = publish(
        stack,
        seq,
        "articles/jan-1.md",
        article("JAN-1, corrected", published="2026-01-05T10:00:00Z"),
    )
    archives = {p.split("/")[1] for p in outcome.feeds_written if p.startswith("archive/")}
    assert archives == {"2026-01"}
    assert heads(stack)["archive/2026-03/atom.xml"] == before["archive/2026-03/atom.xml"]

    # deleting March's only article links February's neighbours past it
    publish(stack, seq, "articles/mar.md", None)
    assert walk_back(stack, "rss.xml")[1:] == [["APR"], ["JAN-2", "JAN-1, corrected"]]


def test_the_most_tags_and_authors_allowed_fit_one_index_transaction(
    stack: Stack, seq: Sequencer
) -> None:
    tags = "[" + ", ".join(f"t{i}" for i in range(30)) + "]"
    authors = "authors: [" + ", ".join(f"Writer {i}" for i in range(10)) + "]\nsection: World\n"
    big = article("Big", tags=tags, extra=authors)
    assert publish(stack, seq, "articles/big.md", big).action is PublishAction.PUBLISHED
    # moving it to another date rewrites every membership: the largest transaction there is
    moved = article("Big", tags=tags, extra=authors, published="2026-02-01T10:00:00Z")
    assert publish(stack, seq, "articles/big.md", moved).action is PublishAction.PUBLISHED
    assert titles(stack, "tags/t29/rss.xml") == ["Big"]
    assert titles(stack, "authors/writer-9/atom.xml") == ["Big"]


def test_a_delete_redelivered_after_a_failed_rebuild_still_clears_its_archive(
    stack: Stack, seq: Sequencer
) -> None:
    publish(stack, seq, "articles/a.md", article("A"))
    publish(stack, seq, "articles/b.md", article("B", published="2026-02-01T10:00:00Z"))
    assert titles(stack, "archive/2026-01/rss.xml") == ["A"]
    stack.s3.delete_object(Bucket=stack.content_bucket, Key="articles/a.md")
    delete = ArticleChange("articles/a.md", True, seq())
    failed: list[str] = []

    def fail_first_feed_write(params: dict[str, Any], **_: Any) -> None:
        if params["Bucket"] == stack.feeds_bucket and not failed:
            failed.append(params["Key"])  # the run dies after the index changed
            raise ConnectionError("the Lambda was stopped")

    stack.s3.meta.events.register("before-parameter-build.s3.PutObject", fail_first_feed_write)
    publisher = stack.publisher(clock=lambda: NOW)
    with pytest.raises(ConnectionError):
        publisher.publish(delete)

    outcome = publisher.publish(delete)  # SQS delivers it again

    assert failed
    assert outcome.action is PublishAction.REDELIVERED
    assert titles(stack, "archive/2026-01/rss.xml") == []
    assert titles(stack) == ["B"]
    newer = feedparser.parse(stack.feed("archive/2026-02/rss.xml"))
    assert not any(link.rel == "prev-archive" for link in newer.feed.links)  # 2026-01 is empty


def s3_event(event_name: str, key: str, sequencer: int, version_id: str) -> S3Event:
    """One S3 event notification record as a versioned bucket sends it."""
    s3_object = {"key": quote_plus(key), "versionId": version_id, "sequencer": f"{sequencer:018X}"}
    record = {
        "eventVersion": "2.1",
        "eventSource": "aws:s3",
        "awsRegion": "us-east-1",
        "eventTime": "2026-11-26T12:00:00.000Z",
        "eventName": event_name,
        "s3": {
            "s3SchemaVersion": "1.0",
            "configurationId": "newswire-article-changes",
            "bucket": {"name": "newswire-content", "arn": "arn:aws:s3:::newswire-content"},
            "object": s3_object,
        },
    }
    return S3Event({"Records": [record]})


def deliver(stack: Stack, *events: S3Event) -> list[PublishAction]:
    """Publish every change the events carry, in order; the actions taken."""
    publisher = stack.publisher(clock=lambda: NOW)
    return [
        publisher.publish(change).action
        for event in events
        for change in changes_from_s3_event(event)
    ]


def versioned(stack: Stack) -> None:
    stack.s3.put_bucket_versioning(
        Bucket=stack.content_bucket, VersioningConfiguration={"Status": "Enabled"}
    )


@pytest.mark.parametrize("order", [(0, 1, 2), (0, 2, 1), (2, 1, 0)])
def test_deleting_an_old_version_keeps_the_article_live(
    stack: Stack, order: tuple[int, ...]
) -> None:
    versioned(stack)
    key = "articles/a.md"
    events = []
    for number, title in enumerate(["Version 1", "Version 2"], start=1):
        version = stack.s3.put_object(Bucket=stack.content_bucket, Key=key, Body=article(title))
        events.append(s3_event("ObjectCreated:Put", key, 0x100 + number, version["VersionId"]))
    first = events[0].record.s3.get_object["versionId"]
    stack.s3.delete_object(Bucket=stack.content_bucket, Key=key, VersionId=first)
    # the newest sequencer of all, for a removal that left the current version in place
    events.append(s3_event("ObjectRemoved:Delete", key, 0x103, first))

    deliver(stack, *(events[i] for i in order))

    assert titles(stack) == ["Version 2"]
    assert titles(stack, "archive/2026-01/atom.xml") == ["Version 2"]


def test_removing_the_delete_marker_publishes_the_article_again(stack: Stack) -> None:
    versioned(stack)
    key = "articles/a.md"
    put = stack.s3.put_object(Bucket=stack.content_bucket, Key=key, Body=article("A"))
    assert deliver(stack, s3_event("ObjectCreated:Put", key, 0x101, put["VersionId"])) == [
        PublishAction.PUBLISHED
    ]
    marker = stack.s3.delete_object(Bucket=stack.content_bucket, Key=key)["VersionId"]
    deliver(stack, s3_event("ObjectRemoved:DeleteMarkerCreated", key, 0x102, marker))
    assert titles(stack) == []

    stack.s3.delete_object(Bucket=stack.content_bucket, Key=key, VersionId=marker)  # undelete
    actions = deliver(stack, s3_event("ObjectRemoved:Delete", key, 0x103, marker))

    assert actions == [PublishAction.PUBLISHED]
    assert titles(stack) == ["A"]


RENAMED = "id: urn:uuid:7d9f1c1e-0000-4000-8000-00000000feed\n"


def reports(stack: Stack) -> list[str]:
    listing = stack.s3.list_objects_v2(Bucket=stack.content_bucket, Prefix="_reports/")
    return [item["Key"] for item in listing.get("Contents", [])]


@pytest.mark.parametrize(
    "steps",
    [
        ("copy", "delete", "deliver new", "deliver old"),
        ("copy", "deliver new", "delete", "deliver old"),
        ("copy", "delete", "deliver old", "deliver new"),
        ("copy", "deliver new", "delete", "deliver new", "deliver old", "deliver new"),
    ],
    ids=["new-event-first", "new-event-before-the-delete", "old-event-first", "redelivered"],
)
def test_renaming_an_article_with_an_id_publishes_it_once_under_its_new_key(
    stack: Stack, steps: tuple[str, ...]
) -> None:
    old, new = "articles/old-name.md", "articles/new-name.md"
    publish(stack, Sequencer(), old, article("Story", tags="[world, politics]", extra=RENAMED))
    copied, deleted = normalise_sequencer("201"), normalise_sequencer("202")
    publisher = stack.publisher(clock=lambda: NOW)
    for step in steps:
        if step == "copy":
            source = {"Bucket": stack.content_bucket, "Key": old}
            stack.s3.copy_object(Bucket=stack.content_bucket, Key=new, CopySource=source)
        elif step == "delete":
            stack.s3.delete_object(Bucket=stack.content_bucket, Key=old)
        elif step == "deliver new":
            publisher.publish(ArticleChange(new, False, copied))
        else:
            publisher.publish(ArticleChange(old, True, deleted))

    for path in ("rss.xml", "tags/politics/atom.xml", "archive/2026-01/rss.xml"):
        entries = feedparser.parse(stack.feed(path)).entries
        assert [(e.title, e.link.rstrip("/").rsplit("/", 1)[-1]) for e in entries] == [
            ("Story", "new-name")
        ], path
    assert reports(stack) == []


def fail_once(
    stack: Stack, operation: str, key_prefix: str, *, bucket: str | None = None
) -> list[str]:
    """Make the first ``operation`` on a content-bucket (or ``bucket``) key under
    ``key_prefix`` fail with the 503 S3 answers when overloaded (what botocore raises once
    its own retries are used up)."""
    failed: list[str] = []
    bucket = bucket or stack.content_bucket

    def before(params: dict[str, Any], **_: Any) -> None:
        key = params["Key"]
        if params["Bucket"] == bucket and key.startswith(key_prefix) and not failed:
            failed.append(key)
            raise ClientError(
                {
                    "Error": {"Code": "SlowDown", "Message": "Please reduce your request rate."},
                    "ResponseMetadata": {"HTTPStatusCode": 503},
                },
                operation,
            )

    stack.s3.meta.events.register(f"before-parameter-build.s3.{operation}", before)
    return failed


def test_a_rejection_whose_report_failed_is_reported_on_redelivery(
    stack: Stack, seq: Sequencer
) -> None:
    stack.put_article("articles/a.md", b"---\ntitle: [broken\n---\n")
    change = ArticleChange("articles/a.md", False, seq())
    failed = fail_once(stack, "PutObject", "_reports/")
    publisher = stack.publisher(clock=lambda: NOW)
    with pytest.raises(TransientStorageError):
        publisher.publish(change)

    outcome = publisher.publish(change)  # SQS delivers it again

    assert failed == ["_reports/articles/a.md.json"]
    assert outcome.action is PublishAction.REJECTED
    assert outcome.error is not None and outcome.error.field == "front matter"
    assert reports(stack) == ["_reports/articles/a.md.json"]


def test_a_report_whose_removal_failed_is_removed_on_redelivery(
    stack: Stack, seq: Sequencer
) -> None:
    publish(stack, seq, "articles/a.md", b"---\ntitle: [broken\n---\n")
    assert reports(stack) == ["_reports/articles/a.md.json"]
    stack.put_article("articles/a.md", article("Fixed"))
    change = ArticleChange("articles/a.md", False, seq())
    failed = fail_once(stack, "DeleteObject", "_reports/")
    publisher = stack.publisher(clock=lambda: NOW)
    with pytest.raises(TransientStorageError):
        publisher.publish(change)

    outcome = publisher.publish(change)

    assert failed and outcome.action is PublishAction.REDELIVERED and outcome.error is None
    assert reports(stack) == []
    assert titles(stack) == ["Fixed"]


def test_a_duplicate_id_is_reported_again_on_redelivery(stack: Stack, seq: Sequencer) -> None:
    publish(stack, seq, "articles/a.md", article("A", extra=RENAMED))
    stack.put_article("articles/b.md", article("B", extra=RENAMED))
    change = ArticleChange("articles/b.md", False, seq())
    fail_once(stack, "PutObject", "_reports/")
    publisher = stack.publisher(clock=lambda: NOW)
    with pytest.raises(TransientStorageError):
        publisher.publish(change)

    outcome = publisher.publish(change)

    assert outcome.action is PublishAction.REJECTED and outcome.error is not None
    assert outcome.error.field == "id" and "articles/a.md" in outcome.error.problem
    assert reports(stack) == ["_reports/articles/b.md.json"]
    assert titles(stack) == ["A"]


def test_a_waiter_is_never_forgotten_while_it_waits(stack: Stack, seq: Sequencer) -> None:
    """A run that woke B forgets it once done, unless B has meanwhile begun waiting again."""
    publish(stack, seq, "articles/a.md", article("A", extra=RENAMED))
    publish(stack, seq, "articles/b.md", article("B", extra=RENAMED))
    index = stack.publisher(clock=lambda: NOW).index

    index.forget_waiter("articles/a.md", "articles/b.md")

    assert index.waiters("articles/a.md") == ["articles/b.md"]
    publish(stack, seq, "articles/a.md", None)
    assert titles(stack) == ["B"]


def test_an_article_woken_while_its_own_edit_is_published_is_counted_once(
    stack: Stack, seq: Sequencer
) -> None:
    """B waits for A's id; A's file goes, and B is uploaded again before A's event comes: B
    takes the id over, which wakes B itself in the middle of its own change."""
    publish(stack, seq, "articles/a.md", article("A", extra=RENAMED))
    waiting = publish(stack, seq, "articles/b.md", article("B", extra=RENAMED))
    assert waiting.action is PublishAction.REJECTED
    stack.s3.delete_object(Bucket=stack.content_bucket, Key="articles/a.md")

    outcome = publish(stack, seq, "articles/b.md", article("B, again", extra=RENAMED))
    publish(stack, seq, "articles/a.md", None)  # A's delete event, late

    assert outcome.action is PublishAction.PUBLISHED
    # A, taken over, is told as removed; B, woken within its own change, only once
    assert [(o.key, o.action, o.error) for o in outcome.others] == [
        ("articles/a.md", PublishAction.REMOVED, None)
    ]
    assert titles(stack) == ["B, again"]
    index = stack.publisher(clock=lambda: NOW).index
    assert index.months() == {"2026-01": 1}
    publish(stack, seq, "articles/b.md", None)
    assert index.months() == {}
    assert reports(stack) == []


def test_an_article_woken_by_a_change_that_died_is_published_when_it_is_redelivered(
    stack: Stack, seq: Sequencer
) -> None:
    """B waits for A's id; A's delete wakes B, and the removal of B's report fails once, after
    B is live in the index: SQS delivers A's delete again, which finishes B's wake."""
    publish(stack, seq, "articles/a.md", article("A", extra=RENAMED))
    waiting = publish(stack, seq, "articles/b.md", article("B", tags="[science]", extra=RENAMED))
    assert waiting.action is PublishAction.REJECTED
    stack.s3.delete_object(Bucket=stack.content_bucket, Key="articles/a.md")
    change = ArticleChange("articles/a.md", True, seq())
    failed = fail_once(stack, "DeleteObject", "_reports/")
    publisher = stack.publisher(clock=lambda: NOW)
    with pytest.raises(TransientStorageError):
        publisher.publish(change)

    outcome = publisher.publish(change)  # SQS delivers it again
    again = publisher.publish(change)  # and once more: B is finished, not told twice

    assert failed == ["_reports/articles/b.md.json"]
    assert [(o.key, o.action, o.error) for o in outcome.others] == [
        ("articles/b.md", PublishAction.PUBLISHED, None)
    ]
    assert titles(stack, "tags/science/rss.xml") == ["B"]
    assert titles(stack) == ["B"]
    assert reports(stack) == []
    assert again.others == ()


def test_a_duplicate_of_the_id_holder_leaves_its_waiters_waiting_untold(
    stack: Stack, seq: Sequencer
) -> None:
    stack.put_article("articles/a.md", article("A", extra=RENAMED))
    holder = ArticleChange("articles/a.md", False, seq())
    publisher = stack.publisher(clock=lambda: NOW)
    publisher.publish(holder)
    waiting = publish(stack, seq, "articles/b.md", article("B", extra=RENAMED))
    assert waiting.action is PublishAction.REJECTED
    written: list[str] = []
    stack.s3.meta.events.register(
        "before-parameter-build.s3.PutObject", lambda params, **_: written.append(params["Key"])
    )

    outcome = publisher.publish(holder)  # SQS delivers A's event again

    assert outcome.action is PublishAction.REDELIVERED and outcome.others == ()
    assert [key for key in written if key.startswith("_reports/")] == []
    assert reports(stack) == ["_reports/articles/b.md.json"]
    assert titles(stack) == ["A"]


def test_an_article_woken_by_a_change_that_died_is_published_when_its_retry_comes_back_stale(
    stack: Stack, seq: Sequencer
) -> None:
    """B waits for A's id; A's delete wakes B and dies on the removal of B's report. A is
    uploaded again with the same id (and waits for B) before SQS delivers A's delete again,
    which now finds a newer state: B's wake is finished all the same, and told once."""
    publish(stack, seq, "articles/a.md", article("A", extra=RENAMED))
    publish(stack, seq, "articles/b.md", article("B", tags="[science]", extra=RENAMED))
    stack.s3.delete_object(Bucket=stack.content_bucket, Key="articles/a.md")
    deleted = ArticleChange("articles/a.md", True, seq())
    failed = fail_once(stack, "DeleteObject", "_reports/")
    publisher = stack.publisher(clock=lambda: NOW)
    with pytest.raises(TransientStorageError):
        publisher.publish(deleted)

    again = publish(stack, seq, "articles/a.md", article("A again", extra=RENAMED))
    stale = publisher.publish(deleted)  # SQS delivers A's delete again

    assert failed == ["_reports/articles/b.md.json"]
    assert again.action is PublishAction.REJECTED and stale.action is PublishAction.STALE
    told = [(o.key, o.action) for o in (*again.others, *stale.others)]
    assert told == [("articles/b.md", PublishAction.PUBLISHED)]
    assert titles(stack) == ["B"]
    assert titles(stack, "tags/science/rss.xml") == ["B"]
    assert reports(stack) == ["_reports/articles/a.md.json"]
    index = publisher.index
    assert index.waiters("articles/a.md") == []
    assert index.waiters("articles/b.md") == ["articles/a.md"]


DYNAMODB_500 = {
    "Error": {"Code": "InternalServerError", "Message": "Internal server error"},
    "ResponseMetadata": {"HTTPStatusCode": 500},
}


def fail_forgetting(stack: Stack) -> list[bool]:
    """Make DynamoDB fail every removal of a woken article from its holder's waiters (500s,
    past every try), while the returned flag is true."""
    failing = [True]

    def before(params: dict[str, Any], **_: Any) -> None:
        forgetting = any("ConditionCheck" in item for item in params["TransactItems"])
        if failing[0] and forgetting and "Delete" in params["TransactItems"][0]:
            raise ClientError(DYNAMODB_500, "TransactWriteItems")  # type: ignore[arg-type]

    stack.dynamodb.meta.events.register(
        "before-parameter-build.dynamodb.TransactWriteItems", before
    )
    return failing


def test_an_article_woken_by_a_change_whose_forgetting_failed_is_told_once(
    stack: Stack, seq: Sequencer
) -> None:
    """A's delete wakes B and rebuilds its feeds, then DynamoDB keeps failing the removal of
    B from A's waiters (500s, past every try): SQS delivers A's delete again, B is told once."""
    publish(stack, seq, "articles/a.md", article("A", extra=RENAMED))
    publish(stack, seq, "articles/b.md", article("B", tags="[science]", extra=RENAMED))
    stack.s3.delete_object(Bucket=stack.content_bucket, Key="articles/a.md")
    deleted = ArticleChange("articles/a.md", True, seq())
    failing = fail_forgetting(stack)
    publisher = stack.publisher(clock=lambda: NOW)
    with pytest.raises(TransientStorageError):
        publisher.publish(deleted)
    failing[0] = False

    outcome = publisher.publish(deleted)
    again = publisher.publish(deleted)

    assert titles(stack, "tags/science/rss.xml") == ["B"]
    told = [(o.key, o.action) for o in (*outcome.others, *again.others)]
    assert told == [("articles/b.md", PublishAction.PUBLISHED)]
    assert publisher.index.waiters("articles/a.md") == []


def fill_february(stack: Stack, seq: Sequencer) -> list[ArticleChange]:
    """January and March published; two articles written for February, the month between,
    which they fill together: their changes, as one SQS batch would bring them."""
    for slug, day in (("jan", "2026-01-05"), ("mar", "2026-03-05")):
        publish(
            stack, seq, f"articles/{slug}.md", article(slug.upper(), published=f"{day}T10:00:00Z")
        )
    return [
        ArticleChange(
            stack.put_article(
                f"articles/feb-{n}.md", article(f"FEB-{n}", published=f"2026-02-0{n}T10:00:00Z")
            ),
            False,
            seq(),
        )
        for n in (1, 2)
    ]


def archive_links(stack: Stack, path: str) -> dict[str, str]:
    feeds = "https://englishnews.example/feeds/"
    parsed = feedparser.parse(stack.feed(path))
    return {link.rel: link.href.removeprefix(feeds) for link in parsed.feed.links}


def test_a_month_filled_by_a_batch_is_linked_by_its_neighbours_when_redelivered(
    stack: Stack, seq: Sequencer
) -> None:
    """January's archive is rebuilt only for its link to the new month: when that write
    fails, the batch is delivered again, and by then February is no longer new."""
    changes = fill_february(stack, seq)
    failed = fail_once(stack, "PutObject", "archive/2026-01/rss.xml", bucket=stack.feeds_bucket)
    publisher = stack.publisher(clock=lambda: NOW)
    first = publisher.publish_batch(changes)
    assert failed == ["archive/2026-01/rss.xml"]
    assert all(isinstance(result, TransientStorageError) for result in first.results)

    again = publisher.publish_batch(changes)  # SQS delivers the batch again

    assert [getattr(r, "action", r) for r in again.results] == [PublishAction.REDELIVERED] * 2
    assert archive_links(stack, "archive/2026-01/rss.xml")["next-archive"] == (
        "archive/2026-02/rss.xml"
    )


def test_a_redelivered_change_announces_the_archives_that_link_its_month(
    stack: Stack, seq: Sequencer, hub: Hub
) -> None:
    """The run that wrote the feeds died before its ping: the redelivery tells the hub of
    every document that run may have written, the neighbours' archives too."""
    changes = fill_february(stack, seq)
    stack.publisher(clock=lambda: NOW).publish_batch(changes)  # died before announcing
    publisher = stack.publisher(
        clock=lambda: NOW, notifier=WebSubNotifier([hub.url], sleep=lambda _s: None)
    )

    again = publisher.publish_batch(changes)
    assert publisher.announce() == []

    assert again.written == ()
    (ping,) = hub.pings
    feeds = "https://englishnews.example/feeds/"
    for path in ("archive/2026-01/rss.xml", "archive/2026-03/feed.json", "rss.xml"):
        assert feeds + path in ping["hub.url"], path


def test_a_change_whose_forgetting_failed_fails_alone_in_its_batch(
    stack: Stack, seq: Sequencer
) -> None:
    publish(stack, seq, "articles/a.md", article("A", extra=RENAMED))
    publish(stack, seq, "articles/b.md", article("B", tags="[science]", extra=RENAMED))
    stack.s3.delete_object(Bucket=stack.content_bucket, Key="articles/a.md")
    stack.put_article("articles/c.md", article("C"))
    batch = [
        ArticleChange("articles/a.md", True, seq()),
        ArticleChange("articles/c.md", False, seq()),
    ]
    fail_forgetting(stack)

    deleted, published = stack.publisher(clock=lambda: NOW).publish_batch(batch).results

    assert isinstance(deleted, TransientStorageError)  # SQS delivers A's delete again
    assert isinstance(published, PublishOutcome) and published.action is PublishAction.PUBLISHED
    assert sorted(titles(stack)) == ["B", "C"]


@pytest.mark.parametrize("failing_read", [1, 2], ids=["before-indexing", "after-indexing"])
def test_a_batch_whose_months_cannot_be_read_fails_each_change_not_the_batch(
    stack: Stack, seq: Sequencer, failing_read: int
) -> None:
    """The batch reads the months before indexing and after (for the archives that link
    them): DynamoDB failing either fails every change, to be delivered again, and raises
    nothing that would fail the invocation."""
    change = ArticleChange(stack.put_article("articles/a.md", article("A")), False, seq())
    reads = Counter[str]()

    def fail_months(params: dict[str, Any], **_: Any) -> None:
        if params["ExpressionAttributeValues"][":pk"]["S"] == MONTHS_PK:
            reads["months"] += 1
            if reads["months"] >= failing_read and reads["failing"] == 0:
                raise ClientError(DYNAMODB_500, "Query")  # type: ignore[arg-type]

    stack.dynamodb.meta.events.register("before-parameter-build.dynamodb.Query", fail_months)
    publisher = stack.publisher(clock=lambda: NOW)

    (result,) = publisher.publish_batch([change]).results

    assert isinstance(result, TransientStorageError)
    reads["failing"] = 1  # DynamoDB recovers; SQS delivers the change again
    (retried,) = publisher.publish_batch([change]).results
    assert isinstance(retried, PublishOutcome)
    assert titles(stack) == ["A"]


def test_an_article_woken_in_a_batch_is_told_once_however_often_its_holder_changes(
    stack: Stack, seq: Sequencer
) -> None:
    """A lets B's id go, then is edited again, both in one batch: B is published and told once
    (the second change finds B among A's waiters until the batch's feeds are written)."""
    publish(stack, seq, "articles/a.md", article("A", extra=RENAMED))
    publish(stack, seq, "articles/b.md", article("B", tags="[science]", extra=RENAMED))
    other_id = "id: urn:uuid:7d9f1c1e-0000-4000-8000-00000000beef\n"
    stack.put_article("articles/a.md", article("A", extra=other_id))
    let_go = ArticleChange("articles/a.md", False, seq())
    stack.put_article("articles/a.md", article("A, edited", extra=other_id))
    edited = ArticleChange("articles/a.md", False, seq())

    results = stack.publisher(clock=lambda: NOW).publish_batch([let_go, edited]).results

    assert all(isinstance(result, PublishOutcome) for result in results)
    told = [(o.key, o.action) for r in results if isinstance(r, PublishOutcome) for o in r.others]
    assert told == [("articles/b.md", PublishAction.PUBLISHED)]
    assert titles(stack, "tags/science/rss.xml") == ["B"]


@pytest.mark.parametrize("order", ["new-first", "old-first"])
def test_a_rename_whose_two_events_share_a_batch_publishes_the_article_once(
    server: Stack, order: str
) -> None:
    """The copy's and the delete's events indexed at once, in threads of one process."""
    old, new = "articles/old-name.md", "articles/new-name.md"
    publish(server, Sequencer(), old, article("Story", tags="[world, politics]", extra=RENAMED))
    source = {"Bucket": server.content_bucket, "Key": old}
    server.s3.copy_object(Bucket=server.content_bucket, Key=new, CopySource=source)
    server.s3.delete_object(Bucket=server.content_bucket, Key=old)
    batch = [
        ArticleChange(new, False, normalise_sequencer("201")),
        ArticleChange(old, True, normalise_sequencer("202")),
    ]

    outcome = server.publisher(clock=lambda: NOW).publish_batch(
        batch if order == "new-first" else batch[::-1]
    )

    assert all(isinstance(result, PublishOutcome) for result in outcome.results)
    for path in ("rss.xml", "tags/politics/atom.xml", "archive/2026-01/rss.xml"):
        entries = feedparser.parse(server.feed(path)).entries
        assert [(e.title, e.link.rstrip("/").rsplit("/", 1)[-1]) for e in entries] == [
            ("Story", "new-name")
        ], path
    assert reports(server) == []


# --- the sitemap index and the monthly sitemaps ---------------------------------------------

SITEMAP_NS = {"s": "http://www.sitemaps.org/schemas/sitemap/0.9"}
FEEDS_URL = "https://englishnews.example/feeds/"


def sitemap_urls(stack: Stack, path: str) -> list[tuple[str, str | None]]:
    """Each ``(loc, lastmod)`` of a sitemap or sitemap index, after checking it."""
    body = stack.feed(path)
    assert check_sitemap(body, index=path == "sitemap.xml") == []
    entries = etree.fromstring(body).xpath("s:*", namespaces=SITEMAP_NS)
    return [
        (e.findtext("s:loc", namespaces=SITEMAP_NS), e.findtext("s:lastmod", namespaces=SITEMAP_NS))
        for e in entries
    ]


def sitemap_puts(stack: Stack) -> list[str]:
    """The sitemaps written from now on, in order."""
    written: list[str] = []

    def note(params: dict[str, Any], **_: Any) -> None:
        if "sitemap" in params["Key"] and params["Key"] != "news-sitemap.xml":
            written.append(params["Key"])

    stack.s3.meta.events.register("before-parameter-build.s3.PutObject", note)
    return written


def test_an_edit_rewrites_only_its_months_sitemap(stack: Stack, seq: Sequencer) -> None:
    publish(stack, seq, "articles/jan.md", article("Jan", published="2026-01-05T10:00:00Z"))
    publish(stack, seq, "articles/feb.md", article("Feb", published="2026-02-05T10:00:00Z"))
    assert [loc for loc, _ in sitemap_urls(stack, "sitemap.xml")] == [
        FEEDS_URL + "sitemaps/2026-01.xml",
        FEEDS_URL + "sitemaps/2026-02.xml",
    ]
    written = sitemap_puts(stack)

    edited = article(
        "Jan", published="2026-01-05T10:00:00Z", extra="updated: 2026-03-01T08:00:00Z\n"
    )
    outcome = publish(stack, seq, "articles/jan.md", edited)

    assert written == ["sitemaps/2026-01.xml"]
    assert "sitemaps/2026-01.xml" in outcome.feeds_written
    assert sitemap_urls(stack, "sitemaps/2026-01.xml") == [
        ("https://englishnews.example/articles/jan/", "2026-03-01T08:00:00+00:00")
    ]


def test_a_month_that_empties_leaves_the_index_and_keeps_an_empty_sitemap(
    stack: Stack, seq: Sequencer
) -> None:
    publish(stack, seq, "articles/a.md", article("A", published="2026-01-05T10:00:00Z"))
    publish(stack, seq, "articles/a.md", article("A", published="2026-02-05T10:00:00Z"))

    assert [loc for loc, _ in sitemap_urls(stack, "sitemap.xml")] == [
        FEEDS_URL + "sitemaps/2026-02.xml"
    ]
    assert sitemap_urls(stack, "sitemaps/2026-01.xml") == []
    assert [loc for loc, _ in sitemap_urls(stack, "sitemaps/2026-02.xml")] == [
        "https://englishnews.example/articles/a/"
    ]


def fill_january(
    stack: Stack, seq: Sequencer, monkeypatch: pytest.MonkeyPatch, days: int = 2
) -> None:
    """Sitemap parts of two URLs, and one article published on each of January's first
    ``days`` days (two fill the first part exactly)."""
    monkeypatch.setattr(sitemap, "URLS_PER_SITEMAP", 2)
    for day in range(1, days + 1):
        publish(
            stack,
            seq,
            f"articles/{day}.md",
            article(f"{day}", published=f"2026-01-0{day}T10:00:00Z"),
        )


def test_a_month_past_the_url_limit_gains_a_part_and_the_index_lists_it(
    stack: Stack, seq: Sequencer, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The second part, named from the month's count, is read first, then written."""
    fill_january(stack, seq, monkeypatch)
    written = sitemap_puts(stack)

    outcome = publish(stack, seq, "articles/3.md", article("3", published="2026-01-03T10:00:00Z"))

    assert sorted(written) == ["sitemap.xml", "sitemaps/2026-01-2.xml"]  # part 1 unchanged
    assert {"sitemap.xml", "sitemaps/2026-01-2.xml"} <= set(outcome.feeds_written)
    assert [loc for loc, _ in sitemap_urls(stack, "sitemap.xml")] == [
        FEEDS_URL + "sitemaps/2026-01.xml",
        FEEDS_URL + "sitemaps/2026-01-2.xml",
    ]
    assert [loc for loc, _ in sitemap_urls(stack, "sitemaps/2026-01-2.xml")] == [
        "https://englishnews.example/articles/3/"
    ]


def test_a_month_back_under_the_url_limit_empties_its_stale_part(
    stack: Stack, seq: Sequencer, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The part a month no longer needs is emptied (as an emptied month's sitemap is), so
    no crawler that kept its address reads a withdrawn article in it, and the index no
    longer lists it."""
    fill_january(stack, seq, monkeypatch, days=3)
    assert len(sitemap_urls(stack, "sitemaps/2026-01-2.xml")) == 1

    outcome = publish(stack, seq, "articles/1.md", None)

    assert "sitemaps/2026-01-2.xml" in outcome.feeds_written
    assert sitemap_urls(stack, "sitemaps/2026-01-2.xml") == []
    assert [loc for loc, _ in sitemap_urls(stack, "sitemaps/2026-01.xml")] == [
        "https://englishnews.example/articles/2/",
        "https://englishnews.example/articles/3/",
    ]
    assert [loc for loc, _ in sitemap_urls(stack, "sitemap.xml")] == [
        FEEDS_URL + "sitemaps/2026-01.xml"
    ]


def test_a_reindex_empties_every_stale_part_of_a_month_that_shrank_at_once(
    stack: Stack, seq: Sequencer, monkeypatch: pytest.MonkeyPatch
) -> None:
    """More articles gone at once than a rebuild looks back for (files deleted while no
    event reached the pipeline): the reindex empties each part the month no longer needs."""
    fill_january(stack, seq, monkeypatch, days=5)
    assert len(sitemap_urls(stack, "sitemaps/2026-01-3.xml")) == 1
    for day in (3, 4, 5):
        stack.s3.delete_object(Bucket=stack.content_bucket, Key=f"articles/{day}.md")

    stack.publisher(clock=lambda: NOW).reindex()

    assert sitemap_urls(stack, "sitemaps/2026-01-2.xml") == []
    assert sitemap_urls(stack, "sitemaps/2026-01-3.xml") == []
    assert len(sitemap_urls(stack, "sitemaps/2026-01.xml")) == 2
    assert [loc for loc, _ in sitemap_urls(stack, "sitemap.xml")] == [
        FEEDS_URL + "sitemaps/2026-01.xml"
    ]
    assert "sitemaps/2026-01-4.xml" not in heads(stack)


def s3_calls(stack: Stack) -> list[tuple[str, str]]:
    """Each call into the feeds bucket from now on, as ``(operation, key)``, in the order
    they are made."""
    calls: list[tuple[str, str]] = []

    def note(params: dict[str, Any], event_name: str, **_: Any) -> None:
        if params.get("Bucket") == stack.feeds_bucket:
            calls.append((event_name.rsplit(".", 1)[1], params.get("Key", "")))

    stack.s3.meta.events.register("before-parameter-build.s3", note)
    return calls


@pytest.mark.parametrize("change", ["an edit", "a third article"])
def test_a_month_at_a_sitemap_part_boundary_is_written_in_one_attempt(
    stack: Stack, seq: Sequencer, monkeypatch: pytest.MonkeyPatch, change: str
) -> None:
    """January's first part is full: an edit may have just emptied its next part, a third
    article starts it. Either way the next part is read with every other object, before any
    write, so the publish takes one attempt (one read of ``directory.json``), not a second
    round of requests for a part only its render named."""
    fill_january(stack, seq, monkeypatch)
    calls = s3_calls(stack)

    if change == "an edit":
        body = article("1", published="2026-01-01T10:00:00Z").replace(b"Body", b"New body")
        outcome = publish(stack, seq, "articles/1.md", body)
    else:
        outcome = publish(
            stack, seq, "articles/3.md", article("3", published="2026-01-03T10:00:00Z")
        )

    first_put = calls.index(next(call for call in calls if call[0] == "PutObject"))
    part_heads = [
        n for n, call in enumerate(calls) if call == ("HeadObject", "sitemaps/2026-01-2.xml")
    ]
    assert len(part_heads) == 1 and part_heads[0] < first_put
    assert calls.count(("GetObject", "directory.json")) == 1
    written = "sitemaps/2026-01-2.xml" in outcome.feeds_written
    assert written is (change == "a third article")
    assert len(sitemap_urls(stack, "sitemap.xml")) == (2 if written else 1)


def test_a_month_never_split_gets_no_second_part(
    stack: Stack, seq: Sequencer, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The check for a stale part writes nothing where there never was one."""
    fill_january(stack, seq, monkeypatch)

    publish(stack, seq, "articles/1.md", None)

    assert "sitemaps/2026-01-2.xml" not in heads(stack)
