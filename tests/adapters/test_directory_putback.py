"""A listing written ahead of a feed write that failed, put back while another writer writes
that feed into the very document listed (the same change redelivered), against moto: in
either order, the directory ends listing the published document.

Q publishes B: ``directory.json``, written beside the feeds, lists ``tag:sport`` with two
articles (newest B), but Q's write of the sport feed fails (S3 503). The change is delivered
again (P): P renders the sport feed into the document Q's listing names, so finds that
listing in place and writes the feed alone. Q's next attempt HEADs the sport feed before P's
write, finds it unchanged, and puts back the one-article listing. Each test stalls the two
writers into one of the two orders that put back could land in.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from hashlib import sha256
from typing import Any

import boto3

from newswire.adapters.s3 import S3FeedStore
from newswire.errors import TransientStorageError
from newswire.pipeline.changes import ArticleChange
from newswire.pipeline.publisher import Publisher
from newswire.rendering.directory import DIRECTORY_PATHS
from tests.adapters.test_directory_pipeline import assert_documents_agree, listed, refuse
from tests.adapters.test_pipeline import NOW, article, publish
from tests.support.aws import Stack
from tests.support.sequencing import Sequencer

SPORT = "tags/sport/rss.xml"


def two_sport_articles_one_published(stack: Stack, seq: Sequencer) -> ArticleChange:
    """A published with the sport tag; B, newer, uploaded: the change that publishes it."""
    publish(stack, seq, "articles/a.md", article("A", tags="[Sport]"))
    stack.put_article(
        "articles/b.md", article("B", tags="[Sport]", published="2026-01-02T10:00:00Z")
    )
    return ArticleChange("articles/b.md", False, seq())


Hook = tuple[str, Callable[..., None]]


def writer(stack: Stack, *hooks: Hook) -> Publisher:
    """A publisher on a client of its own, whose PutObject and GetObject calls go through
    ``hooks`` (``(operation, hook)`` pairs) first."""
    client = boto3.client("s3", region_name="us-east-1")
    for operation, hook in hooks:
        client.meta.events.register(f"before-parameter-build.s3.{operation}", hook)
    publisher = stack.publisher(clock=lambda: NOW)
    publisher.feeds = S3FeedStore(client, stack.feeds_bucket)
    return publisher


def in_thread(
    publisher: Publisher, change: ArticleChange, failures: list[Exception]
) -> threading.Thread:
    """``publisher`` publishing ``change`` in a thread of its own (started), its failure
    (the sport feed's, for Q) kept in ``failures``."""

    def run() -> None:
        try:
            publisher.publish(change)
        except TransientStorageError as e:
            failures.append(e)

    thread = threading.Thread(target=run)
    thread.start()
    return thread


def fail_sport(params: dict[str, Any], **_: Any) -> None:
    if params["Key"].startswith("tags/sport/"):
        raise refuse("SlowDown", 503)


def assert_sport_listed_as_published(stack: Stack) -> None:
    sport = stack.feed(SPORT)
    assert b"<title>B</title>" in sport
    assert listed(stack)["tag:sport"]["articles"] == 2
    assert listed(stack)["tag:sport"]["latest"]["title"] == "B"
    assert listed(stack)["tag:sport"]["rss_sha256"] == sha256(sport).hexdigest()
    assert_documents_agree(stack)


def test_a_put_back_after_the_feed_was_written_as_listed_lists_it_again(
    stack: Stack, seq: Sequencer
) -> None:
    """Q stalls between its HEAD of the sport feed and its put back, while P publishes all
    through (its check of ``directory.json`` after its feed write finds it as read). Q's put
    back is then written, conditional on a directory nobody changed: Q must HEAD the feed
    again, find P's document, and list it again."""
    change = two_sport_articles_one_published(stack, seq)
    directory_puts: list[str] = []
    stalled, resume = threading.Event(), threading.Event()

    def stall_the_put_back(params: dict[str, Any], **_: Any) -> None:
        if params["Key"] in DIRECTORY_PATHS:
            directory_puts.append(params["Key"])
            if len(directory_puts) > len(DIRECTORY_PATHS):  # after the ahead: the put back
                stalled.set()  # its HEAD of the sport feed made; none of its three PUTs sent
                resume.wait(10)

    failures: list[Exception] = []
    q = writer(stack, ("PutObject", fail_sport), ("PutObject", stall_the_put_back))
    thread = in_thread(q, change, failures)
    assert stalled.wait(10)
    assert listed(stack)["tag:sport"]["articles"] == 2  # written ahead of Q's failed feed
    redelivered = stack.publisher(clock=lambda: NOW).publish(change)  # P
    assert SPORT in redelivered.feeds_written
    resume.set()
    thread.join(10)

    assert not thread.is_alive() and len(failures) == 1  # Q's sport feed: retried
    assert_sport_listed_as_published(stack)
    assert directory_puts.count("directory.json") == 3  # ahead, put back, listed again


def test_a_put_back_between_the_directory_read_and_the_feed_write_is_found_after_it(
    stack: Stack, seq: Sequencer
) -> None:
    """P reads ``directory.json`` (Q's listing in place) and stalls before its write of the
    sport feed, while Q's next attempt runs all through: it HEADs the sport feed (unchanged,
    and so again after its put back) and puts back the one-article listing. P's feed write
    then wins: P must find ``directory.json`` changed since its read, and list again."""
    change = two_sport_articles_one_published(stack, seq)
    directory_reads: list[str] = []
    q_stalled, q_resume = threading.Event(), threading.Event()
    p_stalled, p_resume = threading.Event(), threading.Event()

    def stall_q_next_read(params: dict[str, Any], **_: Any) -> None:
        if params["Key"] == "directory.json":
            directory_reads.append(params["Key"])
            if len(directory_reads) == 2:  # Q's next attempt
                q_stalled.set()
                q_resume.wait(10)

    def stall_p_sport_write(params: dict[str, Any], **_: Any) -> None:
        if params["Key"] == SPORT and not p_stalled.is_set():
            p_stalled.set()
            p_resume.wait(10)

    q_failures: list[Exception] = []
    q = writer(stack, ("PutObject", fail_sport), ("GetObject", stall_q_next_read))
    q_thread = in_thread(q, change, q_failures)
    assert q_stalled.wait(10)
    p_failures: list[Exception] = []
    p_thread = in_thread(writer(stack, ("PutObject", stall_p_sport_write)), change, p_failures)
    assert p_stalled.wait(10)  # P has read the directory: Q's listing in place
    q_resume.set()
    q_thread.join(10)
    assert not q_thread.is_alive() and len(q_failures) == 1  # Q's sport feed: retried
    assert listed(stack)["tag:sport"]["articles"] == 1  # put back
    p_resume.set()
    p_thread.join(10)

    assert not p_thread.is_alive() and not p_failures
    assert_sport_listed_as_published(stack)
