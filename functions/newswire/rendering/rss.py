"""RSS 2.0 in the RSS Advisory Board's best-practices profile: feedgen's channel, our items.

feedgen writes the channel (the document head); what it gets wrong is set explicitly or fixed
in the lxml tree afterwards, and each fix says which feedgen 1.0.0 behaviour it works around.
Each ``<item>`` is written by :func:`_item_xml`, byte for byte what feedgen, with the same
fixes, would write for the entry, and spliced into the channel: an entry is rendered once
and reused by every feed it appears in. No feedgen object leaves this module.
"""

from __future__ import annotations

import html
from collections.abc import Sequence
from datetime import UTC, datetime
from email.utils import format_datetime
from typing import Any, Final

# feedgen.util imports lxml but uses lxml.etree: the submodule must be loaded first.
import lxml.etree  # noqa: F401
from feedgen.ext.dc import DcEntryExtension, DcExtension
from feedgen.ext.media import MediaEntryExtension, MediaExtension
from feedgen.feed import FeedGenerator
from lxml import etree

from newswire.domain.feeds import Feed, FeedFormat
from newswire.domain.model import Entry, Person
from newswire.rendering.base import FeedRenderer
from newswire.rendering.jsonfeed import image_media_type
from newswire.rendering.xmlfeed import (
    ATOM_NS,
    GENERATOR,
    feed_links,
    mark_archive,
    serialise,
    splice_items,
    xml_attribute,
    xml_content,
    xml_element,
    xml_text,
)

#: Written exactly so: the W3C Feed Validator recognises this string (http, no trailing slash)
#: as a feed that follows the RSS Board's profile.
RSS_DOCS: Final = "http://www.rssboard.org/rss-specification"

#: The end of every channel: items go right before it.
_CHANNEL_END: Final = b"  </channel>\n</rss>\n"
#: Indentation of an item's elements (items are inside <rss><channel>).
_INDENT: Final = b"      "
#: Prefixes feedgen declares on ``<rss>`` that only items use (the channel uses ``atom``).
_ITEM_PREFIXES: Final = ("dc", "media", "content")


class RssRenderer(FeedRenderer):
    """Renders a feed as RSS 2.0 with the content, Dublin Core, Atom and Media RSS modules."""

    format: FeedFormat = FeedFormat.RSS

    def item(self, entry: Entry) -> bytes:
        """The ``<item>`` of ``entry``, the same in every RSS document that shows it.

        Args:
            entry: the entry.

        Returns:
            UTF-8 XML: the item indented as inside ``<channel>``, ending with a line end.

        Raises:
            ValueError: the entry has neither title, summary nor content (feedgen's rule).
        """
        return _item_xml(entry)

    def document(self, feed: Feed, items: Sequence[bytes]) -> bytes:
        """The RSS document of ``feed`` holding ``items``.

        Args:
            feed: the feed; of its entries only :attr:`Feed.updated` is read.
            items: ``item(entry)`` of each of the feed's entries, in the feed's order.

        Returns:
            UTF-8 XML, namespaces declared once on ``<rss>``; the same feed always gives the
            same bytes.
        """
        # The tree rss_str would serialise, taken as it is: serialising and parsing it again
        # was the largest single cost of rendering (feedgen is pinned; golden files pin it).
        root, _document = _generator(feed)._create_rss()
        is_archive = feed.history is not None and feed.history.is_archive
        # An archive's root declares only the namespaces in use, the items' included.
        _add_channel_links(root, feed, _prefixes_used(items) if is_archive else ())
        return splice_items(serialise(root, feed, FeedFormat.RSS), _CHANNEL_END, items)


