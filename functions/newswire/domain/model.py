"""The data newswire works on: articles as written, entries as feeds show them, the site.

All datetimes are timezone-aware and in UTC. Everything is frozen: an article read once is
shared by every feed it belongs to, and nothing may change it behind another feed's back.
"""

from __future__ import annotations

import datetime as dt
import enum
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from functools import lru_cache
from typing import Any
from zoneinfo import ZoneInfo

from newswire.domain.partners import PartnerFeed
from newswire.domain.slugs import slugify
from newswire.domain.text import clean_xml_text


def pickle_shared(self: Any) -> tuple[Any, tuple[Any, ...]]:
    """``__reduce__`` for small values repeated across a corpus (tags, people): loaded through
    a cache, so every copy of "World" in ten thousand articles is one object.

    Frozen values can be shared safely; sharing keeps a build's memory flat and lets pickle
    write each one once (its memo is by identity).
    """
    return (_shared, (type(self), *(getattr(self, name) for name in self.__slots__)))


@lru_cache(maxsize=65536)
def _shared(cls: type, *fields: Any) -> Any:
    return cls(*fields)


@dataclass(frozen=True, slots=True)
class Person:
    """An author: of an article, or the site's default one."""

    __reduce__ = pickle_shared

    name: str
    email: str | None = None
    url: str | None = None

    @property
    def slug(self) -> str:
        """The author's feed folder: ``authors/<slug>/``."""
        return slugify(self.name, fallback_prefix="author")


@dataclass(frozen=True, slots=True)
class Tag:
    """A tag as written (``name``) and as it appears in paths (``slug``)."""

    __reduce__ = pickle_shared

    name: str
    slug: str

    @classmethod
    def from_name(cls, name: str) -> Tag:
        """Make a tag whose slug is derived from its name (``slugify`` caches the slugs)."""
        return cls(name=name, slug=slugify(name, fallback_prefix="tag"))


@dataclass(frozen=True, slots=True)
class Image:
    """The article's lead image: Media RSS, an enclosure, JSON Feed's ``image``."""

    url: str
    alt: str = ""
    media_type: str | None = None
    length: int | None = None
    #: Pixels; partners size their cards by them and refuse images below their floor.
    width: int | None = None
    height: int | None = None
    #: Who took or owns the image (Media RSS ``media:credit``), and the words shown with it.
    credit: str | None = None
    caption: str | None = None

    def to_dict(self) -> dict[str, Any]:
        """JSON-safe form; the fields added after ``length`` only when set, so entries stored
        before them keep their bytes."""
        data: dict[str, Any] = {
            "url": self.url,
            "alt": self.alt,
            "media_type": self.media_type,
            "length": self.length,
        }
        extra = (
            ("width", self.width),
            ("height", self.height),
            ("credit", self.credit),
            ("caption", self.caption),
        )
        data.update((name, value) for name, value in extra if value is not None)
        return data


@dataclass(frozen=True, slots=True)
class Source:
    """Attribution shown at the end of the content ("Sources: RT, BBC")."""

    name: str
    url: str | None = None


@dataclass(frozen=True, slots=True)
class Correction:
    """A dated correction notice shown at the end of the content; ``day`` is ``date`` in the
    site's time zone, as the notice names it."""

    date: datetime
    text: str
    day: dt.date


#: How long a withdrawn or deleted article's tombstone stays in the Atom feeds.
TOMBSTONE_DAYS = 30
#: The longest withdrawal reason a tombstone carries (a longer one is cut, marked "…"): a
#: reason is a sentence or two, and the main feed carries many tombstones beside its entries.
MAX_REASON_CHARS = 300


@dataclass(frozen=True, slots=True)
class Tombstone:
    """An RFC 6721 ``at:deleted-entry``: readers that honour it remove their copy of the
    entry ``ref``. ``published`` is the entry's, so its month's archive carries it too."""

    ref: str
    when: datetime
    comment: str | None
    published: datetime

    def shown_at(self, now: datetime) -> bool:
        """Whether feeds still carry it at ``now``: for :data:`TOMBSTONE_DAYS` after ``when``."""
        return now < self.when + timedelta(days=TOMBSTONE_DAYS)


class BodyFormat(enum.StrEnum):
    """How an article's body is written."""

    MARKDOWN = "markdown"
    HTML = "html"


