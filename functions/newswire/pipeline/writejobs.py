"""What a rebuild writes, and how far its attempts have got (:mod:`newswire.pipeline.feedwriter`).

:func:`paths_of` names every object a rebuild of some feeds may write, :class:`Rebuilt` says
what it wrote. A rebuild is a list of :class:`Job` (a document set, the index reads it
depends on, how to render it), written in attempts: :class:`Progress` keeps, from one
attempt to the next, the paths written, those failed for good, and per job the paths still
to read, render and write; :class:`JobListings` and :class:`PutRound` are what one round of
an attempt's index reads and writes gave.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import NamedTuple

from newswire.domain.directory import LISTED_KINDS
from newswire.domain.feeds import MAIN_FEED, FeedFormat, FeedKey, FeedKind, archive_key
from newswire.domain.model import Tombstone
from newswire.domain.partners import PartnerFeed
from newswire.pipeline.directory import RenderedListing
from newswire.pipeline.indexreads import IndexReads
from newswire.pipeline.ports import FeedObject, Listing, feed_digest
from newswire.rendering.base import FeedFile, ReplaceOnly
from newswire.rendering.directory import DIRECTORY_PATHS
from newswire.rendering.sitemap import (
    NEWS_SITEMAP_PATH,
    SITEMAP_INDEX_PATH,
    month_sitemap_path,
    month_sitemap_paths,
)
from newswire.rendering.stylesheet import STYLESHEET_PATH


def paths_of(feeds: Iterable[FeedKey], partners: Iterable[PartnerFeed] = ()) -> set[str]:
    """Every object a rebuild of ``feeds`` may write: their formats, with an archive its
    month's sitemap, with the main feed the news sitemap, the sitemap index, the stylesheet
    and the feeds of the ``partners`` enabled, and with any feed the directory lists the
    directory's documents. (A month too big for one sitemap has more parts, which go with
    its first: :func:`~newswire.rendering.sitemap.first_part_of`; a rebuild names them from
    the months' counts, :func:`archive_paths`.)"""
    keys = set(feeds)
    paths = {key.path(fmt) for key in keys for fmt in FeedFormat}
    if any(key.kind in LISTED_KINDS for key in keys):
        paths |= set(DIRECTORY_PATHS)
    paths |= {month_sitemap_path(key.slug) for key in keys if key.kind is FeedKind.ARCHIVE}
    if MAIN_FEED in keys:
        paths |= {NEWS_SITEMAP_PATH, SITEMAP_INDEX_PATH, STYLESHEET_PATH}
        paths |= {feed.partner.path for feed in partners}
    return paths


def archive_paths(key: FeedKey, months: Mapping[str, int] | None) -> tuple[str, ...]:
    """The objects the rebuild of archive ``key`` writes: its formats and its month's
    sitemap parts, each part its render may give named from ``months`` (the months' counts,
    read before: ``None``, unread), so that one attempt reads and writes them all. A part
    the render gives unnamed (the month moved since) is still read and written, in another
    attempt."""
    if months is None:
        return (*formats(key), month_sitemap_path(key.slug))
    return (*formats(key), *month_sitemap_paths(key.slug, months.get(key.slug, 0)))


@dataclass(frozen=True, slots=True)
class MonthLinks:
    """What adds to a set of feeds the feeds whose archive links it changes (see
    :meth:`~newswire.pipeline.feedwriter.FeedWriter.linking`), from the months' counts read
    once (``months``), which a rebuild also names its archives' sitemap parts from."""

    months: Mapping[str, int]
    entered: Mapping[str, int] = field(default_factory=dict)

    def __call__(self, feeds: Iterable[FeedKey], *, relink: bool = False) -> set[FeedKey]:
        """``feeds`` with the main feed and the archives next to a month of theirs that may
        have gained its first article or lost its last (or whatever the counts, ``relink``)."""
        touched = set(feeds)
        listed = sorted(self.months)
        for month in {k.slug for k in touched if k.kind is FeedKind.ARCHIVE}:
            moved = self.months.get(month, 0) <= self.entered.get(month, 1)
            if relink or moved:
                touched.add(MAIN_FEED)
                older = [m for m in listed if m < month]
                newer = [m for m in listed if m > month]
                touched.update(archive_key(m) for m in (older[-1:] + newer[:1]))
        return touched


@dataclass(frozen=True, slots=True)
class Rebuilt:
    """What a rebuild did: the paths written, and those it could not write, with why."""

    written: tuple[str, ...] = ()
    failed: Mapping[str, Exception] = field(default_factory=dict)
    #: The directory listing of each listed feed rendered (for a reindex's directory step).
    listings: tuple[RenderedListing, ...] = ()

    def or_raise(self) -> tuple[str, ...]:
        """The paths written, once every document was: else the first failure (by path).

        Raises:
            TransientStorageError, StorageError, ConcurrentUpdateError: retrying is safe.
        """
        if self.failed:
            raise self.failed[min(self.failed)]
        return self.written


@dataclass(frozen=True, slots=True)
class Job:
    """One document set to rewrite: the paths it owns, the articles it shows (``None``: a
    document of no articles) and how to render it from them."""

    paths: tuple[str, ...]
    render: Callable[[IndexReads, Sequence[str]], list[FeedFile]]
    shows: Callable[[], Listing] | None = None  # one index query
    #: What it takes of the months (their counts): the main feed and the archives link
    #: the months there are, the sitemap index lists each month's parts.
    months_view: Callable[[Mapping[str, int]], object] | None = None
    carries_tombstones: bool = False  # the main feed and the archives (in Atom)

    @property
    def links_months(self) -> bool:
        return self.months_view is not None

    @property
    def reads_index(self) -> bool:
        """Whether what it renders depends on the index (the stylesheet does not)."""
        return self.shows is not None or self.links_months