def _generator(feed: Feed) -> Any:
    """feedgen set up with the channel of ``feed`` and no items."""
    generator = FeedGenerator()
    # The extensions declare their namespaces once, on <rss>, for the items spliced in later.
    # Registered by class: load_extension("dc") first tries to import feedgen.ext.dc_entry,
    # which does not exist, and a failed import searches the file system again on every call.
    generator.register_extension("dc", DcExtension, DcEntryExtension, atom=False)
    generator.register_extension("media", MediaExtension, MediaEntryExtension, atom=False)
    generator.title(feed.title)
    # Required and non-empty. Plain text, unlike an item's: validators flag HTML here.
    generator.description(feed.description or feed.title)
    # feedgen makes the *last* link added the channel's <link>: self first, home page last.
    generator.link(href=feed.url(FeedFormat.RSS), rel="self", type=FeedFormat.RSS.media_type)
    generator.link(href=feed.home_url, rel="alternate", type="text/html")
    generator.language(feed.language)
    generator.docs(RSS_DOCS)
    # feedgen's defaults are "python-feedgen" and the render time.
    generator.generator(GENERATOR)
    generator.lastBuildDate(_utc(feed.updated))
    if feed.author.email:
        generator.managingEditor(_rss_person(feed.author))
    return generator


def _item_xml(entry: Entry) -> bytes:
    """The ``<item>`` feedgen 1.0.0 writes for ``entry``, with our fixes, pretty-printed.

    Written here, not by feedgen, for its cost: once per entry instead of once per entry and
    feed (see :mod:`newswire.rendering.xmlfeed`).
    What the item holds, and why, as it was set up through feedgen:
    - title, link and a guid whose ``isPermaLink`` is the entry's (feedgen writes each only
      when non-empty, as here);
    - ``<description>``: the plain-text summary, HTML-escaped since readers treat it as HTML
      (a "<" in it must not become a tag), falling back on the title when empty (some readers
      show nothing otherwise);
    - ``<content:encoded>``: the HTML, as escaped text rather than CDATA, which cannot hold
      "]]>"; left out when empty. feedgen's own rule, kept: with no description it would take
      the description's place;
    - the authors (:func:`_credits`), each tag as a ``<category>``, the RFC 822 ``pubDate``
      in UTC;
    - the image as an ``<enclosure>`` with its length (0 when unknown: feedgen would write
      "None") and type, then as ``<media:content>`` (not wrapped in the ``media:group``
      feedgen adds by default) with ``<media:description>`` for its alt text, which feedgen's
      Media RSS extension cannot write.
    Elements and attributes come in feedgen's order, Dublin Core and Media RSS last.
    """
    description = html.escape(entry.summary or entry.title, quote=False)
    if not (description or entry.content_html):
        raise ValueError(f"RSS item {entry.id!r} has neither title, summary nor content")
    parts = [b"    <item>\n"]
    if entry.title:
        parts.append(xml_element(_INDENT, b"title", entry.title))
    if entry.url:
        parts.append(xml_element(_INDENT, b"link", entry.url))
    if description:
        parts.append(xml_element(_INDENT, b"description", description))
        if entry.content_html:
            content = xml_content(entry.content_html)
            parts.append(b"%s<content:encoded>%s</content:encoded>\n" % (_INDENT, content))
    else:
        parts.append(xml_element(_INDENT, b"description", entry.content_html))
    author, creators = _credits(entry.authors)
    if author:
        parts.append(xml_element(_INDENT, b"author", author))
    if entry.id:
        permalink = b"true" if entry.id_is_permalink else b"false"
        parts.append(b'      <guid isPermaLink="%s">%s</guid>\n' % (permalink, xml_text(entry.id)))
    parts.extend(xml_element(_INDENT, b"category", tag.name) for tag in entry.tags)
    image = entry.image
    media_type = b""
    if image is not None:
        media_type = xml_attribute(image_media_type(image))
        parts.append(
            b'      <enclosure url="%s" length="%d" type="%s"/>\n'
            % (xml_attribute(image.url), image.length or 0, media_type)
        )
    parts.append(b"      <pubDate>%s</pubDate>\n" % _rfc822(entry.published).encode())
    parts.extend(xml_element(_INDENT, b"dc:creator", name) for name in creators)
    if image is not None:
        # feedgen writes each attribute only when non-empty.
        url = b' url="%s"' % xml_attribute(image.url) if image.url else b""
        size = b' fileSize="%d"' % image.length if image.length else b""
        content = b'      <media:content%s%s type="%s" medium="image"' % (url, size, media_type)
        if image.alt:
            parts.append(
                b'%s>\n        <media:description type="plain">%s</media:description>\n'
                b"      </media:content>\n" % (content, xml_text(image.alt))
            )
        else:
            parts.append(content + b"/>\n")
    parts.append(b"    </item>\n")
    return b"".join(parts)


