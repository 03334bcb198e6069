"""RSS 2.0 in the RSS Advisory Board's best-practices profile: feedgen's channel, our items.

feedgen writes the channel (the document head) and declares the namespaces the items use;
what it gets wrong is set explicitly or fixed in the parsed tree afterwards, and each fix says
which feedgen behaviour it works around. Each ``<item>`` is written by :func:`_item_xml` and
spliced into the channel: an entry is rendered once and reused by every feed it appears in.
No feedgen object leaves this module.
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
from newswire.domain.model import Entry, Image, Person
from newswire.rendering.base import FeedRenderer
from newswire.rendering.jsonfeed import image_media_type
from newswire.rendering.xmlfeed import (
    ATOM_NS,
    GENERATOR,
    HEAD_PARSER,
    feed_links,
    mark_archive,
    rss_url,
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
#: The prefixes items use, declared on ``<rss>`` by feedgen (``content``) and its Dublin Core
#: and Media RSS extensions; every document keeps them, archives too (:func:`mark_archive`).
_ITEM_PREFIXES: Final = ("content", "dc", "media")


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
            ValueError: the entry has neither title, summary nor content: the item would
                say nothing (RSS 2.0 requires a title or a description).
        """
        return _item_xml(entry)

    def document(self, feed: Feed, items: Sequence[bytes], updated: datetime) -> bytes:
        """The RSS document of ``feed`` holding ``items``.

        Args:
            feed: the feed's head; its entries are not read.
            items: ``item(entry)`` of each entry shown, newest first.
            updated: the channel's ``lastBuildDate``, the newest change among those entries.

        Returns:
            UTF-8 XML, namespaces declared once on ``<rss>``; the same feed always gives the
            same bytes.
        """
        root = etree.fromstring(_generator(feed, updated).rss_str(pretty=False), HEAD_PARSER)
        channel: Any = root.find("channel")
        # feedgen's strftime writes a year before 1000 with fewer than the 4 digits RFC 822
        # dates need; the items' dates and the channel's then read alike.
        channel.find("lastBuildDate").text = rfc822(updated)
        _add_channel_links(channel, feed)
        return splice_items(serialise(root, feed, FeedFormat.RSS), _CHANNEL_END, items)


def _generator(feed: Feed, updated: datetime) -> Any:
    """feedgen set up with the channel of ``feed`` and no items."""
    generator = FeedGenerator()
    # The extensions declare their namespaces on <rss>, for the items spliced in later.
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
    generator.lastBuildDate(updated)
    if feed.author.email:
        generator.managingEditor(_rss_person(feed.author))
    return generator


def _item_xml(entry: Entry) -> bytes:
    """The ``<item>`` of ``entry``, indented as inside ``<channel>``.

    Written once per entry, not once per entry and feed (see :mod:`newswire.rendering.xmlfeed`).
    What the item holds, and why:
    - title, link and a guid whose ``isPermaLink`` is the entry's, each left out when empty
      (an empty element says nothing and validators flag it);
    - ``<description>``: the plain-text summary, HTML-escaped since readers treat it as HTML
      (a "<" in it must not become a tag), falling back on the title when empty (some readers
      show nothing otherwise);
    - ``<content:encoded>``: the HTML, as escaped text rather than CDATA, which cannot hold
      "]]>"; left out when empty. With neither summary nor title the HTML is the description
      itself (RSS 2.0 wants a title or a description), not written twice;
    - the authors (:func:`_credits`), each named tag as a ``<category>``, the RFC 822
      ``pubDate`` in UTC;
    - the image as an ``<enclosure>`` with its length (0 when unknown, as the RSS Board's
      profile asks) and type, then as ``<media:content>`` for readers that show Media RSS,
      with ``<media:description>`` for its alt text; not in a ``media:group``, which is for
      several versions of one medium.
    RSS imposes no order on an item's elements; this one, Dublin Core and Media RSS last, is
    pinned by the golden files.
    """
    description = html.escape(entry.summary or entry.title, quote=False)
    if not (description or entry.content_html):
        raise ValueError(f"RSS item {entry.id!r} has neither title, summary nor content")
    parts = [b"    <item>\n"]
    if entry.title:
        parts.append(xml_element(_INDENT, b"title", entry.title))
    if entry.url:
        parts.append(xml_element(_INDENT, b"link", rss_url(entry.url)))
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
    parts.extend(xml_element(_INDENT, b"category", tag.name) for tag in entry.tags if tag.name)
    image = entry.image
    media_type = b""
    if image is not None:
        enclosure, media_type = image_enclosure(image)
        parts.append(enclosure)
    parts.append(b"      <pubDate>%s</pubDate>\n" % rfc822(entry.published).encode())
    parts.extend(xml_element(_INDENT, b"dc:creator", name) for name in creators)
    if image is not None:
        parts.append(_media_content(image, media_type))
    parts.append(b"    </item>\n")
    return b"".join(parts)


