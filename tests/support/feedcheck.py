"""Strict, offline feed validators for tests, in the spirit of the W3C Feed Validator.

``check_rss``, ``check_atom`` and ``check_json_feed`` return every problem they find as a
sentence that names the place ("item 2: guid ...") so a failing test says what to fix; an
empty list means valid. ``assert_valid`` also hands the document to a real parser and fails
on any warning.

The rules are newswire's profile: the RSS Advisory Board's best practices, RFC 4287 and JSON
Feed 1.1, plus what the W3C validator warns about (one ``<author>`` per item, no ``author``
next to ``dc:creator``, no relative URLs in content). Documents are parsed with lxml without
DTDs, entities or network.
"""

from __future__ import annotations

import importlib.util
import json
import re
import sys
import tempfile
from collections import Counter
from collections.abc import Iterable, Iterator
from datetime import datetime
from email.utils import parsedate_to_datetime
from html.parser import HTMLParser
from pathlib import Path
from typing import Any, Final
from urllib.parse import urlsplit

import feedparser
import jsonschema
from lxml import etree
from reader import make_reader

from newswire.domain.feeds import FeedFormat
from tests.support.directorycheck import check_directory_data, check_directory_page, check_opml

ATOM_NS: Final = "http://www.w3.org/2005/Atom"
CONTENT_NS: Final = "http://purl.org/rss/1.0/modules/content/"
DC_NS: Final = "http://purl.org/dc/elements/1.1/"
MEDIA_NS: Final = "http://search.yahoo.com/mrss/"
JSON_FEED_VERSION: Final = "https://jsonfeed.org/version/1.1"

_A: Final = f"{{{ATOM_NS}}}"
#: RFC 6721 (Atom tombstones)
_AT: Final = "{http://purl.org/atompub/tombstones/1.0}"

# --------------------------------------------------------------------------------------------
# Shared rules
# --------------------------------------------------------------------------------------------

#: Characters outside XML 1.0's ``Char`` production: no escaping makes them legal.
_XML_ILLEGAL = re.compile("[^\t\n\r\x20-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")
_XML_DECLARED_ENCODING = re.compile(r"""^<\?xml[^>]*\bencoding=["']([^"']+)["']""")
_SCHEME = re.compile(r"^[a-zA-Z][a-zA-Z0-9+.-]*:")
_MIME_TYPE = re.compile(r"^[\w.+-]+/[\w.+-]+(\s*;\s*[\w.+-]+=[\w.+-]+)*$")
_LANGUAGE = re.compile(r"^[a-zA-Z]{2,3}(-[a-zA-Z0-9]{1,8})*$")
_EMAIL = re.compile(r"^[^@\s()<>]+@[^@\s()<>]+\.[^@\s()<>]+$")
_EMAIL_WITH_NAME = re.compile(r"^[^@\s()<>]+@[^@\s()<>]+\.[^@\s()<>]+ \(.*\S.*\)$")
#: RFC 822 as the RSS profile wants it: weekday, 4-digit year, seconds, a zone.
_RFC822 = re.compile(
    r"^(Mon|Tue|Wed|Thu|Fri|Sat|Sun), \d{2} "
    r"(Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec) \d{4} \d{2}:\d{2}:\d{2} "
    r"([+-]\d{4}|GMT|UT|[ECMP][SD]T)$"
)
_RFC3339 = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})$")
_UNSAFE_SCHEMES: Final = frozenset({"javascript", "vbscript"})


def _is_absolute_url(value: str | None) -> bool:
    """An absolute http(s) URL: what a reader can fetch without guessing a base."""
    if not value or value != value.strip() or any(c.isspace() for c in value):
        return False
    try:
        parts = urlsplit(value)
    except ValueError:
        return False
    return parts.scheme in {"http", "https"} and bool(parts.netloc)


def _is_rss_url(value: str | None) -> bool:
    """An absolute http(s) URL in ASCII: RSS 2.0 wants URLs (RFC 2396), not IRIs, and the W3C
    validator calls a non-ASCII one invalid (``UriNotIri``, ``InvalidURLAttribute``)."""
    return _is_absolute_url(value) and value is not None and value.isascii()


def _is_absolute_iri(value: str | None) -> bool:
    """Any absolute IRI (``tag:``, ``urn:`` or http): what an Atom id must be."""
    if not value or any(c.isspace() for c in value) or not _SCHEME.match(value):
        return False
    scheme = value.split(":", 1)[0].lower()
    return _is_absolute_url(value) if scheme in {"http", "https"} else len(value) > len(scheme) + 1


def _rfc822_problem(value: str | None) -> str | None:
    """Why ``value`` is not an RSS date (RFC 822 with a zone), or None if it is one."""
    text = (value or "").strip()
    try:
        parsed = parsedate_to_datetime(text)
    except (TypeError, ValueError):
        return f"{text!r} is not an RFC 822 date like 'Mon, 01 Jan 2024 10:00:00 +0000'"
    if parsed.tzinfo is None:
        return f"{text!r} has no time zone"
    if not _RFC822.match(text):
        return f"{text!r} is not in the form 'Mon, 01 Jan 2024 10:00:00 +0000'"
    if parsed.strftime("%a") != text[:3]:
        return f"{text!r} has the wrong day of the week (it was a {parsed.strftime('%a')})"
    return None