def _prefixes_used(items: Sequence[bytes]) -> list[str]:
    """The prefixes, of those declared for items, that some item in ``items`` uses.

    Read from where :func:`_item_xml` writes them rather than by scanning whole items (their
    content is most of a feed's bytes): ``content:encoded`` right after the description,
    Dublin Core and Media RSS after ``pubDate``, near the item's end. Every ``<`` in text and
    attributes is escaped, so a ``<`` found in an item always starts an element.
    """
    used: set[str] = set()
    for item in items:
        if "content" not in used:
            after_description = item.find(b"</description>\n") + len(b"</description>\n")
            if item.startswith(b"      <content:", after_description):
                used.add("content")
        if "dc" not in used or "media" not in used:
            after_date = item.rfind(b"</pubDate>")
            if item.find(b"<dc:", after_date) >= 0:
                used.add("dc")
            if item.find(b"<media:", after_date) >= 0:
                used.add("media")
        if len(used) == len(_ITEM_PREFIXES):
            break
    return [prefix for prefix in _ITEM_PREFIXES if prefix in used]


def _credits(authors: tuple[Person, ...]) -> tuple[str, list[str]]:
    """Credit the authors with one ``<author>`` or with ``dc:creator`` elements, never both.

    feedgen silently drops every author without an email from RSS, so those are credited with
    dc:creator. An item may hold a single ``<author>`` (a second one is an error for the W3C
    validator), and ``<author>`` next to ``dc:creator`` is flagged as duplicate semantics: so
    ``<author>email (Name)</author>`` is written only for a lone author with an email, and
    every other case credits each author by name with dc:creator.

    Returns:
        The ``<author>`` text (empty for none) and the ``dc:creator`` names.
    """
    email = authors[0].email if len(authors) == 1 else None
    if email:
        name = authors[0].name
        # feedgen's form for an item's author, which leaves out a missing name.
        return f"{email} ({name})" if name else email, []
    return "", [person.name for person in authors]


def _rss_person(person: Person) -> str:
    return f"{person.email} ({person.name})"


def _utc(value: datetime) -> datetime:
    # RFC 822 dates then always end in "+0000", whatever zone a caller used.
    return value.astimezone(UTC)


def _rfc822(value: datetime) -> str:
    """``value`` in UTC as feedgen writes RSS dates: ``Fri, 19 Mar 2021 11:30:00 +0000``.

    :func:`email.utils.format_datetime` names days and months in English whatever the
    process's locale (feedgen switches to the C locale around ``strftime`` for that); only a
    year before 1000 is written as feedgen's ``strftime`` writes it, which pads it less.
    """
    utc = _utc(value)
    return format_datetime(utc).replace(f" {utc.year:04d} ", f" {utc:%Y} ", 1)


def _add_channel_links(root: Any, feed: Feed, item_prefixes: Sequence[str]) -> None:
    """WebSub and RFC 5005 links as ``<atom:link>`` beside the self link; ``fh:archive``.

    feedgen writes only the self link; namespaces are then hoisted onto ``<rss>``, keeping
    ``item_prefixes``, the ones the items use.
    """
    channel = root.find("channel")
    self_link = channel.find(f"{{{ATOM_NS}}}link[@rel='self']")
    for rel, href, link_type in reversed(feed_links(feed, FeedFormat.RSS)):
        attributes = {"rel": rel, "href": href} | ({"type": link_type} if link_type else {})
        self_link.addnext(etree.Element(f"{{{ATOM_NS}}}link", attributes))
    mark_archive(channel, feed, channel.index(self_link) + 1, item_prefixes)
