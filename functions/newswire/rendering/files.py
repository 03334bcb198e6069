"""Feed documents as files: every format of a feed, each fitted to the site's byte budget.

Shared by the full build and the incremental publisher, so both publish the same bytes.
"""

from __future__ import annotations

from dataclasses import dataclass

from newswire.domain.feeds import Feed, FeedFormat
from newswire.rendering.registry import render_feed


@dataclass(frozen=True, slots=True)
class FeedFile:
    """One rendered feed document, ready to store and serve."""

    path: str
    content_type: str
    body: bytes


def render_feed_files(feed: Feed, max_bytes: int) -> list[FeedFile]:
    """Render ``feed`` in every format, each within ``max_bytes`` if at all possible.

    A feed past its byte budget carries fewer items (the oldest go first); a feed whose newest
    item alone is over budget still carries that one item rather than none. Monthly archives
    keep every item whatever their size.
    """
    return [
        FeedFile(feed.key.path(fmt), fmt.content_type, _fit(feed, fmt, max_bytes))
        for fmt in FeedFormat
    ]


def _fit(feed: Feed, fmt: FeedFormat, max_bytes: int) -> bytes:
    body = render_feed(feed, fmt)
    if len(body) <= max_bytes or len(feed.entries) <= 1:
        return body
    if feed.history is not None and feed.history.is_archive:
        return body  # an archive that dropped items would break the walk back in time
    fits, low, high = (
        render_feed(feed.with_entries(feed.entries[:1]), fmt),
        1,
        len(feed.entries) - 1,
    )
    while low < high:  # the largest count that fits; size grows with the count
        middle = (low + high + 1) // 2
        candidate = render_feed(feed.with_entries(feed.entries[:middle]), fmt)
        if len(candidate) <= max_bytes:
            fits, low = candidate, middle
        else:
            high = middle - 1
    return fits
