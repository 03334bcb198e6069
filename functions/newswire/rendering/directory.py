"""The site's front door: an OPML subscription list, a directory page and their data.

Three documents at the root of ``feeds_url``, all from one list of
:class:`~newswire.domain.directory.ListedFeed`:

- ``feeds.opml``: OPML 2.0 (http://opml.org/spec2.opml), every subscription feed grouped in
  outlines "Main", "Sections", "Tags" and "Authors", so a reader imports a whole desk at once;
- ``index.html``: the directory page for people (:mod:`newswire.rendering.directory_page`);
- ``directory.json``: the listings themselves, which the pipeline reads back to update only
  the feeds a change rebuilt.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping, Sequence
from datetime import UTC
from email.utils import format_datetime

from lxml import etree

from newswire.domain.directory import ListedFeed, directory_order, grouped, listed_feed
from newswire.domain.feeds import FeedFormat, FeedKey, FeedKind, feed_head
from newswire.domain.model import Article, SiteConfig
from newswire.errors import DirectoryFormatError
from newswire.rendering.base import FeedFile
from newswire.rendering.directory_page import feed_url, render_directory_page
from newswire.rendering.entry import entry_head

OPML_PATH = "feeds.opml"
#: The media type OPML readers and the OPML community use for subscription lists: a browser
#: offers the file for download (to import) rather than showing raw XML as it would
#: ``application/xml``.
OPML_CONTENT_TYPE = "text/x-opml; charset=utf-8"
PAGE_PATH = "index.html"
PAGE_CONTENT_TYPE = "text/html; charset=utf-8"
DATA_PATH = "directory.json"
DATA_CONTENT_TYPE = "application/json; charset=utf-8"
DIRECTORY_PATHS = (DATA_PATH, OPML_PATH, PAGE_PATH)
_DATA_FORMAT = 1


def directory_files(listings: Sequence[ListedFeed], site: SiteConfig) -> list[FeedFile]:
    """The three documents of the directory of ``listings`` (in directory order)."""
    ordered = directory_order(listings)
    return [
        FeedFile(DATA_PATH, DATA_CONTENT_TYPE, render_directory_data(ordered)),
        FeedFile(OPML_PATH, OPML_CONTENT_TYPE, render_opml(ordered, site)),
        FeedFile(PAGE_PATH, PAGE_CONTENT_TYPE, render_directory_page(ordered, site)),
    ]


def planned_listings(
    plan: Iterable[tuple[FeedKey, Sequence[Article]]], digests: Mapping[str, str]
) -> list[ListedFeed]:
    """The listing of each feed a build planned (each with the articles it shows, newest
    first), as the pipeline lists it from its entries; ``digests``: of each feed's RSS
    document, by path (see :attr:`~newswire.domain.directory.ListedFeed.rss_sha256`)."""
    listings = []
    for key, shown in plan:
        latest = entry_head(shown[0]) if shown else None
        updated = max((article.shown_updated for article in shown), default=None)
        digest = digests.get(key.path(FeedFormat.RSS), "")
        listing = listed_feed(key, len(shown), latest, updated, digest)
        if listing is not None:
            listings.append(listing)
    return listings


def render_directory_data(listings: Sequence[ListedFeed]) -> bytes:
    """``directory.json``: the listings as JSON, in the order given."""
    data = {"version": _DATA_FORMAT, "feeds": [listing.to_dict() for listing in listings]}
    return json.dumps(data, ensure_ascii=False, indent=1).encode("utf-8") + b"\n"


def parse_directory_data(body: bytes | None) -> list[ListedFeed]:
    """The listings of a ``directory.json``; none when there is no file or it is not one of
    ours (a fresh bucket, or an edited file: a reindex lists every feed again). A listing
    that cannot be read is left out alone: the next publish must not shrink the directory
    to the feeds it touched because of one.

    Raises:
        DirectoryFormatError: the file is in a newer format (written by a newer newswire):
            read as empty, it would be overwritten with the few feeds a change touched.
    """
    if body is None:
        return []
    try:
        data = json.loads(body)
    except ValueError:
        return []
    if not isinstance(data, dict):
        return []
    version = data.get("version")
    if isinstance(version, int) and not isinstance(version, bool) and version > _DATA_FORMAT:
        raise DirectoryFormatError(
            f"{DATA_PATH}: version: {version}, expected {_DATA_FORMAT} (written by a newer "
            "newswire; left unchanged: run the newer version, or delete the file and reindex)"
        )
    if version != _DATA_FORMAT:
        return []
    feeds = data.get("feeds")
    if not isinstance(feeds, list):
        return []
    listings = []
    for item in feeds:
        try:
            listings.append(ListedFeed.from_dict(item))
        except (ValueError, TypeError, KeyError, AttributeError):
            continue  # the feed is listed again when a change next touches it
    return listings


def render_opml(listings: Sequence[ListedFeed], site: SiteConfig) -> bytes:
    """``feeds.opml``: one ``type="rss"`` outline per feed, in its group's outline.

    Each feed's ``xmlUrl`` is its RSS document: OPML's ``type="rss"`` names the format every
    reader that imports OPML subscribes to, where Atom and JSON Feed support varies; the RSS
    feed carries the same articles. ``htmlUrl`` is given where the feed has a page of its
    own (the main feed: the site). ``dateModified`` is the newest change of any feed, never
    the time of rendering, so the same feeds give the same bytes.
    """
    root = etree.Element("opml", version="2.0")
    head = etree.SubElement(root, "head")
    etree.SubElement(head, "title").text = f"{site.title}: feeds"
    updated = [listing.updated for listing in listings if listing.updated is not None]
    if updated:
        newest = max(updated).astimezone(UTC)
        etree.SubElement(head, "dateModified").text = format_datetime(newest)
    etree.SubElement(head, "ownerName").text = site.author.name
    etree.SubElement(head, "docs").text = "http://opml.org/spec2.opml"
    body = etree.SubElement(root, "body")
    for group, members in grouped(listings):
        outline = etree.SubElement(body, "outline", text=group, title=group)
        for listing in members:
            etree.SubElement(outline, "outline", _feed_outline(listing, site))
    return etree.tostring(root, xml_declaration=True, encoding="UTF-8", pretty_print=True)


def _feed_outline(listing: ListedFeed, site: SiteConfig) -> dict[str, str]:
    """The attributes of one feed's outline (lxml escapes their text)."""
    head = feed_head(listing.key, site)
    attributes = {
        "type": "rss",
        "version": "RSS2",
        "text": head.title,
        "title": head.title,
        "description": head.description,
        "xmlUrl": feed_url(listing, site, FeedFormat.RSS),
    }
    if listing.key.kind is FeedKind.MAIN:
        attributes["htmlUrl"] = site.base_url
    attributes["language"] = site.language
    return attributes
