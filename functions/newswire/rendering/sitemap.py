"""The Google News sitemap: the articles of the last two days, for news search engines.

Schema: https://www.google.com/schemas/sitemap-news/0.9 inside a sitemaps.org ``urlset``.
Google reads at most 1,000 ``<url>`` elements and only articles from the last two days.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime, timedelta

from lxml import etree

from newswire.domain.model import Entry, SiteConfig, rfc3339

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