def _rfc3339_problem(value: str | None) -> str | None:
    """Why ``value`` is not an RFC 3339 date-time with a zone, or None if it is one."""
    text = value or ""
    try:
        parsed = datetime.fromisoformat(text)
    except ValueError:
        return f"{text!r} is not a date-time like '2024-01-01T10:00:00Z'"
    if parsed.tzinfo is None:
        return f"{text!r} has no time zone"
    if not _RFC3339.match(text):
        # fromisoformat also takes ISO 8601 forms RFC 3339 does not ("20240101T100000Z").
        return f"{text!r} is not an RFC 3339 date-time like '2024-01-01T10:00:00Z'"
    return None


def is_xml_char(char: str) -> bool:
    """The XML 1.0 ``Char`` production, written out independently of the code under test."""
    return (
        char in "\t\n\r"
        or "\x20" <= char <= "\ud7ff"
        or "\ue000" <= char <= "\ufffd"
        or char >= "\U00010000"
    )


def _illegal_characters(text: str) -> list[str]:
    problems = []
    for match in list(_XML_ILLEGAL.finditer(text))[:5]:
        line = text.count("\n", 0, match.start()) + 1
        problems.append(f"line {line}: character U+{ord(match.group()):04X} is illegal in XML")
    return problems


def _parse_xml(data: bytes) -> tuple[Any, list[str]]:
    """Parse ``data`` strictly; return the root (None when unusable) and the problems."""
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as e:
        return None, [f"not UTF-8: {e}"]
    problems = _illegal_characters(text)
    declared = _XML_DECLARED_ENCODING.match(text.lstrip("\ufeff"))
    if declared and declared.group(1).lower() not in {"utf-8", "utf8"}:
        problems.append(f"the XML declaration says {declared.group(1)!r}, expected UTF-8")
    if "<!DOCTYPE" in text:
        problems.append("a DOCTYPE is not allowed in a feed")
    parser = etree.XMLParser(
        resolve_entities=False, no_network=True, load_dtd=False, huge_tree=False
    )
    try:
        root = etree.fromstring(data, parser)
    except etree.XMLSyntaxError as e:
        return None, [*problems, f"not well-formed XML: {e}"]
    problems.extend(_namespaces_below_root(root))
    return root, problems


def _namespaces_below_root(root: Any) -> list[str]:
    """Namespaces are declared once, on the root: readers that regex feeds expect it."""
    problems = []
    for element in root.iterdescendants():
        if not isinstance(element.tag, str):
            continue
        parent = element.getparent()
        declared = set(element.nsmap.items()) - set(parent.nsmap.items())
        for prefix, uri in sorted(declared, key=lambda pair: (pair[0] or "", pair[1])):
            name = f"xmlns:{prefix}" if prefix else "xmlns"
            problems.append(f"<{_name(element)}> declares {name}={uri!r}, not on the root")
    return problems


def _name(element: Any) -> str:
    """A readable qualified name: ``atom:link``, ``media:content``, ``item``."""
    qname = etree.QName(element)
    localname = str(qname.localname)
    if qname.namespace == ATOM_NS and element.getroottree().getroot().tag == f"{_A}feed":
        return localname  # Atom's own elements, in an Atom document
    prefixes = {ATOM_NS: "atom", CONTENT_NS: "content", DC_NS: "dc", MEDIA_NS: "media"}
    prefix = prefixes.get(qname.namespace or "")
    return f"{prefix}:{localname}" if prefix else localname


def _children(element: Any, tag: str) -> list[Any]:
    return [child for child in element if child.tag == tag]


def _text(element: Any) -> str:
    return (element.text or "") if element is not None else ""


