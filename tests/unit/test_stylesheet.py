"""The browser view's stylesheet: what it shows of a feed, and that feed text stays text.

lxml runs the stylesheet with libxslt, the XSLT 1.0 engine browsers embed, so these checks
are fast and need no browser; ``tests/integration/test_browser.py`` opens real feeds in
Chromium.
"""

from __future__ import annotations

from datetime import UTC, datetime

import lxml.html
import pytest
from lxml import etree

from newswire.domain.feeds import Feed, FeedFormat, FeedKey, FeedKind
from newswire.domain.model import Entry, Person
from newswire.rendering.registry import render_feed
from newswire.rendering.stylesheet import (
    STYLESHEET_CONTENT_TYPE,
    STYLESHEET_PATH,
    stylesheet_bytes,
    stylesheet_file,
    stylesheet_href,
)

HOSTILE = 'Tom & Jerry <script>alert("x")</script> <b>bold</b> &amp; 3 < 4'


def make_entry(number: int = 1, summary: str = "A summary") -> Entry:
    published = datetime(2022, 2, 5 + number, 16, 10, tzinfo=UTC)
    return Entry(
        slug=f"story-{number}",
        id=f"https://news.example/articles/story-{number}/",
        id_is_permalink=True,
        url=f"https://news.example/articles/story-{number}/",
        title=f"Story {number}",
        summary=summary,
        content_html="<p>Body</p>",
        published=published,
        updated=published.replace(hour=18),
        authors=(Person("Jane Doe"),),
        tags=(),
    )


MAIN = FeedKey(FeedKind.MAIN)


def make_feed(*entries: Entry, key: FeedKey = MAIN) -> Feed:
    return Feed(
        key=key,
        title="Test News",
        description="News for tests",
        home_url="https://news.example/",
        feeds_url="https://news.example/feeds/",
        language="en",
        author=Person("News Desk", "desk@news.example"),
        entries=entries,
    )


def browser_view(feed: Feed, fmt: FeedFormat) -> lxml.html.HtmlElement:
    transform = etree.XSLT(etree.fromstring(stylesheet_bytes()))
    page = str(transform(etree.fromstring(render_feed(feed, fmt))))
    return lxml.html.fromstring(page)


FORMATS = [pytest.param(FeedFormat.RSS, id="rss"), pytest.param(FeedFormat.ATOM, id="atom")]


@pytest.mark.parametrize(
    ("feed_path", "href"),
    [
        ("rss.xml", "feed.xsl"),
        ("atom.xml", "feed.xsl"),
        ("tags/world/rss.xml", "../../feed.xsl"),
        ("authors/jane-doe/atom.xml", "../../feed.xsl"),
    ],
)
def test_href_leads_from_any_feed_to_the_feeds_root(feed_path: str, href: str) -> None:
    assert stylesheet_href(feed_path) == href


def test_stylesheet_is_published_as_xsl_at_the_root() -> None:
    published = stylesheet_file()

    assert (published.path, published.content_type) == (STYLESHEET_PATH, STYLESHEET_CONTENT_TYPE)
    assert published.body.startswith(b'<?xml version="1.0" encoding="UTF-8"?>')
    # One inline script (the address the page was opened at) and nothing from elsewhere.
    assert published.body.count(b"<script") == published.body.count(b"<script>") == 1
    assert b"://" not in published.body.split(b"-->")[-1]


@pytest.mark.parametrize("fmt", FORMATS)
def test_page_explains_the_feed_and_gives_its_url(fmt: FeedFormat) -> None:
    feed = make_feed(make_entry(1), make_entry(2), key=FeedKey(FeedKind.TAG, "world", "World"))

    page = browser_view(feed, fmt)

    assert (
        page.findtext("head/title")
        == f"Test News ({'RSS' if fmt is FeedFormat.RSS else 'Atom'} feed)"
    )
    assert page.findtext(".//h1") == "Test News"
    assert page.get("lang") == "en"
    assert "This is a web feed" in page.text_content()
    assert page.find(".//code").text == feed.url(fmt)
    assert page.find(".//header//a").get("href") == "https://news.example/"


@pytest.mark.parametrize("fmt", FORMATS)
def test_items_are_linked_and_dated_in_the_feeds_order(fmt: FeedFormat) -> None:
    page = browser_view(make_feed(make_entry(1), make_entry(2)), fmt)

    items = page.findall(".//ol/li")
    assert [li.find("h3/a").text for li in items] == ["Story 1", "Story 2"]
    assert items[0].find("h3/a").get("href") == "https://news.example/articles/story-1/"
    time = items[0].find("time")
    # The publication date, readable, with a machine-readable datetime.
    assert time.text == "6 Feb 2022, 16:10 UTC"
    assert time.get("datetime").startswith("2022-02-06T16:10:00")
    assert items[0].findtext("p") == "A summary"


@pytest.mark.parametrize("fmt", FORMATS)
def test_summary_is_shown_as_written_and_never_as_markup(fmt: FeedFormat) -> None:
    page = browser_view(make_feed(make_entry(summary=HOSTILE)), fmt)

    assert page.find(".//ol/li/p").text == HOSTILE
    assert page.find(".//ol//script") is None and page.find(".//ol//b") is None
    assert len(page.findall(".//script")) == 1  # the stylesheet's own, not the summary's


@pytest.mark.parametrize("fmt", FORMATS)
def test_empty_feed_says_nothing_is_published_yet(fmt: FeedFormat) -> None:
    page = browser_view(make_feed(), fmt)

    assert page.find(".//ol") is None
    assert "Nothing published yet." in page.text_content()


def test_page_loads_nothing_from_elsewhere() -> None:
    page = browser_view(make_feed(make_entry()), FeedFormat.RSS)

    assert [script.get("src") for script in page.findall(".//script")] == [None]
    assert page.findall(".//link") == [] and page.findall(".//img") == []
    assert "@import" not in page.findtext(".//style") and "url(" not in page.findtext(".//style")


def test_browsers_get_feeds_as_xml_so_they_style_them_and_readers_get_feed_types() -> None:
    from newswire.rendering.stylesheet import browser_content_type

    chromium = "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8"
    reader = "application/rss+xml, application/atom+xml, application/xml;q=0.9, */*;q=0.8"
    rss, atom = "application/rss+xml; charset=utf-8", "application/atom+xml; charset=utf-8"
    json_feed = "application/feed+json; charset=utf-8"
    assert browser_content_type(rss, chromium) == "application/xml; charset=utf-8"
    assert browser_content_type(atom, chromium) == "application/xml; charset=utf-8"
    assert browser_content_type(rss, reader) == rss
    assert browser_content_type(atom, None) == atom
    assert browser_content_type(json_feed, chromium) == json_feed
