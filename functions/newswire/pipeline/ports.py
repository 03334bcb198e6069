"""The storage ports the publish pipeline needs, stated as Protocols with their rules.

The S3 and DynamoDB adapters are the only implementations that touch AWS; tests run them
against moto. Every adapter raises only :mod:`newswire.errors` types: ``ArticleNotFoundError``
for a missing article, ``ConcurrentUpdateError`` when a conditional write lost a race,
``TransientStorageError`` for throttling, 5xx and timeouts (the record is retried), and
``StorageError`` for anything else.
"""

from __future__ import annotations

import enum
import hashlib
import json
import sys
import zlib
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import NamedTuple, Protocol

import orjson

from newswire.domain.feeds import FeedKey, month_of
from newswire.domain.model import Entry, Tombstone
from newswire.errors import InvalidArticleError
from newswire.pipeline.kept import Kept

#: The most an entry may take in the index, as :func:`encode_entry` stores it: a DynamoDB item
#: holds 400 KB, and the article's state needs room beside its entry.
MAX_ENTRY_BYTES = 350_000
#: Bytes of decoded entries a process keeps (:func:`decode_entry`).
DECODED_BUDGET = 48 * 1024 * 1024


def encode_entry(entry: Entry) -> bytes:
    """The stored form of an entry (compact JSON, zlib-compressed): what the index holds,
    and what :data:`MAX_ENTRY_BYTES` limits."""
    return zlib.compress(json.dumps(entry.to_dict(), separators=(",", ":")).encode("utf-8"), 6)


def check_entry_size(key: str, entry: Entry) -> None:
    """Refuse an entry the index cannot hold (over :data:`MAX_ENTRY_BYTES` once encoded).

    The build applies the same rule as the pipeline, so it never publishes an article the
    pipeline would reject. Only an entry that might be too large is encoded to find out: a
    bound on its encoded size vouches for the others, at the cost of a few ``len`` calls.

    Raises:
        InvalidArticleError: the entry is too large, naming the article's body.
    """
    if _encoded_size_bound(entry) <= MAX_ENTRY_BYTES:
        return
    size = len(encode_entry(entry))
    if size > MAX_ENTRY_BYTES:
        raise InvalidArticleError(
            key,
            "body",
            f"renders to {size} compressed bytes, more than the index holds",
            f"a body that renders to at most {MAX_ENTRY_BYTES} compressed bytes",
        )


def _encoded_size_bound(entry: Entry) -> int:
    """At least ``len(encode_entry(entry))``: JSON writes a character as at most 12 bytes
    (``\\uXXXX\\uXXXX`` for one beyond the BMP), dates and punctuation take less than
    :data:`_JSON_OVERHEAD` per field, and zlib adds at most 0.1 % and a few bytes."""
    people = [text for a in entry.authors for text in (a.name, a.email, a.url) if text]
    image = entry.image
    texts = (
        entry.slug,
        entry.id,
        entry.url,
        entry.title,
        entry.summary,
        entry.content_html,
        entry.section or "",
        *(t.name + t.slug for t in entry.tags),
        *people,
        *((image.url, image.alt, image.media_type or "") if image else ()),
        *((image.credit or "", image.caption or "") if image else ()),
    )
    fields = len(texts) + len(entry.authors) * 3 + 16
    size = 12 * sum(map(len, texts)) + _JSON_OVERHEAD * fields
    return size + size // 1000 + 64


#: More than JSON spends on one field besides its text: its name, quotes, separators, or a
#: date, a number, ``null``, ``true``.
_JSON_OVERHEAD = 48


def decode_entry(data: bytes) -> Entry:
    """Inverse of :func:`encode_entry`; the entries decoded last are kept, by their stored
    bytes (:mod:`newswire.pipeline.kept`)."""
    return _decoded.get(data, _decode)


def _decode(data: bytes) -> Entry:
    return Entry.from_dict(orjson.loads(zlib.decompress(data)))


def _entry_bytes(data: bytes, entry: Entry) -> int:
    """About what a decoded entry takes: its stored bytes, its texts, the rest's objects."""
    return len(data) + sys.getsizeof(entry.content_html) + sys.getsizeof(entry.summary) + 4096


_decoded: Kept[bytes, Entry] = Kept(DECODED_BUDGET, _entry_bytes)


def feed_digest(body: bytes) -> str:
    """The digest a :class:`FeedStore` keeps beside each object (SHA-256, hex): it tells
    whether a rewrite is needed, whatever the store does to ETags."""
    return hashlib.sha256(body).hexdigest()


@dataclass(frozen=True, slots=True)
class StoredObject:
    """An object's bytes and the ETag they were read at."""

    body: bytes
    etag: str


class ContentStore(Protocol):
    """The content bucket: the source of truth for articles and ``site.yaml``."""

    def get(self, key: str) -> StoredObject:
        """Read an object. Raises ``ArticleNotFoundError`` when it does not exist."""
        ...

    def exists(self, key: str) -> bool:
        """Whether an object is at ``key`` now (a HEAD: its current version, not a deleted one)."""
        ...

    def list_articles(self) -> Iterator[str]:
        """Every article key under ``articles/``, in key order."""
        ...

    def put_report(self, key: str, body: bytes) -> None:
        """Write an error report the publisher can read (never public)."""
        ...

    def delete_report(self, key: str) -> None:
        """Remove an error report once its article is accepted; missing is fine."""
        ...


