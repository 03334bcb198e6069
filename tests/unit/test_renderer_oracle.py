"""Items written once and spliced into documents give the bytes feedgen gave for whole feeds.

The renderers write each entry once per format (``item``) and assemble documents from those
bytes (``document``); subscribers must not see one byte change. The reference is the old
code, kept in :mod:`tests.support.feedgen_oracle`: feedgen writing every RSS and Atom document
whole, one ``json.dumps`` per JSON Feed document. Any feed hypothesis can think of, with
hostile text in every field, must render to the same bytes (or fail the same way).
"""

from __future__ import annotations

import dataclasses
from datetime import UTC, datetime, timedelta, timezone
from zoneinfo import ZoneInfo

import pytest
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from newswire.domain.feeds import Feed, FeedFormat, FeedKey, FeedKind, History, archive_key
from newswire.domain.model import Entry, Image, Person, Tag
from newswire.rendering.registry import (
    RENDERERS,
    render_document,
    render_feed,
    render_item,
    render_items,
)
from tests.support.factories import DESK, JANE, NOMAIL, make_entry, make_feed
from tests.support.feedgen_oracle import render_with_feedgen

#: Text as an entry may hold it once cleaned (clean_xml_text): any character XML allows, with
#: XML's specials, the line ends and tab, C1 controls and non-characters drawn often.
CHARACTERS = st.one_of(
    st.characters(codec="utf-8", exclude_categories=("Cs", "Cc", "Cn")),
    st.sampled_from("&<>\"'\r\n\t ]\x7f\x85\ufdd0"),
)
TEXT = st.text(CHARACTERS, max_size=20)
#: Titles, ids, links: feedgen refuses a feed or an Atom entry without them (tested below).
NONEMPTY = st.text(CHARACTERS, min_size=1, max_size=20)
URL = st.one_of(
    st.builds("https://news.example/{}".format, TEXT),
    st.sampled_from(["https://news.example/a?b=1&c=2", "https://cdn.example/café.webp"]),
    NONEMPTY,
)
HTML = st.one_of(
    st.just(""),
    TEXT,
    st.builds('<p class="x">{}</p>\r\n<p>]]&gt; &amp; {}</p>'.format, TEXT, TEXT),
)
OPTIONAL = st.one_of(st.none(), st.just(""), TEXT)
PEOPLE = st.builds(Person, name=TEXT, email=OPTIONAL, url=OPTIONAL)
TAGS = st.one_of(st.builds(Tag.from_name, TEXT), st.builds(Tag, name=TEXT, slug=TEXT))
IMAGES = st.builds(
    Image,
    url=URL,
    alt=TEXT,
    media_type=st.one_of(st.none(), st.sampled_from(["image/png", "image/webp", ""]), TEXT),
    length=st.one_of(st.none(), st.just(0), st.integers(min_value=1, max_value=10**10)),
)
ZONES = st.sampled_from(
    [UTC, ZoneInfo("Europe/London"), ZoneInfo("Asia/Kolkata"), timezone(timedelta(hours=-5))]
)
MOMENTS = st.datetimes(
    min_value=datetime(1990, 1, 1),
    max_value=datetime(2100, 1, 1),
    timezones=ZONES,
)
ENTRIES = st.builds(
    Entry,
    slug=st.just("story"),
    id=URL,
    id_is_permalink=st.booleans(),
    url=URL,
    title=NONEMPTY,
    summary=TEXT,
    content_html=HTML,
    published=MOMENTS,
    updated=MOMENTS,
    authors=st.lists(PEOPLE, max_size=3).map(tuple),
    tags=st.lists(TAGS, max_size=3).map(tuple),
    image=st.one_of(st.none(), IMAGES),
)
MONTHS = st.one_of(st.none(), st.sampled_from(["2024-01", "2025-12"]).map(archive_key))
HISTORIES = st.one_of(
    st.none(),
    st.builds(History, is_archive=st.booleans(), prev_archive=MONTHS, next_archive=MONTHS),
)
KEYS = st.sampled_from(
    [
        FeedKey(FeedKind.MAIN),
        FeedKey(FeedKind.TAG, "café-society", "Café & Society"),
        FeedKey(FeedKind.AUTHOR, "jane-doe", "Jane Doe"),
        archive_key("2025-07"),
    ]
)
FEEDS = st.builds(
    Feed,
    key=KEYS,
    title=NONEMPTY,
    description=TEXT,
    home_url=URL,
    feeds_url=st.sampled_from(["https://news.example/feeds/", 'https://n.example/f&<"/']),
    language=st.sampled_from(["en", "ru", "en-GB"]),
    author=PEOPLE,
    entries=st.lists(ENTRIES, max_size=4).map(tuple),
    hubs=st.lists(URL, max_size=2).map(tuple),
    history=HISTORIES,
)

