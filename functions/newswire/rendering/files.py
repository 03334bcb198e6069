"""Feed documents as files: every format of a feed, each fitted to the site's byte budget.

Shared by the full build and the incremental publisher, so both publish the same bytes.
Each entry is rendered once per format (an *item*) and documents are assembled from items,
so fitting a feed to its budget never renders an entry twice.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from datetime import datetime

from newswire.domain.feeds import EMPTY_FEED_UPDATED, Feed, FeedFormat
from newswire.rendering.base import FeedFile
from newswire.rendering.registry import render_document, render_item


def render_feed_files(
    feed: Feed,
    max_bytes: int,
    items: Mapping[FeedFormat, Sequence[bytes]] | None = None,
    updated: Sequence[datetime] | None = None,
) -> list[FeedFile]:
    """Render ``feed`` in every format, each within ``max_bytes`` if at all possible.

    A feed past its byte budget carries fewer items (the oldest go first); a feed whose newest
    item alone is over budget still carries that one item rather than none. Monthly archives
    keep every item whatever their size.

    Args:
        feed: the feed, entries newest first; or, with ``items`` and ``updated``, only its
            head (a build's workers get no entries).
        max_bytes: the byte budget of each document.
        items: the entries already rendered, per format, in the feed's order (a build renders
            each entry once for all the feeds showing it); rendered here when not given.
        updated: the ``updated`` time of each item's entry, in the same order; read from the
            feed's entries when not given.
    """
    if updated is None:
        updated = [entry.updated for entry in feed.entries]
    files = []
    for fmt in FeedFormat:
        if items is None:
            fmt_items: Sequence[bytes] = [render_item(entry, fmt) for entry in feed.entries]
        else:
            fmt_items = items[fmt]
        if len(fmt_items) != len(updated):
            raise ValueError(
                f"{feed.key.id}: {len(fmt_items)} {fmt.name} items for {len(updated)} entries"
            )
        body = _fit(feed, fmt, fmt_items, updated, max_bytes)
        files.append(FeedFile(feed.key.path(fmt), fmt.content_type, body))
    return files


def _fit(
    feed: Feed,
    fmt: FeedFormat,
    items: Sequence[bytes],
    updated: Sequence[datetime],
    max_bytes: int,
) -> bytes:
    def first(count: int) -> bytes:
        """The document of the first ``count`` items, dated by the newest of them."""
        newest = max(updated[:count], default=EMPTY_FEED_UPDATED)
        return render_document(feed, fmt, items[:count], newest)

    if feed.history is not None and feed.history.is_archive:
        return first(len(items))  # an archive that dropped items would break the walk back
    return largest_fitting(first, len(items), max_bytes)


def largest_fitting(first: Callable[[int], bytes], count: int, max_bytes: int) -> bytes:
    """The document of the most of ``count`` items that fits in ``max_bytes``, at least 1.

    Args:
        first: the document of the first ``n`` items (its size grows with ``n``).
        count: how many items there are.
        max_bytes: the byte budget.
    """
    body = first(count)
    if len(body) <= max_bytes or count <= 1:
        return body
    fits: bytes | None = None  # the document of ``low`` items, once rendered
    low, high = 1, count - 1
    while low < high:  # the largest count that fits, at least 1; size grows with the count
        middle = (low + high + 1) // 2
        candidate = first(middle)
        if len(candidate) <= max_bytes:
            fits, low = candidate, middle
        else:
            high = middle - 1
    return fits if fits is not None else first(low)
