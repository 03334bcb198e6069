"""The DynamoDB index's table layout: its items' keys, and how a state, an entry and a
tombstone are stored in them (read and written by :mod:`~newswire.adapters.dynamodb`, the
writes of one change built by :mod:`~newswire.adapters.dynamodb_writes`).

Layout (partition key ``pk``, sort key ``sk``, both strings):

- ``article#<key>`` / ``state``: the article's sequencer, status, feeds and its rendered entry
  (zlib-compressed JSON), stored once however many feeds show it, and a copy of the
  tombstones it left (``tombstones``, a list; an item written before an article kept more
  than one has ``tombstone``, a map, read as a list of one);
- ``id#<article id>`` / ``claim``: which key owns an id, so two files can never share one;
- ``waiters#<key>`` / ``<waiting key>``: an article rejected because ``<key>`` holds the id it
  wants, so it is published again once ``<key>`` lets the id go; kept after that wake until
  the change that woke it is done, so a retry of that change can finish it;
- ``feed#<feed id>`` / ``<published>#<article id>``: membership, newest last in key order, so
  the newest N of a feed are one Query with ``ScanIndexForward=False`` and ``Limit=N``; each
  holds the revision of the article's entry (``rev``), rewritten with it, so a listing
  changes with every change to what the feed shows;
- ``due`` / ``<published>#<key>``: scheduled articles, so the ones that have come due are one
  Query with ``sk <= now``;
- ``months`` / ``YYYY-MM``: how many live articles each month has, for the monthly archives
  (RFC 5005): one small Query lists the months a reader can walk back through;
- ``tombstones`` / ``<article id>``: what a withdrawn or deleted article leaves in the Atom
  feeds (RFC 6721) for 30 days: one small Query, beside the main feed's, finds them all
  (the schedule handler deletes them once their time is over). Each names the key that left
  it, and an article's transaction deletes one of its own early (the file took it back)
  only while it is still that key's.

Times are stored as fixed-width UTC strings (:func:`index_time`), so that string order, the
sort keys' order, is time order.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, datetime
from typing import Any

from newswire.domain.feeds import FeedKey
from newswire.domain.model import Tombstone
from newswire.pipeline.ports import (
    ArticleState,
    ArticleStatus,
    StoredEntry,
    decode_entry,
    entry_revision,
)

STATE_SK = "state"
CLAIM_SK = "claim"
DUE_PK = "due"
MONTHS_PK = "months"
TOMBSTONES_PK = "tombstones"
WAITERS_PREFIX = "waiters#"
#: The attributes of a state item that make an :class:`ArticleState` (its entry apart), and
#: the names its placeholders stand for (``key`` and ``status`` are reserved words).
STATE_FIELDS = (
    "#k, seq, #s, article_id, feeds, previous_feeds, published, has_report, waiting_on, "
    "tombstone, tombstones, expires"
)
STATE_NAMES = {"#k": "key", "#s": "status"}
_INDEX_TIME = "%Y-%m-%dT%H:%M:%S.%fZ"


def index_time(moment: datetime) -> str:
    """A time as the index's sort keys hold it: fixed-width UTC, so string order is time
    order."""
    return moment.astimezone(UTC).strftime(_INDEX_TIME)


def time_of(stored: str) -> datetime:
    """A time as :func:`index_time` stored it."""
    return datetime.strptime(stored, _INDEX_TIME).replace(tzinfo=UTC)


def membership_sort_key(published: datetime, article_id: str) -> str:
    """Sort key of a membership item: string order is feed order (oldest first)."""
    return f"{index_time(published)}#{article_id}"


def due_sort_key(state: ArticleState | None) -> str | None:
    """The ``due`` item of a scheduled state, or of a live one that expires (``None`` for any
    other state); it fits the 1,024 bytes of a sort key as articles refuse longer keys
    (``MAX_KEY_BYTES``)."""
    if state is None:
        return None
    if state.status is ArticleStatus.SCHEDULED and state.published:
        return f"{index_time(state.published)}#{state.key}"
    if state.status is ArticleStatus.LIVE and state.expires:
        return f"{index_time(state.expires)}#{state.key}"
    return None


def tombstone_attributes(tombstone: Tombstone, *, ref: bool = False) -> dict[str, Any]:
    """A tombstone's attributes (its ``ref`` is the sort key of its item: in a state's
    copy with ``ref``)."""
    attributes: dict[str, Any] = {
        "deleted_at": {"S": index_time(tombstone.when)},
        "entry_published": {"S": index_time(tombstone.published)},
    }
    if tombstone.comment:
        attributes["reason"] = {"S": tombstone.comment}
    if ref:
        attributes["entry_id"] = {"S": tombstone.ref}
    return attributes


def tombstone_of(item: dict[str, Any]) -> Tombstone:
    """A tombstone from its item, or from a state's copy (a map with ``entry_id``)."""
    return Tombstone(
        ref=item["entry_id"]["S"] if "entry_id" in item else item["sk"]["S"],
        when=time_of(item["deleted_at"]["S"]),
        comment=item.get("reason", {}).get("S"),
        published=time_of(item["entry_published"]["S"]),
    )