SETTINGS = settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def assert_renders_as_feedgen_did(feed: Feed, fmt: FeedFormat) -> str:
    """Same bytes as the old renderer; or, where feedgen refused the feed, a ValueError too.

    Returns:
        Which of the two it was, for hypothesis's statistics.
    """
    try:
        expected = render_with_feedgen(feed, fmt)
    except ValueError:
        with pytest.raises(ValueError):
            render_feed(feed, fmt)
        return "refused"
    assert render_feed(feed, fmt) == expected
    return f"{len(feed.entries)} entries"


def head_of(feed: Feed) -> Feed:
    """What a build's workers get of a feed: its head, no entries, their newest change."""
    return dataclasses.replace(feed, entries=(), updated_at=feed.updated)


@SETTINGS
@given(FEEDS, st.sampled_from(FeedFormat))
def test_any_feed_renders_to_the_bytes_feedgen_wrote(feed: Feed, fmt: FeedFormat) -> None:
    event(assert_renders_as_feedgen_did(feed, fmt))


@SETTINGS
@given(FEEDS, st.sampled_from(FeedFormat))
def test_document_of_a_feed_head_and_its_items_is_the_full_feed(
    feed: Feed, fmt: FeedFormat
) -> None:
    try:
        items = [render_item(entry, fmt) for entry in feed.entries]
        expected = render_feed(feed, fmt)
    except ValueError:
        return  # an entry or a head feedgen refused; the test above covers the error
    assert render_document(head_of(feed), fmt, items) == expected


@SETTINGS
@given(ENTRIES)
def test_an_entrys_items_come_in_format_order_whatever_order_they_are_rendered_in(
    entry: Entry,
) -> None:
    try:
        expected = [render_item(entry, fmt) for fmt in FeedFormat]
    except ValueError:
        with pytest.raises(ValueError):
            render_items(entry)
        return
    assert render_items(entry) == expected


@pytest.mark.parametrize("fmt", list(FeedFormat))
def test_an_item_is_the_same_in_every_feed_it_appears_in(fmt: FeedFormat) -> None:
    entry = make_entry(1)
    feeds = [
        make_feed(entry, make_entry(2)),
        make_feed(make_entry(3), entry, key=FeedKey(FeedKind.TAG, "world", "World")),
        make_feed(entry, key=archive_key("2021-03"), history=History(True, None)),
    ]
    item = RENDERERS[fmt].item(entry)

    for feed in feeds:
        assert item in RENDERERS[fmt].render(feed)


# An archive's <rss> declares only the namespaces its items use: the head alone cannot tell.
ARCHIVE_ITEMS = {
    "none": make_entry(1, content_html="", image=None),
    "content": make_entry(1, image=None),
    "dc": make_entry(1, content_html="", image=None, authors=(NOMAIL,)),
    "media": make_entry(1, content_html="", authors=()),
    "all": make_entry(1, authors=(JANE, DESK)),
}


@pytest.mark.parametrize("fmt", list(FeedFormat))
@pytest.mark.parametrize(
    "entries", [(), *((entry,) for entry in ARCHIVE_ITEMS.values())], ids=["empty", *ARCHIVE_ITEMS]
)
def test_archive_declares_the_namespaces_its_items_use(
    fmt: FeedFormat, entries: tuple[Entry, ...]
) -> None:
    history = History(is_archive=True, prev_archive=archive_key("2021-02"))
    feed = make_feed(*entries, key=archive_key("2021-03"), history=history)

    assert_renders_as_feedgen_did(feed, fmt)
    items = [render_item(entry, fmt) for entry in entries]
    assert render_document(head_of(feed), fmt, items) == render_feed(feed, fmt)


