"""Atom 1.0 output: what readers see, and what RFC 4287 asks of it."""

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
from newswire.rendering.atom import AtomRenderer
from newswire.rendering.registry import RENDERERS, render_feed
from tests.support.factories import JANE, NOMAIL, SAFE_TEXT, make_entry, make_feed
from tests.support.feedcheck import assert_valid, read_with_reader

A = "{http://www.w3.org/2005/Atom}"
NS = {"a": "http://www.w3.org/2005/Atom"}
XML_LANG = "{http://www.w3.org/XML/1998/namespace}lang"


def render(feed: Feed) -> bytes:
    return AtomRenderer().render(feed)


def root_of(data: bytes) -> Any:
    return etree.fromstring(data)


def only_entry(feed: Feed) -> Any:
    entries = root_of(render(feed)).findall(f"{A}entry")
    assert len(entries) == 1
    return entries[0]


def person(element: Any) -> dict[str, str]:
    return {etree.QName(child).localname: child.text for child in element}


def links(element: Any) -> list[dict[str, str]]:
    return [dict(link.attrib) for link in element.findall(f"{A}link")]


# --------------------------------------------------------------------------------------------
# The feed
# --------------------------------------------------------------------------------------------


def test_feed_describes_itself() -> None:
    root = root_of(render(make_feed(make_entry(1), make_entry(2))))

    assert root.findtext(f"{A}id") == "https://news.example/feeds/atom.xml"
    assert root.findtext(f"{A}title") == "Test News"
    assert root.findtext(f"{A}subtitle") == "News for tests"
    # feed.updated is the newest entry's updated time, not the time of rendering.
    assert root.findtext(f"{A}updated") == "2021-03-19T11:30:00+00:00"
    assert root.get(XML_LANG) == "en"
    assert [person(a) for a in root.findall(f"{A}author")] == [
        {"name": "News Desk", "email": "desk@news.example", "uri": "https://news.example/"}
    ]


def test_feed_links_to_itself_and_to_the_site() -> None:
    root = root_of(render(make_feed(make_entry())))

    assert links(root) == [
        {
            "href": "https://news.example/feeds/atom.xml",
            "rel": "self",
            "type": "application/atom+xml",
        },
        {"href": "https://news.example/", "rel": "alternate", "type": "text/html"},
    ]


def test_author_feed_is_identified_by_its_own_url() -> None:
    feed = make_feed(make_entry(), key=FeedKey(FeedKind.AUTHOR, "jane-doe", "Jane Doe"))

    root = root_of(render(feed))

    assert root.findtext(f"{A}id") == "https://news.example/feeds/authors/jane-doe/atom.xml"
    assert links(root)[0]["href"] == root.findtext(f"{A}id")


def test_generator_is_newswire_not_feedgen() -> None:
    data = render(make_feed(make_entry()))

    generator = root_of(data).find(f"{A}generator")
    assert generator.text == "newswire"
    assert generator.attrib == {}
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
    assert_valid(data, FeedFormat.ATOM)


# --------------------------------------------------------------------------------------------
# Entries
# --------------------------------------------------------------------------------------------


def test_entry_carries_the_entry() -> None:
    element = only_entry(make_feed(make_entry(1)))

    assert element.findtext(f"{A}id") == "https://news.example/articles/story-1/"
    assert element.findtext(f"{A}title") == "Story 1"
    assert element.findtext(f"{A}published") == "2021-03-19T09:30:00+00:00"
    assert element.findtext(f"{A}updated") == "2021-03-19T11:30:00+00:00"
    summary = element.find(f"{A}summary")
    assert (summary.get("type"), summary.text) == ("text", "Summary of story 1")
    assert [(c.get("term"), c.get("label")) for c in element.findall(f"{A}category")] == [
        ("world", "World"),
        ("cafe-society", "Café Society"),
    ]


def test_content_is_labelled_html() -> None:
    # Unlabelled content is text, and readers would show the markup.
    content = only_entry(make_feed(make_entry(1))).find(f"{A}content")

    assert content.get("type") == "html"
    assert content.text == '<p>Story 1 <a href="https://news.example/">home</a></p>'


def test_entry_links_keep_rel_type_and_length() -> None:
    # Without rel, type and length the enclosure would read as a second alternate link.
    element = only_entry(make_feed(make_entry(1)))

    assert links(element) == [
        {
            "href": "https://news.example/articles/story-1/",
            "rel": "alternate",
            "type": "text/html",
        },
        {
            "href": "https://cdn.news.example/1.png",
            "rel": "enclosure",
            "type": "image/png",
            "length": "2048",
        },
    ]


def test_enclosure_of_unknown_size_has_no_length_and_a_guessed_type() -> None:
    entry = make_entry(image=Image("https://cdn.news.example/photo.webp?w=800"))

    enclosure = links(only_entry(make_feed(entry)))[1]

    assert enclosure == {
        "href": "https://cdn.news.example/photo.webp?w=800",
        "rel": "enclosure",
        "type": "image/webp",
    }


def test_image_caption_is_the_enclosure_title() -> None:
    # Atom has no pixel size or credit; its link title is the one place for the caption.
    image = Image("https://cdn.news.example/1.png", "A cat", width=1200, caption="Ships")

    enclosure = links(only_entry(make_feed(make_entry(image=image))))[1]

    assert enclosure["title"] == "Ships"


