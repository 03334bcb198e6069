"""Sitemaps: the Google News sitemap of the last two days, and the site's sitemap index with
one sitemap per archive month, for search engines.

The news sitemap: https://www.google.com/schemas/sitemap-news/0.9 inside a sitemaps.org
``urlset``; Google reads at most 1,000 ``<url>`` elements and only articles from the last two
days. The sitemap index and the monthly sitemaps follow https://www.sitemaps.org/protocol.html.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime, timedelta
from functools import lru_cache
from typing import NamedTuple, Protocol
from urllib.parse import quote

from lxml import etree

from newswire.domain.model import Entry, SiteConfig, rfc3339
from newswire.rendering.base import FeedFile, ReplaceOnly

NEWS_SITEMAP_PATH = "news-sitemap.xml"
NEWS_SITEMAP_CONTENT_TYPE = "application/xml; charset=utf-8"
#: How far back Google News looks, and how many URLs one news sitemap may list.
NEWS_WINDOW = timedelta(days=2)
MAX_NEWS_URLS = 1000

_SITEMAP = "http://www.sitemaps.org/schemas/sitemap/0.9"
_NEWS = "http://www.google.com/schemas/sitemap-news/0.9"


def news_window_start(now: datetime) -> datetime:
    """The oldest publication time a news sitemap built at ``now`` still lists."""
    return now - NEWS_WINDOW


def render_news_sitemap(entries: Iterable[Entry], site: SiteConfig, now: datetime) -> bytes:
    """Render the news sitemap of ``entries`` published in the two days before ``now``.

    The one rule of what the sitemap lists, whatever gives the candidates: the build all its
    live articles (lazily: reading stops at the first one older than the window), the
    pipeline the index's newest since :func:`news_window_start`.

    Args:
        entries: candidate entries, newest first; read up to the first one published at or
            before the window's start.
        site: gives the publication's name and language.
        now: the time the window is measured from (not written into the output).

    Returns:
        UTF-8 XML, newest article first, at most :data:`MAX_NEWS_URLS` of them.
    """
    start = news_window_start(now)
    namespaces = {None: _SITEMAP, "news": _NEWS}  # None: the default namespace
    root = etree.Element(f"{{{_SITEMAP}}}urlset", nsmap=namespaces)  # type: ignore[arg-type]
    shown = 0
    for entry in entries:
        if entry.published <= start:
            break  # newest first: every one after is older still
        if entry.published > now:
            continue  # not published yet
        url = etree.SubElement(root, f"{{{_SITEMAP}}}url")
        etree.SubElement(url, f"{{{_SITEMAP}}}loc").text = entry.url
        news = etree.SubElement(url, f"{{{_NEWS}}}news")
        publication = etree.SubElement(news, f"{{{_NEWS}}}publication")
        etree.SubElement(publication, f"{{{_NEWS}}}name").text = site.title
        etree.SubElement(publication, f"{{{_NEWS}}}language").text = site.language.lower()
        etree.SubElement(news, f"{{{_NEWS}}}publication_date").text = rfc3339(entry.published)
        etree.SubElement(news, f"{{{_NEWS}}}title").text = entry.title
        shown += 1
        if shown == MAX_NEWS_URLS:
            break
    return etree.tostring(root, xml_declaration=True, encoding="UTF-8", pretty_print=True)


# --- the site's sitemap index and its monthly sitemaps (sitemaps.org 0.9) -------------------

#: The sitemaps.org sitemap index: one sitemap per archive month.
SITEMAP_INDEX_PATH = "sitemap.xml"
SITEMAP_CONTENT_TYPE = "application/xml; charset=utf-8"
#: The protocol's limits: per sitemap file (and per index) at most 50,000 URLs and 50 MB
#: uncompressed; a ``<loc>`` under 2,048 characters.
MAX_SITEMAP_BYTES = 50 * 1024 * 1024
MAX_LOC_CHARACTERS = 2047
#: URLs per monthly sitemap: below the protocol's 50,000 so that even URLs at the length limit
#: keep a sitemap under :data:`MAX_SITEMAP_BYTES` (a month with more is split in parts).
URLS_PER_SITEMAP = 20_000

#: Characters a URL keeps as they are (RFC 3986's reserved and ``%``); the rest not
#: unreserved (non-ASCII, spaces, quotes, controls) are percent-encoded as UTF-8.
_URL_SAFE = ":/?#[]@!$&'()*+,;=%~"


def sitemap_parts(articles: int) -> int:
    """How many sitemap files a month of ``articles`` live articles is published in (an
    emptied month keeps one, empty)."""
    return max(1, -(-articles // URLS_PER_SITEMAP))


def month_sitemap_path(month: str, part: int = 1) -> str:
    """Where part ``part`` (from 1) of ``month``'s sitemap is published:
    ``sitemaps/2026-12.xml``, then ``sitemaps/2026-12-2.xml``…"""
    return f"sitemaps/{month}.xml" if part == 1 else f"sitemaps/{month}-{part}.xml"


def first_part_of(path: str) -> str:
    """The path of the first part of the month sitemap ``path`` is a part of (any other path
    as it is): a month's further parts are found as it is rendered, and go with the first."""
    if path.startswith("sitemaps/") and path.count("-") == 2:
        return path.rsplit("-", 1)[0] + ".xml"
    return path


