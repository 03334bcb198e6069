"""RSS 2.0 output: what readers see, and what the RSS Board's profile asks of it."""

from __future__ import annotations

import html
import re
from dataclasses import replace
from datetime import datetime
from typing import Any

import feedparser
import pytest
from hypothesis import given, settings
from lxml import etree

from newswire.domain.feeds import EMPTY_FEED_UPDATED, Feed, FeedFormat, FeedKey, FeedKind
from newswire.domain.model import Image, Person, Tag
from newswire.rendering.registry import RENDERERS, render_feed
from newswire.rendering.rss import RssRenderer
from tests.support.factories import JANE, NOMAIL, SAFE_TEXT, make_entry, make_feed
from tests.support.feedcheck import assert_valid, read_with_reader

NS = {
    "atom": "http://www.w3.org/2005/Atom",
    "content": "http://purl.org/rss/1.0/modules/content/",
    "dc": "http://purl.org/dc/elements/1.1/",
    "media": "http://search.yahoo.com/mrss/",
}


def render(feed: Feed) -> bytes:
    return RssRenderer().render(feed)


def channel_of(data: bytes) -> Any:
    return etree.fromstring(data).find("channel")


def only_item(feed: Feed) -> Any:
    items = channel_of(render(feed)).findall("item")
    assert len(items) == 1
    return items[0]


# --------------------------------------------------------------------------------------------
# The channel
# --------------------------------------------------------------------------------------------


def test_channel_describes_the_feed() -> None:
    feed = make_feed(make_entry(1), make_entry(2))

    channel = channel_of(render(feed))

    assert channel.findtext("title") == "Test News"
    assert channel.findtext("link") == "https://news.example/"
    assert channel.findtext("description") == "News for tests"
    assert channel.findtext("language") == "en"
    assert channel.findtext("docs") == "http://www.rssboard.org/rss-specification"
    assert channel.findtext("managingEditor") == "desk@news.example (News Desk)"
    # feed.updated is the newest entry's updated time, not the time of rendering.
    assert channel.findtext("lastBuildDate") == "Fri, 19 Mar 2021 11:30:00 +0000"


def test_channel_links_to_itself_as_rss() -> None:
    channel = channel_of(render(make_feed(make_entry())))

    (self_link,) = channel.findall("atom:link", NS)
    assert self_link.attrib == {
        "href": "https://news.example/feeds/rss.xml",
        "rel": "self",
        "type": "application/rss+xml",
    }


def test_tag_feed_links_to_its_own_url() -> None:
    feed = make_feed(make_entry(), key=FeedKey(FeedKind.TAG, "world", "World"))

    self_link = channel_of(render(feed)).find("atom:link", NS)

    assert self_link.get("href") == "https://news.example/feeds/tags/world/rss.xml"


def test_generator_is_newswire_not_feedgen() -> None:
    data = render(make_feed(make_entry()))

    assert channel_of(data).findtext("generator") == "newswire"
    assert b"feedgen" not in data


@pytest.mark.parametrize(
    ("key", "href"),
    [
        pytest.param(FeedKey(FeedKind.MAIN), "feed.xsl", id="main"),
        pytest.param(FeedKey(FeedKind.TAG, "world", "World"), "../../feed.xsl", id="tag"),
        pytest.param(FeedKey(FeedKind.AUTHOR, "jane-doe", "Jane"), "../../feed.xsl", id="author"),
    ],
)
def test_browsers_are_pointed_at_the_stylesheet_at_the_feeds_root(key: FeedKey, href: str) -> None:
    data = render(make_feed(make_entry(), key=key))

    # Right after the XML declaration, relative to the feed: it works on any host.
    assert data.startswith(
        b"<?xml version='1.0' encoding='UTF-8'?>\n"
        + f'<?xml-stylesheet type="text/xsl" href="{href}"?>\n'.encode()
    )
    parsed = feedparser.parse(data)
    assert not parsed.bozo, parsed.get("bozo_exception")
    assert_valid(data, FeedFormat.RSS)


def test_namespaces_are_declared_once_on_the_root() -> None:
    data = render(make_feed(make_entry()))

    root = etree.fromstring(data)
    assert root.nsmap == {"atom": NS["atom"], "content": NS["content"], "dc": NS["dc"],
                          "media": NS["media"]}  # fmt: skip
    assert data.count(b"xmlns:") == 4


