"""What one attempt of a rebuild reads from the index, each thing read once: the months, the
tombstones, and the entries of the articles its feeds show, with their revisions."""

from __future__ import annotations

import threading
from collections import Counter
from collections.abc import Callable, Iterable, Sequence
from typing import TypeVar

from newswire.domain.model import Entry, Tombstone
from newswire.pipeline.concurrency import IOPool, settled
from newswire.pipeline.ports import ArticleIndex, Listing, StoredEntry

T = TypeVar("T")

#: Entries read in one request: DynamoDB's BatchGetItem takes at most 100 keys.
ENTRIES_PER_READ = 100
#: The revision a rendered listing gives an article whose entry was gone when read: no
#: listing holds it, so a feed rendered without the article never matches one with it.
UNREAD = "-"


class IndexReads:
    """What an attempt's feeds read from the index, each read once however many feeds need
    it: the months (the main feed and the archives link them, the sitemap index lists them),
    and the entries of the articles they show (an article is in the main feed, its month's,
    its section's, its tags' and its authors'). An entry is dropped once the last feed
    showing it is rendered: a reindex renders dozens of archives at once.
    """

    def __init__(
        self,
        index: ArticleIndex,
        months: dict[str, int] | Exception | None,
        tombstones: Sequence[Tombstone] | Exception | None = None,
    ) -> None:
        self._index = index
        self._lock = threading.Lock()
        self._months = months  # read with the listings (``None``: not read, none links them)
        self._tombstones = tombstones  # likewise (none carries them)
        self._entries: dict[str, StoredEntry] = {}
        self._failed: dict[str, Exception] = {}  # keys whose read failed, and why
        self._uses: Counter[str] = Counter()  # feeds still to render, per key

    def months(self) -> list[str]:
        return sorted(self.month_counts())

    def month_counts(self) -> dict[str, int]:
        """Live articles per month (months with none left out).

        Raises:
            TransientStorageError, StorageError: reading them failed.
        """
        with self._lock:
            if self._months is None:
                self._months = self._index.months()
        if isinstance(self._months, Exception):
            raise self._months
        return self._months

    def tombstones(self) -> Sequence[Tombstone]:
        """Every tombstone listed (the main feed's and the archives' Atom documents carry
        them).

        Raises:
            TransientStorageError, StorageError: reading them failed.
        """
        with self._lock:
            if self._tombstones is None:
                self._tombstones = self._index.tombstones()
        if isinstance(self._tombstones, Exception):
            raise self._tombstones
        return self._tombstones

    def read(self, pool: IOPool, shown: Iterable[Sequence[str]]) -> None:
        """Read the entries of the articles the feeds show (the keys each shows),
        :data:`ENTRIES_PER_READ` to a request, at once."""
        for keys in shown:
            self._uses.update(keys)
        wanted = sorted(self._uses)
        groups = [wanted[i : i + ENTRIES_PER_READ] for i in range(0, len(wanted), ENTRIES_PER_READ)]
        found = pool.map(settled(self._index.entries), groups)
        for group, entries in zip(groups, found, strict=True):
            if isinstance(entries, Exception):
                self._failed.update(dict.fromkeys(group, entries))
            else:
                self._entries.update(entries)

    def rendered(self, keys: Sequence[str]) -> Listing:
        """``keys`` with the revisions of the entries read for them (:data:`UNREAD` for an
        article whose entry was gone): what a feed of them is rendered from, to compare with
        a later listing. Asked before :meth:`render`, which forgets entries."""
        with self._lock:
            found = [self._entries.get(key) for key in keys]
        revisions = tuple(UNREAD if e is None else e.revision for e in found)
        return Listing(tuple(keys), revisions)

    def render(self, keys: Sequence[str], render: Callable[[list[Entry]], T]) -> T:
        """``render`` given the entries of ``keys`` (in their order; articles in no feed left
        out); then forget those no other feed shows.

        Raises:
            TransientStorageError, StorageError: reading one of the entries failed.
        """
        try:
            for key in keys:
                if key in self._failed:
                    raise self._failed[key]
            return render([self._entries[key].entry for key in keys if key in self._entries])
        finally:
            with self._lock:
                self._uses.subtract(keys)
                for key in keys:
                    if self._uses[key] <= 0:
                        self._entries.pop(key, None)
