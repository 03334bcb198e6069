"""Real feed clients read every feed newswire builds, and see the seed article word for word.

feedparser (RSS, Atom) and lemon24/reader (all three formats) are what subscribers' apps are
built on: a feed they flag as broken, or an article whose words they show differently from
what the writer wrote, is a bug a reader would notice.
"""

from __future__ import annotations

from datetime import UTC, datetime
from functools import cache
from typing import Any

import feedparser
import lxml.html
import pytest

from newswire.build import build_site
from newswire.domain.feeds import FeedFormat
from newswire.rendering.base import FeedFile
from tests.support.corpus import generate_corpus
from tests.support.factories import (
    CONTENT,
    SEED,
    SEED_KEY,
    content_site,
    content_sources,
    make_site,
)
from tests.support.feedcheck import (
    assert_valid,
    check_published,
    feed_format_of,
    read_with_reader,
)

NOW = datetime(2026, 11, 1, tzinfo=UTC)
CORPUS_NOW = datetime(2027, 1, 1, tzinfo=UTC)  # after every generated article
SEED_URL = "https://englishnews.example/articles/putin-urges-ukraine-military-to-take-power/"


@cache
def content_files() -> dict[str, FeedFile]:
    report = build_site(content_sources(), content_site(), NOW)
    assert not report.rejected
    return {f.path: f for f in report.files}


@cache
def corpus_files() -> dict[str, FeedFile]:
    report = build_site(generate_corpus(300, seed=20260101), make_site(), CORPUS_NOW)
    assert not report.rejected, report.rejected[:3]
    assert report.published == 300
    return {f.path: f for f in report.files}


def test_the_corpus_fills_main_tag_and_author_feeds() -> None:
    paths = corpus_files()
    assert len(paths) >= 3 * (1 + 15 + 8), sorted(paths)
    assert {
        "tags/cafe-society/rss.xml",
        "tags/munchen/atom.xml",
        "authors/zoe-bronte/feed.json",
    } <= set(paths)


@pytest.mark.parametrize("path", sorted(p for p in content_files() if feed_format_of(p)))
def test_every_content_feed_is_read_cleanly(path: str) -> None:
    feed_file = content_files()[path]
    fmt = feed_format_of(path)
    assert fmt is not None
    assert feed_file.content_type == fmt.content_type
    assert_valid(feed_file.body, fmt)  # strict checks, and feedparser with bozo false
    _, entries = read_with_reader(feed_file.body, fmt)
    assert entries, f"reader sees no entries in {path}"


@pytest.mark.parametrize("fmt", list(FeedFormat), ids=lambda fmt: fmt.name)
def test_every_corpus_feed_is_read_cleanly(fmt: FeedFormat) -> None:
    for path, feed_file in sorted(corpus_files().items()):
        if feed_format_of(path) is not fmt:
            continue
        assert_valid(feed_file.body, fmt)
        _, entries = read_with_reader(feed_file.body, fmt)
        assert entries, f"reader sees no entries in {path}"


@pytest.mark.parametrize(
    "path", ["news-sitemap.xml", "sitemap.xml", "sitemaps/2025-07.xml", "feed.xsl"]
)
def test_the_files_beside_the_feeds_are_valid(path: str) -> None:
    assert check_published(path, content_files()[path].body) == []


def test_the_main_corpus_feed_lists_the_newest_50_articles_newest_first() -> None:
    files = corpus_files()
    parsed = feedparser.parse(files["atom.xml"].body)
    # Every published article, as the monthly archives (which keep them all) show them.
    every = [
        (entry.published_parsed, entry.id)
        for path, feed_file in files.items()
        if path.startswith("archive/") and path.endswith("atom.xml")
        for entry in feedparser.parse(feed_file.body).entries
    ]

    assert not parsed.bozo
    assert len(every) > 50
    assert [entry.id for entry in parsed.entries] == [
        entry_id
        for _, entry_id in sorted(every, reverse=True)[:50]  # items_per_feed
    ]


# ---------------------------------------------------------------------------------------------
# The seed article, word for word
# ---------------------------------------------------------------------------------------------


def seed_parts() -> tuple[str, str, list[str]]:
    """The seed page's title, standfirst and body paragraphs (after the site's header)."""
    blocks = [block.strip() for block in SEED.read_text("utf-8").split("\n\n") if block.strip()]
    start = next(i for i, block in enumerate(blocks) if block.startswith("Putin urges"))
    return blocks[start], blocks[start + 1], blocks[start + 2 :]


def paragraphs(html: str) -> list[str]:
    """The text of every top-level paragraph of an HTML fragment."""
    fragment = lxml.html.fragment_fromstring(html, create_parent="div")
    return [p.text_content() for p in fragment.findall("p")]


def test_the_seed_file_is_the_article_in_content() -> None:
    title, standfirst, body = seed_parts()
    text = (CONTENT / SEED_KEY).read_text("utf-8")
    assert f'title: "{title}"' in text
    assert f'summary: "{standfirst}"' in text
    assert "\n\n".join(body) in text


def _seed_entry_from_reader(fmt: FeedFormat) -> Any:
    _, entries = read_with_reader(content_files()[fmt.filename].body, fmt)
    return next(entry for entry in entries if entry.link == SEED_URL)


@pytest.mark.parametrize("fmt", list(FeedFormat), ids=lambda fmt: fmt.name)
def test_reader_shows_the_seed_article_word_for_word(fmt: FeedFormat) -> None:
    title, standfirst, body = seed_parts()
    entry = _seed_entry_from_reader(fmt)
    assert entry.title == title
    assert entry.summary == standfirst
    html = next(c.value for c in entry.content if c.type in {"text/html", "html"})
    assert paragraphs(html) == [*body, "Sources: RT, BBC"]


@pytest.mark.parametrize("fmt", [FeedFormat.RSS, FeedFormat.ATOM], ids=lambda fmt: fmt.name)
def test_feedparser_shows_the_seed_article_word_for_word(fmt: FeedFormat) -> None:
    title, standfirst, body = seed_parts()
    parsed = feedparser.parse(content_files()[fmt.filename].body)
    entry = next(entry for entry in parsed.entries if entry.link == SEED_URL)
    assert entry.title == title
    assert entry.summary == standfirst
    assert paragraphs(entry.content[0].value) == [*body, "Sources: RT, BBC"]


def test_the_seed_article_keeps_its_zone_converted_date() -> None:
    parsed = feedparser.parse(content_files()["atom.xml"].body)
    entry = next(entry for entry in parsed.entries if entry.link == SEED_URL)
    assert entry.published == "2022-02-25T16:10:00+00:00"  # 19:10 in Moscow (+03:00)


# ---------------------------------------------------------------------------------------------
# Determinism
# ---------------------------------------------------------------------------------------------


def test_building_twice_gives_byte_identical_files() -> None:
    first = build_site(content_sources(), content_site(), NOW).files
    second = build_site(list(reversed(content_sources())), content_site(), NOW).files
    assert first == second


def test_building_the_corpus_twice_gives_byte_identical_files() -> None:
    again = build_site(generate_corpus(300, seed=20260101), make_site(), CORPUS_NOW)
    assert {f.path: f for f in again.files} == corpus_files()