def is_sitemap_path(path: str) -> bool:
    """Whether ``path`` is the sitemap index or a monthly sitemap (neither is a feed: hubs are
    not told about them)."""
    return path == SITEMAP_INDEX_PATH or (path.startswith("sitemaps/") and path.endswith(".xml"))


class Located(Protocol):
    """What a sitemap lists of an article: an entry, or a build's :class:`SitemapUrl`."""

    @property
    def url(self) -> str: ...

    @property
    def updated(self) -> datetime: ...


class SitemapUrl(NamedTuple):
    """An article's URL and ``updated`` time, as its entry has them, without rendering the
    entry: a build lists every live article, most of which it never renders."""

    url: str
    updated: datetime


def render_month_sitemaps(
    month: str, entries: Sequence[Located], *, empty_next_part: bool = True
) -> list[FeedFile]:
    """The sitemap of ``month``: every article's URL with its ``lastmod``, in
    :func:`sitemap_parts` files of at most :data:`URLS_PER_SITEMAP` URLs.

    Oldest first, so that a new article changes only the last part. An article whose URL is
    :data:`MAX_LOC_CHARACTERS` or longer (escaped) is left out: the protocol refuses it.

    Args:
        month: ``YYYY-MM``, the archive month the entries are of.
        entries: every live article of the month, newest first (as its archive shows them).
        empty_next_part: with the parts, when the month may have just shrunk from one more
            (:func:`may_have_shrunk`), that next part as an empty sitemap, to write only over
            one already there (:class:`ReplaceOnly`): the pipeline's bucket keeps every part
            it wrote. A build, which removes the files it no longer writes, asks for none.
    """
    oldest_first = list(reversed(entries))
    paths = month_sitemap_paths(month, len(entries), empty_next_part=empty_next_part)
    files: list[FeedFile] = []
    parts = sitemap_parts(len(entries))
    for part, path in enumerate(paths, start=1):
        chunk = oldest_first[(part - 1) * URLS_PER_SITEMAP : part * URLS_PER_SITEMAP]
        made = FeedFile if part <= parts else ReplaceOnly  # the empty next part: see above
        files.append(made(path, SITEMAP_CONTENT_TYPE, render_sitemap(chunk)))
    return files


def month_sitemap_paths(
    month: str, articles: int, *, empty_next_part: bool = True
) -> tuple[str, ...]:
    """The paths of a month of ``articles``' sitemap: its parts, and with ``empty_next_part``
    the one after them when it may have just been emptied (see
    :func:`render_month_sitemaps`, which writes these). A rebuild that knows the count reads
    them all before its render, rather than reading a part only the render names in a
    second round."""
    parts = sitemap_parts(articles)
    if empty_next_part and may_have_shrunk(articles):
        parts += 1
    return tuple(month_sitemap_path(month, part) for part in range(1, parts + 1))


def may_have_shrunk(articles: int) -> bool:
    """Whether a month of ``articles`` may have had one more sitemap part before the change
    being rebuilt: its last part is within :func:`shrink_margin` articles of full.

    A month far from full cannot have lost a part in one rebuild, so it costs no more
    requests; one near it costs one more HEAD (and a render) per rebuild.
    """
    room = sitemap_parts(articles) * URLS_PER_SITEMAP - articles
    return articles > 0 and room < shrink_margin()