def test_without_a_site_email_there_is_no_managing_editor() -> None:
    feed = make_feed(make_entry(), author=Person("News Desk"))

    assert channel_of(render(feed)).find("managingEditor") is None


# --------------------------------------------------------------------------------------------
# Items
# --------------------------------------------------------------------------------------------


def test_item_carries_the_entry() -> None:
    item = only_item(make_feed(make_entry(1)))

    assert item.findtext("title") == "Story 1"
    assert item.findtext("link") == "https://news.example/articles/story-1/"
    assert item.findtext("description") == "Summary of story 1"
    assert item.findtext("content:encoded", namespaces=NS) == (
        '<p>Story 1 <a href="https://news.example/">home</a></p>'
    )
    assert item.findtext("pubDate") == "Fri, 19 Mar 2021 09:30:00 +0000"
    assert [c.text for c in item.findall("category")] == ["World", "Café Society"]


def test_pub_date_is_in_utc_whatever_the_entrys_zone() -> None:
    from zoneinfo import ZoneInfo

    moscow = datetime(2021, 3, 19, 12, 30, tzinfo=ZoneInfo("Europe/Moscow"))
    item = only_item(make_feed(make_entry(published=moscow)))

    assert item.findtext("pubDate") == "Fri, 19 Mar 2021 09:30:00 +0000"


def test_empty_summary_falls_back_on_the_title() -> None:
    item = only_item(make_feed(make_entry(summary="")))

    assert item.findtext("description") == "Story 1"


def test_plain_text_summary_is_escaped_for_readers_that_read_html() -> None:
    entry = make_entry(summary="Why 1 < 2 & <b>not</b> bold")

    data = render(make_feed(entry))

    assert only_item(make_feed(entry)).findtext("description") == (
        "Why 1 &lt; 2 &amp; &lt;b&gt;not&lt;/b&gt; bold"
    )
    parsed = feedparser.parse(data).entries[0]
    assert html.unescape(parsed.summary) == "Why 1 < 2 & <b>not</b> bold"


@pytest.mark.parametrize(("permalink", "expected"), [(True, "true"), (False, "false")])
def test_guid_is_a_permalink_only_when_the_entry_says_so(permalink: bool, expected: str) -> None:
    entry = make_entry(id="https://news.example/articles/story-1/", id_is_permalink=permalink)

    guid = only_item(make_feed(entry)).find("guid")

    assert guid.text == "https://news.example/articles/story-1/"
    assert guid.get("isPermaLink") == expected


def test_guid_that_is_not_a_url_is_not_a_permalink() -> None:
    entry = make_entry(id="urn:uuid:1b4e28ba-2fa1-11d2-883f-0016d3cca427", id_is_permalink=False)
    data = render(make_feed(entry))

    assert only_item(make_feed(entry)).find("guid").get("isPermaLink") == "false"
    assert_valid(data, FeedFormat.RSS)


def test_lone_author_with_email_is_the_author_element() -> None:
    item = only_item(make_feed(make_entry(authors=(JANE,))))

    assert [a.text for a in item.findall("author")] == ["jane@news.example (Jane Doe)"]
    assert item.find("dc:creator", NS) is None


def test_author_without_email_is_credited_with_dc_creator() -> None:
    # RSS 2.0's <author> is an email address.
    item = only_item(make_feed(make_entry(authors=(NOMAIL,))))

    assert [c.text for c in item.findall("dc:creator", NS)] == ["Ivan Petrov"]
    assert item.find("author") is None


def test_several_authors_are_all_credited_with_dc_creator() -> None:
    # One <author> per item at most, and never next to dc:creator (W3C validator).
    item = only_item(make_feed(make_entry(authors=(JANE, NOMAIL))))

    assert [c.text for c in item.findall("dc:creator", NS)] == ["Jane Doe", "Ivan Petrov"]
    assert item.find("author") is None


def test_entry_without_authors_credits_nobody() -> None:
    item = only_item(make_feed(make_entry(authors=())))

    assert item.find("author") is None
    assert item.find("dc:creator", NS) is None