def tombstones_value(tombstones: Iterable[Tombstone]) -> dict[str, Any]:
    """The ``tombstones`` attribute of a state item: a list of their copies, oldest first
    (read back by :func:`state_tombstones`)."""
    ordered = sorted(tombstones, key=lambda t: (t.when, t.ref))
    return {"L": [{"M": tombstone_attributes(t, ref=True)} for t in ordered]}


def state_tombstones(item: dict[str, Any]) -> frozenset[Tombstone]:
    """The tombstones a state item keeps: a list of maps (``tombstones``), and the one map
    (``tombstone``) of an item written when an article kept one at a time. Both are read: a
    function of that version, still running while a deployment rolls out, may have added
    the one to an item that has the list. Every write of this version removes the one, so
    where both are, the one came later: of two for one id, it stands."""
    kept = {t.ref: t for t in _listed_tombstones(item)}
    kept.update((t.ref, t) for t in _single_tombstone(item))
    return frozenset(kept.values())


def _single_tombstone(item: dict[str, Any]) -> list[Tombstone]:
    return [tombstone_of(item["tombstone"]["M"])] if "tombstone" in item else []


def _listed_tombstones(item: dict[str, Any]) -> list[Tombstone]:
    return [tombstone_of(t["M"]) for t in item["tombstones"]["L"]] if "tombstones" in item else []


def entry_of(item: dict[str, Any]) -> StoredEntry | None:
    """The entry a state item holds (``None``: the article is in no feed)."""
    if "entry" not in item:
        return None
    stored = item["entry"]["B"]
    return StoredEntry(decode_entry(stored), entry_revision(stored))


def state_from_item(item: dict[str, Any]) -> ArticleState:
    """The article state a state item holds (read with :data:`STATE_FIELDS`)."""
    return ArticleState(
        key=item["key"]["S"],
        sequencer=item["seq"]["S"],
        status=ArticleStatus(item["status"]["S"]),
        article_id=item.get("article_id", {}).get("S"),
        feeds=frozenset(FeedKey.from_id(f["S"]) for f in item.get("feeds", {}).get("L", [])),
        previous_feeds=frozenset(
            FeedKey.from_id(f["S"]) for f in item.get("previous_feeds", {}).get("L", [])
        ),
        published=time_of(item["published"]["S"]) if "S" in item.get("published", {}) else None,
        has_report=item.get("has_report", {}).get("BOOL", False),
        waiting_on=item.get("waiting_on", {}).get("S"),
        tombstones=state_tombstones(item),
        expires=time_of(item["expires"]["S"]) if "S" in item.get("expires", {}) else None,
    )