def shrink_margin() -> int:
    """The most of a month's articles one rebuild is taken to remove, for
    :func:`may_have_shrunk`: a twentieth of a part (1,000), far above an SQS batch (10
    changes) or a scheduler run (100 expiries). Only a reindex removes more at once (a
    ``timezone`` change moving thousands, files deleted while their events were lost), and
    it empties every stale part itself
    (:func:`newswire.pipeline.reindex.empty_stale_sitemap_parts`)."""
    return max(1, URLS_PER_SITEMAP // 20)


def render_sitemap(entries: Iterable[Located]) -> bytes:
    """A sitemaps.org ``urlset`` of ``entries``, in their order: each URL's ``<loc>`` and its
    ``<lastmod>`` (the entry's ``updated``, a W3C datetime in UTC)."""
    root = etree.Element(f"{{{_SITEMAP}}}urlset", nsmap={None: _SITEMAP})  # type: ignore[dict-item]
    for entry in entries:
        loc = sitemap_url(entry.url)
        if loc is None:
            continue
        url = etree.SubElement(root, f"{{{_SITEMAP}}}url")
        _set_loc(etree.SubElement(url, f"{{{_SITEMAP}}}loc"), loc)
        etree.SubElement(url, f"{{{_SITEMAP}}}lastmod").text = rfc3339(entry.updated)
    return etree.tostring(root, xml_declaration=True, encoding="UTF-8", pretty_print=True)


def render_sitemap_index(months: Mapping[str, int], site: SiteConfig) -> bytes:
    """The sitemap index: every part of each month's sitemap, oldest month first.

    No ``<lastmod>`` (optional in an index): it would change with every edit, and an edit is
    to rewrite its month's sitemap alone. The protocol's 50,000 sitemaps per index are
    thousands of years of months.

    Args:
        months: live articles per month; months with none are left out.
        site: gives ``feeds_url``, under which the sitemaps are published.
    """
    return _sitemap_index(sitemap_index_parts(months), site.feeds_url)


def sitemap_index_parts(months: Mapping[str, int]) -> tuple[tuple[str, int], ...]:
    """What the sitemap index lists of ``months`` (live articles per month): each month with
    any, oldest first, with its number of sitemap parts. A rebuild compares it to tell
    whether the index changed."""
    return tuple(
        (month, sitemap_parts(count)) for month, count in sorted(months.items()) if count > 0
    )


@lru_cache(maxsize=4)
def _sitemap_index(parts: tuple[tuple[str, int], ...], feeds_url: str) -> bytes:
    """:func:`render_sitemap_index` of each month's part count, kept: every publish rebuilds
    the index, which grows with the archive (a line per month), and a new article rarely
    changes what it lists, so a warm function renders it again only when that changes."""
    root = etree.Element(f"{{{_SITEMAP}}}sitemapindex", nsmap={None: _SITEMAP})  # type: ignore[dict-item]
    for month, count in parts:
        for part in range(1, count + 1):
            sitemap = etree.SubElement(root, f"{{{_SITEMAP}}}sitemap")
            loc = quote(feeds_url + month_sitemap_path(month, part), safe=_URL_SAFE)
            _set_loc(etree.SubElement(sitemap, f"{{{_SITEMAP}}}loc"), loc)
    return etree.tostring(root, xml_declaration=True, encoding="UTF-8", pretty_print=True)


def sitemap_url(url: str) -> str | None:
    """``url`` as a ``<loc>`` takes it: percent-encoded where RFC 3986 wants it (non-ASCII,
    spaces, quotes), or ``None`` when, entity-escaped, it reaches the protocol's length
    limit."""
    encoded = quote(url, safe=_URL_SAFE)
    escaped = len(encoded) + 4 * encoded.count("&") + 5 * encoded.count("'")
    return encoded if escaped <= MAX_LOC_CHARACTERS else None


def _set_loc(element: etree._Element, url: str) -> None:
    """Give ``element`` the text ``url`` with ``'`` written ``&apos;``, as the protocol's
    escaping table asks (lxml escapes ``&``, ``<`` and ``>`` itself)."""
    first, *rest = url.split("'")
    element.text = first
    for text in rest:
        apostrophe = etree.Entity("apos")
        apostrophe.tail = text
        element.append(apostrophe)
