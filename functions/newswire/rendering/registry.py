"""Which renderer writes which format: the one place callers go to turn a feed into bytes."""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType
from typing import Final

from newswire.domain.feeds import Feed, FeedFormat
from newswire.rendering.atom import AtomRenderer
from newswire.rendering.base import FeedRenderer
from newswire.rendering.jsonfeed import JsonFeedRenderer
from newswire.rendering.rss import RssRenderer

#: One renderer per format; read-only so no caller can swap a format's renderer at runtime.
RENDERERS: Final[Mapping[FeedFormat, FeedRenderer]] = MappingProxyType(
    {
        FeedFormat.RSS: RssRenderer(),
        FeedFormat.ATOM: AtomRenderer(),
        FeedFormat.JSON: JsonFeedRenderer(),
    }
)


def render_feed(feed: Feed, fmt: FeedFormat) -> bytes:
    """Render ``feed`` in ``fmt``.

    Args:
        feed: the feed, entries newest first.
        fmt: the format to write.

    Returns:
        The document's bytes, deterministic for a given feed.
    """
    return RENDERERS[fmt].render(feed)
