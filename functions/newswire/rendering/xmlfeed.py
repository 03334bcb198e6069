"""What the RSS and Atom renderers share: the document head, its links, and the item writer.

Each document is written in two parts. feedgen writes the *head* (the channel- or feed-level
elements and the namespace declarations); the renderers then take its lxml tree, fix what it
gets wrong, add what it cannot write (WebSub and RFC 5005 links, ``fh:archive``, the browser
stylesheet) and serialise it the same way for both formats. The *items* (one per entry) are
written by our own string writer, byte for byte as feedgen and lxml would have written them,
and spliced into the head just before its closing tag. An entry appears in many feeds (main,
tags, authors, archives): the string writer renders it once and every document reuses the
bytes, where feedgen and lxml would build it again for each feed (measured:
benchmarks/RESULTS.md, "Measured choices").
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from functools import lru_cache
from typing import Any, Final

from lxml import etree

from newswire.domain.feeds import MAIN_FEED, Feed, FeedFormat
from newswire.rendering.stylesheet import stylesheet_instruction

ATOM_NS: Final = "http://www.w3.org/2005/Atom"
#: RFC 5005's namespace, for ``<fh:archive/>`` on archive documents.
FH_NS: Final = "http://purl.org/syndication/history/1.0"
#: Our generator name, without a version: an upgrade must not change the bytes of every feed.
GENERATOR: Final = "newswire"


def mark_archive(
    container: Any, feed: Feed, position: int, keep_prefixes: Collection[str] = ()
) -> None:
    """Add ``<fh:archive/>`` to an archive document, declaring ``fh`` on the root.

    RFC 5005: the document is a complete, stable archive, not the live feed. Declaring ``fh``
    tidies the root's namespaces too: those no element uses are dropped, except
    ``keep_prefixes``, which the items spliced in later use (the head alone does not show it).
    """
    if feed.history is not None and feed.history.is_archive:
        container.insert(position, etree.Element(f"{{{FH_NS}}}archive"))
        etree.cleanup_namespaces(
            container.getroottree(), top_nsmap={"fh": FH_NS}, keep_ns_prefixes=keep_prefixes
        )


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


def splice_items(head: bytes, closing: bytes, items: Sequence[bytes]) -> bytes:
    """The document ``head`` with ``items`` inserted, in order, right before ``closing``.

    Args:
        head: a serialised document without items, ending with ``closing``.
        closing: the end of ``head`` the items go before, indentation and line ends included
            (``"  </channel>\\n</rss>\\n"``): pretty-printed, every item then sits where
            lxml would have put it.
        items: item fragments, each ending with its line end.

    Returns:
        The whole document.

    Raises:
        ValueError: ``head`` does not end with ``closing`` (lxml serialised it differently).
    """
    if not head.endswith(closing):
        raise ValueError(f"feed head does not end with {closing!r}")
    cut = len(head) - len(closing)
    return b"".join((head[:cut], *items, head[cut:]))


# --------------------------------------------------------------------------------------------
# The item writer: XML text as lxml (libxml2) serialises it
# --------------------------------------------------------------------------------------------


def xml_text(value: str) -> bytes:
    """``value`` as UTF-8 element text, escaped exactly as lxml writes it.

    ``&``, ``<`` and ``>`` become entities and a carriage return becomes ``&#13;`` (a parser
    would otherwise turn ``\\r\\n`` into ``\\n``); quotes, tabs and newlines stay as they
    are. Escaping the encoded bytes is exact (no UTF-8 sequence holds an ASCII byte) and, on
    non-ASCII text, several times faster than escaping the string.

    The value must be XML-clean, as every entry's text is
    (:func:`newswire.domain.text.clean_xml_text`): lxml refused any other character, this
    writer does not look for them (a lone surrogate still fails, in ``encode``).
    """
    return (
        value.encode("utf-8")
        .replace(b"&", b"&amp;")
        .replace(b"<", b"&lt;")
        .replace(b">", b"&gt;")
        .replace(b"\r", b"&#13;")
    )


@lru_cache(maxsize=1)
def xml_content(html: str) -> bytes:
    """:func:`xml_text` of an entry's HTML, kept for the next caller: the RSS and the Atom
    item of an entry are rendered one after the other and escape the same content."""
    return xml_text(html)


def xml_attribute(value: str) -> bytes:
    """``value`` as a UTF-8, double-quoted attribute value, escaped exactly as lxml writes it.

    As :func:`xml_text`, plus ``"`` as ``&quot;`` and tab and newline as character references
    (a parser would otherwise normalise them to spaces).
    """
    return xml_text(value).replace(b'"', b"&quot;").replace(b"\n", b"&#10;").replace(b"\t", b"&#9;")


def xml_element(indent: bytes, tag: bytes, text: str) -> bytes:
    """A text-only element on its own line: ``<tag>text</tag>``, escaped, indented."""
    return b"%s<%s>%s</%s>\n" % (indent, tag, xml_text(text), tag)


def feed_links(feed: Feed, fmt: FeedFormat) -> list[tuple[str, str, str | None]]:
    """The ``(rel, href, type)`` links a feed document carries beyond ``self`` and its home.

    WebSub hubs first, then the archive walk: ``current`` (from an archive to the
    subscription feed), ``prev-archive`` (older) and ``next-archive`` (newer).
    """
    links: list[tuple[str, str, str | None]] = [("hub", hub, None) for hub in feed.hubs]
    history = feed.history
    if history is None:
        return links
    link_type = fmt.media_type
    if history.is_archive:
        links.append(("current", feed.url_of(MAIN_FEED, fmt), link_type))
    if history.prev_archive is not None:
        links.append(("prev-archive", feed.url_of(history.prev_archive, fmt), link_type))
    if history.next_archive is not None:
        links.append(("next-archive", feed.url_of(history.next_archive, fmt), link_type))
    return links
