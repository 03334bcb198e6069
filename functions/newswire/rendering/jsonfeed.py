"""JSON Feed 1.1 (https://jsonfeed.org/version/1.1), written with the standard library.

JSON Feed is plain data, so no feed library is needed: a dict in the order the spec lists its
keys, dumped with a fixed layout. Insertion order is the key order, so the same feed always
gives the same bytes, and the 2-space indentation keeps golden files reviewable.
"""

from __future__ import annotations

import json
import mimetypes
import posixpath
from datetime import UTC, datetime
from typing import Any, Final
from urllib.parse import urlsplit

from newswire.domain.feeds import Feed, FeedFormat
from newswire.domain.model import Entry, Image, Person

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


class JsonFeedRenderer:
    """Renders a feed as JSON Feed 1.1."""

    format: FeedFormat = FeedFormat.JSON

    def render(self, feed: Feed) -> bytes:
        """Render ``feed`` as UTF-8 JSON, 2-space indented, ending with a newline.

        Args:
            feed: the feed, entries newest first.

        Returns:
            The document's bytes; the same feed always gives the same bytes.
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
        document["items"] = [_item(entry) for entry in feed.entries]
        text = json.dumps(document, ensure_ascii=False, indent=2, allow_nan=False)
        return (text + "\n").encode("utf-8")


def _item(entry: Entry) -> dict[str, Any]:
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
    item["date_published"] = _rfc3339(entry.published)
    item["date_modified"] = _rfc3339(entry.updated)
    if entry.authors:
        # Without ``authors`` an item inherits the feed's, which is what a reader should show.
        item["authors"] = [_author(person) for person in entry.authors]
    if entry.tags:
        item["tags"] = [tag.name for tag in entry.tags]
    if entry.image is not None:
        item["attachments"] = [_attachment(entry.image)]
    return item


def _author(person: Person) -> dict[str, str]:
    # JSON Feed authors have no email field; addresses stay out rather than in an extension
    # nobody reads.
    author = {"name": person.name}
    if person.url:
        author["url"] = person.url
    return author


def _attachment(image: Image) -> dict[str, Any]:
    attachment: dict[str, Any] = {"url": image.url, "mime_type": image_media_type(image)}
    if image.length is not None:
        attachment["size_in_bytes"] = image.length
    return attachment


def _rfc3339(value: datetime) -> str:
    return value.astimezone(UTC).isoformat()
