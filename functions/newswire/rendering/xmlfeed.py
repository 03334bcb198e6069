"""What the RSS and Atom renderers share once feedgen is done: the XML tree, and its links.

feedgen writes the bulk of each document; the renderers then take its lxml tree, fix what it
gets wrong, add what it cannot write (WebSub and RFC 5005 links, ``fh:archive``, the browser
stylesheet) and serialise the tree, the same way for both formats.
"""

from __future__ import annotations

from typing import Any, Final

from lxml import etree

from newswire.domain.feeds import MAIN_FEED, Feed, FeedFormat
from newswire.rendering.stylesheet import stylesheet_instruction

ATOM_NS: Final = "http://www.w3.org/2005/Atom"
#: RFC 5005's namespace, for ``<fh:archive/>`` on archive documents.
FH_NS: Final = "http://purl.org/syndication/history/1.0"
#: Our generator name, without a version: an upgrade must not change the bytes of every feed.
GENERATOR: Final = "newswire"


#: Reparses feedgen's Atom output; no DTD, entity or network access.
_PARSER: Final = etree.XMLParser(
    remove_blank_text=True, resolve_entities=False, no_network=True, load_dtd=False
)


def feedgen_root(generator: Any, fmt: FeedFormat) -> Any:
    """feedgen's document as an lxml tree (its root element) to fix up.

    RSS: the tree ``rss_str`` would serialise (``_create_rss``), taken as it is: serialising
    and parsing it again was the largest single cost of rendering. Atom: feedgen builds its
    elements outside the Atom namespace and relies on serialisation under a default namespace
    to put them in, so its output is parsed again. feedgen is pinned to 1.0.0, and the golden
    files catch any change in its output.
    """
    if fmt is FeedFormat.RSS:
        root, _document = generator._create_rss()
        return root
    return etree.fromstring(generator.atom_str(), _PARSER)


def mark_archive(container: Any, feed: Feed, position: int) -> None:
    """Add ``<fh:archive/>`` to an archive document, declaring ``fh`` on the root.

    RFC 5005: the document is a complete, stable archive, not the live feed.
    """
    if feed.history is not None and feed.history.is_archive:
        container.insert(position, etree.Element(f"{{{FH_NS}}}archive"))
        etree.cleanup_namespaces(container.getroottree(), top_nsmap={"fh": FH_NS})


def serialise(root: Any, feed: Feed, fmt: FeedFormat) -> bytes:
    """The finished document: the browser stylesheet instruction, then the feed, as UTF-8."""
    # Right after the XML declaration: a browser shows the feed as a readable page.
    instruction = stylesheet_instruction(feed.key.path(fmt))
    root.addprevious(etree.ProcessingInstruction("xml-stylesheet", instruction))
    return bytes(
        etree.tostring(
            root.getroottree(), encoding="UTF-8", xml_declaration=True, pretty_print=True
        )
    )


_LINK_TYPES = {
    FeedFormat.RSS: "application/rss+xml",
    FeedFormat.ATOM: "application/atom+xml",
    FeedFormat.JSON: "application/feed+json",
}


def feed_links(feed: Feed, fmt: FeedFormat) -> list[tuple[str, str, str | None]]:
    """The ``(rel, href, type)`` links a feed document carries beyond ``self`` and its home.

    WebSub hubs first, then the archive walk: ``current`` (from an archive to the
    subscription feed), ``prev-archive`` (older) and ``next-archive`` (newer).
    """
    links: list[tuple[str, str, str | None]] = [("hub", hub, None) for hub in feed.hubs]
    history = feed.history
    if history is None:
        return links
    link_type = _LINK_TYPES[fmt]
    if history.is_archive:
        links.append(("current", feed.url_of(MAIN_FEED, fmt), link_type))
    if history.prev_archive is not None:
        links.append(("prev-archive", feed.url_of(history.prev_archive, fmt), link_type))
    if history.next_archive is not None:
        links.append(("next-archive", feed.url_of(history.next_archive, fmt), link_type))
    return links