@dataclass(frozen=True, slots=True)
class FeedObject:
    """What the feeds bucket holds at a path: an ETag and the :func:`feed_digest` of the
    bytes."""

    etag: str
    digest: str


class FeedStore(Protocol):
    """The feeds bucket. Writes are conditional so concurrent publishers never lose an update."""

    def head(self, path: str) -> FeedObject | None:
        """The current object at ``path``, or ``None`` when there is none."""
        ...

    def read(self, path: str) -> tuple[FeedObject, bytes] | None:
        """The current object at ``path`` and its bytes, or ``None`` when there is none: a
        document that is updated from what it holds (the feed directory's data)."""
        ...

    def put(
        self, path: str, body: bytes, content_type: str, *, expected: FeedObject | None
    ) -> None:
        """Write ``body`` only if the object is still ``expected`` (``None``: still absent).

        Raises:
            ConcurrentUpdateError: another writer changed the object since it was read.
        """
        ...

    def delete(self, path: str) -> None:
        """Remove the object at ``path``; a missing one is fine. Only for a feed no longer
        published (a partner taken out of ``site.yaml``), which no writer writes any more."""
        ...


class ArticleStatus(enum.StrEnum):
    """Where an article stands; the value is the string the index stores."""

    LIVE = "live"
    DRAFT = "draft"
    SCHEDULED = "scheduled"
    REJECTED = "rejected"  # no good version yet: a rejected edit keeps the last good status
    DELETED = "deleted"
    WITHDRAWN = "withdrawn"
    EXPIRED = "expired"


@dataclass(frozen=True, slots=True)
class ArticleState:
    """What the index remembers of one article key.

    ``sequencer`` is the S3 event sequencer of the last change applied (normalised so that
    string order is event order; with a ``/<n>`` suffix when re-applied without an event, see
    :func:`~newswire.pipeline.changes.forced_sequencer`); ``feeds`` are the feeds the article
    is shown in now, and ``previous_feeds`` those it was in before the last change, so a
    redelivered event can still rebuild a feed the article just left. ``waiting_on`` is the
    key of the article that holds the id this one wants: when that article gives the id up,
    this one is published again (a rename with an explicit id, whichever event comes first).
    ``tombstones``: what the article left in the Atom feeds, at most one per id, each while
    feeds carry it (:mod:`~newswire.pipeline.tombstones`): a withdrawal's, a deletion's, one
    of each id a live article gave up; ``expires``: when a live article leaves its feeds by
    itself.
    """

    key: str
    sequencer: str
    status: ArticleStatus
    article_id: str | None = None
    feeds: frozenset[FeedKey] = field(default_factory=frozenset)
    previous_feeds: frozenset[FeedKey] = field(default_factory=frozenset)
    published: datetime | None = None
    has_report: bool = False
    waiting_on: str | None = None
    tombstones: frozenset[Tombstone] = field(default_factory=frozenset)
    expires: datetime | None = None

    @property
    def archive_month(self) -> str | None:
        """The monthly archive (``YYYY-MM``) a live article is in; ``None`` for any other."""
        if self.status is not ArticleStatus.LIVE or self.published is None:
            return None
        return month_of(self.published)


class Listing(NamedTuple):
    """What a feed shows, as the index lists it: the articles' keys, newest first, and the
    revision of each one's entry (:func:`entry_revision`; ``""`` for a membership written
    before revisions were, which matches no entry). A writer compares the revisions of the
    entries it rendered with a fresh listing after writing, to find out whether a change
    indexed meanwhile may have been skipped by its own writer (see
    :mod:`newswire.pipeline.feedwriter`)."""

    keys: tuple[str, ...] = ()
    revisions: tuple[str, ...] = ()


class StoredEntry(NamedTuple):
    """An entry as the index holds it, with its revision (what listings name it by)."""

    entry: Entry
    revision: str


def entry_revision(stored: bytes) -> str:
    """The revision of an entry as :func:`encode_entry` stored it: short, as the index keeps
    it beside every membership, and long enough (64 bits) that two versions of one article
    never share one in practice, which would hide the newer from a writer's check."""
    return hashlib.blake2b(stored, digest_size=8).hexdigest()


class Due(NamedTuple):
    """A place in the index's list of scheduled articles: the article's key and its time."""

    key: str
    at: datetime