class RenderedFrom(NamedTuple):
    """What a job was rendered from: the entries it showed (by revision), what it took of
    the months, and the tombstones if it carries them."""

    shown: Listing
    months: object
    tombstones: object = None


class Write(NamedTuple):
    """A document to write for job ``job``, if the object is still ``before``."""

    job: int
    file: FeedFile
    before: FeedObject | None


Rendered = tuple[list[FeedFile], RenderedFrom] | Exception


class PutRound(NamedTuple):
    """What one attempt's requests of writing gave, made together (each an error if it
    failed): the outcome of each write (``False``: the race was lost), the HEAD of each path
    to confirm, and the outcome of each of the directory's writes ahead of its feeds."""

    outcomes: list[bool | Exception]
    confirmed: dict[str, FeedObject | Exception | None]
    ahead: list[bool | Exception]


class JobListings(NamedTuple):
    """What one round of index reads gave for some jobs (each an error if it could not be
    read): the months' counts and the tombstones (``None``: no job needs them), and what each
    job shows."""

    months: dict[str, int] | Exception | None
    tombstones: Sequence[Tombstone] | Exception | None
    shown: list[Listing | Exception]


@dataclass(slots=True)
class Progress:
    """How far a rebuild's attempts have got."""

    jobs: Sequence[Job]
    written: set[str] = field(default_factory=set)
    failed: dict[str, Exception] = field(default_factory=dict)
    #: Per job, the paths it owns: its own, and the parts a render found (a month's sitemap
    #: grown to a second part).
    owned: list[set[str]] = field(default_factory=list)
    #: Per job still to write in this attempt, the paths to read, render and write.
    pending: list[tuple[int, set[str]]] = field(default_factory=list)
    #: Per job, the paths to read, render and write again in the next attempt.
    again: dict[int, set[str]] = field(default_factory=dict)
    #: Per job rendered in this attempt, what it was rendered from.
    read: dict[int, RenderedFrom] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.owned = [set(job.paths) for job in self.jobs]
        self.pending = [(number, set(job.paths)) for number, job in enumerate(self.jobs)]

    def paths(self) -> list[str]:
        """Every path this attempt reads, renders and writes."""
        return sorted(path for _number, wanted in self.pending for path in wanted)

    def drop_unreadable(self, current: Mapping[str, FeedObject | Exception | None]) -> None:
        """Fail the paths that could not be read (each alone), and stop writing them."""
        for path in self.paths():
            if isinstance(head := current[path], Exception):
                self.failed[path] = head
        pending = [(n, {p for p in wanted if p not in self.failed}) for n, wanted in self.pending]
        self.pending = [(number, wanted) for number, wanted in pending if wanted]
        self.again, self.read = {}, {}

    def pending_jobs(self) -> list[Job]:
        return [self.jobs[number] for number, _wanted in self.pending]

    def writes(
        self, rendered: Sequence[Rendered], current: Mapping[str, FeedObject | Exception | None]
    ) -> list[Write]:
        """The documents of each pending job's render (``rendered``, in order) whose bytes
        differ from the object read; a job that could not be rendered fails its paths, and a
        path a render found (not read first) is read and rendered again."""
        writes = []
        for (number, wanted), result in zip(self.pending, rendered, strict=True):
            if isinstance(result, Exception):
                self.failed.update(dict.fromkeys(wanted, result))
                continue
            files, self.read[number] = result
            if found := {file.path for file in files} - self.owned[number]:
                self.owned[number] |= found
                self.again[number] = found
            writes += [
                Write(number, file, before)
                for file in files
                if file.path in wanted
                and not isinstance(before := current[file.path], Exception)
                and changed(before, file.body)
                and not (before is None and isinstance(file, ReplaceOnly))
            ]
        return writes

    def settle(self, writes: Sequence[Write], outcomes: Sequence[bool | Exception]) -> set[int]:
        """Take the outcome of each write (``False``: the race was lost, the path is written
        again); the jobs that wrote."""
        wrote = set()
        for write, won in zip(writes, outcomes, strict=True):
            if isinstance(won, Exception):
                self.failed[write.file.path] = won
            elif won:
                self.written.add(write.file.path)
                wrote.add(write.job)
            else:
                self.again.setdefault(write.job, set()).add(write.file.path)
        return wrote

    def rewrite(self, jobs: set[int]) -> None:
        """Read, render and write every path of ``jobs`` again (the index moved)."""
        for number in jobs:
            self.again.setdefault(number, set()).update(self.owned[number] - self.failed.keys())

    def next_attempt(self) -> bool:
        """Make the paths to write again pending; whether there are any."""
        self.pending = sorted((number, paths) for number, paths in self.again.items() if paths)
        return bool(self.pending)


def month_list(counts: Mapping[str, int]) -> object:
    """What a feed takes of the months: which there are (its archive links)."""
    return tuple(sorted(counts))


def formats(key: FeedKey) -> tuple[str, ...]:
    return tuple(key.path(fmt) for fmt in FeedFormat)


def changed(before: FeedObject | None, body: bytes) -> bool:
    return before is None or before.digest != feed_digest(body)
