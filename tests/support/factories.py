"""Helpers shared by tests: the repository's content, a small fixed site, and factories for
the domain objects (articles, feed entries, feeds) whose fields a test overrides one by one."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime
from functools import cache
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from hypothesis import strategies as st

from newswire.content.site import SITE_CONFIG_KEY, parse_site
from newswire.domain.feeds import Feed, FeedKey, FeedKind
from newswire.domain.model import Article, BodyFormat, Entry, Image, Person, SiteConfig, Tag

REPO = Path(__file__).resolve().parents[2]
CONTENT = REPO / "content"
SEED = REPO / "tests" / "data" / "english-news-putin-appeal.txt"  # copy of shared/seeds
SEED_KEY = "articles/putin-urges-ukraine-military-to-take-power.md"


def make_site(**overrides: object) -> SiteConfig:
    """A small site in London time, the way ``site.yaml`` would give it."""
    values: dict[str, object] = {
        "title": "Test News",
        "description": "News for tests",
        "base_url": "https://news.example/",
        "feeds_url": "https://news.example/feeds/",
        "language": "en",
        "timezone": ZoneInfo("Europe/London"),
        "author": Person("News Desk", "desk@news.example"),
    }
    values.update(overrides)
    return SiteConfig(**values)  # type: ignore[arg-type]


@cache
def content_site() -> SiteConfig:
    """The site of the repository's ``content/``, as its ``site.yaml`` describes it."""
    return parse_site(SITE_CONFIG_KEY, (CONTENT / SITE_CONFIG_KEY).read_bytes())


def content_sources() -> list[tuple[str, bytes]]:
    """Every article of the repository's ``content/``, as (key, bytes) in key order."""
    return [
        (f"articles/{path.name}", path.read_bytes())
        for path in sorted((CONTENT / "articles").iterdir())
        if path.is_file()
    ]


#: The canonical URL and publication time of ``make_article()``'s article.
ARTICLE_URL = "https://news.example.com/articles/slug/"
ARTICLE_PUBLISHED = datetime(2024, 5, 1, 12, 0, tzinfo=UTC)

#: Text an article may hold once sanitised: no surrogates, no control or non-characters.
SAFE_TEXT = st.text(st.characters(codec="utf-8", exclude_categories=("Cs", "Cc", "Cn")))

#: People for entries and feeds: an author with email and URL, one with a name only, the desk.
JANE = Person("Jane Doe", "jane@news.example", "https://news.example/jane")
NOMAIL = Person("Ivan Petrov")
DESK = Person("News Desk", "desk@news.example", "https://news.example/")


def make_article(
    body: str = "Body *text*.", body_format: BodyFormat = BodyFormat.MARKDOWN, **overrides: Any
) -> Article:
    """A valid article whose fields a test can override one by one."""
    fields: dict[str, Any] = {
        "key": "articles/slug.md",
        "slug": "slug",
        "id": ARTICLE_URL,
        "title": "A title",
        "published": ARTICLE_PUBLISHED,
        "updated": None,
        "summary": None,
        "authors": (Person("Newsdesk"),),
        "tags": (),
        "section": None,
        "image": None,
        "canonical_url": ARTICLE_URL,
        "sources": (),
        "draft": False,
        "body": body,
        "body_format": body_format,
    }
    fields.update(overrides)
    return Article(**fields)


def make_entry(number: int = 1, **changes: Any) -> Entry:
    """Entry ``number`` of a feed; a higher number is older (published ``number`` days earlier)."""
    published = datetime(2021, 3, 20 - number, 9, 30, tzinfo=UTC)
    entry = Entry(
        slug=f"story-{number}",
        id=f"https://news.example/articles/story-{number}/",
        id_is_permalink=True,
        url=f"https://news.example/articles/story-{number}/",
        title=f"Story {number}",
        summary=f"Summary of story {number}",
        content_html=f'<p>Story {number} <a href="https://news.example/">home</a></p>',
        published=published,
        updated=published.replace(hour=11),
        authors=(JANE,),
        tags=(Tag.from_name("World"), Tag.from_name("Café Society")),
        image=Image(f"https://cdn.news.example/{number}.png", "A cat", "image/png", 2048),
    )
    return replace(entry, **changes)


def make_feed(*entries: Entry, **changes: Any) -> Feed:
    """A main feed of a small test site, holding ``entries`` in the order given."""
    feed = Feed(
        key=FeedKey(FeedKind.MAIN),
        title="Test News",
        description="News for tests",
        home_url="https://news.example/",
        feeds_url="https://news.example/feeds/",
        language="en",
        author=DESK,
        entries=entries,
    )
    return replace(feed, **changes)
