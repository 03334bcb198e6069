"""WebSub: feeds advertise their hub, and the publisher pings it after a change.

The hub is a small HTTP server on loopback that records what it is told, or fails on purpose.
"""

from __future__ import annotations

import json
import socket
import threading
from datetime import UTC, datetime
from typing import Any

import feedparser

from newswire.adapters import websub
from newswire.adapters.websub import WebSubNotifier
from newswire.domain.feeds import FeedFormat
from newswire.pipeline.changes import ArticleChange, PublishAction, normalise_sequencer
from tests.support.aws import Stack
from tests.support.feedcheck import assert_valid
from tests.support.hub import Hub

NOW = datetime(2026, 11, 26, 12, 0, tzinfo=UTC)
ARTICLE = b"---\ntitle: Hub news\npublished: 2026-11-25T10:00:00Z\ntags: [world]\n---\n\nBody.\n"


def publish_with_hub(stack: Stack, hub: Hub, **notifier: Any) -> Any:
    site_yaml = stack.s3.get_object(Bucket=stack.content_bucket, Key="site.yaml")["Body"].read()
    stack.s3.put_object(
        Bucket=stack.content_bucket, Key="site.yaml", Body=site_yaml + f"hub: {hub.url}\n".encode()
    )
    publisher = stack.publisher(clock=lambda: NOW)
    publisher.notifier = WebSubNotifier(publisher.site.hubs, sleep=lambda _s: None, **notifier)
    stack.put_article("articles/hub-news.md", ARTICLE)
    outcome = publisher.publish(
        ArticleChange("articles/hub-news.md", False, normalise_sequencer("A1"))
    )
    assert hub.pings == []  # hubs are told once the invocation's work is done
    return publisher.announce(), outcome


def test_feeds_advertise_the_hub_and_the_hub_hears_of_every_changed_feed(
    stack: Stack, hub: Hub
) -> None:
    warnings, outcome = publish_with_hub(stack, hub)
    assert outcome.action is PublishAction.PUBLISHED
    assert warnings == []
    for fmt in FeedFormat:
        assert_valid(stack.feed(fmt.filename), fmt)
    rss = feedparser.parse(stack.feed("rss.xml"))
    assert {link.href for link in rss.feed.links if link.rel == "hub"} == {hub.url}
    atom = feedparser.parse(stack.feed("atom.xml"))
    assert {link.href for link in atom.feed.links if link.rel == "hub"} == {hub.url}
    assert json.loads(stack.feed("feed.json"))["hubs"] == [{"type": "WebSub", "url": hub.url}]
    told = sorted(url for ping in hub.pings for url in ping["hub.url"])
    assert all(ping["hub.mode"] == ["publish"] for ping in hub.pings)
    assert len(hub.pings) == 1  # one request per hub, every changed feed in it
    names = {fmt.filename for fmt in FeedFormat}
    feeds_written = [p for p in outcome.feeds_written if p.rsplit("/", 1)[-1] in names]
    feeds = "https://englishnews.example/feeds/"
    assert told == sorted(feeds + path for path in feeds_written)  # not the sitemap or .xsl
    assert f"{feeds}tags/world/atom.xml" in told


def test_a_failing_hub_is_retried_then_reported_never_failing_the_publish(
    stack: Stack, hub: Hub
) -> None:
    hub.status = 503
    warnings, outcome = publish_with_hub(stack, hub, attempts=3)
    assert outcome.action is PublishAction.PUBLISHED
    assert "Hub news" in stack.feed("rss.xml").decode()
    assert len(hub.pings) == 3  # one request for all changed feeds, tried three times
    assert len(warnings) == 1
    assert "HTTP 503" in warnings[0]


def test_a_slow_hub_times_out_without_holding_the_publish(stack: Stack, hub: Hub) -> None:
    hub.delay = 1.0
    warnings, outcome = publish_with_hub(stack, hub, timeout=0.1, attempts=1)
    assert outcome.action is PublishAction.PUBLISHED
    assert warnings and "timed out" in warnings[0]


def test_hubs_are_told_together_so_slow_hubs_cost_one_wait_not_one_each(hub: Hub) -> None:
    hub.delay = 0.5  # each answer takes a while: pings one after the other never overlap
    hubs = [f"{hub.url}?n={n}" for n in range(4)]
    feed = "https://englishnews.example/feeds/rss.xml"

    warnings = WebSubNotifier(hubs, timeout=2.0, attempts=1).notify([feed])

    assert warnings == []
    assert len(hub.pings) == 4
    assert hub.most_at_once == 4


def test_announcing_ends_at_its_deadline_however_the_hubs_stall(hub: Hub) -> None:
    hub.delay = 2.0
    hubs = [f"{hub.url}?n={n}" for n in range(3)]
    notifier = WebSubNotifier(hubs, timeout=1.5, attempts=3, deadline=0.5)

    warnings = notifier.notify(["https://englishnews.example/feeds/rss.xml"])

    assert len(hub.pings) == 3  # each hub tried once: the deadline left no time to try again
    assert len(warnings) == 3
    # abandoned at the deadline, or timed out right at it (which comes first is the threads')
    deadline = ("no answer within 0.5 s", "(no time left to try again)")
    assert all(any(said in w for said in deadline) for w in warnings), warnings


def test_the_deadline_allows_one_hub_all_its_tries() -> None:
    # the publish function's timeout budgets one deadline for announcing (handlers/budget.py)
    assert websub.DEADLINE >= websub.HUB_WORST_CASE_SECONDS
    assert round(websub.HUB_WORST_CASE_SECONDS, 6) == 3 * 3.0 + 0.2 + 0.4


def test_a_hub_that_answers_nonsense_is_reported_never_raised() -> None:
    # http.client raises BadStatusLine (no OSError) for an answer that is not HTTP at all
    with socket.create_server(("127.0.0.1", 0)) as server:

        def answer_nonsense() -> None:
            for _ in range(2):  # both tries
                connection, _address = server.accept()
                with connection:
                    connection.recv(65536)
                    connection.sendall(b"NOT HTTP AT ALL\r\n\r\n")

        talker = threading.Thread(target=answer_nonsense, daemon=True)
        talker.start()
        hub_url = f"http://127.0.0.1:{server.getsockname()[1]}/"
        notifier = WebSubNotifier([hub_url], attempts=2, sleep=lambda _s: None)

        warnings = notifier.notify(["https://englishnews.example/feeds/rss.xml"])
        talker.join(timeout=5)

    assert len(warnings) == 1
    assert warnings[0].startswith(f"WebSub hub {hub_url} was not told about 1 changed feeds: ")
    assert "BadStatusLine" in warnings[0]
