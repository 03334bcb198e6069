"""Which feeds an article belongs to, and where each is published."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime

import feedparser
from hypothesis import given
from hypothesis import strategies as st

from newswire.build import build_site
from newswire.content.site import parse_site
from newswire.domain.feeds import (
    MAIN_FEED,
    FeedFormat,
    FeedKey,
    FeedKind,
    build_feed,
    feed_keys_for,
    named_after,
    newest,
    plan_feeds,
)
from newswire.domain.model import Entry, Person, SiteConfig, Tag
from tests.support.factories import make_site


def entry(
    slug: str, *, section: str | None = None, tags: tuple[str, ...] = ("World",), day: int = 1
) -> Entry:
    published = datetime(2026, 1, day, tzinfo=UTC)
    return Entry(
        slug=slug,
        id=f"https://news.example/articles/{slug}/",
        id_is_permalink=True,
        url=f"https://news.example/articles/{slug}/",
        title=slug.title(),
        summary="",
        content_html="<p>x</p>",
        published=published,
        updated=published,
        authors=(Person("Ann Writer"),),
        tags=tuple(Tag.from_name(t) for t in tags),
        section=section,
    )


def test_an_article_is_in_main_tag_author_and_section_feeds() -> None:
    keys = feed_keys_for(entry("a", section="Business & Money", tags=("World", "Café Society")))
    assert {(k.kind, k.slug) for k in keys} == {
        (FeedKind.MAIN, ""),
        (FeedKind.TAG, "world"),
        (FeedKind.TAG, "cafe-society"),
        (FeedKind.AUTHOR, "ann-writer"),
        (FeedKind.SECTION, "business-money"),
    }
    section = next(k for k in keys if k.kind is FeedKind.SECTION)
    assert section.path(FeedFormat.ATOM) == "sections/business-money/atom.xml"
    assert MAIN_FEED.path(FeedFormat.JSON) == "feed.json"


def test_spellings_of_one_name_share_one_feed_named_after_the_newest() -> None:
    older = entry("old", tags=("cafe society",), day=1)
    newer = entry("new", tags=("Café Society",), day=2)
    (tag_old,) = [k for k in feed_keys_for(older) if k.kind is FeedKind.TAG]
    (tag_new,) = [k for k in feed_keys_for(newer) if k.kind is FeedKind.TAG]
    assert tag_old == tag_new
    assert named_after(tag_old, newer).name == "Café Society"


def test_feed_titles_and_urls(site: SiteConfig) -> None:
    key = FeedKey(FeedKind.SECTION, "world", "World")
    feed = build_feed(key, [entry("a", section="World"), entry("b", section="World", day=3)], site)
    assert feed.title == "Test News: World"
    assert feed.url(FeedFormat.RSS) == "https://news.example/feeds/sections/world/rss.xml"
    assert [e.slug for e in feed.entries] == ["b", "a"]
    assert feed.updated == datetime(2026, 1, 3, tzinfo=UTC)


def test_articles_published_at_the_same_time_are_listed_by_id_whatever_the_file_order() -> None:
    # The build picks each feed's members before any entry is rendered; the order must be the
    # rendered feed's, or a full feed would show the wrong articles at a tie.
    site = parse_site(
        "site.yaml",
        b"title: Wire\ndescription: Ties\nauthor: Desk\n"
        b"base_url: https://news.example/\nitems_per_feed: 2\n",
    )
    files = [  # file names in the opposite order to the ids
        (
            f"articles/{name}.md",
            f"---\ntitle: {name}\npublished: 2026-01-01T10:00:00Z\n"
            f"id: urn:{article_id}\n---\n\nBody.\n".encode(),
        )
        for name, article_id in (("x", "a"), ("y", "b"), ("z", "c"))
    ]
    now = datetime(2026, 2, 1, tzinfo=UTC)

    for order in (files, files[::-1]):
        rss = {f.path: f.body for f in build_site(order, site, now).files}["rss.xml"]
        assert [e.title for e in feedparser.parse(rss).entries] == ["z", "y"]


@given(
    st.lists(
        st.tuples(
            st.integers(1, 3),  # a few days: many ties of published time
            st.lists(st.sampled_from(["World", "world", "WORLD", "Café", "cafe"]), max_size=2),
            st.sampled_from(["Ann  Writer", "Ann Writer", "李  伟", "李 伟"]),
        ),
        max_size=14,
    ),
    st.integers(1, 4),
)
def test_a_build_plans_what_the_index_fed_feeds_show(
    items: list[tuple[int, list[str], str]], limit: int
) -> None:
    """The build plans feeds on articles newest first; the pipeline builds each from its
    members (the index's newest): the same entries, order and name, ties broken by id; the
    main feed even when empty."""
    site = make_site(items_per_feed=limit)
    entries = [
        replace(
            entry(f"s{n}", tags=tuple(tags), day=day),
            id=f"urn:x:{(n * 5) % 14:02d}",  # ids not in upload order
            authors=(Person(author),),
        )
        for n, (day, tags, author) in enumerate(items)
    ]
    plan = plan_feeds(sorted(entries, key=lambda e: e.sort_key, reverse=True), site)
    assert MAIN_FEED in plan
    for key, shown in plan.items():
        members = [e for e in entries if key in feed_keys_for(e)]
        named = named_after(key, newest(members, 1)[0]) if members else key
        feed = build_feed(named, members, site)
        assert (key.name, tuple(shown)) == (feed.key.name, feed.entries)