def test_image_is_an_enclosure_with_url_length_and_type() -> None:
    item = only_item(make_feed(make_entry(1)))

    (enclosure,) = item.findall("enclosure")
    assert enclosure.attrib == {
        "url": "https://cdn.news.example/1.png",
        "length": "2048",
        "type": "image/png",
    }


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("https://cdn.news.example/a.webp", "image/webp"),
        ("https://cdn.news.example/a.JPG?w=800", "image/jpeg"),
        ("https://cdn.news.example/a.gif#x", "image/gif"),
        ("https://cdn.news.example/render?id=7", "image/jpeg"),
    ],
)
def test_enclosure_of_unknown_size_and_type(url: str, expected: str) -> None:
    entry = make_entry(image=Image(url, "A cat"))

    enclosure = only_item(make_feed(entry)).find("enclosure")

    assert enclosure.get("length") == "0"
    assert enclosure.get("type") == expected
    assert_valid(render(make_feed(entry)), FeedFormat.RSS)


def test_image_is_also_media_rss_with_its_alt_text() -> None:
    item = only_item(make_feed(make_entry(1)))

    (media,) = item.findall("media:content", NS)
    assert media.attrib == {
        "url": "https://cdn.news.example/1.png",
        "fileSize": "2048",
        "type": "image/png",
        "medium": "image",
    }
    assert media.findtext("media:description", namespaces=NS) == "A cat"
    # A media:group is for several versions of one medium, not for a lone image.
    assert item.find("media:group", NS) is None


def test_image_size_credit_and_caption_go_in_media_rss() -> None:
    image = Image(
        "https://cdn.news.example/1.png",
        "A cat",
        width=1200,
        height=800,
        credit="Ann",
        caption="Tom",
    )
    feed = make_feed(make_entry(image=image))

    media = only_item(feed).find("media:content", NS)

    assert (media.get("width"), media.get("height")) == ("1200", "800")
    # The caption is for every reader, so it takes the one description Media RSS has.
    assert media.findtext("media:description", namespaces=NS) == "Tom"
    assert media.findtext("media:credit", namespaces=NS) == "Ann"
    assert_valid(render(feed), FeedFormat.RSS)


def test_image_without_alt_text_has_no_media_description() -> None:
    entry = make_entry(image=Image("https://cdn.news.example/1.png"))

    media = only_item(make_feed(entry)).find("media:content", NS)

    assert media.find("media:description", NS) is None
    assert "fileSize" not in media.attrib


def test_an_iri_is_written_as_the_uri_rss_wants() -> None:
    # An article's URL or image may be an IRI; RSS 2.0 wants URLs, which are ASCII (the W3C
    # validator: "link must be a full and valid URL", UriNotIri and InvalidURLAttribute).
    entry = make_entry(
        url="https://news.example/café/",
        image=Image("https://bücher.example/straße.jpg", "A shelf"),
    )
    feed = make_feed(entry)

    item = only_item(feed)

    assert item.findtext("link") == "https://news.example/caf%C3%A9/"
    uri = "https://xn--bcher-kva.example/stra%C3%9Fe.jpg"
    assert item.find("enclosure").get("url") == uri
    assert item.find("media:content", NS).get("url") == uri
    assert_valid(render(feed), FeedFormat.RSS)


def test_an_ascii_url_is_written_as_given() -> None:
    url = "https://news.example/a%20b/?q=caf%C3%A9&x=1"
    item = only_item(make_feed(make_entry(url=url, image=Image(url, "x"))))

    assert item.findtext("link") == url
    assert item.find("enclosure").get("url") == url


def test_entry_without_image_has_no_enclosure_and_no_media() -> None:
    item = only_item(make_feed(make_entry(image=None)))

    assert item.find("enclosure") is None
    assert item.find("media:content", NS) is None


# --------------------------------------------------------------------------------------------
# Order, determinism, edge cases
# --------------------------------------------------------------------------------------------


def test_items_keep_the_order_given() -> None:
    # Given out of date order on purpose: the renderer must neither sort nor reverse.
    entries = (make_entry(2), make_entry(1), make_entry(3))

    items = channel_of(render(make_feed(*entries))).findall("item")

    assert [i.findtext("guid") for i in items] == [e.id for e in entries]


