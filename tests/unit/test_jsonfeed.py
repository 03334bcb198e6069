"""JSON Feed 1.1 output: the document readers get, byte for byte where humans review it."""

from __future__ import annotations

import html
import json
import re
from dataclasses import replace
from datetime import datetime
from typing import Any

import pytest
from hypothesis import given, settings

from newswire.domain.feeds import EMPTY_FEED_UPDATED, Feed, FeedFormat, FeedKey, FeedKind
from newswire.domain.model import Image, Tag
from newswire.rendering.jsonfeed import JsonFeedRenderer, image_media_type
from newswire.rendering.registry import RENDERERS, render_feed
from tests.support.factories import JANE, NOMAIL, SAFE_TEXT, make_entry, make_feed
from tests.support.feedcheck import assert_valid, check_json_feed, read_with_reader


def render(feed: Feed) -> bytes:
    return JsonFeedRenderer().render(feed)


def document_of(feed: Feed) -> dict[str, Any]:
    document: dict[str, Any] = json.loads(render(feed))
    return document


# --------------------------------------------------------------------------------------------
# The feed
# --------------------------------------------------------------------------------------------


def test_feed_describes_itself_in_the_specs_order() -> None:
    document = document_of(make_feed(make_entry()))

    assert list(document) == [
        "version",
        "title",
        "home_page_url",
        "feed_url",
        "description",
        "language",
        "authors",
        "items",
    ]
    assert document["version"] == "https://jsonfeed.org/version/1.1"
    assert document["title"] == "Test News"
    assert document["home_page_url"] == "https://news.example/"
    assert document["feed_url"] == "https://news.example/feeds/feed.json"
    assert document["description"] == "News for tests"
    assert document["language"] == "en"
    # JSON Feed authors have no email: it stays out.
    assert document["authors"] == [{"name": "News Desk", "url": "https://news.example/"}]


def test_tag_feed_points_at_its_own_url() -> None:
    feed = make_feed(make_entry(), key=FeedKey(FeedKind.TAG, "world", "World"))

    assert document_of(feed)["feed_url"] == "https://news.example/feeds/tags/world/feed.json"


def test_layout_is_two_space_indented_utf8_with_a_final_newline() -> None:
    data = render(make_feed(make_entry(title="Café “quotes”")))

    assert data.startswith(b'{\n  "version": "https://jsonfeed.org/version/1.1",\n')
    assert data.endswith(b"}\n")
    # Characters as themselves, not \\u escapes: golden files stay readable.
    assert "Café “quotes”".encode() in data


# --------------------------------------------------------------------------------------------
# Items
# --------------------------------------------------------------------------------------------


def test_item_carries_the_entry() -> None:
    (item,) = document_of(make_feed(make_entry(1)))["items"]

    assert item == {
        "id": "https://news.example/articles/story-1/",
        "url": "https://news.example/articles/story-1/",
        "title": "Story 1",
        "content_html": '<p>Story 1 <a href="https://news.example/">home</a></p>',
        "summary": "Summary of story 1",
        "image": "https://cdn.news.example/1.png",
        "date_published": "2021-03-19T09:30:00+00:00",
        "date_modified": "2021-03-19T11:30:00+00:00",
        "authors": [{"name": "Jane Doe", "url": "https://news.example/jane"}],
        "tags": ["World", "Café Society"],
        "attachments": [
            {
                "url": "https://cdn.news.example/1.png",
                "mime_type": "image/png",
                "size_in_bytes": 2048,
            }
        ],
    }


def test_optional_fields_are_left_out_when_empty() -> None:
    entry = make_entry(summary="", authors=(), tags=(), image=None)

    (item,) = document_of(make_feed(entry))["items"]

    assert set(item) == {"id", "url", "title", "content_html", "date_published", "date_modified"}


def test_author_without_url_has_just_a_name() -> None:
    (item,) = document_of(make_feed(make_entry(authors=(NOMAIL, JANE))))["items"]

    assert item["authors"] == [
        {"name": "Ivan Petrov"},
        {"name": "Jane Doe", "url": "https://news.example/jane"},
    ]


def test_image_of_unknown_size_and_type_is_still_an_attachment() -> None:
    entry = make_entry(image=Image("https://cdn.news.example/photo.webp?w=800"))

    (item,) = document_of(make_feed(entry))["items"]

    assert item["attachments"] == [
        {"url": "https://cdn.news.example/photo.webp?w=800", "mime_type": "image/webp"}
    ]


def test_image_caption_is_the_attachment_title() -> None:
    # JSON Feed has no member for pixels or credit: only the caption has a place.
    image = Image("https://cdn.news.example/1.png", width=1200, credit="Ann", caption="Ships")

    (item,) = document_of(make_feed(make_entry(image=image)))["items"]

    assert item["attachments"] == [
        {"url": "https://cdn.news.example/1.png", "mime_type": "image/png", "title": "Ships"}
    ]


