"""Atom 1.0 (RFC 4287), built with feedgen.

feedgen writes most of the document; what it gets wrong is set explicitly or fixed in the
lxml tree afterwards, and each fix says which feedgen 1.0.0 behaviour it works around. No
feedgen object leaves this module.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

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


class AtomRenderer:
    """Renders a feed as Atom 1.0."""

    format: FeedFormat = FeedFormat.ATOM

    def render(self, feed: Feed) -> bytes:
        """Render ``feed`` as Atom 1.0.

        Args:
            feed: the feed, entries newest first.

        Returns:
            UTF-8 XML; the same feed always gives the same bytes.
        """
        root = feedgen_root(_generator(feed), FeedFormat.ATOM)
        entries = root.findall(f"{{{ATOM_NS}}}entry")
        for element, entry in zip(entries, feed.entries, strict=True):
            _add_links(element, entry)
        mark_archive(root, feed, 0)
        return serialise(root, feed, FeedFormat.ATOM)


def _generator(feed: Feed) -> Any:
    generator = FeedGenerator()
    self_url = feed.url(FeedFormat.ATOM)
    # The feed's id is its own URL: stable, unique, and what readers already key it by.
    generator.id(self_url)
    generator.title(feed.title)
    if feed.description:
        generator.subtitle(feed.description)
    # feedgen's default is the render time.
    generator.updated(_utc(feed.updated))
    generator.link(href=self_url, rel="self", type="application/atom+xml")
    for rel, href, link_type in feed_links(feed, FeedFormat.ATOM):  # WebSub, RFC 5005
        generator.link(href=href, rel=rel, **({"type": link_type} if link_type else {}))
    generator.link(href=feed.home_url, rel="alternate", type="text/html")
    generator.author(_atom_person(feed.author))
    generator.language(feed.language)  # written as xml:lang on <feed>
    # feedgen's default names itself with its version, which would change the bytes on upgrade.
    generator.generator(GENERATOR)
    for entry in feed.entries:
        # feedgen prepends by default, which would reverse the feed.
        _fill_entry(generator.add_entry(order="append"), entry)
    return generator


def _fill_entry(element: Any, entry: Entry) -> None:
    element.id(entry.id)
    element.title(entry.title)
    # feedgen's default is the render time.
    element.updated(_utc(entry.updated))
    element.published(_utc(entry.published))
    if entry.authors:
        element.author([_atom_person(person) for person in entry.authors])
    # Without type="html" feedgen labels the content as text and readers show the markup.
    element.content(entry.content_html, type="html")
    if entry.summary:
        element.summary(entry.summary, type="text")
    if entry.tags:
        element.category([{"term": tag.slug, "label": tag.name} for tag in entry.tags])
    # Links are not given to feedgen: FeedEntry.atom_entry drops rel, type and length from
    # every entry link (a loop variable shadows the link data), so the enclosure would become
    # a second rel="alternate". They are written by _add_links instead.


def _add_links(element: Any, entry: Entry) -> None:
    """Write the entry's links, with the attributes feedgen would have lost."""
    links = [{"rel": "alternate", "type": "text/html", "href": entry.url}]
    if entry.image is not None:
        enclosure = {"rel": "enclosure", "type": image_media_type(entry.image)}
        enclosure["href"] = entry.image.url
        # Atom's length is advisory: left out when unknown rather than claimed as 0.
        if entry.image.length is not None:
            enclosure["length"] = str(entry.image.length)
        links.append(enclosure)
    # Right after <title>, where a reader of the XML looks for them.
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


def _utc(value: datetime) -> datetime:
    # RFC 3339 dates then always end in "+00:00", whatever zone a caller used.
    return value.astimezone(UTC)
