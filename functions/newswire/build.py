"""A full build: every article of a site to every feed, in every format.

Used by ``newswire build`` (and ``reindex``). The order of work is chosen so that a large
archive stays cheap: every article is parsed and validated, but only the articles some feed
shows are rendered, and each feed is rendered once per format.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime

from newswire.content.articles import read_articles
from newswire.domain.feeds import (
    MAIN_FEED,
    Feed,
    FeedFormat,
    FeedKey,
    build_feed,
    feed_keys_for,
    named_after,
    newest,
)
from newswire.domain.model import Article, Entry, SiteConfig
from newswire.errors import InvalidArticleError
from newswire.rendering.entry import render_entry
from newswire.rendering.registry import render_feed


@dataclass(frozen=True, slots=True)
class FeedFile:
    """One rendered feed document, ready to store and serve."""

    path: str
    content_type: str
    body: bytes


@dataclass(slots=True)
class BuildReport:
    """What a build did: enough for a one-line summary and an error report."""

    published: int = 0
    drafts: int = 0
    scheduled: int = 0
    rejected: list[InvalidArticleError] = field(default_factory=list)
    files: list[FeedFile] = field(default_factory=list)


def plan_feeds(articles: Iterable[Article], site: SiteConfig) -> dict[FeedKey, list[Article]]:
    """Which articles each feed shows: the newest ``items_per_feed`` of its members.

    Feeds are planned on unrendered articles (their order and membership need no body), so
    only the articles some feed shows are ever rendered.
    """
    members: dict[FeedKey, list[Article]] = defaultdict(list)
    for article in articles:
        for key in feed_keys_for(article):
            members[key].append(article)
    plan: dict[FeedKey, list[Article]] = {}
    for key, group in members.items():
        shown = newest(group, site.items_per_feed)
        plan[named_after(key, shown[0])] = shown
    return plan


def render_feed_files(feed: Feed, max_bytes: int) -> list[FeedFile]:
    """Render ``feed`` in every format, each within ``max_bytes`` if at all possible.

    A feed past its byte budget carries fewer items (the oldest go first); a feed whose newest
    item alone is over budget still carries that one item rather than none.
    """
    return [
        FeedFile(feed.key.path(fmt), fmt.content_type, _fit(feed, fmt, max_bytes))
        for fmt in FeedFormat
    ]


def _fit(feed: Feed, fmt: FeedFormat, max_bytes: int) -> bytes:
    body = render_feed(feed, fmt)
    if len(body) <= max_bytes or len(feed.entries) <= 1:
        return body
    fits, low, high = (
        render_feed(feed.with_entries(feed.entries[:1]), fmt),
        1,
        len(feed.entries) - 1,
    )
    while low < high:  # the largest count that fits; size grows with the count
        middle = (low + high + 1) // 2
        candidate = render_feed(feed.with_entries(feed.entries[:middle]), fmt)
        if len(candidate) <= max_bytes:
            fits, low = candidate, middle
        else:
            high = middle - 1
    return fits


def build_site(
    sources: Iterable[tuple[str, bytes]], site: SiteConfig, now: datetime
) -> BuildReport:
    """Build every feed of the site.

    Args:
        sources: ``(key, bytes)`` of every article file.
        site: the site configuration.
        now: the time drafts and scheduled articles are judged at (never written to output).

    Returns:
        The report, whose ``files`` are the feed documents sorted by path.
    """
    articles, rejected = read_articles(sources, site)
    report = BuildReport(rejected=rejected)
    live: list[Article] = []
    for article in articles:
        if article.draft:
            report.drafts += 1
        elif not article.is_live(now):
            report.scheduled += 1
        else:
            live.append(article)
    report.published = len(live)
    rendered: dict[str, Entry] = {}
    for key, shown in sorted(plan_feeds(live, site).items()):
        entries = []
        for article in shown:
            entry = rendered.get(article.id)
            if entry is None:
                entry = rendered[article.id] = render_entry(article, site)
            entries.append(entry)
        report.files.extend(render_feed_files(build_feed(key, entries, site), site.max_feed_bytes))
    if not live:  # the main feed exists even before the first article
        report.files.extend(render_feed_files(build_feed(MAIN_FEED, [], site), site.max_feed_bytes))
    report.files.sort(key=lambda f: f.path)
    return report
