"""The renderer interface every feed format implements.

Third-party feed libraries (feedgen) stay behind this interface: callers hand over a
:class:`~newswire.domain.feeds.Feed` and get bytes back, never a library object.
"""

from __future__ import annotations

from typing import Protocol

from newswire.domain.feeds import Feed, FeedFormat


class FeedRenderer(Protocol):
    """Turns a feed into the bytes of one format.

    Rules every implementation keeps:
    - deterministic: the same feed gives byte-identical output (no render time anywhere);
    - entries in the order the feed gives them (newest first), none prepended or dropped;
    - every URL absolute, every date with its time zone;
    - UTF-8 output that a strict validator and real readers accept without a warning.
    """

    format: FeedFormat

    def render(self, feed: Feed) -> bytes:
        """Render ``feed`` in this renderer's format."""
        ...
