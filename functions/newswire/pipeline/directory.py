"""The feed directory as a rebuild updates it: only the feeds it rebuilt, the rest as
published.

A site may have thousands of tag feeds and a change touches a handful, so the directory is
not rendered from every feed: the rebuild reads the published ``directory.json`` (one GET
with the HEADs it makes anyway; no index request), replaces the listings of the feeds it
rendered, and writes the three documents conditionally, like every feed. Keeping per-feed
counts in the index instead would add an item per feed to an article's transaction, which
an article at its tag and author limits would take past DynamoDB's 100 items. A reindex
renders its feeds in groups that leave the directory alone (they would all race for it) and
writes it once after the last group, from the listings they rendered
(:class:`RenderedListing`, :func:`encode_listings`).

Why no update is lost: the directory is read at the start of each attempt, and written only
after that attempt's feed writes (or beside them: see below), with the listing of a feed
only while the feed object it was rendered with is the published one: written in this
attempt, or found by a HEAD made after the read. The data is written only if it is still
the one read; so a writer that rendered a feed after another finds the other's directory, or
has it fail its condition, and the last writer of each feed keeps trying until its listing
is in. A feed whose write failed is not listed as it was rendered.

Why the three documents agree: each is written conditionally, then all three are read
(HEAD) again; if any is not what this writer rendered, it lost a race and tries again. The
last writer of any of them therefore finds, after its last write, all three rendered from
one ``directory.json``.

Written ahead: when every listing to change is of a feed whose RSS document the attempt is
writing (a publish, nearly always), the directory is written beside the feeds rather than
after them, a round trip sooner, as if those writes had all won. One that did not (a race
lost, an error) leaves the directory listing a document that was not published, so the
writer keeps going, writing the directory after the feeds, until it is settled: the next
attempt HEADs that feed and keeps the listing if the feed is now that document; puts back
the listing it replaced if the feed is still the object read before the write (nobody wrote
it since) and the listing is still there; and otherwise leaves it, to whoever wrote the feed
since, which lists its own document.

Why a put back never undoes another writer's listing: a listing names the digest of the RSS
document it was rendered with (``rss_sha256``), so one that differs only by it is another
listing, not one in place. The writer of a document that shares the listing written ahead
(an edit of an older article's body) therefore writes the directory too; and the put back,
like every write of the directory, is conditional on the ``directory.json`` read, so of the
two writes the later fails its condition, and its writer reads again: a HEAD made before the
other writer wrote the feed cannot put a listing back over that writer's.

The writer of the very document written ahead (the same change redelivered, or another that
rebuilds the feed into the same bytes) finds its listing in place, digest and all, and may
write no directory that a put back would lose to. Two checks, each made only then, leave a
put back no way to undo that writer's listing:

(a) a put back that was written is followed by a HEAD of its feed; if the feed is no longer
    the object found unchanged, the directory is tried again, and lists whatever is now
    published by the rules above;
(b) a writer that wrote a feed whose listing it found in place checks, after its feed
    writes, that ``directory.json`` is still the object it read or wrote: the read-back after
    a write of the directory does so; a writer that wrote none HEADs ``directory.json`` and
    compares the ETag with the read's. If it changed, the writer reads it again and lists.

A put back that undoes that listing is written after the writer of the feed read (or wrote)
the directory that held it: written before, it would have been read, or made that write fail
its condition. Either the put back also comes before the writer's check, which then finds it
(its bytes, and so its ETag, differ: it lists another digest); or it comes after the check,
and so after the feed write, which the put back's own HEAD of the feed then finds. The check
compares with the read, not with a write of the writer's own: rewriting identical bytes would
be no signal, since a single-part ETag is the MD5 of the bytes.
"""

from __future__ import annotations

import json
import random
import threading
import time
from collections.abc import Callable, Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

from newswire.domain.directory import ListedFeed, merged
from newswire.domain.feeds import FeedFormat, FeedKey
from newswire.domain.model import SiteConfig
from newswire.errors import ConcurrentUpdateError
from newswire.pipeline.concurrency import IOPool, settled
from newswire.pipeline.ports import FeedObject, FeedStore, feed_digest
from newswire.rendering.base import FeedFile
from newswire.rendering.directory import (
    DATA_PATH,
    DIRECTORY_PATHS,
    directory_files,
    parse_directory_data,
)

