"""Partner feeds: RSS 2.0 as each syndication partner reads it (``partners/<name>/rss.xml``).

Every partner takes RSS 2.0 with the full body in ``content:encoded``, bylines as
``dc:creator``, a stable ``guid`` and the lead image as Media RSS (url, type, width, height,
``media:credit``, ``media:description``), and the summary as a plain-text ``description``,
escaped once (a partner shows it as text, where feed readers take RSS's for HTML); what
differs, each partner's rules say (:mod:`newswire.domain.partners`, where every rule names
its source):

- MSN reads an update from ``dcterms:modified`` (the entry's ``updated``), and takes an
  article down by itself at its ``dcterms:valid`` (the entry's ``expires``, if any);
- Google News reads an update from ``pubDate``, so its ``pubDate`` is the entry's
  ``updated``; every other partner's is ``published``;
- SmartNews (SmartFormat) shows ``snf:logo`` above each article, when the site gives one, and
  gets the item's ``media:thumbnail`` (unconfirmed: SmartNews' item table could not be read,
  and SmartFormat feeds carry it; see :mod:`newswire.domain.partners`).

A partner feed shows the main feed's articles, newest first; one past the partner's byte
limit (the site's ``max_feed_bytes`` for a partner that states none) carries fewer, as every
feed does. Documents are written as plain bytes, no browser stylesheet: partners are
machines. Items are written once per entry and partner and spliced into the document, like
every other feed's (:mod:`newswire.rendering.xmlfeed`).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Final

from newswire.domain.feeds import EMPTY_FEED_UPDATED, FeedFormat
from newswire.domain.model import Entry, SiteConfig, rfc3339
from newswire.domain.partners import Partner, PartnerFeed
from newswire.rendering.base import FeedFile
from newswire.rendering.files import largest_fitting
from newswire.rendering.rss import RSS_DOCS, image_enclosure, media_content, rfc822
from newswire.rendering.xmlfeed import (
    GENERATOR,
    rss_url,
    xml_attribute,
    xml_content,
    xml_element,
    xml_text,
)

_INDENT: Final = b"      "
_NAMESPACES: Final = (
    (b"atom", b"http://www.w3.org/2005/Atom"),
    (b"content", b"http://purl.org/rss/1.0/modules/content/"),
    (b"dc", b"http://purl.org/dc/elements/1.1/"),
    (b"media", b"http://search.yahoo.com/mrss/"),
)
#: Dublin Core terms, for MSN's ``dcterms:modified``.
DCTERMS_NS: Final = b"http://purl.org/dc/terms/"
#: SmartNews Format, for ``snf:logo``.
SNF_NS: Final = b"http://www.smartnews.be/snf"
_END: Final = b"  </channel>\n</rss>\n"
_ITEM_START: Final = b"    <item>\n"


def partner_description(entry: Entry) -> str:
    """The plain-text ``description`` of ``entry``'s item: its summary, else its title."""
    return entry.summary or entry.title


def render_partner_item(entry: Entry, partner: Partner) -> bytes:
    """The ``<item>`` of ``entry`` in ``partner``'s feed, indented as inside ``<channel>``.

    Args:
        entry: the entry.
        partner: whose feed it goes in.

    Returns:
        UTF-8 XML ending with a line end: the same for the entry wherever it is rendered.
    """
    rules = partner.rules
    parts = [_ITEM_START]
    if entry.title:
        parts.append(xml_element(_INDENT, b"title", entry.title))
    parts.append(xml_element(_INDENT, b"link", rss_url(entry.url)))
    # Plain text escaped once: partners read a description as text, unlike feed readers.
    parts.append(xml_element(_INDENT, b"description", partner_description(entry)))
    if entry.content_html:
        parts.append(
            b"%s<content:encoded>%s</content:encoded>\n"
            % (_INDENT, xml_content(entry.content_html))
        )
    permalink = b"true" if entry.id_is_permalink else b"false"
    parts.append(b'      <guid isPermaLink="%s">%s</guid>\n' % (permalink, xml_text(entry.id)))
    shown = entry.updated if rules.updated_by_pub_date else entry.published
    parts.append(b"      <pubDate>%s</pubDate>\n" % rfc822(shown).encode())
    parts.extend(xml_element(_INDENT, b"category", tag.name) for tag in entry.tags if tag.name)
    image = entry.image
    media_type = b""
    if image is not None:
        enclosure, media_type = image_enclosure(image)
        parts.append(enclosure)
    parts.extend(
        xml_element(_INDENT, b"dc:creator", person.name) for person in entry.authors if person.name
    )
    if rules.modified_element:
        parts.append(xml_element(_INDENT, b"dcterms:modified", rfc3339(entry.updated)))
    if rules.valid_element and entry.expires is not None:
        parts.append(xml_element(_INDENT, b"dcterms:valid", rfc3339(entry.expires)))
    if image is not None:
        parts.append(media_content(image, media_type, _INDENT))
        if partner is Partner.SMARTNEWS:
            thumbnail = xml_attribute(rss_url(image.url))
            parts.append(b'      <media:thumbnail url="%s"/>\n' % thumbnail)
    parts.append(b"    </item>\n")
    return b"".join(parts)


