"""Atom 1.0 (RFC 4287): feedgen's feed-level elements, our entries.

feedgen writes the feed's head; what it gets wrong is set explicitly or fixed in the parsed
tree afterwards, and each fix says which feedgen behaviour it works around. Each ``<entry>``
is written by :func:`_entry_xml` and spliced into the feed: an entry is rendered once and
reused by every feed it appears in. No feedgen object leaves this module.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any, Final

from feedgen.feed import FeedGenerator
from lxml import etree

from newswire.domain.feeds import Feed, FeedFormat
from newswire.domain.model import Entry, Person, Tombstone, rfc3339
from newswire.rendering.base import FeedRenderer
from newswire.rendering.jsonfeed import image_media_type
from newswire.rendering.xmlfeed import (
    GENERATOR,
    HEAD_PARSER,
    feed_links,
    mark_archive,
    serialise,
    splice_items,
    xml_attribute,
    xml_content,
    xml_element,
    xml_text,
)

#: RFC 6721's namespace, for ``<at:deleted-entry>``.
AT_NS: Final = "http://purl.org/atompub/tombstones/1.0"
#: The end of every Atom document: entries go right before it.
_FEED_END: Final = b"</feed>\n"
#: Indentation of an entry's elements, and of an author's (entries are inside <feed>).
_INDENT: Final = b"    "
_PERSON_INDENT: Final = b"      "


class AtomRenderer(FeedRenderer):
    """Renders a feed as Atom 1.0."""

    format: FeedFormat = FeedFormat.ATOM

    def item(self, entry: Entry) -> bytes:
        """The ``<entry>`` of ``entry``, the same in every Atom document that shows it.

        Args:
            entry: the entry.

        Returns:
            UTF-8 XML: the entry indented as inside ``<feed>``, ending with a line end.

        Raises:
            ValueError: the entry has no id or no title (RFC 4287 requires both).
        """
        return _entry_xml(entry)

    def document(self, feed: Feed, items: Sequence[bytes], updated: datetime) -> bytes:
        """The Atom document of ``feed`` holding ``items``.

        Args:
            feed: the feed's head; its entries are not read.
            items: ``item(entry)`` of each entry shown, newest first.
            updated: the feed's ``<updated>``, the newest change among those entries.

        Returns:
            UTF-8 XML; the same feed always gives the same bytes.
        """
        # feedgen builds Atom elements outside the Atom namespace and relies on serialising
        # under a default namespace to put them in: its output is parsed again.
        root = etree.fromstring(_generator(feed, updated).atom_str(pretty=False), HEAD_PARSER)
        # Entries use no prefix (theirs is the default namespace): none to keep for them.
        mark_archive(root, feed, 0)
        _add_tombstones(root, feed.tombstones)
        return splice_items(serialise(root, feed, FeedFormat.ATOM), _FEED_END, items)


def _add_tombstones(root: Any, tombstones: Sequence[Tombstone]) -> None:
    """RFC 6721 ``<at:deleted-entry ref="…" when="…">`` (with ``<at:comment>`` when a reason
    is known) after the feed's head, ``at`` declared on the root as readers look for it."""
    if not tombstones:
        return
    for tombstone in tombstones:
        deleted = etree.SubElement(root, f"{{{AT_NS}}}deleted-entry", nsmap={"at": AT_NS})
        deleted.set("ref", tombstone.ref)
        deleted.set("when", rfc3339(tombstone.when))
        if tombstone.comment:
            etree.SubElement(deleted, f"{{{AT_NS}}}comment").text = tombstone.comment
    etree.cleanup_namespaces(root, top_nsmap={"at": AT_NS})


def _generator(feed: Feed, updated: datetime) -> Any:
    """feedgen set up with the feed-level elements of ``feed`` and no entries."""
    generator = FeedGenerator()
    self_url = feed.url(FeedFormat.ATOM)
    # The feed's id is its own URL: stable, unique, and what readers already key it by.
    generator.id(self_url)
    generator.title(feed.title)
    if feed.description:
        generator.subtitle(feed.description)
    # feedgen's default is the render time.
    generator.updated(_utc(updated))
    generator.link(href=self_url, rel="self", type=FeedFormat.ATOM.media_type)
    for rel, href, link_type in feed_links(feed, FeedFormat.ATOM):  # WebSub, RFC 5005
        generator.link(href=href, rel=rel, **({"type": link_type} if link_type else {}))
    generator.link(href=feed.home_url, rel="alternate", type="text/html")
    generator.author(_atom_person(feed.author))
    generator.language(feed.language)  # written as xml:lang on <feed>
    # feedgen's default names itself with its version, which would change the bytes on upgrade.
    generator.generator(GENERATOR)
    return generator


def _entry_xml(entry: Entry) -> bytes:
    """The ``<entry>`` of ``entry``, indented as inside ``<feed>``.

    Written once per entry, not once per entry and feed (see :mod:`newswire.rendering.xmlfeed`).
    What the entry holds, and why:
    - id, title, and dates in UTC;
    - the links (:func:`_links`), right after ``<title>``, where a reader of the XML looks
      for them;
    - each author with name, and email and URI when known; a nameless one is left out
      (RFC 4287 requires a name), and with none the entry takes the feed's author;
    - the HTML content labelled ``type="html"`` (unlabelled, readers would show the markup as
      text), the summary as text when there is one, each tag as a ``<category>`` with its
      name as label (left out when empty).
    RFC 4287 imposes no order on an entry's elements; this one is pinned by the golden files.
    """
    if not (entry.id and entry.title):
        raise ValueError(f"Atom entry {entry.id!r} needs an id and a title")
    parts = [
        b"  <entry>\n",
        xml_element(_INDENT, b"id", entry.id),
        xml_element(_INDENT, b"title", entry.title),
        *_links(entry),
        b"    <updated>%s</updated>\n" % rfc3339(entry.updated).encode(),
    ]
    for person in entry.authors:
        if not person.name:
            continue
        parts.append(b"    <author>\n")
        for name, value in _atom_person(person).items():  # the feed's author's mapping too
            parts.append(xml_element(_PERSON_INDENT, name.encode(), value))
        parts.append(b"    </author>\n")
    if entry.content_html:
        parts.append(b'    <content type="html">%s</content>\n' % xml_content(entry.content_html))
    else:
        parts.append(b'    <content type="html"/>\n')
    if entry.summary:
        parts.append(b'    <summary type="text">%s</summary>\n' % xml_text(entry.summary))
    for tag in entry.tags:
        label = b' label="%s"' % xml_attribute(tag.name) if tag.name else b""
        parts.append(b'    <category term="%s"%s/>\n' % (xml_attribute(tag.slug), label))
    parts.append(b"    <published>%s</published>\n" % rfc3339(entry.published).encode())
    parts.append(b"  </entry>\n")
    return b"".join(parts)


def _links(entry: Entry) -> list[bytes]:
    """The entry's ``<link>`` elements: its page, and its image as an enclosure."""
    links = [b'    <link href="%s" rel="alternate" type="text/html"/>\n' % xml_attribute(entry.url)]
    image = entry.image
    if image is not None:
        # Atom's length is advisory: left out when unknown rather than claimed as 0.
        length = b"" if image.length is None else b' length="%d"' % image.length
        # Atom has no pixel size or credit: the link's title carries the caption.
        title = b' title="%s"' % xml_attribute(image.caption) if image.caption else b""
        links.append(
            b'    <link href="%s" rel="enclosure" type="%s"%s%s/>\n'
            % (xml_attribute(image.url), xml_attribute(image_media_type(image)), title, length)
        )
    return links


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