#: How often a rebuild tries to write the directory in all, when it alone is left (a feed
#: gives up after ``feedwriter.MAX_ATTEMPTS``): publishers running together race for it; a
#: try is a GET, a few HEADs and up to three PUTs, with no render.
DIRECTORY_ATTEMPTS = 24
#: The most a rebuild waits (at random, up to it) before trying the directory again, so
#: that writers that lost to each other do not meet again.
DIRECTORY_PAUSE = 0.2


@dataclass(frozen=True, slots=True)
class RenderedListing:
    """A feed's listing as a rebuild rendered it (``None``: the feed leaves the directory),
    with the :func:`~newswire.pipeline.ports.feed_digest` of the RSS document it came with:
    the listing holds only while that document is the published one."""

    key: FeedKey
    listed: ListedFeed | None
    digest: str

    def to_dict(self) -> dict[str, Any]:
        """A JSON-safe form (a reindex keeps its render groups' listings so)."""
        listed = self.listed.to_dict() if self.listed is not None else None
        return {"id": self.key.id, "digest": self.digest, "listing": listed}

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> RenderedListing:
        """Inverse of :meth:`to_dict`.

        Raises:
            KeyError, TypeError, ValueError: ``data`` is not one.
        """
        listed = data["listing"]
        return cls(
            key=FeedKey.from_id(str(data["id"])),
            listed=ListedFeed.from_dict(listed) if listed is not None else None,
            digest=str(data["digest"]),
        )


def encode_listings(listings: Iterable[RenderedListing]) -> bytes:
    """What a reindex's render group hands on to the directory step."""
    return json.dumps([item.to_dict() for item in listings], separators=(",", ":")).encode()


def decode_listings(body: bytes) -> list[RenderedListing]:
    """Inverse of :func:`encode_listings` (our own file: a bad one raises ``ValueError``)."""
    return [RenderedListing.from_dict(item) for item in json.loads(body)]


@dataclass(slots=True)
class DirectoryOutcome:
    """What one attempt at the directory did: the paths written, those that failed for good
    (with why), and whether it lost a race (and is to be tried again)."""

    written: set[str] = field(default_factory=set)
    failed: dict[str, Exception] = field(default_factory=dict)
    lost: bool = False


@dataclass(frozen=True, slots=True)
class _Ahead:
    """A listing written ahead of its feed, whose feed write did not win: ``listed`` is in
    the directory (unless someone replaced it since), ``before`` is what it replaced, ``was``
    the feed's RSS object the write was to replace (``None``: absent)."""

    listed: RenderedListing
    before: ListedFeed | None
    was: FeedObject | None


@dataclass(slots=True)
class DirectoryWrites:
    """The directory's documents one attempt rendered (``rendered``), those of them that
    changed, each with the object it replaces (``writes``), and the listings it took as
    written ahead of their feeds (``ahead``, by RSS path)."""

    rendered: list[FeedFile]
    writes: list[tuple[FeedFile, FeedObject | None]]
    ahead: dict[str, _Ahead] = field(default_factory=dict)
    #: ``directory.json`` as the attempt read it (``None``: absent).
    data: FeedObject | None = None