class _HtmlAudit(HTMLParser):
    """Finds unbalanced tags and relative or unsafe URLs in an HTML fragment."""

    # fmt: off
    _VOID: Final = frozenset(
        {
            "area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta", "param",
            "source", "track", "wbr",
        }
    )
    #: Elements whose end tag HTML lets a writer leave out.
    _OPTIONAL_END: Final = frozenset(
        {
            "p", "li", "dt", "dd", "tr", "td", "th", "thead", "tbody", "tfoot", "option",
            "optgroup", "colgroup", "caption", "rt", "rp",
        }
    )
    # fmt: on
    _URL_ATTRIBUTES: Final = frozenset({"href", "src", "poster", "cite", "action"})

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.open: list[str] = []
        self.problems: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self._check_urls(tag, attrs)
        if tag not in self._VOID:
            self.open.append(tag)

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self._check_urls(tag, attrs)

    def handle_endtag(self, tag: str) -> None:
        if tag in self._VOID:
            return
        if tag not in self.open:
            self.problems.append(f"</{tag}> closes nothing")
            return
        while self.open:
            current = self.open.pop()
            if current == tag:
                break
            if current not in self._OPTIONAL_END:
                self.problems.append(f"<{current}> is not closed before </{tag}>")

    def finish(self) -> list[str]:
        self.close()
        unclosed = [tag for tag in self.open if tag not in self._OPTIONAL_END]
        self.problems.extend(f"<{tag}> is never closed" for tag in unclosed)
        return self.problems

    def _check_urls(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        for name, value in attrs:
            urls: Iterable[str] = ()
            if name in self._URL_ATTRIBUTES:
                urls = [value or ""]
            elif name == "srcset":
                urls = [part.split()[0] for part in (value or "").split(",") if part.split()]
            for url in urls:
                problem = _content_url_problem(url.strip())
                if problem:
                    self.problems.append(f"<{tag} {name}={url!r}>: {problem}")


def _content_url_problem(url: str) -> str | None:
    if not _SCHEME.match(url):
        return "relative URL (readers resolve it against the feed, not the article)"
    scheme = url.split(":", 1)[0].lower()
    if scheme in _UNSAFE_SCHEMES:
        return f"unsafe {scheme}: URL"
    if scheme in {"http", "https"} and not _is_absolute_url(url):
        return "malformed URL"
    return None


def _html_problems(html: str) -> list[str]:
    audit = _HtmlAudit()
    audit.feed(html)
    return audit.finish()


def _check_escaped_html(where: str, element: Any) -> Iterator[str]:
    """HTML carried as escaped text: well-formed-ish, absolute URLs, no XML children.

    Child elements mean the HTML was pasted in as XML, which readers drop or choke on.
    """
    if len(element):
        yield f"{where}: <{_name(element)}> holds XML elements instead of escaped HTML"
        return
    yield from (f"{where}: <{_name(element)}> {p}" for p in _html_problems(_text(element)))


# --------------------------------------------------------------------------------------------
# RSS 2.0
# --------------------------------------------------------------------------------------------

# fmt: off
_RSS_CHANNEL_ELEMENTS: Final = frozenset(
    {
        "title", "link", "description", "language", "copyright", "managingEditor", "webMaster",
        "pubDate", "lastBuildDate", "category", "generator", "docs", "cloud", "ttl", "image",
        "rating", "textInput", "skipHours", "skipDays", "item",
    }
)
# fmt: on
_RSS_CHANNEL_SINGLE: Final = _RSS_CHANNEL_ELEMENTS - {"category", "item"}
# fmt: off
_RSS_ITEM_ELEMENTS: Final = frozenset(
    {
        "title", "link", "description", "author", "category", "comments", "enclosure", "guid",
        "pubDate", "source",
    }
)
# fmt: on
_RSS_ITEM_SINGLE: Final = _RSS_ITEM_ELEMENTS - {"category"}
_MEDIA_MEDIUMS: Final = frozenset({"image", "audio", "video", "document", "executable"})


def check_rss(data: bytes) -> list[str]:
    """Check an RSS 2.0 document against the RSS Board's profile.

    Args:
        data: the document's bytes, as served.

    Returns:
        Every problem found, in document order; empty when the feed is valid.
    """
    root, problems = _parse_xml(data)
    if root is None:
        return problems
    if root.tag != "rss":
        return [*problems, f"the root element is <{_name(root)}>, expected <rss>"]
    if root.get("version") != "2.0":
        problems.append(f'<rss version={root.get("version")!r}>, expected version="2.0"')
    channels = _children(root, "channel")
    if len(channels) != 1:
        return [*problems, f"<rss> holds {len(channels)} <channel> elements, expected 1"]
    channel = channels[0]
    problems.extend(_check_rss_channel(channel))
    guids: Counter[str] = Counter()
    for number, item in enumerate(_children(channel, "item"), start=1):
        problems.extend(_check_rss_item(f"item {number}", item, guids))
    problems.extend(f"guid {guid!r} is used by {n} items" for guid, n in guids.items() if n > 1)
    return problems


def _check_rss_channel(channel: Any) -> Iterator[str]:
    yield from _check_rss_children("channel", channel, _RSS_CHANNEL_ELEMENTS, _RSS_CHANNEL_SINGLE)
    for required in ("title", "link", "description"):
        if channel.find(required) is None:
            yield f"channel: missing <{required}>"
    if channel.find("title") is not None and not _text(channel.find("title")).strip():
        yield "channel: <title> is empty"
    if channel.find("link") is not None and not _is_absolute_url(_text(channel.find("link"))):
        yield f"channel: <link> {_text(channel.find('link'))!r} is not an absolute http(s) URL"
    language = channel.find("language")
    if language is not None and not _LANGUAGE.match(_text(language)):
        yield f"channel: <language> {_text(language)!r} is not a language tag"
    for date_name in ("pubDate", "lastBuildDate"):
        date = channel.find(date_name)
        if date is not None and (problem := _rfc822_problem(date.text)):
            yield f"channel: <{date_name}> {problem}"
    for person_name in ("managingEditor", "webMaster"):
        person = channel.find(person_name)
        if person is not None and not _EMAIL_WITH_NAME.match(_text(person)):
            yield f"channel: <{person_name}> {_text(person)!r} is not 'email (Name)'"
    docs = channel.find("docs")
    if docs is not None and not _is_absolute_url(_text(docs)):
        yield f"channel: <docs> {_text(docs)!r} is not an absolute http(s) URL"
    for category in _children(channel, "category"):
        if not _text(category).strip():
            yield "channel: <category> is empty"
    atom_links = _children(channel, f"{_A}link")
    selfs = [link for link in atom_links if link.get("rel") == "self"]
    if not selfs:
        yield 'channel: missing <atom:link rel="self">'
    for link in atom_links:
        if not _is_absolute_url(link.get("href")):
            yield f"channel: <atom:link> href {link.get('href')!r} is not an absolute URL"
    for link in selfs:
        if link.get("type") != "application/rss+xml":
            yield (
                f'channel: <atom:link rel="self"> type {link.get("type")!r}, '
                "expected 'application/rss+xml'"
            )


def _check_rss_children(
    where: str, element: Any, allowed: frozenset[str], single: frozenset[str]
) -> Iterator[str]:
    counts = Counter(child.tag for child in element if isinstance(child.tag, str))
    for tag, count in counts.items():
        if "}" not in tag and tag not in allowed:
            yield f"{where}: <{tag}> is not an RSS 2.0 element (extensions need a namespace)"
        elif tag in single and count > 1:
            yield f"{where}: <{tag}> appears {count} times, at most once allowed"


def _check_rss_item(where: str, item: Any, guids: Counter[str]) -> Iterator[str]:
    yield from _check_rss_children(where, item, _RSS_ITEM_ELEMENTS, _RSS_ITEM_SINGLE)
    title, description = item.find("title"), item.find("description")
    if not _text(title).strip() and not _text(description).strip():
        yield f"{where}: needs a non-empty <title> or <description>"
    if title is not None and not _text(title).strip():
        yield f"{where}: <title> is empty"
    link = item.find("link")
    if link is not None and not _is_rss_url(_text(link)):
        yield f"{where}: <link> {_text(link)!r} is not an absolute http(s) URL in ASCII"
    yield from _check_rss_guid(where, item.find("guid"), guids)
    date = item.find("pubDate")
    if date is not None and (problem := _rfc822_problem(date.text)):
        yield f"{where}: <pubDate> {problem}"
    for author in _children(item, "author"):
        if not _EMAIL_WITH_NAME.match(_text(author)):
            yield f"{where}: <author> {_text(author)!r} is not 'email (Name)'"
    creators = _children(item, f"{{{DC_NS}}}creator")
    if creators and item.find("author") is not None:
        yield f"{where}: has both <author> and <dc:creator> (say it once)"
    for creator in creators:
        if not _text(creator).strip():
            yield f"{where}: <dc:creator> is empty"
    for category in _children(item, "category"):
        if not _text(category).strip():
            yield f"{where}: <category> is empty"
    for enclosure in _children(item, "enclosure"):
        yield from _check_enclosure(where, enclosure)
    encoded = _children(item, f"{{{CONTENT_NS}}}encoded")
    if len(encoded) > 1:
        yield f"{where}: <content:encoded> appears {len(encoded)} times"
    for content in encoded:
        if description is None or item.index(description) > item.index(content):
            # Readers that know only <description> take the first text they meet.
            yield f"{where}: <content:encoded> without a <description> before it"
        yield from _check_escaped_html(where, content)
    if description is not None:
        yield from _check_escaped_html(where, description)
    yield from _check_media(where, item)


def _check_rss_guid(where: str, guid: Any, guids: Counter[str]) -> Iterator[str]:
    if guid is None:
        yield f"{where}: missing <guid>"
        return
    value = _text(guid).strip()
    if not value:
        yield f"{where}: <guid> is empty"
        return
    guids[value] += 1
    permalink = guid.get("isPermaLink", "true")
    if permalink not in {"true", "false"}:
        yield f"{where}: <guid isPermaLink={permalink!r}>, expected 'true' or 'false'"
    elif permalink == "true" and not _is_absolute_url(value):
        yield f"{where}: <guid> {value!r} is a permalink but not an absolute http(s) URL"


def _check_enclosure(where: str, enclosure: Any) -> Iterator[str]:
    if not _is_rss_url(enclosure.get("url")):
        yield f"{where}: <enclosure> url {enclosure.get('url')!r} is not an absolute URL in ASCII"
    if not (enclosure.get("length") or "").isdigit():
        yield f"{where}: <enclosure> length {enclosure.get('length')!r} is not a byte count"
    if not _MIME_TYPE.match(enclosure.get("type") or ""):
        yield f"{where}: <enclosure> type {enclosure.get('type')!r} is not a MIME type"


def _check_media(where: str, item: Any) -> Iterator[str]:
    for media in item.iter(f"{{{MEDIA_NS}}}content", f"{{{MEDIA_NS}}}thumbnail"):
        name = _name(media)
        if not _is_rss_url(media.get("url")):
            yield f"{where}: <{name}> url {media.get('url')!r} is not an absolute URL in ASCII"
        media_type = media.get("type")
        if media_type is not None and not _MIME_TYPE.match(media_type):
            yield f"{where}: <{name}> type {media_type!r} is not a MIME type"
        medium = media.get("medium")
        if medium is not None and medium not in _MEDIA_MEDIUMS:
            yield f"{where}: <{name}> medium {medium!r} is not one of {sorted(_MEDIA_MEDIUMS)}"
        size = media.get("fileSize")
        if size is not None and not size.isdigit():
            yield f"{where}: <{name}> fileSize {size!r} is not a byte count"


# --------------------------------------------------------------------------------------------
# Atom 1.0
# --------------------------------------------------------------------------------------------

_TEXT_TYPES: Final = frozenset({"text", "html", "xhtml"})


def check_atom(data: bytes) -> list[str]:
    """Check an Atom 1.0 document against RFC 4287 and newswire's profile.

    Args:
        data: the document's bytes, as served.

    Returns:
        Every problem found, in document order; empty when the feed is valid.
    """
    root, problems = _parse_xml(data)
    if root is None:
        return problems
    if root.tag != f"{_A}feed":
        return [*problems, f"the root element is <{root.tag}>, expected Atom's <feed>"]
    problems.extend(_check_atom_common("feed", root))
    links = _children(root, f"{_A}link")
    if not any(link.get("rel") == "self" for link in links):
        problems.append('feed: missing <link rel="self">')
    feed_has_author = bool(_children(root, f"{_A}author"))
    ids: Counter[str] = Counter()
    for number, entry in enumerate(_children(root, f"{_A}entry"), start=1):
        where = f"entry {number}"
        problems.extend(_check_atom_common(where, entry))
        problems.extend(_check_atom_entry(where, entry))
        if not feed_has_author and not _children(entry, f"{_A}author"):
            problems.append(f"{where}: no <author>, and the feed has none to inherit")
        ids.update(_text(element).strip() for element in _children(entry, f"{_A}id"))
    problems.extend(f"id {value!r} is used by {n} entries" for value, n in ids.items() if n > 1)
    problems.extend(_check_tombstones(root, ids))
    return problems


def _check_tombstones(root: Any, live_ids: Counter[str]) -> Iterator[str]:
    """RFC 6721: each ``at:deleted-entry`` has an absolute IRI ``ref`` (of no entry the
    document still holds), an RFC 3339 ``when``, at most one ``at:comment`` of a known text
    type; none is nested in an entry (a feed-level tombstone is what readers look for)."""
    seen: Counter[str] = Counter()
    for number, tombstone in enumerate(_children(root, f"{_AT}deleted-entry"), start=1):
        where = f"deleted-entry {number}"
        ref = tombstone.get("ref")
        if not _is_absolute_iri(ref):
            yield f"{where}: ref {ref!r} is not an absolute IRI"
        elif ref in live_ids:
            yield f"{where}: ref {ref!r} is still an entry of the document"
        seen[ref or ""] += 1
        if problem := _rfc3339_problem(tombstone.get("when")):
            yield f"{where}: when {problem}"
        comments = _children(tombstone, f"{_AT}comment")
        if len(comments) > 1:
            yield f"{where}: has {len(comments)} <at:comment> elements, expected at most 1"
        for comment in comments:
            if comment.get("type", "text") not in _TEXT_TYPES:
                yield f"{where}: <at:comment type={comment.get('type')!r}>"
    yield from (f"ref {ref!r} has {n} tombstones" for ref, n in seen.items() if n > 1)
    for entry in _children(root, f"{_A}entry"):
        if entry.find(f".//{_AT}deleted-entry") is not None:
            yield "an <entry> holds an <at:deleted-entry>, expected it under <feed>"


def _check_atom_common(where: str, element: Any) -> Iterator[str]:
    """What RFC 4287 asks of both <feed> and <entry>."""
    for name in ("id", "title", "updated"):
        count = len(_children(element, f"{_A}{name}"))
        if count != 1:
            yield f"{where}: has {count} <{name}> elements, expected exactly 1"
    for identifier in _children(element, f"{_A}id"):
        if not _is_absolute_iri(_text(identifier).strip()):
            yield f"{where}: <id> {_text(identifier)!r} is not an absolute IRI"
    for name in ("updated", "published"):
        for date in _children(element, f"{_A}{name}"):
            if problem := _rfc3339_problem(date.text):
                yield f"{where}: <{name}> {problem}"
    for name in ("title", "subtitle", "summary", "rights"):
        for text in _children(element, f"{_A}{name}"):
            if text.get("type", "text") not in _TEXT_TYPES:
                yield f"{where}: <{name} type={text.get('type')!r}>, expected text/html/xhtml"
    for title in _children(element, f"{_A}title"):
        if not "".join(title.itertext()).strip():
            yield f"{where}: <title> is empty"
    for person in _children(element, f"{_A}author") + _children(element, f"{_A}contributor"):
        yield from _check_atom_person(where, person)
    yield from _check_atom_links(where, _children(element, f"{_A}link"))
    for category in _children(element, f"{_A}category"):
        if not (category.get("term") or "").strip():
            yield f"{where}: <category> has no term"


def _check_atom_person(where: str, person: Any) -> Iterator[str]:
    tag = _name(person)
    names = _children(person, f"{_A}name")
    if len(names) != 1 or not _text(names[0]).strip():
        yield f"{where}: <{tag}> needs exactly one non-empty <name>"
    for email in _children(person, f"{_A}email"):
        if not _EMAIL.match(_text(email)):
            yield f"{where}: <{tag}> email {_text(email)!r} is not an email address"
    for uri in _children(person, f"{_A}uri"):
        if not _is_absolute_url(_text(uri)):
            yield f"{where}: <{tag}> uri {_text(uri)!r} is not an absolute URL"


def _check_atom_links(where: str, links: list[Any]) -> Iterator[str]:
    alternates: Counter[tuple[str, str]] = Counter()
    for link in links:
        rel = link.get("rel", "alternate")
        if not _is_absolute_url(link.get("href")):
            yield f"{where}: <link rel={rel!r}> href {link.get('href')!r} is not an absolute URL"
        media_type = link.get("type")
        if media_type is not None and not _MIME_TYPE.match(media_type):
            yield f"{where}: <link rel={rel!r}> type {media_type!r} is not a MIME type"
        length = link.get("length")
        if length is not None and not length.isdigit():
            yield f"{where}: <link rel={rel!r}> length {length!r} is not a byte count"
        if rel == "enclosure" and media_type is None:
            yield f"{where}: <link rel='enclosure'> has no type"
        if rel == "alternate":
            alternates[(media_type or "", link.get("hreflang") or "")] += 1
    for (media_type, hreflang), count in alternates.items():
        if count > 1:
            yield (
                f"{where}: {count} <link rel='alternate'> with type={media_type!r} "
                f"hreflang={hreflang!r} (RFC 4287 allows one)"
            )


def _check_atom_entry(where: str, entry: Any) -> Iterator[str]:
    contents = _children(entry, f"{_A}content")
    has_alternate = any(
        link.get("rel", "alternate") == "alternate" for link in _children(entry, f"{_A}link")
    )
    if not contents and not has_alternate:
        yield f"{where}: needs a <content> or a <link rel='alternate'>"
    if len(contents) > 1:
        yield f"{where}: has {len(contents)} <content> elements"
    for content in contents:
        if content.get("type") != "html":
            yield f'{where}: <content type={content.get("type")!r}>, expected type="html"'
            continue
        yield from _check_escaped_html(where, content)
    for summary in _children(entry, f"{_A}summary"):
        if summary.get("type") == "html":
            yield from _check_escaped_html(where, summary)


# --------------------------------------------------------------------------------------------
# JSON Feed 1.1
# --------------------------------------------------------------------------------------------

_URL: Final = {"type": "string", "format": "absolute-url"}
_DATE: Final = {"type": "string", "format": "rfc3339-with-zone"}
_STRING: Final = {"type": "string"}
_EXTENSIONS: Final = {"^_[a-zA-Z0-9]": {"type": "object"}}
_AUTHOR: Final = {
    "type": "object",
    "properties": {"name": _STRING, "url": _URL, "avatar": _URL},
    "anyOf": [{"required": ["name"]}, {"required": ["url"]}, {"required": ["avatar"]}],
    "patternProperties": _EXTENSIONS,
    "additionalProperties": False,
}
_ATTACHMENT: Final = {
    "type": "object",
    "required": ["url", "mime_type"],
    "properties": {
        "url": _URL,
        "mime_type": {"type": "string", "pattern": _MIME_TYPE.pattern},
        "title": _STRING,
        "size_in_bytes": {"type": "integer", "minimum": 0},
        "duration_in_seconds": {"type": "number", "minimum": 0},
    },
    "patternProperties": _EXTENSIONS,
    "additionalProperties": False,
}
_ITEM: Final = {
    "type": "object",
    "required": ["id"],
    "anyOf": [{"required": ["content_html"]}, {"required": ["content_text"]}],
    "properties": {
        "id": {"type": "string", "minLength": 1},
        "url": _URL,
        "external_url": _URL,
        "title": _STRING,
        "content_html": _STRING,
        "content_text": _STRING,
        "summary": _STRING,
        "image": _URL,
        "banner_image": _URL,
        "date_published": _DATE,
        "date_modified": _DATE,
        "author": _AUTHOR,
        "authors": {"type": "array", "items": _AUTHOR},
        "tags": {"type": "array", "items": {"type": "string", "minLength": 1}},
        "language": {"type": "string", "pattern": _LANGUAGE.pattern},
        "attachments": {"type": "array", "items": _ATTACHMENT},
    },
    "patternProperties": _EXTENSIONS,
    "additionalProperties": False,
}
#: JSON Feed 1.1 (https://jsonfeed.org/version/1.1) as a JSON Schema. Unknown keys are
#: refused unless they are ``_extensions``: a typo such as ``date_publised`` must not pass.
JSON_FEED_SCHEMA: Final = {
    "$schema": "https://json-schema.org/draft/2020-12/schema",
    "type": "object",
    "required": ["version", "title", "items"],
    "properties": {
        "version": {"const": JSON_FEED_VERSION},
        "title": {"type": "string", "minLength": 1},
        "home_page_url": _URL,
        "feed_url": _URL,
        "description": _STRING,
        "user_comment": _STRING,
        "next_url": _URL,
        "icon": _URL,
        "favicon": _URL,
        "author": _AUTHOR,
        "authors": {"type": "array", "items": _AUTHOR},
        "language": {"type": "string", "pattern": _LANGUAGE.pattern},
        "expired": {"type": "boolean"},
        "hubs": {
            "type": "array",
            "items": {
                "type": "object",
                "required": ["type", "url"],
                "properties": {"type": _STRING, "url": _URL},
            },
        },
        "items": {"type": "array", "items": _ITEM},
    },
    "patternProperties": _EXTENSIONS,
    "additionalProperties": False,
}

_FORMATS = jsonschema.FormatChecker(formats=())
_FORMATS.checks("absolute-url")(_is_absolute_url)
_FORMATS.checks("rfc3339-with-zone")(lambda value: _rfc3339_problem(value) is None)
_JSON_VALIDATOR: Final = jsonschema.Draft202012Validator(JSON_FEED_SCHEMA, format_checker=_FORMATS)


def check_json_feed(data: bytes) -> list[str]:
    """Check a JSON Feed 1.1 document against :data:`JSON_FEED_SCHEMA` and unique ids.

    Args:
        data: the document's bytes, as served.

    Returns:
        Every problem found, by JSON path; empty when the feed is valid.
    """
    try:
        document = json.loads(data.decode("utf-8"))
    except UnicodeDecodeError as e:
        return [f"not UTF-8: {e}"]
    except json.JSONDecodeError as e:
        return [f"not JSON: {e}"]
    errors = sorted(_JSON_VALIDATOR.iter_errors(document), key=lambda e: (e.json_path, e.message))
    problems = [f"{error.json_path}: {_describe(error)}" for error in errors]
    if isinstance(document, dict) and isinstance(document.get("items"), list):
        ids = Counter(
            item["id"] for item in document["items"] if isinstance(item, dict) and "id" in item
        )
        problems.extend(f"id {value!r} is used by {n} items" for value, n in ids.items() if n > 1)
    for number, item in enumerate(_json_items(document)):
        html = item.get("content_html")
        if isinstance(html, str):
            problems.extend(f"$.items[{number}].content_html: {p}" for p in _html_problems(html))
    return problems


def _describe(error: jsonschema.ValidationError) -> str:
    if error.validator == "format":
        expected = {
            "absolute-url": "an absolute http(s) URL",
            "rfc3339-with-zone": "an RFC 3339 date-time with a zone",
        }.get(str(error.validator_value), str(error.validator_value))
        return f"{error.instance!r} is not {expected}"
    if error.validator == "anyOf" and error.json_path.startswith("$.items["):
        return "needs content_html or content_text"
    if error.validator == "additionalProperties" and isinstance(error.instance, dict):
        known = error.schema.get("properties", {})
        patterns = error.schema.get("patternProperties", {})
        unknown = [
            key
            for key in error.instance
            if key not in known and not any(re.search(p, key) for p in patterns)
        ]
        return f"unknown key(s) {', '.join(map(repr, unknown))} (extensions start with '_')"
    return str(error.message)


def _json_items(document: Any) -> list[dict[str, Any]]:
    if not isinstance(document, dict) or not isinstance(document.get("items"), list):
        return []
    return [item for item in document["items"] if isinstance(item, dict)]


# --------------------------------------------------------------------------------------------
# Entry points
# --------------------------------------------------------------------------------------------

_CHECKS: Final = {
    FeedFormat.RSS: check_rss,
    FeedFormat.ATOM: check_atom,
    FeedFormat.JSON: check_json_feed,
}
_FEEDPARSER_VERSIONS: Final = {FeedFormat.RSS: "rss20", FeedFormat.ATOM: "atom10"}


def check_feed(data: bytes, fmt: FeedFormat) -> list[str]:
    """Run the check for ``fmt`` (see :func:`check_rss` and friends)."""
    return _CHECKS[fmt](data)


def assert_valid(data: bytes, fmt: FeedFormat) -> None:
    """Fail the calling test unless ``data`` is a valid feed that a real parser reads cleanly.

    RSS and Atom must also parse in feedparser with ``bozo`` false and the right version.
    feedparser 6.0 has no JSON Feed support, so a JSON Feed is read by ``reader`` instead.

    Args:
        data: the document's bytes.
        fmt: the format it claims to be.

    Raises:
        AssertionError: listing every problem found.
    """
    problems = check_feed(data, fmt)
    assert not problems, f"invalid {fmt.name} feed:\n  " + "\n  ".join(problems)
    if fmt is FeedFormat.JSON:
        read_with_reader(data, fmt)
        return
    parsed = feedparser.parse(data)
    assert not parsed.bozo, f"feedparser: {parsed.get('bozo_exception')!r}"
    assert parsed.version == _FEEDPARSER_VERSIONS[fmt], f"feedparser: version {parsed.version!r}"


def read_with_reader(data: bytes, fmt: FeedFormat) -> tuple[Any, list[Any]]:
    """Read ``data`` as lemon24/reader does: a real reader's view of the feed.

    The document is written to a temporary folder that reader may open (``feed_root``); any
    parse error is raised, not logged.

    Args:
        data: the document's bytes.
        fmt: its format (the file name tells reader which parser to use).

    Returns:
        reader's ``Feed`` and its entries, in the order the document lists them.
    """
    _provide_sgmllib()
    with tempfile.TemporaryDirectory() as folder:
        Path(folder, fmt.filename).write_bytes(data)
        reader = make_reader(":memory:", feed_root=folder, plugins=())
        try:
            reader.add_feed(fmt.filename)
            reader.update_feed(fmt.filename)
            feed = reader.get_feed(fmt.filename)
            # reader orders by its own clock; the document's order is what was published.
            by_id = {entry.id: entry for entry in reader.get_entries(feed=feed)}
        finally:
            reader.close()
    order = _document_ids(data, fmt)
    return feed, [by_id[entry_id] for entry_id in order if entry_id in by_id]


def _provide_sgmllib() -> None:
    """Let reader's vendored feedparser import ``sgmllib``.

    reader 3.26 vendors a feedparser that does ``import sgmllib`` (the ``sgmllib3k``
    package), but feedparser 6.0.12+ depends on its fork ``feedparser-sgmllib`` instead, so
    nothing installs ``sgmllib`` and reader fails on every feed. The fork has the same API.
    Once ``sgmllib3k`` is a test dependency this does nothing.
    """
    if "sgmllib" not in sys.modules and importlib.util.find_spec("sgmllib") is None:
        import feedparser_sgmllib

        sys.modules["sgmllib"] = feedparser_sgmllib


def _document_ids(data: bytes, fmt: FeedFormat) -> list[str]:
    if fmt is FeedFormat.JSON:
        return [str(item["id"]) for item in _json_items(json.loads(data))]
    root = etree.fromstring(data, etree.XMLParser(resolve_entities=False, no_network=True))
    path = "channel/item/guid" if fmt is FeedFormat.RSS else f"{_A}entry/{_A}id"
    return [_text(element).strip() for element in root.findall(path)]


# ---------------------------------------------------------------------------------------------
# The other files published beside the feeds
# ---------------------------------------------------------------------------------------------

_SITEMAP_NS: Final = "http://www.sitemaps.org/schemas/sitemap/0.9"
_NEWS_NS: Final = "http://www.google.com/schemas/sitemap-news/0.9"
_XSL_NS: Final = "http://www.w3.org/1999/XSL/Transform"
_PARSER: Final = etree.XMLParser(resolve_entities=False, no_network=True, load_dtd=False)


def feed_format_of(path: str) -> FeedFormat | None:
    """The format of a published feed file, or ``None`` for the sitemap and stylesheet."""
    name = path.rsplit("/", 1)[-1]
    return next((fmt for fmt in FeedFormat if fmt.filename == name), None)


def check_news_sitemap(data: bytes) -> list[str]:
    """Google News sitemap rules: urlset, absolute loc, publication name and language, a
    W3C date with a zone, a title; at most 1,000 URLs."""
    problems: list[str] = []
    try:
        root = etree.fromstring(data, _PARSER)
    except etree.XMLSyntaxError as e:
        return [f"not well-formed XML: {e}"]
    if root.tag != f"{{{_SITEMAP_NS}}}urlset":
        return [f"root is {root.tag}, expected sitemaps.org urlset"]
    urls = root.findall(f"{{{_SITEMAP_NS}}}url")
    if len(urls) > 1000:
        problems.append(f"{len(urls)} URLs, Google News reads at most 1,000")
    n = f"{{{_NEWS_NS}}}"
    for url in urls:
        loc = url.findtext(f"{{{_SITEMAP_NS}}}loc") or ""
        if not _is_absolute_url(loc):
            problems.append(f"loc {loc!r} is not an absolute URL")
        news = url.find(f"{n}news")
        if news is None:
            problems.append(f"{loc}: no news:news")
            continue
        for field in (f"{n}publication/{n}name", f"{n}publication/{n}language", f"{n}title"):
            if not (news.findtext(field) or "").strip():
                problems.append(f"{loc}: empty {field.rsplit('}', 1)[-1]}")
        date = news.findtext(f"{n}publication_date") or ""
        try:
            if datetime.fromisoformat(date).tzinfo is None:
                problems.append(f"{loc}: publication_date {date!r} has no time zone")
        except ValueError:
            problems.append(f"{loc}: publication_date {date!r} is not a W3C date")
    return problems


#: The sitemaps.org protocol's limits, per sitemap and per index.
_MAX_SITEMAP_URLS: Final = 50_000
_MAX_SITEMAP_BYTES: Final = 50 * 1024 * 1024


def check_sitemap(data: bytes, *, index: bool = False) -> list[str]:
    """sitemaps.org rules of a sitemap (``urlset``) or, with ``index``, a sitemap index
    (``sitemapindex``): the namespace, a ``loc`` in each entry, absolute and under 2,048
    characters, only the protocol's elements, a ``lastmod`` (if any) a W3C date with a zone,
    at most 50,000 entries and 50 MB."""
    root_tag, entry_tag = ("sitemapindex", "sitemap") if index else ("urlset", "url")
    allowed = {"loc", "lastmod"} if index else {"loc", "lastmod", "changefreq", "priority"}
    try:
        root = etree.fromstring(data, _PARSER)
    except etree.XMLSyntaxError as e:
        return [f"not well-formed XML: {e}"]
    s = f"{{{_SITEMAP_NS}}}"
    if root.tag != f"{s}{root_tag}":
        return [f"root is {root.tag}, expected sitemaps.org {root_tag}"]
    problems = []
    if len(data) > _MAX_SITEMAP_BYTES:
        problems.append(f"{len(data)} bytes, the protocol allows {_MAX_SITEMAP_BYTES}")
    if len(root) > _MAX_SITEMAP_URLS:
        problems.append(f"{len(root)} entries, the protocol allows {_MAX_SITEMAP_URLS}")
    for entry in root:
        if entry.tag != f"{s}{entry_tag}":
            problems.append(f"{entry.tag} in {root_tag}, expected {entry_tag}")
            continue
        children = [child.tag.removeprefix(s) for child in entry]
        loc = entry.findtext(f"{s}loc") or ""
        if children.count("loc") != 1 or set(children) - allowed:
            problems.append(f"{loc}: children {children}, expected one loc and {allowed}")
        if not _is_absolute_url(loc) or len(loc) >= 2048:
            problems.append(f"loc {loc!r} is not an absolute URL under 2,048 characters")
        if any(ord(c) > 0x7E or c in ' "<>' for c in loc):
            problems.append(f"loc {loc!r} is not URL-escaped")
        date = entry.findtext(f"{s}lastmod")
        try:
            if date is not None and datetime.fromisoformat(date).tzinfo is None:
                problems.append(f"{loc}: lastmod {date!r} has no time zone")
        except ValueError:
            problems.append(f"{loc}: lastmod {date!r} is not a W3C date")
    return problems


def check_published(path: str, data: bytes) -> list[str]:
    """Check any file a build publishes: feeds by format, the sitemaps, the XSLT stylesheet,
    the feed directory."""
    fmt = feed_format_of(path)
    if fmt is not None:
        return check_feed(data, fmt)
    if path.endswith("news-sitemap.xml"):
        return check_news_sitemap(data)
    if path == "sitemap.xml":
        return check_sitemap(data, index=True)
    if path.startswith("sitemaps/") and path.endswith(".xml"):
        return check_sitemap(data)
    if path.endswith(".xsl"):
        root = etree.fromstring(data, _PARSER)
        return [] if root.tag == f"{{{_XSL_NS}}}stylesheet" else [f"{path}: not XSLT"]
    directory = {
        "feeds.opml": check_opml,
        "index.html": check_directory_page,
        "directory.json": check_directory_data,
    }
    if path in directory:
        return directory[path](data)
    return [f"{path}: not a file newswire publishes"]