@pytest.mark.parametrize("fmt", list(FeedFormat))
def test_empty_feed_renders_as_feedgen_did(fmt: FeedFormat) -> None:
    assert_renders_as_feedgen_did(make_feed(), fmt)
    assert render_document(make_feed(), fmt, []) == render_feed(make_feed(), fmt)


#: Entries with the fields feedgen treats specially left empty: RSS leaves out what is empty
#: (and puts the content in <description> when there is no title or summary), Atom refuses
#: an entry without an id or a title and skips a nameless author.
EMPTY_FIELDS = {
    "title": make_entry(1, title=""),
    "title-and-summary": make_entry(1, title="", summary=""),
    "title-summary-content": make_entry(1, title="", summary="", content_html=""),
    "id": make_entry(1, id=""),
    "url": make_entry(1, url=""),
    "image-url": make_entry(1, image=Image("", "", None, None)),
    "author-name": make_entry(1, authors=(Person("", "x@news.example"),)),
    "author-names": make_entry(1, authors=(Person(""), Person("", "x@news.example"))),
    "tag-name": make_entry(1, tags=(Tag("", ""),)),
}


@pytest.mark.parametrize("fmt", list(FeedFormat))
@pytest.mark.parametrize("entry", EMPTY_FIELDS.values(), ids=list(EMPTY_FIELDS))
def test_empty_fields_render_as_feedgen_did(fmt: FeedFormat, entry: Entry) -> None:
    assert_renders_as_feedgen_did(make_feed(entry, make_entry(2)), fmt)


@pytest.mark.parametrize("fmt", list(FeedFormat))
@pytest.mark.parametrize(
    "moment",
    [
        datetime(999, 12, 31, 23, 59, 59, tzinfo=UTC),
        datetime(2024, 2, 29, 0, 0, 0, 123456, tzinfo=timezone(timedelta(hours=14))),
    ],
    ids=["year-999", "microseconds-leap-day"],
)
def test_dates_render_as_feedgen_did(fmt: FeedFormat, moment: datetime) -> None:
    feed = make_feed(make_entry(1, published=moment, updated=moment))

    assert_renders_as_feedgen_did(feed, fmt)


@SETTINGS
@given(
    st.datetimes(
        min_value=datetime(1, 1, 2),  # a day from either end: any offset stays in range
        max_value=datetime(9999, 12, 30),
        timezones=st.sampled_from([UTC, timezone(timedelta(hours=-11)), ZoneInfo("Asia/Tokyo")]),
    )
)
def test_an_rss_date_of_any_year_is_what_feedgen_wrote(moment: datetime) -> None:
    # The item's <pubDate> and the channel's <lastBuildDate>, in the C locale's English names.
    assert_renders_as_feedgen_did(
        make_feed(make_entry(1, published=moment, updated=moment)), FeedFormat.RSS
    )


#: Any text at all: JSON has no XML-clean rule, and escapes control characters as \uXXXX.
ANY_TEXT = st.text(max_size=30)


@SETTINGS
@given(
    title=ANY_TEXT,
    summary=ANY_TEXT,
    content=ANY_TEXT,
    person=st.builds(Person, name=ANY_TEXT, url=st.one_of(st.none(), ANY_TEXT)),
    tag=ANY_TEXT,
)
def test_json_of_any_text_is_what_one_dump_wrote(
    title: str, summary: str, content: str, person: Person, tag: str
) -> None:
    entry = make_entry(
        1,
        title=title,
        summary=summary,
        content_html=content,
        authors=(person,),
        tags=(Tag(tag, "slug"),),
    )

    assert_renders_as_feedgen_did(make_feed(entry), FeedFormat.JSON)


def test_json_escapes_control_characters_as_one_dump_did() -> None:
    entry = make_entry(1, title="\x01", content_html='<p>\x00\x08\x0b\x0c\x1f\\"\r\n\t\x7f</p>')

    assert_renders_as_feedgen_did(make_feed(entry), FeedFormat.JSON)
