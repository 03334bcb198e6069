"""The renderers as they were before items were written by hand: the reference they must match.

Until then feedgen wrote every RSS and Atom document whole, entries included, and each JSON
Feed document was one ``json.dumps``. The renderers now write each entry once and splice it
into documents, and promise the very same bytes; this module keeps the old code (names
prefixed by format; the comments saying why stay in the renderers) so tests can compare the
two on any feed. Self-contained on purpose: only helpers that are not under test (URLs, link
lists, media types, the stylesheet) come from the package.
"""

from __future__ import annotations

import html
import json
from datetime import UTC, datetime
from typing import Any, Final

from feedgen.feed import FeedGenerator
from lxml import etree

from newswire.domain.feeds import Feed, FeedFormat
from newswire.domain.model import Entry, Image, Person
from newswire.rendering.jsonfeed import JSON_FEED_VERSION, image_media_type
from newswire.rendering.stylesheet import stylesheet_instruction
from newswire.rendering.xmlfeed import ATOM_NS, FH_NS, GENERATOR, feed_links

MEDIA_NS: Final = "http://search.yahoo.com/mrss/"
RSS_DOCS: Final = "http://www.rssboard.org/rss-specification"

_PARSER: Final = etree.XMLParser(
    remove_blank_text=True, resolve_entities=False, no_network=True, load_dtd=False
)


def render_with_feedgen(feed: Feed, fmt: FeedFormat) -> bytes:
    """``feed`` in ``fmt`` as the renderers wrote it when feedgen wrote whole documents."""
    if fmt is FeedFormat.RSS:
        return _render_rss(feed)
    if fmt is FeedFormat.ATOM:
        return _render_atom(feed)
    return _render_json(feed)


# --------------------------------------------------------------------------------------------
# Shared by RSS and Atom (xmlfeed.py)
# --------------------------------------------------------------------------------------------


def _feedgen_root(generator: Any, fmt: FeedFormat) -> Any:
    if fmt is FeedFormat.RSS:
        root, _document = generator._create_rss()
        return root
    return etree.fromstring(generator.atom_str(), _PARSER)


def _mark_archive(container: Any, feed: Feed, position: int) -> None:
    if feed.history is not None and feed.history.is_archive:
        container.insert(position, etree.Element(f"{{{FH_NS}}}archive"))
        etree.cleanup_namespaces(container.getroottree(), top_nsmap={"fh": FH_NS})


def _serialise(root: Any, feed: Feed, fmt: FeedFormat) -> bytes:
    instruction = stylesheet_instruction(feed.key.path(fmt))
    root.addprevious(etree.ProcessingInstruction("xml-stylesheet", instruction))
    return bytes(
        etree.tostring(
            root.getroottree(), encoding="UTF-8", xml_declaration=True, pretty_print=True
        )
    )


def _utc(value: datetime) -> datetime:
    return value.astimezone(UTC)


# --------------------------------------------------------------------------------------------
# RSS (rss.py)
# --------------------------------------------------------------------------------------------


def _render_rss(feed: Feed) -> bytes:
    root = _feedgen_root(_rss_generator(feed), FeedFormat.RSS)
    items = root.findall("channel/item")
    for item, entry in zip(items, feed.entries, strict=True):
        _describe_media(item, entry)
    _add_channel_links(root, feed)
    return _serialise(root, feed, FeedFormat.RSS)


def _rss_generator(feed: Feed) -> Any:
    generator = FeedGenerator()
    generator.load_extension("dc", atom=False)
    generator.load_extension("media", atom=False)
    generator.title(feed.title)
    generator.description(feed.description or feed.title)
    generator.link(href=feed.url(FeedFormat.RSS), rel="self", type="application/rss+xml")
    generator.link(href=feed.home_url, rel="alternate", type="text/html")
    generator.language(feed.language)
    generator.docs(RSS_DOCS)
    generator.generator(GENERATOR)
    generator.lastBuildDate(_utc(feed.updated))
    if feed.author.email:
        generator.managingEditor(_rss_person(feed.author))
    for entry in feed.entries:
        _fill_item(generator.add_entry(order="append"), entry)
    return generator


def _fill_item(item: Any, entry: Entry) -> None:
    item.title(entry.title)
    item.link(href=entry.url, rel="alternate")
    item.guid(entry.id, permalink=entry.id_is_permalink)
    item.description(html.escape(entry.summary or entry.title, quote=False))
    if entry.content_html:
        item.content(entry.content_html)
    _credit_authors(item, entry.authors)
    if entry.tags:
        item.category([{"term": tag.slug, "label": tag.name} for tag in entry.tags])
    item.pubDate(_utc(entry.published))
    if entry.image is not None:
        media_type = image_media_type(entry.image)
        length = str(entry.image.length or 0)
        item.enclosure(entry.image.url, length, media_type)
        media = {"url": entry.image.url, "type": media_type, "medium": "image"}
        if entry.image.length:
            media["fileSize"] = length
        item.media.content(media, group=None)


def _credit_authors(item: Any, authors: tuple[Person, ...]) -> None:
    if len(authors) == 1 and authors[0].email:
        item.author({"name": authors[0].name, "email": authors[0].email})
    elif authors:
        item.dc.dc_creator([person.name for person in authors])


def _describe_media(item: Any, entry: Entry) -> None:
    if entry.image is None or not entry.image.alt:
        return
    content = item.find(f"{{{MEDIA_NS}}}content")
    description = etree.SubElement(content, f"{{{MEDIA_NS}}}description", type="plain")
    description.text = entry.image.alt


