"""Which feeds exist, which entries each shows, and where each is published.

A site has a main feed, one feed per tag, per author and per section, each in three formats.
The public layout, relative to the site's ``feeds_url``, is ``rss.xml``, ``atom.xml``,
``feed.json`` and the same three under ``tags/<tag>/``, ``authors/<author>/`` and
``sections/<section>/``.
"""

from __future__ import annotations

import enum
import heapq
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Protocol, TypeVar
from urllib.parse import quote

from newswire.domain.model import Entry, Person, SiteConfig, Tag
from newswire.domain.slugs import slugify

#: Atom needs a feed-level ``updated`` even when a feed is empty; a fixed instant keeps an
#: empty feed byte-identical from build to build (no "now" in the output). Not 1970: feed
#: validators flag dates before 1990 as implausible.
EMPTY_FEED_UPDATED = datetime(2000, 1, 1, tzinfo=UTC)


class FeedKind(enum.StrEnum):
    """The families of feeds a site publishes."""

    MAIN = "main"
    TAG = "tag"
    AUTHOR = "author"
    SECTION = "section"


class FeedFormat(enum.Enum):
    """A feed format: its file name and the Content-Type it is served with."""

    RSS = ("rss.xml", "application/rss+xml; charset=utf-8")
    ATOM = ("atom.xml", "application/atom+xml; charset=utf-8")
    JSON = ("feed.json", "application/feed+json; charset=utf-8")

    def __init__(self, filename: str, content_type: str) -> None:
        self.filename = filename
        self.content_type = content_type


@dataclass(frozen=True, slots=True, order=True)
class FeedKey:
    """Names one feed (in all its formats): its family, slug and display name.

    Equality and hashing ignore ``name``: "Café" and "cafe" are one feed in one folder.
    """

    kind: FeedKind
    slug: str = ""
    name: str = field(default="", compare=False)

    @property
    def folder(self) -> str:
        """The feed's folder relative to ``feeds_url``: ``""``, ``tags/x/``, ``authors/y/``…"""
        if self.kind is FeedKind.MAIN:
            return ""
        return f"{self.kind.value}s/{self.slug}/"

    def path(self, fmt: FeedFormat) -> str:
        """The object key / file path of this feed in ``fmt``."""
        return self.folder + fmt.filename

    @property
    def id(self) -> str:
        """A compact, stable identifier (``main``, ``tag:russia``), for indexes and logs."""
        return "main" if self.kind is FeedKind.MAIN else f"{self.kind.value}:{self.slug}"


MAIN_FEED = FeedKey(FeedKind.MAIN)


class Classified(Protocol):
    """Anything with tags, authors and a section: an Article before rendering, or an Entry."""

    @property
    def tags(self) -> tuple[Tag, ...]: ...

    @property
    def authors(self) -> tuple[Person, ...]: ...

    @property
    def section(self) -> str | None: ...


def section_key(name: str) -> FeedKey:
    """The feed of a section ("World" → ``sections/world/``)."""
    return FeedKey(FeedKind.SECTION, slugify(name, fallback_prefix="section"), name)


def feed_keys_for(item: Classified) -> frozenset[FeedKey]:
    """Every feed ``item`` belongs to: the main feed, its tags', authors' and section's feeds.

    Two spellings of one tag ("Café", "cafe") give equal keys: one feed, one folder.
    """
    keys = {MAIN_FEED}
    keys.update(FeedKey(FeedKind.TAG, tag.slug, tag.name) for tag in item.tags)
    keys.update(FeedKey(FeedKind.AUTHOR, a.slug, a.name) for a in item.authors)
    if item.section:
        keys.add(section_key(item.section))
    return frozenset(keys)


class Dated(Protocol):
    """Anything that sorts like a feed item: newest first, ties broken by id."""

    @property
    def sort_key(self) -> tuple[datetime, str]: ...


DatedT = TypeVar("DatedT", bound=Dated)


def named_after(key: FeedKey, item: Classified) -> FeedKey:
    """Give a tag or author feed the display name ``item`` uses (its newest entry's).

    Several spellings may share one folder; naming the feed after its newest entry is
    deterministic and follows the newsroom's latest usage.
    """
    if key.kind is FeedKind.TAG:
        names = [tag.name for tag in item.tags if tag.slug == key.slug]
    elif key.kind is FeedKind.AUTHOR:
        names = [author.name for author in item.authors if author.slug == key.slug]
    elif key.kind is FeedKind.SECTION and item.section:
        names = [item.section] if section_key(item.section) == key else []
    else:
        names = []
    return FeedKey(key.kind, key.slug, names[0]) if names else key


def newest(entries: Iterable[DatedT], limit: int) -> list[DatedT]:
    """The ``limit`` newest entries, newest first, in a deterministic order.

    ``heapq.nlargest`` keeps this O(n log limit): a feed of 50 out of 100,000 entries never
    sorts the whole corpus.
    """
    return heapq.nlargest(limit, entries, key=lambda e: e.sort_key)


@dataclass(frozen=True, slots=True)
class Feed:
    """One feed, ready to render into any format."""

    key: FeedKey
    title: str
    description: str
    home_url: str
    feeds_url: str
    language: str
    author: Person
    entries: tuple[Entry, ...]
    #: WebSub hubs the feed advertises with ``rel="hub"``.
    hubs: tuple[str, ...] = ()

    @property
    def updated(self) -> datetime:
        """The newest change among the entries shown (a fixed instant for an empty feed)."""
        return max((e.updated for e in self.entries), default=EMPTY_FEED_UPDATED)

    def url(self, fmt: FeedFormat) -> str:
        """The absolute URL this feed is served at in ``fmt`` (its ``rel="self"``)."""
        return self.feeds_url + quote(self.key.path(fmt))

    def with_entries(self, entries: Iterable[Entry]) -> Feed:
        """A copy showing other entries (used to fit a feed into its byte budget)."""
        return Feed(
            key=self.key,
            title=self.title,
            description=self.description,
            home_url=self.home_url,
            feeds_url=self.feeds_url,
            language=self.language,
            author=self.author,
            entries=tuple(entries),
            hubs=self.hubs,
        )


def build_feed(key: FeedKey, entries: Iterable[Entry], site: SiteConfig) -> Feed:
    """Make the feed ``key`` from entries that belong to it.

    Args:
        key: which feed.
        entries: entries of that feed, in any order and any number; only the newest
            ``site.items_per_feed`` are kept.
        site: the site configuration.

    Returns:
        The feed, entries newest first.
    """
    if key.kind is FeedKind.MAIN:
        title, description = site.title, site.description
    elif key.kind is FeedKind.TAG:
        title = f"{site.title}: {key.name}"
        description = f"{site.title}: articles tagged “{key.name}”"
    elif key.kind is FeedKind.SECTION:
        title = f"{site.title}: {key.name}"
        description = f"{site.title}: the {key.name} section"
    else:
        title = f"{site.title}: {key.name}"
        description = f"{site.title}: articles by {key.name}"
    return Feed(
        key=key,
        title=title,
        description=description,
        home_url=site.base_url,
        feeds_url=site.feeds_url,
        language=site.language,
        author=site.author,
        entries=tuple(newest(entries, site.items_per_feed)),
        hubs=site.hubs,
    )