class ArticleIndex(Protocol):
    """The index: one state per article key, and per feed its entries newest first.

    Reads of a feed cost O(limit), never O(corpus). ``apply`` is atomic: the state, the id
    claim and every feed membership change in one transaction, guarded by the sequencer.
    """

    def state(self, key: str) -> ArticleState | None:
        """The article's current state, or ``None`` if the key was never indexed."""
        ...

    def apply(
        self,
        new: ArticleState,
        old: ArticleState | None,
        entry: Entry | None,
        *,
        waiting_for: str | None = None,
        woken_by: str | None = None,
        keep_due: bool = False,
    ) -> bool:
        """Move the article from ``old`` to ``new`` atomically.

        ``entry`` is shown in every feed of ``new.feeds`` (``None`` when it is in none).
        A compare-and-set: the change only happens when the stored state is still ``old``
        (same sequencer, or still absent); otherwise nothing changes and ``False`` is returned.
        ``entry=None`` with ``new.feeds`` non-empty keeps the memberships as they are (a
        rejected edit leaves the last good version published). A
        :attr:`~ArticleStatus.SCHEDULED` state is listed by :meth:`due` from its ``published``
        time on, until the state changes.

        ``new.waiting_on`` lists the article among :meth:`waiters` of that key; with
        ``waiting_for``, the id it waits for, only while that key still holds it (else
        ``False``, as for a lost compare-and-set: a holder that let the id go has already
        looked for its waiters).

        ``woken_by``: the key ``old`` waits on let the id go, and this is that wake. The
        article then stays among that key's :meth:`waiters` (until :meth:`forget_waiter`),
        so a retry of the change that woke it finds it and finishes what it left undone.

        ``keep_due``: ``old`` was scheduled and this is its publication (or its expiry); it
        stays listed by :meth:`due` (until :meth:`forget_due`), so that a run that dies
        before the feeds are written is finished by the next. A
        :attr:`~ArticleStatus.LIVE` state with ``expires`` is listed by :meth:`due` from that
        time on, as a scheduled one is from its ``published`` time.

        Each of ``new.tombstones`` is listed by :meth:`tombstones` (in place of ``old``'s
        of the same id). One of ``old.tombstones`` that ``new`` lacks stays listed until
        :meth:`forget_tombstone` (its time is over), unless it is of ``new.article_id``:
        then it is taken off, only while it is still this key's (another article may have
        taken the id since, and left a tombstone of its own); an article that goes live
        takes the tombstone of its id away, whoever left it (a deleted article brought back,
        or renamed).

        Raises:
            InvalidArticleError: ``new.article_id`` is already claimed by another key.
        """
        ...

    def owner(self, article_id: str) -> str | None:
        """The key that holds ``article_id``, or ``None`` when no article claims it."""
        ...

    def waiters(self, holder: str) -> Sequence[str]:
        """Keys of the articles waiting for an id ``holder`` holds (``waiting_on``), and of
        those ``holder`` woke and has not forgotten yet, in key order."""
        ...

    def forget_waiter(self, holder: str, key: str) -> None:
        """Take ``key`` off the :meth:`waiters` of ``holder``, unless it waits on ``holder``
        (again): the change that woke it is done."""
        ...

    def newest(self, feed: FeedKey, limit: int, since: datetime | None = None) -> Listing:
        """The ``limit`` newest articles of ``feed``, newest first (their entries:
        :meth:`entries`).

        With ``since``, only articles published after it. Every change that adds an article
        to ``feed``, takes it out or changes its entry changes the listing of the articles
        it is among.
        """
        ...

    def entries(self, keys: Sequence[str]) -> dict[str, StoredEntry]:
        """The entries of the articles ``keys`` name, with their revisions, read together, by
        key (an article in no feed is left out): the feeds of a rebuild share most of their
        articles, and each is read once."""
        ...

    def months(self) -> dict[str, int]:
        """Live articles per archive month (``YYYY-MM``, UTC); empty months are left out."""
        ...

    def month(self, feed: FeedKey, month: str) -> Listing:
        """Every article of ``feed`` published in ``month``, newest first (an archive page),
        listed as :meth:`newest` lists them."""
        ...

    def due(self, until: datetime, limit: int) -> Sequence[Due]:
        """Scheduled articles whose publication time is at or before ``until``, and those
        published with ``keep_due`` and not forgotten yet.

        Keys come oldest first, so due
        articles enter the feeds in the order they were scheduled.
        """
        ...

    def forget_due(self, due: Due) -> None:
        """Take ``due`` off :meth:`due`: its publication is done, feeds written (or it is no
        longer scheduled for that time)."""
        ...

    def states(self) -> Iterator[ArticleState]:
        """Every article state (a full scan: for reindexing only)."""
        ...

    def tombstones(self) -> Sequence[Tombstone]:
        """Every tombstone listed (see :meth:`apply`), in no particular order: the main
        feed's and the archives' Atom documents carry them for a while."""
        ...

    def forget_tombstone(self, tombstone: Tombstone) -> None:
        """Take ``tombstone`` off :meth:`tombstones` (its time is over), unless its article
        left another one since."""
        ...

    def states_of(self, keys: Sequence[str]) -> dict[str, ArticleState]:
        """The current states of ``keys``, read together (keys never indexed are left out):
        a reindex batch reads its articles' states in a request or two, not one each."""
        ...


class HubNotifier(Protocol):
    """Tells WebSub hubs which feeds changed. Never raises: a hub is not worth a failed publish."""

    def notify(self, feed_urls: Sequence[str]) -> list[str]:
        """Ping the hubs; return one message per notification that could not be delivered."""
        ...
