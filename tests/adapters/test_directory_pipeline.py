"""The feed directory (``directory.json``, ``feeds.opml``, ``index.html``) as the pipeline
writes it, against moto: once per reindex, in agreement across its three documents, only
with feeds actually written, and never over a newer format."""

from __future__ import annotations

import json
import threading
from collections import Counter
from hashlib import sha256
from typing import Any

import boto3
import pytest
from botocore.exceptions import ClientError

from newswire.adapters.s3 import S3FeedStore
from newswire.errors import DirectoryFormatError, TransientStorageError
from newswire.pipeline import reindex as phases
from newswire.pipeline.changes import ArticleChange, PublishAction
from newswire.pipeline.ports import FeedObject
from newswire.rendering.directory import DIRECTORY_PATHS, directory_files, parse_directory_data
from tests.adapters.test_pipeline import NOW, Sequencer, article, publish
from tests.support.aws import Stack


@pytest.fixture
def seq() -> Sequencer:
    return Sequencer()


def listed(stack: Stack) -> dict[str, dict[str, Any]]:
    return {f["id"]: f for f in json.loads(stack.feed("directory.json"))["feeds"]}


def assert_documents_agree(stack: Stack) -> None:
    """``feeds.opml`` and ``index.html`` are what ``directory.json`` renders to."""
    site = stack.publisher().site
    data = stack.feed("directory.json")
    for file in directory_files(parse_directory_data(data), site):
        assert stack.feed(file.path) == file.body, file.path


def count_puts(stack: Stack) -> Counter[str]:
    """PutObject calls into the feeds bucket by key, from now on."""
    puts: Counter[str] = Counter()

    def count(params: dict[str, Any], **_: Any) -> None:
        puts[params["Key"]] += 1

    stack.s3.meta.events.register("before-parameter-build.s3.PutObject", count)
    return puts


def exists(stack: Stack, path: str) -> bool:
    listing = stack.s3.list_objects_v2(Bucket=stack.feeds_bucket, Prefix=path)
    return any(item["Key"] == path for item in listing.get("Contents", []))


def refuse(code: str, status: int, operation: str = "PutObject") -> ClientError:
    return ClientError(
        {"Error": {"Code": code, "Message": code}, "ResponseMetadata": {"HTTPStatusCode": status}},
        operation,
    )


def fail_puts_under(stack: Stack, prefix: str) -> None:
    """Every PutObject under ``prefix`` fails from now on (S3 503, after botocore's retries)."""

    def fail(params: dict[str, Any], **_: Any) -> None:
        if params["Key"].startswith(prefix):
            raise refuse("SlowDown", 503)

    stack.s3.meta.events.register("before-parameter-build.s3.PutObject", fail)


