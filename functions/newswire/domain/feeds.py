"""Which feeds exist, which entries each shows, and where each is published.

A site has a main feed, one feed per tag, per author and per section, each in three formats.
The public layout, relative to the site's ``feeds_url``, is ``rss.xml``, ``atom.xml``,
``feed.json`` and the same three under ``tags/<tag>/``, ``authors/<author>/`` and
``sections/<section>/``.
"""

from __future__ import annotations

import dataclasses
import enum
import heapq
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from functools import lru_cache
from typing import Protocol, TypeVar
from urllib.parse import quote

from newswire.domain.model import Entry, Person, SiteConfig, Tag, Tombstone
from newswire.domain.slugs import slugify
from newswire.domain.text import clean_plain_text

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
    ARCHIVE = "archive"


class FeedFormat(enum.Enum):
    """A feed format: its file name and the Content-Type it is served with."""

    RSS = ("rss.xml", "application/rss+xml; charset=utf-8")
    ATOM = ("atom.xml", "application/atom+xml; charset=utf-8")
    JSON = ("feed.json", "application/feed+json; charset=utf-8")

    def __init__(self, filename: str, content_type: str) -> None:
        self.filename = filename
        self.content_type = content_type

    @property
    def media_type(self) -> str:
        """The media type alone (``application/rss+xml``), as links and ``Accept`` name it."""
        return self.content_type.partition(";")[0]


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
        if self.kind is FeedKind.ARCHIVE:
            return f"archive/{self.slug}/"
        return f"{self.kind.value}s/{self.slug}/"

    def path(self, fmt: FeedFormat) -> str:
        """The object key / file path of this feed in ``fmt``."""
        return self.folder + fmt.filename

    @property
    def id(self) -> str:
        """A compact, stable identifier (``main``, ``tag:russia``), for indexes and logs."""
        return "main" if self.kind is FeedKind.MAIN else f"{self.kind.value}:{self.slug}"

    @classmethod
    def from_id(cls, feed_id: str) -> FeedKey:
        """Inverse of :attr:`id` (without the name: a feed is named after its newest entry
        when rendered)."""
        if feed_id == "main":
            return cls(FeedKind.MAIN)
        kind, _, slug = feed_id.partition(":")
        return cls(FeedKind(kind), slug)


MAIN_FEED = FeedKey(FeedKind.MAIN)
#: Feeds that exist even with no article: a subscriber gets an empty feed, never an error.
#: The build plans them (:func:`plan_feeds`) and every publish rebuilds them.
ALWAYS_PUBLISHED: frozenset[FeedKey] = frozenset({MAIN_FEED})


def is_feed_path(path: str) -> bool:
    """Whether ``path`` (a key or file path) names a feed document, in any format."""
    return path.rsplit("/", 1)[-1] in _FEED_FILENAMES


_FEED_FILENAMES = frozenset(fmt.filename for fmt in FeedFormat)


@lru_cache(maxsize=4096)  # one key per month, asked for by every article of it
def archive_key(month: str) -> FeedKey:
    """The monthly archive of the main feed for ``month`` (``YYYY-MM``, UTC)."""
    return FeedKey(FeedKind.ARCHIVE, month, month)


def month_of(moment: datetime) -> str:
    """The archive month (``YYYY-MM``, in UTC) an article published at ``moment`` belongs to."""
    utc = moment if moment.tzinfo is UTC else moment.astimezone(UTC)  # articles' are UTC
    return f"{utc.year:04d}-{utc.month:02d}"


@dataclass(frozen=True, slots=True)
class History:
    """RFC 5005 (Feed Paging and Archiving, section 4) links of one feed document.

    The subscription (main) feed links ``prev-archive`` to the newest monthly archive; each
    archive is marked ``fh:archive`` and links ``prev-archive``/``next-archive`` to its
    neighbouring months and ``current`` to the subscription feed, so a reader can walk back to
    the very first article. JSON Feed has only ``next_url`` (older items) for the same walk.
    """

    is_archive: bool
    prev_archive: FeedKey | None
    next_archive: FeedKey | None = None

    @classmethod
    def for_month(cls, month: str, months: Sequence[str]) -> History:
        """The links of ``month``'s archive among the non-empty ``months`` (sorted)."""
        older = [m for m in months if m < month]
        newer = [m for m in months if m > month]
        return cls(
            is_archive=True,
            prev_archive=archive_key(older[-1]) if older else None,
            next_archive=archive_key(newer[0]) if newer else None,
        )

    @classmethod
    def for_subscription(cls, months: Sequence[str]) -> History | None:
        """The main feed's link to the newest archive (``None`` when there is none yet)."""
        return cls(is_archive=False, prev_archive=archive_key(months[-1])) if months else None


