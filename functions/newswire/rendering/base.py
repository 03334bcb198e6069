"""The renderer interface every feed format implements.

Third-party feed libraries (feedgen) stay behind this interface: callers hand over entries and
feeds and get bytes back, never a library object.

A document is rendered in two steps, so that an entry shown by many feeds (the main feed, its
tags', its authors', its month's archive) is rendered once per format: :meth:`~FeedRenderer.item`
turns an entry into the bytes it has in every document, and :meth:`~FeedRenderer.document`
puts a feed's head around the items of its entries.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from newswire.domain.feeds import Feed, FeedFormat
from newswire.domain.model import Entry


@dataclass(frozen=True, slots=True)
class FeedFile:
    """One rendered document (a feed, the news sitemap, the stylesheet), ready to store and
    serve."""

    path: str
    content_type: str
    body: bytes


@dataclass(frozen=True, slots=True)
class ReplaceOnly(FeedFile):
    """A document to write only over one already there (an archive emptied stays, empty, but
    a month with no article gets none, as from a build, even for a tombstone of that month)."""


class FeedRenderer(ABC):
    """Turns entries and feeds into the bytes of one format.

    Rules every implementation keeps:
    - deterministic: the same feed gives byte-identical output (no render time anywhere);
    - entries in the order the feed gives them (newest first), none prepended or dropped;
    - every URL absolute, every date with its time zone;
    - UTF-8 output that a strict validator and real readers accept without a warning;
    - an item does not depend on the feed it goes in, and a document is its head plus the
      items given, as they are: :meth:`render` is the :meth:`document` of each entry's
      :meth:`item`, so a feed rendered whole and one assembled from items are the same bytes.
    """

    format: FeedFormat

    @abstractmethod
    def item(self, entry: Entry) -> bytes:
        """``entry`` exactly as it appears inside any document of this format.

        Indentation and line end included, so that documents are assembled by splicing bytes.
        """

    @abstractmethod
    def document(self, feed: Feed, items: Sequence[bytes], updated: datetime) -> bytes:
        """The whole document of ``feed`` around ``items``, dated ``updated``.

        ``feed.entries`` is not read: the items and their newest change are given, so that a
        caller holding items rendered beforehand (a build's workers, or a feed cut down to its
        byte budget) needs no entries. ``render`` passes ``self.item(feed.entries[i])`` and
        :attr:`Feed.updated`.
        """

    def render(self, feed: Feed) -> bytes:
        """Render ``feed``, entries newest first: the same feed always gives the same bytes."""
        items = [self.item(entry) for entry in feed.entries]
        return self.document(feed, items, feed.updated)
