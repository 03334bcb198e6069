"""The feed directory: every subscription feed a site publishes and what each carries.

A directory lists the main feed and every section, tag and author feed (never the monthly
archives: nobody subscribes to a finished month), each with the number of articles it shows,
its newest article and its newest change. The OPML subscription list and the directory page
are rendered from it, and its data is published beside them (``directory.json``), from which
the pipeline updates only the feeds a change rebuilt.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol

from newswire.domain.feeds import ALWAYS_PUBLISHED, FeedKey, FeedKind
from newswire.domain.model import rfc3339

#: The directory's groups, in the order they are shown, with the kind of feed each holds.
GROUPS: tuple[tuple[str, FeedKind], ...] = (
    ("Main", FeedKind.MAIN),
    ("Sections", FeedKind.SECTION),
    ("Tags", FeedKind.TAG),
    ("Authors", FeedKind.AUTHOR),
)
LISTED_KINDS = frozenset(kind for _group, kind in GROUPS)


class Headline(Protocol):
    """What a listing takes of a feed's newest article: an entry, or a build's entry head."""

    @property
    def title(self) -> str: ...

    @property
    def url(self) -> str: ...


@dataclass(frozen=True, slots=True)
class ListedFeed:
    """One feed of the directory: its key (named as the feed is), how many articles it shows,
    its newest article's headline and URL, the newest change among those it shows (``None``
    for an empty feed), and the SHA-256 (hex) of the RSS document it was listed from (``""``:
    unknown), so that two documents with the same listing are told apart."""

    key: FeedKey
    articles: int
    latest_title: str = ""
    latest_url: str = ""
    updated: datetime | None = None
    rss_sha256: str = ""

    def to_dict(self) -> dict[str, Any]:
        """A JSON-safe form (the published ``directory.json`` holds a list of them)."""
        data: dict[str, Any] = {"id": self.key.id, "name": self.key.name, "articles": self.articles}
        if self.updated is not None:
            data |= {"latest": {"title": self.latest_title, "url": self.latest_url}}
            data["updated"] = rfc3339(self.updated)
        if self.rss_sha256:
            data["rss_sha256"] = self.rss_sha256
        return data

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> ListedFeed:
        """Inverse of :meth:`to_dict`.

        Raises:
            KeyError, TypeError, ValueError: ``data`` is not a listing.
        """
        key = FeedKey.from_id(str(data["id"]))
        latest = data.get("latest") or {}
        updated = data.get("updated")
        return cls(
            key=FeedKey(key.kind, key.slug, str(data["name"])),
            articles=int(data["articles"]),
            latest_title=str(latest.get("title", "")),
            latest_url=str(latest.get("url", "")),
            updated=_utc(str(updated)) if updated is not None else None,
            rss_sha256=str(data.get("rss_sha256") or ""),  # older files have none: unknown
        )


def _utc(text: str) -> datetime:
    """An RFC 3339 time with its offset, as :meth:`ListedFeed.to_dict` writes it."""
    moment = datetime.fromisoformat(text)
    if moment.tzinfo is None:
        raise ValueError(f"{text!r} has no offset")
    return moment


def listed_feed(
    key: FeedKey,
    shown: int,
    latest: Headline | None,
    updated: datetime | None,
    rss_sha256: str = "",
) -> ListedFeed | None:
    """The listing of feed ``key`` (named after its newest article ``latest``), which shows
    ``shown`` articles whose newest change is ``updated``, in the RSS document of digest
    ``rss_sha256``; ``None`` for a feed the directory leaves out (an archive, or an emptied
    feed, which a build removes)."""
    if key.kind not in LISTED_KINDS:
        return None
    if latest is None or updated is None or shown <= 0:
        return ListedFeed(key, 0, rss_sha256=rss_sha256) if key in ALWAYS_PUBLISHED else None
    return ListedFeed(key, shown, latest.title, latest.url, updated, rss_sha256)


def merged(
    base: Iterable[ListedFeed], fresh: Mapping[FeedKey, ListedFeed | None]
) -> list[ListedFeed]:
    """``base`` with the feeds of ``fresh`` replaced (``None``: the feed left the
    directory), in directory order (:func:`directory_order`). The main feed is always
    listed, empty if need be."""
    listings = {listing.key: listing for listing in base if listing.key.kind in LISTED_KINDS}
    for key, listing in fresh.items():
        if listing is None:
            listings.pop(key, None)
        else:
            listings.pop(key, None)  # a new name is a new key object for an equal key
            listings[listing.key] = listing
    for key in ALWAYS_PUBLISHED:
        listings.setdefault(key, ListedFeed(key, 0))
    return directory_order(listings.values())


def directory_order(listings: Iterable[ListedFeed]) -> list[ListedFeed]:
    """Listings grouped as :data:`GROUPS`, each group by folder (the slug): deterministic,
    whatever order the feeds were rebuilt in."""
    rank = {kind: number for number, (_group, kind) in enumerate(GROUPS)}
    return sorted(listings, key=lambda listing: (rank[listing.key.kind], listing.key.slug))


def grouped(listings: Sequence[ListedFeed]) -> list[tuple[str, list[ListedFeed]]]:
    """The non-empty groups of ``listings`` (in directory order), with their names."""
    groups = [(name, [lst for lst in listings if lst.key.kind is kind]) for name, kind in GROUPS]
    return [(name, members) for name, members in groups if members]