def test_entry_without_image_has_only_its_alternate_link() -> None:
    element = only_entry(make_feed(make_entry(image=None)))

    assert [link["rel"] for link in links(element)] == ["alternate"]


def test_every_author_is_credited_with_name_email_and_uri() -> None:
    element = only_entry(make_feed(make_entry(authors=(JANE, NOMAIL))))

    assert [person(a) for a in element.findall(f"{A}author")] == [
        {"name": "Jane Doe", "email": "jane@news.example", "uri": "https://news.example/jane"},
        {"name": "Ivan Petrov"},
    ]


def test_entry_without_authors_falls_back_on_the_feeds_author() -> None:
    # RFC 4287: an entry without <author> takes the feed's, so none is invented for it.
    feed = make_feed(make_entry(authors=()))

    assert only_entry(feed).find(f"{A}author") is None
    assert feedparser.parse(render(feed)).feed.author_detail.name == "News Desk"
    assert_valid(render(feed), FeedFormat.ATOM)


def test_empty_summary_is_left_out() -> None:
    element = only_entry(make_feed(make_entry(summary="")))

    assert element.find(f"{A}summary") is None


def test_dates_are_in_utc_whatever_the_entrys_zone() -> None:
    from zoneinfo import ZoneInfo

    moscow = datetime(2021, 3, 19, 12, 30, tzinfo=ZoneInfo("Europe/Moscow"))
    element = only_entry(make_feed(make_entry(published=moscow)))

    assert element.findtext(f"{A}published") == "2021-03-19T09:30:00+00:00"


# --------------------------------------------------------------------------------------------
# Order, determinism, edge cases
# --------------------------------------------------------------------------------------------


def test_entries_keep_the_order_given() -> None:
    # Given out of date order on purpose: the renderer must neither sort nor reverse.
    entries = (make_entry(2), make_entry(1), make_entry(3))

    elements = root_of(render(make_feed(*entries))).findall(f"{A}entry")

    assert [e.findtext(f"{A}id") for e in elements] == [e.id for e in entries]


def test_same_feed_gives_the_same_bytes() -> None:
    entries = [make_entry(n) for n in (1, 2, 3)]

    assert render(make_feed(*entries)) == render(make_feed(*[replace(e) for e in entries]))


def test_only_the_feeds_own_dates_appear() -> None:
    feed = make_feed(make_entry(1), make_entry(2))

    dates = set(re.findall(rb"\d{4}-\d{2}-\d{2}T[\d:.]+(?:Z|[+-]\d{2}:\d{2})", render(feed)))

    assert dates == {
        b"2021-03-19T11:30:00+00:00",  # feed updated, entry 1 updated
        b"2021-03-19T09:30:00+00:00",
        b"2021-03-18T11:30:00+00:00",
        b"2021-03-18T09:30:00+00:00",
    }


def test_empty_feed_is_valid() -> None:
    data = render(make_feed())

    assert_valid(data, FeedFormat.ATOM)
    root = root_of(data)
    assert root.findall(f"{A}entry") == []
    assert root.findtext(f"{A}updated") == EMPTY_FEED_UPDATED.isoformat()


TYPOGRAPHY = "Q&A: “Smart” quotes, ‘single’ ones — and 5 < 6 & <i>tags</i> … 🎉"


def test_typography_round_trips_through_feedparser() -> None:
    # type="text" makes Atom unambiguous: even tag-like text stays text.
    entry = make_entry(title=TYPOGRAPHY, summary=TYPOGRAPHY)
    feed = make_feed(entry, title=f"News & “Views”: {TYPOGRAPHY}")

    parsed = feedparser.parse(render(feed))

    assert not parsed.bozo
    assert parsed.feed.title == f"News & “Views”: {TYPOGRAPHY}"
    assert parsed.entries[0].title == TYPOGRAPHY
    assert parsed.entries[0].summary == TYPOGRAPHY


def test_rich_feed_is_valid_for_feedcheck_and_feedparser() -> None:
    entries = (
        make_entry(1, authors=(JANE, NOMAIL)),
        make_entry(2, authors=(), image=None, summary=""),
        make_entry(3, tags=(), id="tag:news.example,2021:3", id_is_permalink=False),
    )

    assert_valid(render(make_feed(*entries)), FeedFormat.ATOM)


def test_reader_sees_titles_links_and_content() -> None:
    entries = (make_entry(1, title=TYPOGRAPHY), make_entry(2))

    feed, read = read_with_reader(render(make_feed(*entries)), FeedFormat.ATOM)

    assert feed.title == "Test News"
    assert [e.title for e in read] == [TYPOGRAPHY, "Story 2"]
    assert [e.link for e in read] == [e.url for e in entries]
    assert [e.content[0].value for e in read] == [e.content_html for e in entries]
    assert [e.updated for e in read] == [e.updated for e in entries]
    assert [(x.href, x.type, x.length) for x in read[0].enclosures] == [
        ("https://cdn.news.example/1.png", "image/png", 2048)
    ]


def test_registry_renders_atom_with_this_renderer() -> None:
    feed = make_feed(make_entry())

    assert RENDERERS[FeedFormat.ATOM].format is FeedFormat.ATOM
    assert render_feed(feed, FeedFormat.ATOM) == render(feed)


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

    assert_valid(render(make_feed(entry, title=title)), FeedFormat.ATOM)
