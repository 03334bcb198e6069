"""Strict, offline checks of the feed directory's documents, in the style of
:mod:`tests.support.feedcheck`: every problem as a sentence, an empty list when valid.

``feeds.opml`` against OPML 2.0 (http://opml.org/spec2.opml: one ``head`` and one ``body``,
every outline with ``text``, a ``type="rss"`` outline with an absolute ``xmlUrl``, RFC 822
dates) and as listparser, a subscription-list reader, imports it; ``index.html`` as a
self-contained page (no script, nothing loaded from elsewhere, balanced elements); and
``directory.json`` as the data the pipeline reads back.
"""

from __future__ import annotations

import json
from datetime import datetime
from email.utils import parsedate_to_datetime
from html.parser import HTMLParser
from urllib.parse import urlsplit

import listparser
from lxml import etree

_PARSER = etree.XMLParser(resolve_entities=False, no_network=True, load_dtd=False)
#: Elements that have no end tag.
_VOID = frozenset({"meta", "link", "br", "hr", "img", "input", "wbr"})
#: Elements a self-contained page with no script may not hold.
_FORBIDDEN = frozenset({"script", "iframe", "object", "embed", "img", "form", "base"})


def _absolute(url: str | None) -> bool:
    parts = urlsplit(url or "")
    return parts.scheme in ("http", "https") and bool(parts.netloc)


def check_opml(data: bytes) -> list[str]:
    """Problems of an OPML 2.0 subscription list (none: valid)."""
    try:
        root = etree.fromstring(data, _PARSER)
    except etree.XMLSyntaxError as e:
        return [f"not well-formed XML: {e}"]
    if root.tag != "opml" or root.get("version") != "2.0":
        return [f"root is <{root.tag} version={root.get('version')!r}>, expected OPML 2.0"]
    problems = []
    if [child.tag for child in root] != ["head", "body"]:
        problems.append(f"children {[child.tag for child in root]}, expected head and body")
    for name in ("dateCreated", "dateModified"):
        if (date := root.findtext(f"head/{name}")) is not None:
            try:
                parsedate_to_datetime(date)
            except (TypeError, ValueError):
                problems.append(f"head {name} {date!r} is not an RFC 822 date")
    outlines = list(root.iter("outline"))
    if not root.findall("body/outline"):
        problems.append("body holds no outline")
    for outline in outlines:
        if not outline.get("text"):
            problems.append(f"an outline has no text: {dict(outline.attrib)}")
        if outline.get("type") == "rss" and not _absolute(outline.get("xmlUrl")):
            problems.append(f"{outline.get('text')}: xmlUrl {outline.get('xmlUrl')!r}")
        if outline.get("htmlUrl") is not None and not _absolute(outline.get("htmlUrl")):
            problems.append(f"{outline.get('text')}: htmlUrl {outline.get('htmlUrl')!r}")
    imported = listparser.parse(data)
    if imported.bozo:
        problems.append(f"listparser: {imported.get('bozo_exception')}")
    wanted = {o.get("xmlUrl") for o in outlines if o.get("type") == "rss"}
    if {feed.url for feed in imported.feeds} != wanted:
        problems.append("listparser imports other feeds than the outlines name")
    return problems


class _Page(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.problems: list[str] = []
        self.open: list[str] = []
        self.seen: set[str] = set()

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.seen.add(tag)
        if tag in _FORBIDDEN:
            self.problems.append(f"<{tag}> in a page that runs and loads nothing")
        for name, value in attrs:
            if name.startswith("on"):
                self.problems.append(f"<{tag} {name}>: an event handler")
            if name in ("href", "src"):
                self._check_link(tag, value or "")
        if tag == "link" and dict(attrs).get("rel") == "stylesheet":
            self.problems.append("an external stylesheet")
        if tag not in _VOID:
            self.open.append(tag)

    def _check_link(self, tag: str, url: str) -> None:
        parts = urlsplit(url)
        if parts.scheme not in ("", "http", "https") or url.startswith("//"):
            self.problems.append(f"<{tag}> links {url!r}")
        elif parts.scheme and tag != "a":
            self.problems.append(f"<{tag}> loads {url!r} from elsewhere")

    def handle_endtag(self, tag: str) -> None:
        if not self.open or self.open[-1] != tag:
            self.problems.append(f"</{tag}> closes <{self.open[-1] if self.open else ''}>")
        else:
            self.open.pop()


def check_directory_page(data: bytes) -> list[str]:
    """Problems of the directory page (none: a self-contained, well-formed UTF-8 page)."""
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as e:
        return [f"not UTF-8: {e}"]
    problems = []
    if not text.startswith("<!DOCTYPE html>\n"):
        problems.append("no HTML5 doctype first")
    page = _Page()
    page.feed(text)
    page.close()
    problems += page.problems
    if page.open:
        problems.append(f"elements left open: {page.open}")
    if not {"html", "head", "title", "body", "main"} <= page.seen:
        problems.append(f"missing page elements: {sorted({'html', 'title', 'main'} - page.seen)}")
    for needed in ('<meta charset="utf-8">', 'name="viewport"', "Content-Security-Policy"):
        if needed not in text:
            problems.append(f"no {needed}")
    return problems


def check_directory_data(data: bytes) -> list[str]:
    """Problems of ``directory.json`` (none: the data the pipeline can read back)."""
    try:
        document = json.loads(data)
    except ValueError as e:
        return [f"not JSON: {e}"]
    if document.get("version") != 1 or not isinstance(document.get("feeds"), list):
        return ["not a version 1 directory with a feeds list"]
    problems = []
    for feed in document["feeds"]:
        if not isinstance(feed.get("id"), str) or not isinstance(feed.get("name"), str):
            problems.append(f"a feed without id or name: {feed}")
        if not isinstance(feed.get("articles"), int) or feed["articles"] < 0:
            problems.append(f"{feed.get('id')}: articles {feed.get('articles')!r}")
        if "updated" in feed and datetime.fromisoformat(feed["updated"]).tzinfo is None:
            problems.append(f"{feed.get('id')}: updated {feed['updated']!r} has no offset")
    return problems