class DirectoryDraft:
    """The directory one rebuild writes (:data:`DIRECTORY_PATHS`), from the listings of the
    feeds it renders, kept over its attempts (a feed that lost a write race is rendered again
    in the next one).

    In each attempt the writer reads the directory's data with :meth:`read` along with its
    other HEADs and renders its feeds (each calls :meth:`record`). Then either
    :meth:`ahead` gives the directory's writes, made beside the feeds' and taken by
    :meth:`settle`, then :meth:`read_back` reads them back; or the feeds are written with HEADs
    of :meth:`to_confirm` beside, and :meth:`commit` writes what :meth:`render` gives.

    Args:
        site: the site configuration.
        rendered: listings rendered before (a reindex's render groups).
    """

    paths = DIRECTORY_PATHS

    def __init__(self, site: SiteConfig, rendered: Iterable[RenderedListing] = ()) -> None:
        self.site = site
        self._lock = threading.Lock()
        self._rendered = {item.key: item for item in rendered}
        self._published: bytes | None = None
        self._listed: dict[FeedKey, ListedFeed] = {}  # what the published data lists
        self._ahead: dict[FeedKey, _Ahead] = {}  # written ahead, feed not (yet) written
        self._put_back: dict[str, FeedObject | None] = {}  # by RSS path: the feed left as it was

    def read(self, feeds: FeedStore) -> FeedObject | None:
        """Read the published ``directory.json`` whole (what the directory is updated from),
        as a HEAD would give it.

        Raises:
            DirectoryFormatError: it is in a newer format (never overwritten).
        """
        found = feeds.read(DATA_PATH)
        listed = parse_directory_data(found[1] if found else None)  # a newer format fails
        with self._lock:
            self._published = found[1] if found else None
            self._listed = {listing.key: listing for listing in listed}
        return found[0] if found else None

    def record(self, key: FeedKey, listed: ListedFeed | None, files: list[FeedFile]) -> None:
        """Remember what the feed ``key`` was just rendered as (its listing and documents),
        the listing naming its RSS document's digest, so that another document with the same
        listing is listed anew (see the module docstring)."""
        rss = key.path(FeedFormat.RSS)
        digest = feed_digest(next(file.body for file in files if file.path == rss))
        if listed is not None:
            listed = replace(listed, rss_sha256=digest)
        with self._lock:
            self._rendered[key] = RenderedListing(key, listed, digest)

    def rendered(self) -> list[RenderedListing]:
        """Every listing rendered, by feed id (what a reindex's group hands on)."""
        with self._lock:
            return sorted(self._rendered.values(), key=lambda item: item.key.id)

    def unsettled(self) -> bool:
        """Whether a listing written ahead of its feed is still to be confirmed or undone
        (the writer must try the directory again, even with nothing else left to do)."""
        with self._lock:
            return bool(self._ahead)

    def to_confirm(self, writing: Collection[str]) -> list[str]:
        """The RSS paths to HEAD after the read, beside the attempt's writes (``writing``):
        those of the feeds rendered and not being written, whose listing holds only while
        their object is the one rendered; not those the published data already lists as
        rendered (nothing to change: a reindex of an unchanged site HEADs none); and those of
        listings written ahead of a feed write that did not win, even while written again
        (whether someone else wrote the feed since decides what becomes of the listing)."""
        with self._lock:
            paths = {
                key.path(FeedFormat.RSS)
                for key, item in self._rendered.items()
                if _as_published(self._listed.get(key)) != _as_published(item.listed)
            }
            unsettled = {key.path(FeedFormat.RSS) for key in self._ahead}
        return sorted((paths - set(writing)) | unsettled)

    def ahead(
        self, writing: Collection[str], current: Mapping[str, FeedObject | Exception | None]
    ) -> DirectoryWrites | None:
        """The directory to write beside the feeds ``writing`` (paths), as if they all won;
        ``None`` when a listing to change needs a HEAD first (:meth:`to_confirm`: so too
        while one written ahead is unsettled), or a document of the directory could not be
        read."""
        if self.to_confirm(writing) or any(isinstance(current[p], Exception) for p in self.paths):
            return None
        with self._lock:
            ahead = {
                rss: _Ahead(item, self._listed.get(key), _object(current[rss]))
                for key, item in self._rendered.items()
                if (rss := key.path(FeedFormat.RSS)) in writing
            }
        return self._writes(self.render(writing, {}), current, ahead)

    def settle(
        self,
        prepared: DirectoryWrites,
        outcomes: Sequence[bool | Exception],
        written: Collection[str],
    ) -> DirectoryOutcome:
        """Take the outcome of each of the directory's writes (``False``: the race was
        lost); of a directory written ahead, remember each listing whose feed's RSS document
        was not among the feeds ``written`` (to confirm or undo it)."""
        outcome = DirectoryOutcome()
        for (file, _head), won in zip(prepared.writes, outcomes, strict=True):
            if isinstance(won, Exception):
                outcome.failed[file.path] = won
            elif won:
                outcome.written.add(file.path)
            else:
                outcome.lost = True
        with self._lock:  # none is unsettled yet (:meth:`ahead`)
            for rss, wrote in prepared.ahead.items():
                if rss not in written and DATA_PATH in outcome.written:
                    self._ahead[wrote.listed.key] = wrote
        return outcome

    def done(self, outcome: DirectoryOutcome, *, more: bool) -> bool:
        """Whether this attempt's ``outcome`` ends the directory's attempts: it was written or
        unchanged, with no feed to write again (``more``), or it failed for good. Not while
        a listing written ahead of its feed is unsettled, even after a failure: a redelivered
        change would find that listing in place, with nothing to undo."""
        unsettled = self.unsettled()
        if outcome.failed:
            return not unsettled
        return not (outcome.lost or more or unsettled)

    def read_back(
        self,
        ahead: DirectoryWrites,
        outcome: DirectoryOutcome,
        written: Collection[str],
        feeds: FeedStore,
        pool: IOPool,
    ) -> bool:
        """Whether the directory written ``ahead`` (its writes' ``outcome`` settled) lost a
        race: a write, or the read-back after the feeds ``written`` (:meth:`_read_again`)."""
        if outcome.lost or outcome.failed:
            return outcome.lost
        return self._read_again(ahead, written, feeds, pool)

    def _read_again(
        self, prepared: DirectoryWrites, written: Collection[str], feeds: FeedStore, pool: IOPool
    ) -> bool:
        """Whether the directory, read again after this attempt's writes, shows a race lost:
        one of the three documents written is not what was rendered (:meth:`agrees`); or,
        none written, ``directory.json`` is not the object read while a feed ``written`` had
        its listing found in place (a put back may have undone it: see the module docstring).
        Only that case costs a HEAD that a publish would not make anyway."""
        if prepared.writes:
            return not self.agrees(prepared, feeds, pool)
        if not self._found_in_place(written):
            return False
        seen = settled(feeds.head)(DATA_PATH)
        return isinstance(seen, Exception) or _etag(seen) != _etag(prepared.data)

    def _found_in_place(self, written: Collection[str]) -> bool:
        """Whether a feed whose RSS document was ``written`` in this attempt has, in the
        ``directory.json`` it read, the listing rendered (digest and all)."""
        with self._lock:
            return any(
                key.path(FeedFormat.RSS) in written
                and _as_published(self._listed.get(key)) == _as_published(item.listed)
                for key, item in self._rendered.items()
            )

    def _put_back_lost(self, outcome: DirectoryOutcome, feeds: FeedStore, pool: IOPool) -> bool:
        """Whether a listing put back by the ``directory.json`` this attempt wrote (its
        ``outcome``) is of a feed that, HEADed again, is no longer the object found unchanged:
        written since, maybe into the document whose listing the put back undid, by a writer
        that found that listing in place; the directory is then tried again."""
        with self._lock:
            put_back, self._put_back = self._put_back, {}
        if DATA_PATH not in outcome.written or not put_back:
            return False
        seen = pool.map(settled(feeds.head), list(put_back))
        return any(
            isinstance(now, Exception) or _replaced(now, was)
            for now, was in zip(seen, put_back.values(), strict=True)
        )

    def agrees(self, prepared: DirectoryWrites, feeds: FeedStore, pool: IOPool) -> bool:
        """Whether all three documents are, read again, what this attempt rendered (else a
        race was lost); unread when this attempt wrote none of them."""
        rendered = prepared.rendered
        again = pool.map(settled(feeds.head), [file.path for file in rendered])
        return all(
            _digest(head) == feed_digest(file.body)
            for file, head in zip(rendered, again, strict=True)
        )

    def render(
        self, written: Collection[str], confirmed: Mapping[str, FeedObject | Exception | None]
    ) -> list[FeedFile]:
        """The directory's documents: the published data (read at the start of this attempt)
        with the listing of every feed whose RSS document was ``written`` in this attempt or
        is, by the HEADs ``confirmed``, the one rendered. Any other feed keeps its published
        listing (whoever wrote it since writes the directory too, and a feed whose write
        failed is not listed as new), except that a listing written ahead of a feed that is
        not the document it was rendered from is put back as it was, if still there and
        nobody wrote the feed since (see the module docstring)."""
        with self._lock:
            self._put_back = {}
            fresh = {
                key: item.listed
                for key, item in self._rendered.items()
                if (rss := key.path(FeedFormat.RSS)) in written
                or _digest(confirmed.get(rss)) == item.digest
            }
            for key, wrote in self._ahead.items():
                rss = key.path(FeedFormat.RSS)
                if key in fresh or rss in written:
                    continue
                if _digest(seen := confirmed.get(rss)) == wrote.listed.digest:
                    fresh[key] = wrote.listed.listed  # the feed is that document after all
                elif rss in confirmed and _replaced(seen, wrote.was):
                    continue  # whoever wrote it lists it (or found it listed: not undone)
                elif _as_published(self._listed.get(key)) == _as_published(wrote.listed.listed):
                    fresh[key] = wrote.before
                    if _as_published(wrote.before) != _as_published(wrote.listed.listed):
                        self._put_back[rss] = wrote.was
            published = self._published
        return directory_files(merged(parse_directory_data(published), fresh), self.site)

    def commit(
        self,
        feeds: FeedStore,
        pool: IOPool,
        current: Mapping[str, FeedObject | Exception | None],
        rendered: Sequence[FeedFile],
        written: Collection[str] = (),
    ) -> DirectoryOutcome:
        """Write the directory's documents ``rendered`` that changed, each only if it is
        still what this attempt read (``current``), then read them again, after the feeds
        ``written``: the attempt is lost unless each is what was rendered (see the module
        docstring). Settles every listing written ahead before (:meth:`render` took them
        into account); one put back whose feed was written since is listed again."""
        failed = {p: head for p in self.paths if isinstance(head := current[p], Exception)}
        if failed:
            return DirectoryOutcome(failed=failed)
        prepared = self._writes(list(rendered), current)
        outcome = self.settle(
            prepared, pool.map(settled(put_directory(feeds)), prepared.writes), ()
        )
        if not (outcome.lost or outcome.failed):
            outcome.lost = self._read_again(prepared, written, feeds, pool)
        if not (outcome.lost or outcome.failed):
            with self._lock:
                self._ahead.clear()
            outcome.lost = self._put_back_lost(outcome, feeds, pool)
        return outcome

    def _writes(
        self,
        rendered: list[FeedFile],
        current: Mapping[str, FeedObject | Exception | None],
        ahead: dict[str, _Ahead] | None = None,
    ) -> DirectoryWrites:
        """The documents of ``rendered`` that differ from the objects read."""
        writes = [
            (file, head)
            for file in rendered
            if _changed(head := _object(current[file.path]), file.body)
        ]
        return DirectoryWrites(rendered, writes, ahead or {}, _object(current[DATA_PATH]))


