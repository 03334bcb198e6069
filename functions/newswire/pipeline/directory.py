"""The feed directory as a rebuild updates it: only the feeds it rebuilt, the rest as
published.

A site may have thousands of tag feeds and a change touches a handful, so the directory is
not rendered from every feed: the rebuild reads the published ``directory.json`` (one GET
with the HEADs it makes anyway; no index request), replaces the listings of the feeds it
rendered, and writes the three documents conditionally, like every feed. Keeping per-feed
counts in the index instead would add an item per feed to an article's transaction, which
an article at its tag and author limits would take past DynamoDB's 100 items.

Why no update is lost: a listing is only put in the directory while the feed object it was
rendered with is still the published one (rendered in this attempt, or HEAD-checked
again), and the directory is written only if it is still the one read. A writer that
rendered a feed after another finds the other's directory (or has it fail its condition),
and the last writer of each feed keeps trying until its listing is in.
"""

from __future__ import annotations

import random
import threading
import time
from collections.abc import Mapping
from dataclasses import dataclass

from newswire.domain.directory import ListedFeed, merged
from newswire.domain.feeds import FeedFormat, FeedKey
from newswire.domain.model import SiteConfig
from newswire.pipeline.ports import FeedObject, FeedStore, feed_digest
from newswire.rendering.base import FeedFile
from newswire.rendering.directory import (
    DATA_PATH,
    DIRECTORY_PATHS,
    directory_files,
    parse_directory_data,
)


@dataclass(frozen=True, slots=True)
class _Rendered:
    """A feed's listing, the digest of the RSS document it came with, and the attempt."""

    listed: ListedFeed | None
    digest: str
    attempt: int


class DirectoryDraft:
    """The directory one rebuild writes (:data:`DIRECTORY_PATHS`): the listings of the feeds
    it renders, kept over its attempts (a feed that lost a write race is rendered again in
    the next one), and what each attempt read of the bucket.

    In each attempt the writer calls :meth:`begin_attempt`, reads every object it may
    write (the directory's data with :meth:`read`), tells :meth:`observe` what it found,
    renders its feeds (each calls :meth:`record`) and then the directory (:meth:`render`).
    """

    paths = DIRECTORY_PATHS

    def __init__(self, site: SiteConfig) -> None:
        self.site = site
        self._lock = threading.Lock()
        self._rendered: dict[FeedKey, _Rendered] = {}
        self._attempt = 0
        self._current: Mapping[str, FeedObject | Exception | None] = {}
        self._published: bytes | None = None

    def begin_attempt(self) -> list[str]:
        """Start an attempt; the RSS paths to HEAD in it besides those written: those of
        feeds rendered in an earlier attempt, whose listing holds only while their object
        is unchanged."""
        with self._lock:
            self._attempt += 1
            self._published = None
            return sorted(key.path(FeedFormat.RSS) for key in self._rendered)

    def read(self, feeds: FeedStore) -> FeedObject | None:
        """Read the published ``directory.json`` whole (what the directory is updated from),
        as a HEAD would give it."""
        found = feeds.read(DATA_PATH)
        with self._lock:
            self._published = found[1] if found else None
        return found[0] if found else None

    def observe(self, current: Mapping[str, FeedObject | Exception | None]) -> None:
        """What this attempt read of the objects (each, or why it could not be read)."""
        with self._lock:
            self._current = current

    def record(self, key: FeedKey, listed: ListedFeed | None, files: list[FeedFile]) -> None:
        """Remember what the feed ``key`` was just rendered as (its listing and documents)."""
        rss = key.path(FeedFormat.RSS)
        body = next(file.body for file in files if file.path == rss)
        with self._lock:
            self._rendered[key] = _Rendered(listed, feed_digest(body), self._attempt)

    def render(self) -> list[FeedFile]:
        """The directory's documents: the published data (read at the start of this attempt)
        with the listing of every feed rendered in this attempt, or in an earlier one whose
        RSS object is, by this attempt's HEADs, still the one it was rendered as. Any other
        feed keeps its published listing: whoever wrote it since writes the directory too."""
        with self._lock:
            fresh = {
                key: rendered.listed
                for key, rendered in self._rendered.items()
                if rendered.attempt == self._attempt
                or _digest(self._current.get(key.path(FeedFormat.RSS))) == rendered.digest
            }
            published = self._published
        return directory_files(merged(parse_directory_data(published), fresh), self.site)

    def retried(self, again: Mapping[int, set[str]], failed: Mapping[str, Exception]) -> bool:
        """Whether the directory is to be written again: whenever anything is (a feed
        rendered again may list differently), or one of its documents is (they are kept in
        step), unless one of them failed for good."""
        return any(again.values()) and not failed.keys() & set(self.paths)


def _digest(head: FeedObject | Exception | None) -> str | None:
    return head.digest if isinstance(head, FeedObject) else None


#: How often a rebuild tries to write the directory in all, when it alone is left (a feed
#: gives up after ``feedwriter.MAX_ATTEMPTS``): every writer of a listed feed writes it,
#: so a reindex's groups, rendered at once, race for it; a try is a GET, a few HEADs and
#: three PUTs, with no render.
DIRECTORY_ATTEMPTS = 24
#: The most a rebuild waits (at random, up to it) before trying the directory again, so
#: that writers that lost to each other do not meet again.
DIRECTORY_PAUSE = 0.2


def pause_before_directory() -> None:
    """A random pause of up to :data:`DIRECTORY_PAUSE` seconds (full jitter)."""
    time.sleep(random.uniform(0, DIRECTORY_PAUSE))  # noqa: S311  (not cryptography)
