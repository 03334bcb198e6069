"""What the RSS and Atom renderers share: the document head, its links, and the item writer.

Each document is written in two parts. feedgen writes the *head* (the channel- or feed-level
elements and the namespace declarations) through its public API; the renderers parse it,
fix what it gets wrong, add what it cannot write (WebSub and RFC 5005 links, ``fh:archive``,
the browser stylesheet) and serialise it the same way for both formats. The *items* (one per
entry) are ours alone: a string writer renders each entry once, and every document showing
it (main, tags, authors, archives) splices the same bytes in just before its closing tag
(measured against feedgen: benchmarks/RESULTS.md, "Measured choices"). What the items hold
is pinned by the golden files and the strict validators, not by any library's output.
"""

from __future__ import annotations

import re
from collections.abc import Collection, Sequence
from functools import lru_cache
from typing import Any, Final
from urllib.parse import quote, urlsplit, urlunsplit

from lxml import etree

from newswire.domain.feeds import MAIN_FEED, Feed, FeedFormat
from newswire.rendering.stylesheet import stylesheet_instruction

ATOM_NS: Final = "http://www.w3.org/2005/Atom"
#: RFC 5005's namespace, for ``<fh:archive/>`` on archive documents.
FH_NS: Final = "http://purl.org/syndication/history/1.0"
#: Our generator name, without a version: an upgrade must not change the bytes of every feed.
GENERATOR: Final = "newswire"

#: Parses feedgen's serialised head; no DTD, entity or network access.
HEAD_PARSER: Final = etree.XMLParser(
    remove_blank_text=True, resolve_entities=False, no_network=True, load_dtd=False
)


def mark_archive(
    container: Any, feed: Feed, position: int, keep_prefixes: Collection[str] = ()
) -> None:
    """Add ``<fh:archive/>`` to an archive document, declaring ``fh`` on the root.

    RFC 5005: the document is a complete, stable archive, not the live feed. Declaring ``fh``
    tidies the root's namespaces too: those no element of the head uses are dropped, except
    ``keep_prefixes``, the ones items may use (they are spliced in later), so an archive
    declares what a live feed of the same format declares, plus ``fh``.
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
            (``"  </channel>\\n</rss>\\n"``); items are indented to match, so the document
            reads as one pretty-printed tree.
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
# The item writer: escaping so that a parser gives back the exact text
# --------------------------------------------------------------------------------------------


def xml_text(value: str) -> bytes:
    """``value`` as UTF-8 element text that any XML parser reads back unchanged.

    ``&``, ``<`` and ``>`` become entities and a carriage return becomes ``&#13;`` (a parser
    would otherwise turn ``\\r\\n`` into ``\\n``); quotes, tabs and newlines need no escape in
    text and stay as they are. Escaping the encoded bytes is exact (no UTF-8 sequence holds an
    ASCII byte) and, on non-ASCII text, faster than escaping the string.

    The value must be XML-clean, as every entry's text is
    (:func:`newswire.domain.text.clean_xml_text`): no escape makes another character legal,
    and this writer does not look for them (a lone surrogate still fails, in ``encode``).
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
    """``value`` as a UTF-8, double-quoted attribute value that a parser reads back unchanged.

    As :func:`xml_text`, plus ``"`` as ``&quot;`` and tab and newline as character references
    (a parser would otherwise normalise them to spaces).
    """
    return xml_text(value).replace(b'"', b"&quot;").replace(b"\n", b"&#10;").replace(b"\t", b"&#9;")


#: A run of characters outside ASCII, which no URI holds (RFC 3986, 2).
_NON_ASCII: Final = re.compile(r"[^\x00-\x7f]+")


def rss_url(url: str) -> str:
    """``url`` as RSS wants a URL: an IRI mapped to a URI (RFC 3987, 3.1).

    RSS 2.0's link, enclosure and Media RSS urls are URLs (RFC 2396), which are ASCII, where an
    article's URL may be an IRI ("/café/"): each non-ASCII character of the host becomes IDNA
    (``xn--``) and elsewhere its UTF-8 bytes percent-encoded, so a reader fetches the same
    resource and the W3C validator does not call the URL invalid. An ASCII URL is kept as it
    is, so the mapping never touches one already written.
    """
    if url.isascii():
        return url
    try:
        parts = urlsplit(url)
        userinfo, at, host_port = parts.netloc.rpartition("@")
        host, colon, port = host_port.partition(":")
        if not host.isascii() and not host.startswith("["):
            netloc = f"{userinfo}{at}{host.encode('idna').decode('ascii')}{colon}{port}"
            url = urlunsplit(parts._replace(netloc=netloc))
    except (UnicodeError, ValueError):  # a host IDNA 2003 or urlsplit refuses: percent-encoded
        pass
    return _NON_ASCII.sub(lambda run: quote(run.group(), safe=""), url)


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