def put_directory(feeds: FeedStore) -> Callable[[tuple[FeedFile, FeedObject | None]], bool]:
    """What writes one of the directory's documents (see :meth:`DirectoryDraft.settle`)."""

    def put(write: tuple[FeedFile, FeedObject | None]) -> bool:
        """Write one document if it is still what was read; ``False``: the race was lost."""
        file, before = write
        try:
            feeds.put(file.path, file.body, file.content_type, expected=before)
        except ConcurrentUpdateError:
            return False
        return True

    return put


def _as_published(listing: ListedFeed | None) -> dict[str, Any] | None:
    """A listing as ``directory.json`` holds it: its feed's name too, which keys ignore, and
    its RSS document's digest, which tells apart two documents listed alike."""
    return listing.to_dict() if listing is not None else None


def _digest(head: FeedObject | Exception | None) -> str | None:
    return head.digest if isinstance(head, FeedObject) else None


def _etag(head: FeedObject | None) -> str | None:
    return head.etag if head is not None else None


def _object(head: FeedObject | Exception | None) -> FeedObject | None:
    return head if isinstance(head, FeedObject) else None


def _replaced(seen: FeedObject | Exception | None, was: FeedObject | None) -> bool:
    """Whether the HEAD ``seen`` finds another object than ``was`` (one that failed finds
    none: the listing is then put back rather than left ahead of a write not known to win)."""
    if isinstance(seen, Exception):
        return False
    return (seen.etag if seen else None) != (was.etag if was else None)


def _changed(before: FeedObject | None, body: bytes) -> bool:
    return before is None or before.digest != feed_digest(body)


def pause_before_directory() -> None:
    """A random pause of up to :data:`DIRECTORY_PAUSE` seconds (full jitter)."""
    time.sleep(random.uniform(0, DIRECTORY_PAUSE))  # noqa: S311  (not cryptography)
