"""JSON Feed 1.1 (https://jsonfeed.org/version/1.1), written with the standard library.

JSON Feed is plain data, so no feed library is needed: a dict in the order the spec lists its
keys, dumped with a fixed layout. Insertion order is the key order, so the same feed always
gives the same bytes, and the 2-space indentation keeps golden files reviewable.

Each item is written once, laid out as ``json.dumps`` lays it out inside ``"items"``, and
reused by every document that shows the entry; a document is its head, dumped, with the items
spliced into ``"items"``: byte for byte what dumping the whole document at once gave.
"""

from __future__ import annotations

import json
import mimetypes
import posixpath
from collections.abc import Sequence
from json.encoder import encode_basestring
from typing import Any, Final
from urllib.parse import urlsplit

from newswire.domain.feeds import Feed, FeedFormat
from newswire.domain.model import Entry, Image, Person, rfc3339
from newswire.rendering.base import FeedRenderer, content_utf8

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


#: How every document's head is dumped; items are written in the same layout.
_DUMP_OPTIONS: Final[dict[str, Any]] = {"ensure_ascii": False, "indent": 2, "allow_nan": False}
#: An item's depth: in the ``"items"`` list of the top-level object.
_ITEM_DEPTH: Final = 2
#: What ``json.dumps(ensure_ascii=False)`` escapes in a string, as UTF-8: the backslash first.
_ESCAPES: Final = (
    (b"\\", b"\\\\"),
    (b'"', b'\\"'),
    (b"\n", b"\\n"),
    (b"\r", b"\\r"),
    (b"\t", b"\\t"),
)
#: The other characters it escapes: C0 controls, which XML-clean text never holds.
_OTHER_CONTROLS: Final = bytes(set(range(0x20)) - {0x09, 0x0A, 0x0D})
#: Stands for the content while an item is laid out: a NUL, which no JSON string holds raw.
_CONTENT_GOES_HERE: Final = "\x00"
#: How the head, dumped with no items, ends; the items go between the brackets.
_NO_ITEMS: Final = '"items": []\n}'


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
        return b"  " * _ITEM_DEPTH + _item_json(entry)

    def document(self, feed: Feed, items: Sequence[bytes]) -> bytes:
        """The JSON Feed document of ``feed`` holding ``items``.

        Args:
            feed: the feed; its entries are not read.
            items: ``item(entry)`` of each of the feed's entries, in the feed's order.

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
        head = json.dumps(document, **_DUMP_OPTIONS)
        if not items:
            return (head + "\n").encode("utf-8")
        if not head.endswith(_NO_ITEMS):
            raise ValueError(f"JSON Feed head does not end with {_NO_ITEMS!r}")
        start = head[: -len(_NO_ITEMS)] + '"items": [\n'
        return b"".join((start.encode("utf-8"), b",\n".join(items), b"\n  ]\n}\n"))


def _item_json(entry: Entry) -> bytes:
    """The item of ``entry`` as ``json.dumps`` lays it out in ``"items"`` (first line bare).

    Written member by member rather than dumped: with ``indent`` set, ``json.dumps`` runs its
    pure-Python encoder, several times slower than the rest of the item together. Members
    come in the order the spec lists them, optional ones left out when empty:
    - ``summary`` and ``image`` (the lead image's URL) when there are;
    - ``authors``: without them an item inherits the feed's, which is what a reader should
      show;
    - ``tags`` by name, the image again as an attachment with its type and, when known, size.
    The content, most of the bytes, is escaped on its own (:func:`_long_string`) and spliced
    between the members before and after it.
    """
    depth, quote = _ITEM_DEPTH, encode_basestring
    before = [
        f'"id": {quote(entry.id)}',
        f'"url": {quote(entry.url)}',
        f'"title": {quote(entry.title)}',
        f'"content_html": {_CONTENT_GOES_HERE}',
    ]
    after = []
    if entry.summary:
        after.append(f'"summary": {quote(entry.summary)}')
    if entry.image is not None:
        after.append(f'"image": {quote(entry.image.url)}')
    after.append(f'"date_published": {quote(rfc3339(entry.published))}')
    after.append(f'"date_modified": {quote(rfc3339(entry.updated))}')
    if entry.authors:
        authors = [_person_json(person, depth + 2) for person in entry.authors]
        after.append(f'"authors": {_array(authors, depth + 1)}')
    if entry.tags:
        after.append(f'"tags": {_array([quote(tag.name) for tag in entry.tags], depth + 1)}')
    if entry.image is not None:
        attachment = [
            f'"url": {quote(entry.image.url)}',
            f'"mime_type": {quote(image_media_type(entry.image))}',
        ]
        if entry.image.length is not None:
            attachment.append(f'"size_in_bytes": {entry.image.length:d}')
        after.append(f'"attachments": {_array([_object(attachment, depth + 2)], depth + 1)}')
    # Cut where the content goes: "{" and the members before it, then those after and "}".
    start, end = _object([*before, *after], depth).split(_CONTENT_GOES_HERE, 1)
    return b"".join((start.encode(), _long_string(entry.content_html), end.encode()))


def _person_json(person: Person, depth: int) -> str:
    """:func:`_author` as JSON (its members, one mapping for heads and items alike)."""
    return _object([f'"{k}": {encode_basestring(v)}' for k, v in _author(person).items()], depth)


def _object(members: Sequence[str], depth: int) -> str:
    """A JSON object at ``depth`` as ``json.dumps(indent=2)`` writes it (never empty here).

    Args:
        members: each ``"key": value``, the value already JSON.
        depth: how many containers hold the object.
    """
    inner = "\n" + "  " * (depth + 1)
    return f"{{{inner}{(',' + inner).join(members)}\n{'  ' * depth}}}"


def _array(values: Sequence[str], depth: int) -> str:
    """A JSON array at ``depth`` as ``json.dumps(indent=2)`` writes it (never empty here)."""
    inner = "\n" + "  " * (depth + 1)
    return f"[{inner}{(',' + inner).join(values)}\n{'  ' * depth}]"


def _long_string(value: str) -> bytes:
    """``value`` as ``json.dumps(ensure_ascii=False)`` writes it, in UTF-8; for the content.

    Escaping the UTF-8 bytes (no UTF-8 sequence holds an ASCII byte) is several times faster
    than :func:`json.encoder.encode_basestring`, which is kept for text holding control
    characters (XML-clean text holds none but tab, newline and carriage return).
    """
    data = content_utf8(value)
    if len(data.translate(None, _OTHER_CONTROLS)) != len(data):
        return encode_basestring(value).encode("utf-8")
    for raw, escaped in _ESCAPES:
        data = data.replace(raw, escaped)
    return b'"%s"' % data


def _author(person: Person) -> dict[str, str]:
    # JSON Feed authors have no email field; addresses stay out rather than in an extension
    # nobody reads.
    author = {"name": person.name}
    if person.url:
        author["url"] = person.url
    return author