def history_of(key: FeedKey, months: Sequence[str]) -> History | None:
    """The RFC 5005 links of feed ``key`` among the archive ``months`` (sorted): the main
    feed's and the archives'; other feeds have none."""
    if key == MAIN_FEED:
        return History.for_subscription(months)
    if key.kind is FeedKind.ARCHIVE:
        return History.for_month(key.slug, months)
    return None


class Classified(Protocol):
    """Anything with tags, authors and a section: an Article before rendering, or an Entry."""

    @property
    def tags(self) -> tuple[Tag, ...]: ...

    @property
    def authors(self) -> tuple[Person, ...]: ...

    @property
    def section(self) -> str | None: ...


@lru_cache(maxsize=4096)  # a corpus has few sections, asked for by every article
def section_key(name: str) -> FeedKey:
    """The feed of a section ("World" → ``sections/world/``), named as entries show it."""
    shown = clean_plain_text(name)
    return FeedKey(FeedKind.SECTION, slugify(shown, fallback_prefix="section"), shown)


def feed_keys_for(item: Classified) -> frozenset[FeedKey]:
    """Every feed ``item`` belongs to: the main feed, its tags', authors' and section's feeds.

    Two spellings of one tag ("Café", "cafe") give equal keys: one feed, one folder. Names
    are taken as entries show them (:func:`clean_plain_text`), so an article (the build
    plans on articles) and its entry (the index holds entries) name the same feeds alike.
    """
    section = (section_key(item.section),) if item.section else ()
    return frozenset(
        (MAIN_FEED, *map(_tag_feed, item.tags), *map(_author_feed, item.authors), *section)
    )


# Cached: a build asks for the feeds of every article, and a corpus has few tags and authors.
@lru_cache(maxsize=65536)
def _tag_feed(tag: Tag) -> FeedKey:
    return FeedKey(FeedKind.TAG, tag.slug, clean_plain_text(tag.name))


@lru_cache(maxsize=65536)
def _author_feed(author: Person) -> FeedKey:
    shown = clean_plain_text(author.name)
    return FeedKey(FeedKind.AUTHOR, slugify(shown, fallback_prefix="author"), shown)


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
        named = [_tag_feed(tag) for tag in item.tags]
    elif key.kind is FeedKind.AUTHOR:
        named = [_author_feed(author) for author in item.authors]
    elif key.kind is FeedKind.SECTION and item.section:
        named = [section_key(item.section)]
    else:
        named = []
    return next((found for found in named if found == key), key)


def newest(entries: Iterable[DatedT], limit: int) -> list[DatedT]:
    """The ``limit`` newest entries, newest first, in a deterministic order.

    ``heapq.nlargest`` keeps this O(n log limit): a feed of 50 out of 100,000 entries never
    sorts the whole corpus.
    """
    return heapq.nlargest(limit, entries, key=lambda e: e.sort_key)


class Planned(Classified, Dated, Protocol):
    """What feeds are planned on: an article's metadata (a build's) or an entry."""

    @property
    def published(self) -> datetime: ...


PlannedT = TypeVar("PlannedT", bound=Planned)


def plan_feeds(newest_first: Iterable[PlannedT], site: SiteConfig) -> dict[FeedKey, list[PlannedT]]:
    """Which items each subscription feed (main, tags, authors, sections) shows: the newest
    ``items_per_feed`` of its members, newest first, as :func:`build_feed` keeps them; each
    feed named after its newest item (:func:`named_after`). The main feed is planned even
    with no item: a subscriber gets an empty feed, never an error.

    Feeds are planned on article metadata: their order and membership need no body. Given
    the items newest first (by ``sort_key``), each feed takes its first members until it
    is full, in one pass: no feed sorts or selects among its members.
    """
    limit = site.items_per_feed
    members: dict[FeedKey, list[PlannedT]] = {key: [] for key in ALWAYS_PUBLISHED}
    for article in newest_first:
        for key in feed_keys_for(article):
            shown = members.get(key)
            if shown is None:
                members[key] = [article]
            elif len(shown) < limit:
                shown.append(article)
    return {named_after(key, shown[0]) if shown else key: shown for key, shown in members.items()}


