"""JSON Feed 1.1 (https://jsonfeed.org/version/1.1), dumped by orjson.

JSON Feed is plain data, so no feed library is needed: a dict in the order the spec lists its
keys, dumped with a fixed layout. Insertion order is the key order, so the same feed always
gives the same bytes, and the 2-space indentation keeps golden files reviewable.

Each item is written once, laid out as it lies inside ``"items"``, and reused by every document
that shows the entry; a document is its head, dumped, with the items spliced into ``"items"``:
byte for byte what ``json.dumps(document, ensure_ascii=False, indent=2)`` of the whole
document gives (a property test holds the two together). orjson writes that layout in C,
where the standard library's encoder turns to pure Python as soon as ``indent`` is set.
"""

from __future__ import annotations

import mimetypes
import posixpath
from collections.abc import Sequence
from datetime import datetime
from typing import Any, Final
from urllib.parse import urlsplit

import orjson

from newswire.domain.feeds import Feed, FeedFormat
from newswire.domain.model import Entry, Image, Person, rfc3339
from newswire.rendering.base import FeedRenderer

JSON_FEED_VERSION: Final = "https://jsonfeed.org/version/1.1"

#: Image types by extension, checked before :mod:`mimetypes`: the system's ``mime.types``
#: differs between a laptop and the Lambda runtime (``.webp``, ``.avif``), and a feed must not.
_IMAGE_TYPES: Final = {
    ".avif": "image/avif",
    ".gif": "image/gif",
    ".jpeg": "image/jpeg",
    ".jpg": "image/jpeg",
    ".png": "image/png",
    ".svg": "image/svg+xml",
    ".webp": "image/webp",
}
#: Python's built-in table only (an instance does not read the system's files).
_BUILTIN_TYPES: Final = mimetypes.MimeTypes()
_FALLBACK_IMAGE_TYPE: Final = "image/jpeg"


def image_media_type(image: Image) -> str:
    """The MIME type to announce for ``image`` in an enclosure, Media RSS or an attachment.

    Shared by every format so that the three feeds never disagree about one image. The
    article's own ``media_type`` wins; otherwise the URL path's extension decides (the query
    string is ignored), and an image of unknown type is announced as JPEG, the most common.

    Args:
        image: the entry's lead image.

    Returns:
        A MIME type such as ``image/png``.
    """
    if image.media_type:
        return image.media_type
    extension = posixpath.splitext(urlsplit(image.url).path)[1].lower()
    if extension in _IMAGE_TYPES:
        return _IMAGE_TYPES[extension]
    guessed, _ = _BUILTIN_TYPES.guess_type("x" + extension, strict=False)
    if guessed and guessed.startswith("image/"):
        return guessed
    return _FALLBACK_IMAGE_TYPE


#: orjson's layout: what ``json.dumps(indent=2, ensure_ascii=False)`` writes.
_INDENT: Final = orjson.OPT_INDENT_2
#: What starts each line of an item inside ``"items"``: the list's and the document's indent.
_ITEM_INDENT: Final = b"    "
#: How the head, dumped with no items, ends; the items go between the brackets.
_NO_ITEMS: Final = b'"items": []\n}'


class JsonFeedRenderer(FeedRenderer):
    """Renders a feed as JSON Feed 1.1."""

    format: FeedFormat = FeedFormat.JSON

    def item(self, entry: Entry) -> bytes:
        """The item of ``entry``, the same in every JSON Feed document that shows it.

        Args:
            entry: the entry.

        Returns:
            UTF-8 JSON: the item object indented as inside ``"items"``, without the comma or
            line end that separates it from the next one.
        """
        # No string orjson writes holds a raw line break: every line of the item is indented.
        return _ITEM_INDENT + orjson.dumps(_item(entry), option=_INDENT).replace(
            b"\n", b"\n" + _ITEM_INDENT
        )

    def document(self, feed: Feed, items: Sequence[bytes], updated: datetime) -> bytes:
        """The JSON Feed document of ``feed`` holding ``items``.

        Args:
            feed: the feed's head; its entries are not read.
            items: ``item(entry)`` of each entry shown, newest first.
            updated: unused: JSON Feed has no feed-level date.

        Returns:
            UTF-8 JSON, 2-space indented, ending with a newline; the same bytes as dumping the
            whole document at once.
        """
        document: dict[str, Any] = {
            "version": JSON_FEED_VERSION,
            "title": feed.title,
            "home_page_url": feed.home_url,
            "feed_url": feed.url(FeedFormat.JSON),
        }
        if feed.description:
            document["description"] = feed.description
        document["language"] = feed.language
        document["authors"] = [_author(feed.author)]
        if feed.hubs:
            document["hubs"] = [{"type": "WebSub", "url": hub} for hub in feed.hubs]
        if feed.history is not None and feed.history.prev_archive is not None:
            # JSON Feed's walk back in time: next_url is the document with older items.
            document["next_url"] = feed.url_of(feed.history.prev_archive, FeedFormat.JSON)
        document["items"] = []
        head = orjson.dumps(document, option=_INDENT)
        if not items:
            return head + b"\n"
        if not head.endswith(_NO_ITEMS):
            raise ValueError(f"JSON Feed head does not end with {_NO_ITEMS!r}")
        start = head[: -len(_NO_ITEMS)] + b'"items": [\n'
        return b"".join((start, b",\n".join(items), b"\n  ]\n}\n"))


def _item(entry: Entry) -> dict[str, Any]:
    """The item of ``entry``, its members in the order the spec lists them.

    Optional members are left out when empty: ``summary`` and ``image`` (the lead image's
    URL) when there are; ``authors`` (without them an item inherits the feed's, which is what
    a reader should show); ``tags`` by name; the image again as an attachment with its type
    and, when known, size.
    """
    item: dict[str, Any] = {
        "id": entry.id,
        "url": entry.url,
        "title": entry.title,
        "content_html": entry.content_html,
    }
    image = entry.image
    if entry.summary:
        item["summary"] = entry.summary
    if image is not None:
        item["image"] = image.url
    item["date_published"] = rfc3339(entry.published)
    item["date_modified"] = rfc3339(entry.updated)
    if entry.authors:
        item["authors"] = [_author(person) for person in entry.authors]
    if entry.tags:
        item["tags"] = [tag.name for tag in entry.tags]
    if image is not None:
        attachment: dict[str, Any] = {"url": image.url, "mime_type": image_media_type(image)}
        # JSON Feed has no member for an image's pixel size or credit: only RSS carries them.
        if image.caption:
            attachment["title"] = image.caption
        if image.length is not None:
            attachment["size_in_bytes"] = image.length
        item["attachments"] = [attachment]
    return item


def _author(person: Person) -> dict[str, str]:
    # JSON Feed authors have no email field; addresses stay out rather than in an extension
    # nobody reads.
    author = {"name": person.name}
    if person.url:
        author["url"] = person.url
    return author