def test_a_reindex_writes_the_directory_once_however_many_render_groups(
    stack: Stack, seq: Sequencer, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Render groups leave the directory to one step after them: with a group per two
    feeds, ``directory.json`` is still written once, listing every feed."""
    monkeypatch.setattr(phases, "RENDER_BATCH", 2)
    for name in ("alpha", "beta", "gamma", "delta"):
        stack.put_article(f"articles/{name}.md", article(name.title(), tags=f"[{name}]"))
    puts = count_puts(stack)
    stack.publisher(clock=lambda: NOW).reindex()
    assert puts["directory.json"] == 1
    assert puts["feeds.opml"] == 1 and puts["index.html"] == 1
    assert {f"tag:{n}" for n in ("alpha", "beta", "gamma", "delta")} | {"main"} <= listed(
        stack
    ).keys()
    assert listed(stack)["main"]["articles"] == 4
    assert_documents_agree(stack)


def test_a_publish_between_the_render_groups_and_the_directory_step_keeps_its_listing(
    stack: Stack, seq: Sequencer
) -> None:
    """The reindex rendered ``tag:sport`` with one article; a publish then adds a second and
    lists it: the directory step must not put the reindex's older listing back."""
    stack.put_article("articles/a.md", article("A", tags="[sport]"))
    publisher = stack.publisher(clock=lambda: NOW)
    phases.sweep(publisher)
    phases.index_articles(publisher, list(publisher.content.list_articles()))
    group = phases.render_feeds(publisher, phases.feeds_to_render(publisher))
    assert not {path for path in DIRECTORY_PATHS if exists(stack, path)}  # left to the step
    publish(stack, seq, "articles/b.md", article("B", tags="[sport]"))
    assert listed(stack)["tag:sport"]["articles"] == 2

    phases.write_directory(stack.publisher(clock=lambda: NOW), group.listings)
    assert listed(stack)["tag:sport"]["articles"] == 2
    assert listed(stack)["main"]["articles"] == 2
    assert_documents_agree(stack)


def test_the_three_documents_agree_after_a_race(stack: Stack, seq: Sequencer) -> None:
    """B wrote its ``directory.json`` but lost ``feeds.opml`` and ``index.html`` to another
    writer, so it tries again: it reads its own ``directory.json`` and stalls before reading
    the other two. A publishes all through meanwhile. B's directory data is then unchanged
    (nothing to write), but its page and OPML differ from A's: written, they would leave
    A's tag out of them while ``directory.json`` lists it. B must notice and try again."""
    publish(stack, seq, "articles/first.md", article("First"))
    stack.put_article("articles/a.md", article("A", tags="[Alpha]"))
    stack.put_article("articles/b.md", article("B", tags="[Beta]"))
    client = boto3.client("s3", region_name="us-east-1")
    refused: list[str] = []
    heads: Counter[str] = Counter()
    stalled: list[str] = []
    all_stalled, resume, read_again = threading.Event(), threading.Event(), threading.Event()

    def lose_derived_once(params: dict[str, Any], **_: Any) -> None:
        if params["Key"] in ("feeds.opml", "index.html") and params["Key"] not in refused:
            refused.append(params["Key"])  # as if another writer had just written it
            raise refuse("PreconditionFailed", 412)

    def stall_second_heads(params: dict[str, Any], **_: Any) -> None:
        heads[params["Key"]] += 1
        if params["Key"] in ("feeds.opml", "index.html") and heads[params["Key"]] == 2:
            stalled.append(params["Key"])
            if len(stalled) == 2:
                all_stalled.set()
            resume.wait(10)

    class ReadsWatched(S3FeedStore):
        reads = 0

        def read(self, path: str) -> tuple[FeedObject, bytes] | None:
            found = super().read(path)
            ReadsWatched.reads += 1
            if ReadsWatched.reads == 2:
                read_again.set()
            return found

    client.meta.events.register("before-parameter-build.s3.PutObject", lose_derived_once)
    client.meta.events.register("before-parameter-build.s3.HeadObject", stall_second_heads)
    slow = stack.publisher(clock=lambda: NOW)
    slow.feeds = ReadsWatched(client, stack.feeds_bucket)
    outcomes: list[Any] = []
    change_b = ArticleChange("articles/b.md", False, seq())
    thread = threading.Thread(target=lambda: outcomes.append(slow.publish(change_b)))
    thread.start()
    assert all_stalled.wait(10) and read_again.wait(10)  # B's second try, data read
    stack.publisher(clock=lambda: NOW).publish(ArticleChange("articles/a.md", False, seq()))
    resume.set()
    thread.join(10)

    assert not thread.is_alive()
    assert [o.action for o in outcomes] == [PublishAction.PUBLISHED]
    assert {"main", "tag:alpha", "tag:beta", "tag:world"} <= listed(stack).keys()
    assert_documents_agree(stack)


def test_a_feed_whose_write_failed_is_not_listed(stack: Stack, seq: Sequencer) -> None:
    """A new tag feed that could not be written must not be offered in the directory (its
    address would be a 404); the change fails, to be retried."""
    publish(stack, seq, "articles/first.md", article("First"))

    fail_puts_under(stack, "tags/alpha/")
    with pytest.raises(TransientStorageError):
        publish(stack, seq, "articles/a.md", article("A", tags="[Alpha]"))
    assert "tag:alpha" not in listed(stack)
    assert listed(stack)["main"]["articles"] == 2  # the feeds that were written are listed
    assert_documents_agree(stack)


def test_a_failed_feed_keeps_the_listing_it_had(stack: Stack, seq: Sequencer) -> None:
    """The directory is written beside the feeds, as if they were all written: a feed that
    then fails must get back the listing of the document still published (one article), not
    keep the one of the document it could not write (two)."""
    publish(stack, seq, "articles/a.md", article("A", tags="[Sport]"))

    fail_puts_under(stack, "tags/sport/")
    with pytest.raises(TransientStorageError):
        publish(stack, seq, "articles/b.md", article("B", tags="[Sport]"))
    assert listed(stack)["tag:sport"]["articles"] == 1
    assert listed(stack)["tag:sport"]["latest"]["title"] == "A"
    assert listed(stack)["main"]["articles"] == 2
    assert_documents_agree(stack)


def test_a_feed_that_lost_a_race_is_listed_once_written(stack: Stack, seq: Sequencer) -> None:
    """A feed whose write loses a race (as if another writer had just written it) is read,
    rendered and written again; the directory, written beside its first try, ends listing
    what was published."""
    publish(stack, seq, "articles/a.md", article("A", tags="[Sport]"))
    refused: list[str] = []

    def lose_once(params: dict[str, Any], **_: Any) -> None:
        if params["Key"] == "tags/sport/rss.xml" and not refused:
            refused.append(params["Key"])
            raise refuse("PreconditionFailed", 412)

    stack.s3.meta.events.register("before-parameter-build.s3.PutObject", lose_once)
    publish(stack, seq, "articles/b.md", article("B", tags="[Sport]"))
    assert refused
    assert listed(stack)["tag:sport"]["articles"] == 2
    assert b"<title>B</title>" in stack.feed("tags/sport/rss.xml")
    assert_documents_agree(stack)


def q_publishes_b_while_p_edits_a(
    stack: Stack,
    seq: Sequencer,
    client: Any,
    stalled: threading.Event,
    resume: threading.Event,
) -> bytes:
    """Q publishes B through ``client``, whose hooks fail Q's sport feed and stall Q
    (setting ``stalled``, waiting on ``resume``); meanwhile P publishes an edit of A's body;
    then Q goes on. Q's sport feed fails once for good (retried by a redelivery), and the
    sport feed ends as P wrote it, listed with both articles, newest B. Returns it. (A is
    published first, and B uploaded, through the stack's own client.)"""
    publish(stack, seq, "articles/a.md", article("A", tags="[Sport]"))
    stack.put_article(
        "articles/b.md", article("B", tags="[Sport]", published="2026-01-02T10:00:00Z")
    )
    slow = stack.publisher(clock=lambda: NOW)
    slow.feeds = S3FeedStore(client, stack.feeds_bucket)
    failures: list[BaseException] = []

    def publish_b() -> None:
        try:
            slow.publish(ArticleChange("articles/b.md", False, seq()))
        except TransientStorageError as e:
            failures.append(e)

    thread = threading.Thread(target=publish_b)
    thread.start()
    assert stalled.wait(10)
    assert listed(stack)["tag:sport"]["articles"] == 2  # written ahead of Q's failed feed
    edited = article("A", tags="[Sport]").replace(b"Body of A", b"Edited body of A")
    publish(stack, seq, "articles/a.md", edited)
    resume.set()
    thread.join(10)

    assert not thread.is_alive() and len(failures) == 1  # Q's sport feed: retried
    sport: bytes = stack.feed("tags/sport/rss.xml")
    assert b"<title>B</title>" in sport and b"Edited body of A" in sport
    assert listed(stack)["tag:sport"]["articles"] == 2
    assert listed(stack)["tag:sport"]["latest"]["title"] == "B"
    return sport


def test_a_failed_feed_leaves_the_listing_another_writer_found_in_place(
    stack: Stack, seq: Sequencer
) -> None:
    """Q publishes B: ``directory.json``, written beside the feeds, lists ``tag:sport`` with
    two articles, newest B, but Q's write of the sport feed fails. Before Q's next attempt, P
    publishes an edit of A's body: P writes the sport feed (A edited, B) and finds its
    listing (two articles, newest B) already in the directory, so writes none. Q must not then
    put back the one-article listing it replaced: the sport feed is P's now, not the one Q's
    write left unchanged, and P counted on the listing it found."""
    client = boto3.client("s3", region_name="us-east-1")
    reads: list[str] = []
    stalled, resume = threading.Event(), threading.Event()

    def fail_sport(params: dict[str, Any], **_: Any) -> None:
        if params["Key"].startswith("tags/sport/"):
            raise refuse("SlowDown", 503)

    def stall_second_read(params: dict[str, Any], **_: Any) -> None:
        if params["Key"] == "directory.json":
            reads.append(params["Key"])
            if len(reads) == 2:  # Q's next attempt: it reads the directory again
                stalled.set()
                resume.wait(10)

    client.meta.events.register("before-parameter-build.s3.PutObject", fail_sport)
    client.meta.events.register("before-parameter-build.s3.GetObject", stall_second_read)
    q_publishes_b_while_p_edits_a(stack, seq, client, stalled, resume)
    assert_documents_agree(stack)


@pytest.mark.parametrize("refusal", [None, ("ConditionalRequestConflict", 409)])
def test_a_put_back_after_another_writers_feed_write_does_not_undo_its_listing(
    stack: Stack, seq: Sequencer, refusal: tuple[str, int] | None
) -> None:
    """Q publishes B: ``directory.json``, written beside the feeds, lists ``tag:sport`` with
    two articles, newest B, but Q's write of the sport feed fails. Q's next attempt reads
    the directory and HEADs the sport feed (unchanged: Q would put back the one-article
    listing), then stalls before its write. P publishes an edit of A's body meanwhile: the
    sport feed (A edited, B) has Q's listing but another document, so P lists it anew. Q's
    put back must then lose to P's directory: it would list a document of one article while
    the feed shows two, until the next change to the sport feed.

    With ``refusal``, S3 answers Q's put back as it may while P's write is in flight
    (``409 ConditionalRequestConflict``, which moto never gives) instead of ``412``."""
    client = boto3.client("s3", region_name="us-east-1")
    directory_puts: list[str] = []
    stalled, resume = threading.Event(), threading.Event()

    def fail_sport_stall_the_put_back(params: dict[str, Any], **_: Any) -> None:
        if params["Key"].startswith("tags/sport/"):
            raise refuse("SlowDown", 503)
        if params["Key"] == "directory.json":
            directory_puts.append(params["Key"])
            if len(directory_puts) == 2:  # Q's put back: its HEAD of the sport feed made
                stalled.set()
                resume.wait(10)
                if refusal is not None:
                    raise refuse(*refusal)

    client.meta.events.register(
        "before-parameter-build.s3.PutObject", fail_sport_stall_the_put_back
    )
    sport = q_publishes_b_while_p_edits_a(stack, seq, client, stalled, resume)
    assert listed(stack)["tag:sport"]["rss_sha256"] == sha256(sport).hexdigest()
    assert_documents_agree(stack)


def test_a_listing_ahead_of_a_failed_feed_is_put_back_though_the_directory_fails_once(
    stack: Stack, seq: Sequencer
) -> None:
    """The sport feed cannot be written (503, every time), and the directory's write that
    would put back its listing fails once too. The change fails, and neither it nor its
    redelivery may leave the directory listing the sport feed it could not write: the
    redelivery finds that listing already in place, so it writes no directory to undo."""
    publish(stack, seq, "articles/a.md", article("A", tags="[Sport]"))
    directory_puts: list[str] = []

    def fail_sport_and_the_undo(params: dict[str, Any], **_: Any) -> None:
        if params["Key"].startswith("tags/sport/"):
            raise refuse("SlowDown", 503)
        if params["Key"] == "directory.json":
            directory_puts.append(params["Key"])
            if len(directory_puts) == 2:  # the one that puts back the sport listing
                raise refuse("SlowDown", 503)

    stack.s3.meta.events.register("before-parameter-build.s3.PutObject", fail_sport_and_the_undo)
    stack.put_article("articles/b.md", article("B", tags="[Sport]"))
    change = ArticleChange("articles/b.md", False, seq())
    for _delivery in range(2):
        with pytest.raises(TransientStorageError):
            stack.publisher(clock=lambda: NOW).publish(change)
    assert b"<title>B</title>" not in stack.feed("tags/sport/rss.xml")
    assert listed(stack)["tag:sport"]["articles"] == 1
    assert listed(stack)["tag:sport"]["latest"]["title"] == "A"
    assert_documents_agree(stack)


def test_a_publish_writes_the_directory_beside_its_feeds(stack: Stack, seq: Sequencer) -> None:
    """The directory's write does not wait for the feeds' (a round trip per publish): the
    main feed's PUT is held until ``directory.json``'s has started, which, if the directory
    were written after the feeds, would never happen."""
    publish(stack, seq, "articles/a.md", article("A"))
    directory_started = threading.Event()
    waited: list[bool] = []

    def hold_main(params: dict[str, Any], **_: Any) -> None:
        if params["Key"] == "directory.json":
            directory_started.set()
        elif params["Key"] == "rss.xml":
            waited.append(directory_started.wait(5))

    stack.s3.meta.events.register("before-parameter-build.s3.PutObject", hold_main)
    publish(stack, seq, "articles/b.md", article("B"))
    assert waited == [True]
    assert listed(stack)["main"]["articles"] == 2
    assert_documents_agree(stack)


def test_a_publish_that_changes_no_listing_shown_writes_only_directory_json(
    stack: Stack, seq: Sequencer
) -> None:
    """An edit of an older article's body changes its feeds but nothing the directory shows
    (count, newest headline, newest change): ``feeds.opml`` and ``index.html`` are not
    written again; ``directory.json`` is, once, naming the main feed's new RSS document."""
    publish(stack, seq, "articles/old.md", article("Old", published="2025-06-01T10:00:00Z"))
    publish(stack, seq, "articles/new.md", article("New"))
    before = {path: stack.feed(path) for path in DIRECTORY_PATHS}
    puts = count_puts(stack)
    body = article("Old", published="2025-06-01T10:00:00Z").replace(b"Body", b"New body")
    outcome = publish(stack, seq, "articles/old.md", body)
    assert "rss.xml" in outcome.feeds_written
    assert {path: n for path, n in puts.items() if path in DIRECTORY_PATHS} == {"directory.json": 1}
    assert {path: stack.feed(path) for path in ("feeds.opml", "index.html")} == {
        path: before[path] for path in ("feeds.opml", "index.html")
    }
    assert listed(stack)["main"]["rss_sha256"] == sha256(stack.feed("rss.xml")).hexdigest()


def test_a_directory_in_a_newer_format_is_never_overwritten(stack: Stack, seq: Sequencer) -> None:
    """Read as empty, it would be replaced by the few feeds one change touched: the change
    fails with a clear error instead, its feeds written, the file left as it was."""
    newer = json.dumps({"version": 2, "feeds": [{"id": "main", "entries": 9}]}).encode()
    stack.s3.put_object(Bucket=stack.feeds_bucket, Key="directory.json", Body=newer)
    with pytest.raises(DirectoryFormatError, match=r"directory\.json: version: 2, expected 1"):
        publish(stack, seq, "articles/a.md", article("A"))
    assert stack.feed("directory.json") == newer
    assert not exists(stack, "feeds.opml") and not exists(stack, "index.html")
    assert b"<title>A</title>" in stack.feed("rss.xml")


def test_the_directory_step_of_an_unchanged_site_heads_no_feed(stack: Stack) -> None:
    """A listing the directory already holds needs no check that its feed is still the one
    rendered: a reindex that changes nothing costs the directory step one GET, two HEADs."""
    stack.put_article("articles/a.md", article("A", tags="[sport, port]"))
    publisher = stack.publisher(clock=lambda: NOW)
    publisher.reindex()
    group = phases.render_feeds(publisher, phases.feeds_to_render(publisher))
    calls: Counter[str] = Counter()

    def count(event_name: str, **_: Any) -> None:
        calls[event_name.split(".")[2]] += 1

    stack.s3.meta.events.register("before-call.s3.*", count)
    assert phases.write_directory(publisher, group.listings) == 0
    assert dict(calls) == {"GetObject": 1, "HeadObject": 2}


def test_a_reindex_lists_a_feed_under_its_new_name(stack: Stack, seq: Sequencer) -> None:
    """Feed keys ignore the display name, the directory must not: a tag written differently
    since (its event lost) is listed as its feed is now named."""
    publish(stack, seq, "articles/a.md", article("A", tags="[Café Society]"))
    assert listed(stack)["tag:cafe-society"]["name"] == "Café Society"
    stack.put_article("articles/a.md", article("A", tags="[CAFÉ society]"))
    stack.publisher(clock=lambda: NOW).reindex()
    assert listed(stack)["tag:cafe-society"]["name"] == "CAFÉ society"
    assert b"CAF\xc3\x89 society" in stack.feed("feeds.opml")
    assert_documents_agree(stack)