def image_enclosure(image: Image) -> tuple[bytes, bytes]:
    """The image as an RSS ``<enclosure>`` line, and its media type escaped (Media RSS names
    it too): every RSS this package writes, partners' included, carries one alike."""
    media_type = xml_attribute(image_media_type(image))
    line = b'      <enclosure url="%s" length="%d" type="%s"/>\n' % (
        xml_attribute(rss_url(image.url)),
        image.length or 0,
        media_type,
    )
    return line, media_type


def _media_content(image: Image, media_type: bytes) -> bytes:
    """The image as ``<media:content>`` (its pixel size when known), with
    ``<media:description>`` (its caption, else its alt text) and ``<media:credit>``; an empty
    URL or an unknown size is left out, not claimed."""
    return media_content(image, media_type, b"      ")


def media_content(image: Image, media_type: bytes, indent: bytes) -> bytes:
    """``<media:content>`` of ``image`` indented by ``indent``: shared with partner feeds, so
    every RSS document describes an image alike."""
    url = b' url="%s"' % xml_attribute(rss_url(image.url)) if image.url else b""
    size = b' fileSize="%d"' % image.length if image.length else b""
    pixels = b"".join(
        b' %s="%d"' % (name, value)
        for name, value in ((b"width", image.width), (b"height", image.height))
        if value
    )
    content = b'%s<media:content%s%s type="%s" medium="image"%s' % (
        indent,
        url,
        size,
        media_type,
        pixels,
    )
    children = []
    description = image_description(image)
    if description:
        children.append(
            b'%s  <media:description type="plain">%s</media:description>\n'
            % (indent, xml_text(description))
        )
    if image.credit:
        children.append(b"%s  <media:credit>%s</media:credit>\n" % (indent, xml_text(image.credit)))
    if not children:
        return content + b"/>\n"
    return b"%s>\n%s%s</media:content>\n" % (content, b"".join(children), indent)


def image_description(image: Image) -> str:
    """What RSS says of ``image`` in words: its caption, else its alt text.

    The caption is written for every reader, the alt text for those who cannot see the
    image; a feed has one place for words about an image, so the caption takes it when given.
    """
    return image.caption or image.alt


def _credits(authors: tuple[Person, ...]) -> tuple[str, list[str]]:
    """Credit the authors with one ``<author>`` or with ``dc:creator`` elements, never both.

    RSS 2.0's ``<author>`` is an email address, so authors without one are credited with
    dc:creator. An item may hold a single ``<author>`` (a second one is an error for the W3C
    validator), and ``<author>`` next to ``dc:creator`` is flagged as duplicate semantics: so
    ``<author>email (Name)</author>`` is written only for a lone author with an email, and
    every other case credits each named author with dc:creator.

    Returns:
        The ``<author>`` text (empty for none) and the ``dc:creator`` names.
    """
    email = authors[0].email if len(authors) == 1 else None
    if email:
        name = authors[0].name
        # RSS 2.0's form, "email (Name)"; the address alone when the name is missing.
        return f"{email} ({name})" if name else email, []
    return "", [person.name for person in authors if person.name]


def _rss_person(person: Person) -> str:
    return f"{person.email} ({person.name})"


def rfc822(value: datetime) -> str:
    """``value`` in UTC as an RSS date: ``Fri, 19 Mar 2021 11:30:00 +0000``.

    In UTC, so that every date ends in ``+0000`` whatever zone a caller used;
    :func:`email.utils.format_datetime` names days and months in English whatever the
    process's locale, and writes every year with at least the 4 digits RFC 822 dates need.
    """
    return format_datetime(value.astimezone(UTC))


def _add_channel_links(channel: Any, feed: Feed) -> None:
    """WebSub and RFC 5005 links as ``<atom:link>`` beside the self link; ``fh:archive``.

    feedgen writes only the self link.
    """
    self_link = channel.find(f"{{{ATOM_NS}}}link[@rel='self']")
    for rel, href, link_type in reversed(feed_links(feed, FeedFormat.RSS)):
        attributes = {"rel": rel, "href": href} | ({"type": link_type} if link_type else {})
        self_link.addnext(etree.Element(f"{{{ATOM_NS}}}link", attributes))
    mark_archive(channel, feed, channel.index(self_link) + 1, _ITEM_PREFIXES)