def test_same_feed_gives_the_same_bytes() -> None:
    entries = [make_entry(n) for n in (1, 2, 3)]

    first = render(make_feed(*entries))
    second = render(make_feed(*[replace(e) for e in entries]))

    assert first == second


def test_only_the_feeds_own_dates_appear() -> None:
    # No render time anywhere: every date in the output is one of the entries'.
    feed = make_feed(make_entry(1), make_entry(2))

    dates = set(re.findall(rb"\w{3}, \d{2} \w{3} \d{4} \d{2}:\d{2}:\d{2} [+-]\d{4}", render(feed)))

    assert dates == {
        b"Fri, 19 Mar 2021 11:30:00 +0000",  # lastBuildDate = feed.updated
        b"Fri, 19 Mar 2021 09:30:00 +0000",
        b"Thu, 18 Mar 2021 09:30:00 +0000",
    }


def test_empty_feed_is_valid() -> None:
    data = render(make_feed())

    assert_valid(data, FeedFormat.RSS)
    channel = channel_of(data)
    assert channel.findall("item") == []
    assert channel.findtext("lastBuildDate") == EMPTY_FEED_UPDATED.strftime(
        "%a, %d %b %Y %H:%M:%S +0000"
    )


def test_empty_content_writes_no_content_encoded() -> None:
    item = only_item(make_feed(make_entry(content_html="")))

    assert item.find("content:encoded", NS) is None


#: RSS cannot say whether a title is text or HTML; readers guess, and feedparser takes one
#: with something like "</i>" in it for HTML. Typography, "&" and a bare "<" survive exactly.
TYPOGRAPHY = "Q&A: “Smart” quotes, ‘single’ ones — AT&T’s 5 < 6 … 🎉"


def test_typography_round_trips_through_feedparser() -> None:
    feed = make_feed(make_entry(title=TYPOGRAPHY), title=f"News & “Views”: {TYPOGRAPHY}")

    parsed = feedparser.parse(render(feed))

    assert not parsed.bozo
    assert parsed.feed.title == f"News & “Views”: {TYPOGRAPHY}"
    assert parsed.entries[0].title == TYPOGRAPHY


def test_rich_feed_is_valid_for_feedcheck_and_feedparser() -> None:
    entries = (
        make_entry(1, authors=(JANE, NOMAIL)),
        make_entry(2, authors=(NOMAIL,), image=None, summary=""),
        make_entry(3, authors=(), tags=(), id="urn:newswire:3", id_is_permalink=False),
    )

    assert_valid(render(make_feed(*entries)), FeedFormat.RSS)


def test_reader_sees_titles_links_and_content() -> None:
    entries = (make_entry(1, title=TYPOGRAPHY), make_entry(2))

    feed, read = read_with_reader(render(make_feed(*entries)), FeedFormat.RSS)

    assert feed.title == "Test News"
    assert [e.title for e in read] == [TYPOGRAPHY, "Story 2"]
    assert [e.link for e in read] == [e.url for e in entries]
    assert [e.content[0].value for e in read] == [e.content_html for e in entries]
    assert read[0].published == entries[0].published
    assert [(x.href, x.type, x.length) for x in read[0].enclosures] == [
        ("https://cdn.news.example/1.png", "image/png", 2048)
    ]


def test_registry_renders_rss_with_this_renderer() -> None:
    feed = make_feed(make_entry())

    assert RENDERERS[FeedFormat.RSS].format is FeedFormat.RSS
    assert render_feed(feed, FeedFormat.RSS) == render(feed)


@settings(max_examples=40, deadline=None)
@given(
    title=SAFE_TEXT.filter(str.strip),
    summary=SAFE_TEXT,
    body=SAFE_TEXT,
    author=SAFE_TEXT.filter(str.strip),
    tag=SAFE_TEXT.filter(str.strip),
)
def test_any_article_text_gives_a_valid_feed(
    title: str, summary: str, body: str, author: str, tag: str
) -> None:
    entry = make_entry(
        title=title,
        summary=summary,
        content_html=f"<p>{html.escape(body)}</p>",
        authors=(Person(author),),
        tags=(Tag.from_name(tag),),
    )

    assert_valid(render(make_feed(entry, title=title)), FeedFormat.RSS)