@dataclass(frozen=True, slots=True)
class Article:
    """A validated article, as its writer wrote it (the body is not rendered yet).

    Rendering is left for later so that a build renders only the articles some feed shows.
    """

    key: str
    slug: str
    id: str
    title: str
    published: datetime
    updated: datetime | None
    summary: str | None
    authors: tuple[Person, ...]
    tags: tuple[Tag, ...]
    section: str | None
    image: Image | None
    canonical_url: str
    sources: tuple[Source, ...]
    draft: bool
    body: str
    body_format: BodyFormat
    corrections: tuple[Correction, ...] = ()
    #: why the article was withdrawn (``None``: it is not)
    withdrawn: str | None = None
    expires: datetime | None = None
    #: when it was withdrawn, as its writer dated it (``None``: not dated)
    withdrawn_at: datetime | None = None

    @property
    def sort_key(self) -> tuple[datetime, str]:
        """The same order as :attr:`Entry.sort_key`, so feeds can be planned before rendering."""
        return (self.published, self.id)

    @property
    def shown_updated(self) -> datetime:
        """The entry's ``updated``: the writer's or the latest correction's, never before
        ``published``, because readers treat an entry updated before it appeared as broken."""
        latest = max((c.date for c in self.corrections), default=self.published)
        return max(self.updated or self.published, self.published, latest)

    def is_live(self, now: datetime) -> bool:
        """Say whether the article belongs in feeds at ``now`` (not a draft, not scheduled,
        not withdrawn, not expired)."""
        return (
            not self.draft
            and self.published <= now
            and self.withdrawn is None
            and (self.expires is None or now < self.expires)
        )

    def tombstone_at(self, seen: datetime) -> Tombstone | None:
        """The tombstone of a withdrawn article (not of a draft) whose withdrawal was first
        seen at ``seen``, dated by :meth:`withdrawal_date`."""
        if self.withdrawn is None or self.draft:
            return None
        when = self.withdrawal_date(seen)
        return Tombstone(clean_xml_text(self.id), when, self.withdrawn, self.published)

    def withdrawal_date(self, seen: datetime) -> datetime:
        """When the article was withdrawn: the date its writer gave, else its
        :attr:`shown_updated`, unless that is too old for a tombstone (see
        :meth:`withdrawal_needs_date`): then ``seen``, so a withdrawal always leaves a
        tombstone readers see."""
        if self.withdrawn_at is not None:
            return self.withdrawn_at
        return seen if self.withdrawal_needs_date(seen) else self.shown_updated

    def withdrawal_needs_date(self, seen: datetime) -> bool:
        """Whether the file dates the withdrawal too vaguely for a tombstone first seen at
        ``seen`` (no date given, and ``updated`` over :data:`TOMBSTONE_DAYS` before it): it is
        then dated when it is first seen, which a build, seeing it anew every run, moves."""
        return (
            self.withdrawn is not None
            and self.withdrawn_at is None
            and seen >= self.shown_updated + timedelta(days=TOMBSTONE_DAYS)
        )


@dataclass(frozen=True, slots=True)
class Entry:
    """One article as every feed shows it: rendered, sanitised, with absolute URLs.

    ``to_dict``/``from_dict`` give a JSON-safe form so an index can store entries and a feed
    can be rebuilt without reading or rendering any article again.
    """

    slug: str
    id: str
    id_is_permalink: bool
    url: str
    title: str
    summary: str
    content_html: str
    published: datetime
    updated: datetime
    authors: tuple[Person, ...]
    tags: tuple[Tag, ...]
    section: str | None = None
    image: Image | None = None
    #: when the article leaves its feeds by itself (partner feeds may say so)
    expires: datetime | None = None

    @property
    def sort_key(self) -> tuple[datetime, str]:
        """Newest first, ties broken by id so the order never depends on input order."""
        return (self.published, self.id)

    def to_dict(self) -> dict[str, Any]:
        """Serialise to plain JSON types (datetimes as RFC 3339 in UTC)."""
        return {
            "slug": self.slug,
            "id": self.id,
            "id_is_permalink": self.id_is_permalink,
            "url": self.url,
            "title": self.title,
            "summary": self.summary,
            "content_html": self.content_html,
            "published": rfc3339(self.published),
            "updated": rfc3339(self.updated),
            "authors": [{"name": a.name, "email": a.email, "url": a.url} for a in self.authors],
            "tags": [{"name": t.name, "slug": t.slug} for t in self.tags],
            "section": self.section,
            "image": None if self.image is None else self.image.to_dict(),
            **({} if self.expires is None else {"expires": rfc3339(self.expires)}),
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Entry:
        """Inverse of :meth:`to_dict`."""
        image = data.get("image")
        return cls(
            slug=data["slug"],
            id=data["id"],
            id_is_permalink=bool(data["id_is_permalink"]),
            url=data["url"],
            title=data["title"],
            summary=data["summary"],
            content_html=data["content_html"],
            published=datetime.fromisoformat(data["published"]),
            updated=datetime.fromisoformat(data["updated"]),
            authors=tuple(Person(**a) for a in data["authors"]),
            tags=tuple(Tag(**t) for t in data["tags"]),
            section=data.get("section"),
            image=None if image is None else Image(**image),
            expires=datetime.fromisoformat(data["expires"]) if data.get("expires") else None,
        )


@dataclass(frozen=True, slots=True)
class SocialLink:
    """One of the site's social profiles (YouTube, Facebook, ...)."""

    name: str
    url: str


@dataclass(frozen=True, slots=True)
class SiteConfig:
    """``site.yaml``: what every feed of the site shares.

    ``base_url`` and ``feeds_url`` always end with ``/`` so joining never doubles or drops one.
    """

    title: str
    description: str
    base_url: str
    feeds_url: str
    language: str
    timezone: ZoneInfo
    author: Person
    items_per_feed: int = 50
    max_feed_bytes: int = 1024 * 1024
    social: tuple[SocialLink, ...] = field(default_factory=tuple)
    #: WebSub hubs feeds advertise (``rel="hub"``) and that are pinged when a feed changes.
    hubs: tuple[str, ...] = field(default_factory=tuple)
    #: Partner feeds to publish (``partners/<name>/rss.xml``), in :class:`Partner` order.
    partners: tuple[PartnerFeed, ...] = ()

    def article_url(self, slug: str) -> str:
        """The default canonical URL (and default GUID) of an article."""
        return f"{self.base_url}articles/{slug}/"


def rfc3339(value: datetime) -> str:
    """``value`` as RFC 3339 in UTC (``2024-01-01T10:00:00+00:00``): how every format and
    the index write a moment, whatever zone it was given in."""
    return value.astimezone(UTC).isoformat()