def test_dates_are_in_utc_whatever_the_entrys_zone() -> None:
    from zoneinfo import ZoneInfo

    moscow = datetime(2021, 3, 19, 12, 30, tzinfo=ZoneInfo("Europe/Moscow"))
    (item,) = document_of(make_feed(make_entry(published=moscow)))["items"]

    assert item["date_published"] == "2021-03-19T09:30:00+00:00"


@pytest.mark.parametrize(
    ("image", "expected"),
    [
        (Image("https://cdn.news.example/a.jpg", media_type="image/png"), "image/png"),
        (Image("https://cdn.news.example/a.PNG"), "image/png"),
        (Image("https://cdn.news.example/a.jpeg?size=large"), "image/jpeg"),
        (Image("https://cdn.news.example/a.avif"), "image/avif"),
        (Image("https://cdn.news.example/a.svg"), "image/svg+xml"),
        (Image("https://cdn.news.example/a.bmp"), "image/bmp"),
        (Image("https://cdn.news.example/a.pdf"), "image/jpeg"),
        (Image("https://cdn.news.example/image"), "image/jpeg"),
    ],
)
def test_image_media_type(image: Image, expected: str) -> None:
    assert image_media_type(image) == expected


# --------------------------------------------------------------------------------------------
# Order, determinism, edge cases
# --------------------------------------------------------------------------------------------


def test_items_keep_the_order_given() -> None:
    entries = (make_entry(2), make_entry(1), make_entry(3))

    items = document_of(make_feed(*entries))["items"]

    assert [item["id"] for item in items] == [e.id for e in entries]


def test_same_feed_gives_the_same_bytes() -> None:
    entries = [make_entry(n) for n in (1, 2, 3)]

    assert render(make_feed(*entries)) == render(make_feed(*[replace(e) for e in entries]))


def test_only_the_entries_dates_appear() -> None:
    data = render(make_feed(make_entry(1), make_entry(2)))

    dates = set(re.findall(rb"\d{4}-\d{2}-\d{2}T[\d:.]+(?:Z|[+-]\d{2}:\d{2})", data))

    assert dates == {
        b"2021-03-19T09:30:00+00:00",
        b"2021-03-19T11:30:00+00:00",
        b"2021-03-18T09:30:00+00:00",
        b"2021-03-18T11:30:00+00:00",
    }


def test_empty_feed_is_valid() -> None:
    data = render(make_feed())

    assert_valid(data, FeedFormat.JSON)
    assert json.loads(data)["items"] == []
    assert EMPTY_FEED_UPDATED.isoformat().encode() not in data


TYPOGRAPHY = "Q&A: “Smart” quotes, ‘single’ ones — and 5 < 6 & <i>tags</i> … 🎉"


def test_reader_sees_titles_links_summaries_and_content() -> None:
    entries = (make_entry(1, title=TYPOGRAPHY, summary=TYPOGRAPHY), make_entry(2))

    feed, read = read_with_reader(render(make_feed(*entries)), FeedFormat.JSON)

    assert feed.title == "Test News"
    assert [e.title for e in read] == [TYPOGRAPHY, "Story 2"]
    assert [e.summary for e in read] == [TYPOGRAPHY, "Summary of story 2"]
    assert [e.link for e in read] == [e.url for e in entries]
    assert [e.content[0].value for e in read] == [e.content_html for e in entries]
    assert [e.published for e in read] == [e.published for e in entries]


def test_rich_feed_is_valid() -> None:
    entries = (
        make_entry(1, authors=(JANE, NOMAIL)),
        make_entry(2, authors=(), image=None, summary="", tags=()),
        make_entry(3, id="urn:newswire:3", id_is_permalink=False),
    )

    assert_valid(render(make_feed(*entries)), FeedFormat.JSON)


def test_registry_renders_json_with_this_renderer() -> None:
    feed = make_feed(make_entry())

    assert RENDERERS[FeedFormat.JSON].format is FeedFormat.JSON
    assert render_feed(feed, FeedFormat.JSON) == render(feed)


def test_registry_has_a_renderer_for_every_format() -> None:
    assert set(RENDERERS) == set(FeedFormat)
    assert all(renderer.format is fmt for fmt, renderer in RENDERERS.items())


@settings(max_examples=40, deadline=None)
@given(title=SAFE_TEXT.filter(str.strip), summary=SAFE_TEXT, body=SAFE_TEXT, tag=SAFE_TEXT)
def test_any_article_text_gives_a_valid_feed_that_round_trips(
    title: str, summary: str, body: str, tag: str
) -> None:
    entry = make_entry(
        title=title,
        summary=summary,
        content_html=f"<p>{html.escape(body)}</p>",
        tags=(Tag.from_name(tag),) if tag else (),
    )

    data = render(make_feed(entry, title=title))

    assert check_json_feed(data) == []
    (item,) = json.loads(data)["items"]
    assert (item["title"], item.get("summary", ""), item["content_html"]) == (
        title,
        summary,
        entry.content_html,
    )