def render_partner_document(
    feed: PartnerFeed, site: SiteConfig, items: Sequence[bytes], updated: datetime
) -> bytes:
    """The whole RSS document of ``feed`` around ``items``.

    Args:
        feed: the partner and its settings.
        site: the site configuration.
        items: :func:`render_partner_item` of each entry shown, newest first.
        updated: the newest ``updated`` of those entries (:data:`EMPTY_FEED_UPDATED` for none).
    """
    namespaces = list(_NAMESPACES)
    if feed.partner.rules.modified_element:
        namespaces.append((b"dcterms", DCTERMS_NS))
    if feed.partner is Partner.SMARTNEWS:
        namespaces.append((b"snf", SNF_NS))
    declared = b"".join(b' xmlns:%s="%s"' % pair for pair in namespaces)
    self_url = site.feeds_url + feed.partner.path
    date = rfc822(updated).encode()
    head = [
        b'<?xml version="1.0" encoding="UTF-8"?>\n',
        b'<rss%s version="2.0">\n  <channel>\n' % declared,
        xml_element(b"    ", b"title", site.title),
        xml_element(b"    ", b"link", site.base_url),
        xml_element(b"    ", b"description", site.description),
        b'    <atom:link href="%s" rel="self" type="%s"/>\n'
        % (xml_attribute(self_url), FeedFormat.RSS.media_type.encode()),
        *(b'    <atom:link href="%s" rel="hub"/>\n' % xml_attribute(hub) for hub in site.hubs),
        xml_element(b"    ", b"docs", RSS_DOCS),
        xml_element(b"    ", b"generator", GENERATOR),
        xml_element(b"    ", b"language", site.language),
        b"    <lastBuildDate>%s</lastBuildDate>\n    <pubDate>%s</pubDate>\n" % (date, date),
    ]
    if feed.logo is not None:
        head.append(b"    <snf:logo>\n      <url>%s</url>\n    </snf:logo>\n" % xml_text(feed.logo))
    return b"".join((*head, *items, _END))


@dataclass(frozen=True, slots=True)
class PartnerDocument:
    """A partner feed as rendered, with what a check of it reads (:mod:`newswire.check`).

    Attributes:
        feed: the partner and its settings.
        file: the document.
        offered: how many entries it was given (the main feed's).
        shown: how many items it holds within its byte limit.
        limit: its byte limit (the partner's, else the site's ``max_feed_bytes``).
        room: the most bytes one item may take for the document holding it alone to fit.
        item_bytes: the size of each entry's item, in the order given.
    """

    feed: PartnerFeed
    file: FeedFile
    offered: int
    shown: int
    limit: int
    room: int
    item_bytes: tuple[int, ...]


def render_partner_documents(
    site: SiteConfig,
    entries: Sequence[Entry],
    item_of: Callable[[Entry, Partner], bytes] = render_partner_item,
) -> list[PartnerDocument]:
    """Every enabled partner's feed of ``entries`` (the main feed's, newest first), each
    within its partner's byte limit.

    Args:
        site: the site configuration; ``site.partners`` says which feeds.
        entries: the entries shown, newest first.
        item_of: renders an entry's item for a partner (a cache of them, in the pipeline).
    """
    updated = [entry.updated for entry in entries]
    documents = []
    for feed in site.partners:
        items = [item_of(entry, feed.partner) for entry in entries]
        limit = feed.partner.rules.max_bytes or site.max_feed_bytes

        def first(count: int, feed: PartnerFeed = feed, items: list[bytes] = items) -> bytes:
            newest = max(updated[:count], default=EMPTY_FEED_UPDATED)
            return render_partner_document(feed, site, items[:count], newest)

        body = largest_fitting(first, len(items), limit)
        head = len(
            render_partner_document(feed, site, (), max(updated, default=EMPTY_FEED_UPDATED))
        )
        documents.append(
            PartnerDocument(
                feed,
                FeedFile(feed.partner.path, FeedFormat.RSS.content_type, body),
                offered=len(items),
                # Every item opens on a line of its own; text inside one is escaped.
                shown=body.count(_ITEM_START),
                limit=limit,
                room=limit - head,
                item_bytes=tuple(map(len, items)),
            )
        )
    return documents


def render_partner_files(
    site: SiteConfig,
    entries: Sequence[Entry],
    item_of: Callable[[Entry, Partner], bytes] = render_partner_item,
) -> list[FeedFile]:
    """The documents of :func:`render_partner_documents`."""
    return [document.file for document in render_partner_documents(site, entries, item_of)]
