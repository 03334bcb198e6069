"""Which renderer writes which format: the one place callers go to turn feeds into bytes."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime
from types import MappingProxyType
from typing import Final

from newswire.domain.feeds import Feed, FeedFormat
from newswire.domain.model import Entry
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


def render_item(entry: Entry, fmt: FeedFormat) -> bytes:
    """Render ``entry`` as the item every ``fmt`` document showing it holds.

    Rendering each entry once and splicing its bytes into every feed that shows it (with
    :func:`render_document`) is what keeps a full build fast.

    Args:
        entry: the entry.
        fmt: the format to write.

    Returns:
        The item's bytes, the same whatever feed it goes in.
    """
    return RENDERERS[fmt].item(entry)


#: The order :func:`render_items` renders formats in: JSON Feed first (see there), then the
#: others in their own order.
_RENDER_ORDER: Final = (FeedFormat.JSON, *(f for f in FeedFormat if f is not FeedFormat.JSON))


def render_items(entry: Entry) -> list[bytes]:
    """Every format's item of ``entry``, in :class:`FeedFormat` order.

    The JSON item is rendered first for the RSS and Atom items' sake: orjson reads the
    content's UTF-8 through CPython's ``PyUnicode_AsUTF8AndSize``, which keeps it in the
    string, and the XML escape that follows encodes the same string (:func:`xml_content`)
    and then copies those bytes instead of encoding the body again (every typographic quote
    makes it non-Latin-1 text, which CPython does not keep encoded otherwise).
    """
    rendered = {fmt: RENDERERS[fmt].item(entry) for fmt in _RENDER_ORDER}
    return [rendered[fmt] for fmt in FeedFormat]


def render_document(
    feed: Feed, fmt: FeedFormat, items: Sequence[bytes], updated: datetime
) -> bytes:
    """Render the ``fmt`` document of ``feed`` around items already rendered.

    Args:
        feed: the feed's head; its entries are not read, so it may have none (a build's
            workers get none, see :func:`~newswire.domain.feeds.feed_head`).
        fmt: the format to write.
        items: ``render_item(entry, fmt)`` of each entry the document shows, newest first.
        updated: the newest ``updated`` time among those entries (what
            :attr:`Feed.updated` gives for a feed holding them).

    Returns:
        The document's bytes: the same as ``render_feed`` of the feed with those entries.
    """
    return RENDERERS[fmt].document(feed, items, updated)
