"""RSS 2.0 in the RSS Advisory Board's best-practices profile, built with feedgen.

feedgen writes most of the document; what it gets wrong is set explicitly or fixed in the
lxml tree afterwards, and each fix says which feedgen 1.0.0 behaviour it works around. No
feedgen object leaves this module.
"""

from __future__ import annotations

import html
from datetime import UTC, datetime
from typing import Any, Final

from feedgen.feed import FeedGenerator
from lxml import etree

from newswire.domain.feeds import Feed, FeedFormat
from newswire.domain.model import Entry, Person
from newswire.rendering.jsonfeed import image_media_type
from newswire.rendering.xmlfeed import (
    ATOM_NS,
    GENERATOR,
    feed_links,
    feedgen_root,
    mark_archive,
    serialise,
)

MEDIA_NS: Final = "http://search.yahoo.com/mrss/"
#: Written exactly so: the W3C Feed Validator recognises this string (http, no trailing slash)
#: as a feed that follows the RSS Board's profile.
RSS_DOCS: Final = "http://www.rssboard.org/rss-specification"


class RssRenderer:
    """Renders a feed as RSS 2.0 with the content, Dublin Core, Atom and Media RSS modules."""

    format: FeedFormat = FeedFormat.RSS

    def render(self, feed: Feed) -> bytes:
        """Render ``feed`` as RSS 2.0.

        Args:
            feed: the feed, entries newest first.

        Returns:
            UTF-8 XML, namespaces declared once on ``<rss>``; the same feed always gives the
            same bytes.
        """
        root = feedgen_root(_generator(feed), FeedFormat.RSS)
        items = root.findall("channel/item")
        for item, entry in zip(items, feed.entries, strict=True):
            _describe_media(item, entry)
        _add_channel_links(root, feed)
        return serialise(root, feed, FeedFormat.RSS)


def _generator(feed: Feed) -> Any:
    generator = FeedGenerator()
    # Extensions are loaded before any entry: feedgen gives each new entry the extensions
    # loaded so far, and declares their namespaces once, on <rss>.
    generator.load_extension("dc", atom=False)
    generator.load_extension("media", atom=False)
    generator.title(feed.title)
    # Required and non-empty. Plain text, unlike an item's: validators flag HTML here.
    generator.description(feed.description or feed.title)
    # feedgen makes the *last* link added the channel's <link>: self first, home page last.
    generator.link(href=feed.url(FeedFormat.RSS), rel="self", type="application/rss+xml")
    generator.link(href=feed.home_url, rel="alternate", type="text/html")
    generator.language(feed.language)
    generator.docs(RSS_DOCS)
    # feedgen's defaults are "python-feedgen" and the render time.
    generator.generator(GENERATOR)
    generator.lastBuildDate(_utc(feed.updated))
    if feed.author.email:
        generator.managingEditor(_rss_person(feed.author))
    for entry in feed.entries:
        # feedgen prepends by default, which would reverse the feed.
        _fill_item(generator.add_entry(order="append"), entry)
    return generator


def _fill_item(item: Any, entry: Entry) -> None:
    item.title(entry.title)
    item.link(href=entry.url, rel="alternate")
    item.guid(entry.id, permalink=entry.id_is_permalink)
    # Readers treat <description> as HTML, so the plain-text summary is HTML-escaped (a "<" in
    # it must not become a tag). An empty one makes some readers show nothing: fall back on
    # the title.
    item.description(html.escape(entry.summary or entry.title, quote=False))
    if entry.content_html:
        # Escaped text rather than CDATA: CDATA cannot hold "]]>" and escaping always works.
        item.content(entry.content_html)
    _credit_authors(item, entry.authors)
    if entry.tags:
        item.category([{"term": tag.slug, "label": tag.name} for tag in entry.tags])
    item.pubDate(_utc(entry.published))
    if entry.image is not None:
        media_type = image_media_type(entry.image)
        length = str(entry.image.length or 0)
        # Both given explicitly: feedgen writes length "None" when it is missing and fails
        # inside lxml when the type is.
        item.enclosure(entry.image.url, length, media_type)
        media = {"url": entry.image.url, "type": media_type, "medium": "image"}
        if entry.image.length:
            media["fileSize"] = length
        # group=None: feedgen otherwise wraps a lone media:content in a media:group.
        item.media.content(media, group=None)


def _credit_authors(item: Any, authors: tuple[Person, ...]) -> None:
    """Credit the authors with one ``<author>`` or with ``dc:creator`` elements, never both.

    feedgen silently drops every author without an email from RSS, so those are credited with
    dc:creator. An item may hold a single ``<author>`` (a second one is an error for the W3C
    validator), and ``<author>`` next to ``dc:creator`` is flagged as duplicate semantics: so
    ``<author>email (Name)</author>`` is written only for a lone author with an email, and
    every other case credits each author by name with dc:creator.
    """
    if len(authors) == 1 and authors[0].email:
        item.author({"name": authors[0].name, "email": authors[0].email})
    elif authors:
        item.dc.dc_creator([person.name for person in authors])


def _describe_media(item: Any, entry: Entry) -> None:
    """Add the image's alt text, which feedgen's Media RSS extension cannot write."""
    if entry.image is None or not entry.image.alt:
        return
    content = item.find(f"{{{MEDIA_NS}}}content")
    description = etree.SubElement(content, f"{{{MEDIA_NS}}}description", type="plain")
    description.text = entry.image.alt


def _rss_person(person: Person) -> str:
    return f"{person.email} ({person.name})"


def _utc(value: datetime) -> datetime:
    # RFC 822 dates then always end in "+0000", whatever zone a caller used.
    return value.astimezone(UTC)


def _add_channel_links(root: Any, feed: Feed) -> None:
    """WebSub and RFC 5005 links as ``<atom:link>`` beside the self link; ``fh:archive``.

    feedgen writes only the self link; namespaces are then hoisted onto ``<rss>``.
    """
    channel = root.find("channel")
    self_link = channel.find(f"{{{ATOM_NS}}}link[@rel='self']")
    for rel, href, link_type in reversed(feed_links(feed, FeedFormat.RSS)):
        attributes = {"rel": rel, "href": href} | ({"type": link_type} if link_type else {})
        self_link.addnext(etree.Element(f"{{{ATOM_NS}}}link", attributes))
    mark_archive(channel, feed, channel.index(self_link) + 1)