def plan_archives(newest_first: Iterable[PlannedT]) -> dict[FeedKey, list[PlannedT]]:
    """The main feed's monthly archives (RFC 5005): every item of its month, newest first
    (as given)."""
    months: dict[str, list[PlannedT]] = defaultdict(list)
    for article in newest_first:
        months[month_of(article.published)].append(article)
    return {archive_key(month): group for month, group in months.items()}


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
    #: RFC 5005 archive links (``None``: a feed with no archives, e.g. a tag feed).
    history: History | None = None
    #: RFC 6721 tombstones of withdrawn and deleted articles (Atom only: see
    #: :func:`tombstones_of`)
    tombstones: tuple[Tombstone, ...] = ()

    @property
    def updated(self) -> datetime:
        """The newest change among the entries shown (a fixed instant for an empty feed)."""
        return max((e.updated for e in self.entries), default=EMPTY_FEED_UPDATED)

    def url(self, fmt: FeedFormat) -> str:
        """The absolute URL this feed is served at in ``fmt`` (its ``rel="self"``)."""
        return self.url_of(self.key, fmt)

    def url_of(self, key: FeedKey, fmt: FeedFormat) -> str:
        """The absolute URL of another feed of the same site (archive links)."""
        return self.feeds_url + quote(key.path(fmt))


#: The most tombstones the main feed carries, the newest: as many as the entries a feed shows
#: by default, so a mass withdrawal cannot crowd its live entries out under
#: ``max_feed_bytes``. Each month's archive still carries every tombstone of its month.
MAX_MAIN_FEED_TOMBSTONES = 50


def tombstones_of(
    key: FeedKey, tombstones: Iterable[Tombstone], now: datetime
) -> tuple[Tombstone, ...]:
    """The tombstones feed ``key`` carries at ``now``, newest first: those shown (see
    :meth:`Tombstone.shown_at`) in the main feed (at most :data:`MAX_MAIN_FEED_TOMBSTONES`),
    those of its month in an archive, none elsewhere (a tag's subscribers get the main
    feed's, and no reader is known to read them there)."""
    if key.kind is FeedKind.ARCHIVE:
        carried = [t for t in tombstones if month_of(t.published) == key.slug]
    elif key == MAIN_FEED:
        carried = list(tombstones)
    else:
        return ()
    shown = sorted(
        (t for t in carried if t.shown_at(now)), key=lambda t: (t.when, t.ref), reverse=True
    )
    return tuple(shown[:MAX_MAIN_FEED_TOMBSTONES] if key == MAIN_FEED else shown)


def build_feed(
    key: FeedKey,
    entries: Iterable[Entry],
    site: SiteConfig,
    history: History | None = None,
    tombstones: tuple[Tombstone, ...] = (),
) -> Feed:
    """Make the feed ``key`` from entries that belong to it.

    Args:
        key: which feed.
        entries: entries of that feed, in any order and any number; only the newest
            ``site.items_per_feed`` are kept, except in a monthly archive, which keeps its
            whole month (an archive that dropped items would break the walk back in time).
        site: the site configuration.
        history: RFC 5005 links, for the main feed and its archives.
        tombstones: what :func:`tombstones_of` gives for it.

    Returns:
        The feed, entries newest first.
    """
    if key.kind is FeedKind.ARCHIVE:
        shown = sorted(entries, key=lambda e: e.sort_key, reverse=True)
    else:
        shown = newest(entries, site.items_per_feed)
    return dataclasses.replace(feed_head(key, site, history, tombstones), entries=tuple(shown))


def feed_head(
    key: FeedKey,
    site: SiteConfig,
    history: History | None = None,
    tombstones: tuple[Tombstone, ...] = (),
) -> Feed:
    """The feed ``key`` without entries: its title, description, links and author.

    A build plans feeds on article metadata and sends workers only this, with the items of
    the entries shown and their ``updated`` times. A feed known only by its key (one the
    pipeline emptied: it keeps no names) is named by its slug, never by an empty name.
    """
    name = key.name or key.slug
    if key.kind is FeedKind.MAIN:
        title, description = site.title, site.description
    elif key.kind is FeedKind.TAG:
        title = f"{site.title}: {name}"
        description = f"{site.title}: articles tagged “{name}”"
    elif key.kind is FeedKind.SECTION:
        title = f"{site.title}: {name}"
        description = f"{site.title}: the {name} section"
    elif key.kind is FeedKind.ARCHIVE:
        title = f"{site.title}: archive {key.slug}"
        description = f"{site.title}: every article published in {key.slug} (UTC)"
    else:
        title = f"{site.title}: {name}"
        description = f"{site.title}: articles by {name}"
    return Feed(
        key=key,
        title=title,
        description=description,
        home_url=site.base_url,
        feeds_url=site.feeds_url,
        language=site.language,
        author=site.author,
        entries=(),
        hubs=site.hubs,
        history=history,
        tombstones=tombstones,
    )