def _rss_person(person: Person) -> str:
    return f"{person.email} ({person.name})"


def _add_channel_links(root: Any, feed: Feed) -> None:
    channel = root.find("channel")
    self_link = channel.find(f"{{{ATOM_NS}}}link[@rel='self']")
    for rel, href, link_type in reversed(feed_links(feed, FeedFormat.RSS)):
        attributes = {"rel": rel, "href": href} | ({"type": link_type} if link_type else {})
        self_link.addnext(etree.Element(f"{{{ATOM_NS}}}link", attributes))
    _mark_archive(channel, feed, channel.index(self_link) + 1)


# --------------------------------------------------------------------------------------------
# Atom (atom.py)
# --------------------------------------------------------------------------------------------


def _render_atom(feed: Feed) -> bytes:
    root = _feedgen_root(_atom_generator(feed), FeedFormat.ATOM)
    entries = root.findall(f"{{{ATOM_NS}}}entry")
    for element, entry in zip(entries, feed.entries, strict=True):
        _add_links(element, entry)
    _mark_archive(root, feed, 0)
    return _serialise(root, feed, FeedFormat.ATOM)


def _atom_generator(feed: Feed) -> Any:
    generator = FeedGenerator()
    self_url = feed.url(FeedFormat.ATOM)
    generator.id(self_url)
    generator.title(feed.title)
    if feed.description:
        generator.subtitle(feed.description)
    generator.updated(_utc(feed.updated))
    generator.link(href=self_url, rel="self", type="application/atom+xml")
    for rel, href, link_type in feed_links(feed, FeedFormat.ATOM):
        generator.link(href=href, rel=rel, **({"type": link_type} if link_type else {}))
    generator.link(href=feed.home_url, rel="alternate", type="text/html")
    generator.author(_atom_person(feed.author))
    generator.language(feed.language)
    generator.generator(GENERATOR)
    for entry in feed.entries:
        _fill_entry(generator.add_entry(order="append"), entry)
    return generator


def _fill_entry(element: Any, entry: Entry) -> None:
    element.id(entry.id)
    element.title(entry.title)
    element.updated(_utc(entry.updated))
    element.published(_utc(entry.published))
    if entry.authors:
        element.author([_atom_person(person) for person in entry.authors])
    element.content(entry.content_html, type="html")
    if entry.summary:
        element.summary(entry.summary, type="text")
    if entry.tags:
        element.category([{"term": tag.slug, "label": tag.name} for tag in entry.tags])


def _add_links(element: Any, entry: Entry) -> None:
    links = [{"rel": "alternate", "type": "text/html", "href": entry.url}]
    if entry.image is not None:
        enclosure = {"rel": "enclosure", "type": image_media_type(entry.image)}
        enclosure["href"] = entry.image.url
        if entry.image.length is not None:
            enclosure["length"] = str(entry.image.length)
        links.append(enclosure)
    position = element.index(element.find(f"{{{ATOM_NS}}}title")) + 1
    for offset, attributes in enumerate(links):
        link = etree.Element(f"{{{ATOM_NS}}}link")
        for name in ("href", "rel", "type", "length"):
            if name in attributes:
                link.set(name, attributes[name])
        element.insert(position + offset, link)


def _atom_person(person: Person) -> dict[str, str]:
    fields = {"name": person.name}
    if person.email:
        fields["email"] = person.email
    if person.url:
        fields["uri"] = person.url
    return fields


# --------------------------------------------------------------------------------------------
# JSON Feed (jsonfeed.py): one json.dumps of the whole document
# --------------------------------------------------------------------------------------------


def _render_json(feed: Feed) -> bytes:
    document: dict[str, Any] = {
        "version": JSON_FEED_VERSION,
        "title": feed.title,
        "home_page_url": feed.home_url,
        "feed_url": feed.url(FeedFormat.JSON),
    }
    if feed.description:
        document["description"] = feed.description
    document["language"] = feed.language
    document["authors"] = [_json_author(feed.author)]
    if feed.hubs:
        document["hubs"] = [{"type": "WebSub", "url": hub} for hub in feed.hubs]
    if feed.history is not None and feed.history.prev_archive is not None:
        document["next_url"] = feed.url_of(feed.history.prev_archive, FeedFormat.JSON)
    document["items"] = [_json_item(entry) for entry in feed.entries]
    text = json.dumps(document, ensure_ascii=False, indent=2, allow_nan=False)
    return (text + "\n").encode("utf-8")


def _json_item(entry: Entry) -> dict[str, Any]:
    item: dict[str, Any] = {
        "id": entry.id,
        "url": entry.url,
        "title": entry.title,
        "content_html": entry.content_html,
    }
    if entry.summary:
        item["summary"] = entry.summary
    if entry.image is not None:
        item["image"] = entry.image.url
    item["date_published"] = _utc(entry.published).isoformat()
    item["date_modified"] = _utc(entry.updated).isoformat()
    if entry.authors:
        item["authors"] = [_json_author(person) for person in entry.authors]
    if entry.tags:
        item["tags"] = [tag.name for tag in entry.tags]
    if entry.image is not None:
        item["attachments"] = [_json_attachment(entry.image)]
    return item


def _json_author(person: Person) -> dict[str, str]:
    author = {"name": person.name}
    if person.url:
        author["url"] = person.url
    return author


def _json_attachment(image: Image) -> dict[str, Any]:
    attachment: dict[str, Any] = {"url": image.url, "mime_type": image_media_type(image)}
    if image.length is not None:
        attachment["size_in_bytes"] = image.length
    return attachment
