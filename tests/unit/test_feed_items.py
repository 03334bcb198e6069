"""Items written once and spliced into documents: what a reader gets back from any entry.

The renderers write each entry once per format (``item``) and assemble documents from those
bytes (``document``). Whatever text an entry holds (XML's specials, line ends, tabs, C1
controls, non-characters), the document must parse strictly and every field must read back
as the entry held it, or the entry is refused with a ValueError. The golden files pin the
exact bytes; these tests pin what those bytes mean.
"""

from __future__ import annotations

import dataclasses
import html
import json
from datetime import UTC, datetime, timedelta, timezone
from email.utils import parsedate_to_datetime
from typing import Any
from zoneinfo import ZoneInfo

import feedparser
import pytest
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st
from lxml import etree

from newswire.domain.feeds import Feed, FeedFormat, FeedKey, FeedKind, History, archive_key
from newswire.domain.model import Entry, Image, Person, Tag
from newswire.rendering.jsonfeed import image_media_type
from newswire.rendering.registry import (
    RENDERERS,
    render_document,
    render_feed,
    render_item,
    render_items,
)
from newswire.rendering.xmlfeed import rss_url
from tests.support.factories import DESK, JANE, NOMAIL, make_entry, make_feed
from tests.support.feedcheck import assert_valid

#: Text as an entry may hold it once cleaned (clean_xml_text): any character XML allows, with
#: XML's specials, the line ends and tab, C1 controls and non-characters drawn often.
CHARACTERS = st.one_of(
    st.characters(codec="utf-8", exclude_categories=("Cs", "Cc", "Cn")),
    st.sampled_from("&<>\"'\r\n\t ]\x7f\x85\ufdd0"),
)
TEXT = st.text(CHARACTERS, max_size=20)
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
    id=st.one_of(URL, st.just("")),
    id_is_permalink=st.booleans(),
    url=URL,
    title=TEXT,
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

ATOM = "{http://www.w3.org/2005/Atom}"
NS = {
    "content": "http://purl.org/rss/1.0/modules/content/",
    "dc": "http://purl.org/dc/elements/1.1/",
    "media": "http://search.yahoo.com/mrss/",
}
#: Strict: no recovery, no DTD, entity or network access.
STRICT = etree.XMLParser(resolve_entities=False, no_network=True, load_dtd=False)


def parse(data: bytes) -> Any:
    """The document's root; any character or markup XML does not allow fails here."""
    return etree.fromstring(data, STRICT)


def head_of(feed: Feed) -> Feed:
    """What a build's workers get of a feed: its head, no entries."""
    return dataclasses.replace(feed, entries=())


def rss_refuses(entry: Entry) -> bool:
    """An RSS item needs a title or a description: an entry with nothing to say is refused."""
    return not (entry.title or entry.summary or entry.content_html)


def atom_refuses(entry: Entry) -> bool:
    """RFC 4287: every entry has an id and a title."""
    return not (entry.id and entry.title)


def text_of(element: Any, path: str) -> str | None:
    """The text at ``path``, ``""`` for an empty element, ``None`` when there is none."""
    found = element.find(path, NS)
    return None if found is None else (found.text or "")


def expected_rss_item(entry: Entry) -> dict[str, Any]:
    """What a reader must find in the entry's RSS item: the rules in rss._item_xml."""
    description = html.escape(entry.summary or entry.title, quote=False)
    lone_email = entry.authors[0].email if len(entry.authors) == 1 else None
    item: dict[str, Any] = {
        "title": entry.title or None,
        # An IRI is mapped to the URI RSS wants (test_rss pins the mapping).
        "link": rss_url(entry.url) or None,
        "description": description or entry.content_html,
        "content": entry.content_html if description and entry.content_html else None,
        "author": None,
        "creators": [] if lone_email else [p.name for p in entry.authors if p.name],
        "guid": (entry.id, str(entry.id_is_permalink).lower()) if entry.id else None,
        "categories": [tag.name for tag in entry.tags if tag.name],
        "published": entry.published.astimezone(UTC).replace(microsecond=0),
        "enclosure": None,
        "media": None,
    }
    if lone_email:
        name = entry.authors[0].name
        item["author"] = f"{lone_email} ({name})" if name else lone_email
    image = entry.image
    if image is not None:
        media_type = image_media_type(image)
        item["enclosure"] = {
            "url": rss_url(image.url),
            "length": str(image.length or 0),
            "type": media_type,
        }
        attributes = {"url": rss_url(image.url)} if image.url else {}
        attributes |= {"fileSize": str(image.length)} if image.length else {}
        item["media"] = (attributes | {"type": media_type, "medium": "image"}, image.alt or None)
    return item


def read_rss_item(item: Any) -> dict[str, Any]:
    """What a reader finds in an RSS item, in the shape of :func:`expected_rss_item`."""
    guid = item.find("guid")
    enclosure = item.find("enclosure")
    media = item.find("media:content", NS)
    return {
        "title": text_of(item, "title"),
        "link": text_of(item, "link"),
        "description": text_of(item, "description"),
        "content": text_of(item, "content:encoded"),
        "author": text_of(item, "author"),
        "creators": [c.text or "" for c in item.findall("dc:creator", NS)],
        "guid": None if guid is None else (guid.text or "", guid.get("isPermaLink")),
        "categories": [c.text or "" for c in item.findall("category")],
        "published": parsedate_to_datetime(item.findtext("pubDate")),
        "enclosure": None if enclosure is None else dict(enclosure.attrib),
        "media": None
        if media is None
        else (dict(media.attrib), text_of(media, "media:description")),
    }


def expected_atom_entry(entry: Entry) -> dict[str, Any]:
    """What a reader must find in the entry's Atom entry: the rules in atom._entry_xml."""
    links = [{"href": entry.url, "rel": "alternate", "type": "text/html"}]
    if entry.image is not None:
        enclosure = {"href": entry.image.url, "rel": "enclosure"}
        enclosure["type"] = image_media_type(entry.image)
        if entry.image.length is not None:
            enclosure["length"] = str(entry.image.length)
        links.append(enclosure)
    authors = []
    for person in entry.authors:
        if person.name:
            fields = {"name": person.name}
            fields |= {"email": person.email} if person.email else {}
            fields |= {"uri": person.url} if person.url else {}
            authors.append(fields)
    return {
        "id": entry.id,
        "title": entry.title,
        "links": links,
        "updated": entry.updated.astimezone(UTC),
        "published": entry.published.astimezone(UTC),
        "authors": authors,
        "content": ("html", entry.content_html),
        "summary": entry.summary or None,
        "categories": [
            {"term": tag.slug} | ({"label": tag.name} if tag.name else {}) for tag in entry.tags
        ],
    }


def read_atom_entry(element: Any) -> dict[str, Any]:
    """What a reader finds in an Atom entry, in the shape of :func:`expected_atom_entry`."""
    content = element.find(f"{ATOM}content")
    summary = element.find(f"{ATOM}summary")
    if summary is not None:
        assert summary.get("type") == "text"
    return {
        "id": element.findtext(f"{ATOM}id"),
        "title": element.findtext(f"{ATOM}title"),
        "links": [dict(link.attrib) for link in element.findall(f"{ATOM}link")],
        "updated": datetime.fromisoformat(element.findtext(f"{ATOM}updated")),
        "published": datetime.fromisoformat(element.findtext(f"{ATOM}published")),
        "authors": [
            {etree.QName(child).localname: child.text or "" for child in author}
            for author in element.findall(f"{ATOM}author")
        ],
        "content": (content.get("type"), content.text or ""),
        "summary": None if summary is None else summary.text or "",
        "categories": [dict(c.attrib) for c in element.findall(f"{ATOM}category")],
    }


# --------------------------------------------------------------------------------------------
# Any entry reads back as it was, in every document
# --------------------------------------------------------------------------------------------


@SETTINGS
@given(FEEDS)
def test_any_rss_item_parses_and_reads_back_as_the_entry(feed: Feed) -> None:
    if any(rss_refuses(entry) for entry in feed.entries):
        with pytest.raises(ValueError, match="neither title, summary nor content"):
            render_feed(feed, FeedFormat.RSS)
        event("refused")
        return
    data = render_feed(feed, FeedFormat.RSS)

    items = parse(data).findall("channel/item")
    assert [read_rss_item(item) for item in items] == [expected_rss_item(e) for e in feed.entries]
    assert not feedparser.parse(data).bozo
    event(f"{len(items)} items")


@SETTINGS
@given(FEEDS)
def test_any_atom_entry_parses_and_reads_back_as_the_entry(feed: Feed) -> None:
    if any(atom_refuses(entry) for entry in feed.entries):
        with pytest.raises(ValueError, match="needs an id and a title"):
            render_feed(feed, FeedFormat.ATOM)
        event("refused")
        return
    data = render_feed(feed, FeedFormat.ATOM)

    elements = parse(data).findall(f"{ATOM}entry")
    assert [read_atom_entry(e) for e in elements] == [expected_atom_entry(e) for e in feed.entries]
    assert not feedparser.parse(data).bozo
    event(f"{len(elements)} entries")


#: Every character XML escapes, in text and in attributes, and the line ends a parser would
#: otherwise normalise away.
SPECIALS = "a & b < c > d ]]> \"q\" 's'\r\ne\tf\rg"
#: SPECIALS as element text and as an attribute value.
ESCAPED_TEXT = b"a &amp; b &lt; c &gt; d ]]&gt; \"q\" 's'&#13;\ne\tf&#13;g"
ESCAPED_ATTRIBUTE = b"a &amp; b &lt; c &gt; d ]]&gt; &quot;q&quot; 's'&#13;&#10;e&#9;f&#13;g"


def test_rss_item_escapes_text_and_attributes_so_they_read_back_exactly() -> None:
    image = Image(f"https://cdn.news.example/{SPECIALS}.png", SPECIALS, "image/png", 1)
    tags = (Tag(SPECIALS, "x"),)
    entry = make_entry(title=SPECIALS, content_html=SPECIALS, image=image, tags=tags)

    item = render_item(entry, FeedFormat.RSS)

    assert b"<title>%s</title>" % ESCAPED_TEXT in item
    assert b'<enclosure url="https://cdn.news.example/%s.png"' % ESCAPED_ATTRIBUTE in item
    (read,) = parse(render_feed(make_feed(entry), FeedFormat.RSS)).findall("channel/item")
    assert read_rss_item(read) == expected_rss_item(entry)


def test_atom_entry_escapes_text_and_attributes_so_they_read_back_exactly() -> None:
    image = Image(f"https://cdn.news.example/{SPECIALS}.png", SPECIALS, "image/png", 1)
    entry = make_entry(
        title=SPECIALS, summary=SPECIALS, content_html=SPECIALS, image=image,
        tags=(Tag(SPECIALS, SPECIALS),), authors=(Person(SPECIALS, SPECIALS, SPECIALS),),
    )  # fmt: skip

    item = render_item(entry, FeedFormat.ATOM)

    assert b"<title>%s</title>" % ESCAPED_TEXT in item
    assert b'<category term="%s"' % ESCAPED_ATTRIBUTE in item
    (read,) = parse(render_feed(make_feed(entry), FeedFormat.ATOM)).findall(f"{ATOM}entry")
    assert read_atom_entry(read) == expected_atom_entry(entry)


# --------------------------------------------------------------------------------------------
# Empty fields, people, images, dates
# --------------------------------------------------------------------------------------------

#: Entries with a field left empty: RSS leaves out what is empty (and makes the content the
#: description when there is no title or summary); Atom skips a nameless author and a label.
EMPTY_FIELDS = {
    "title": make_entry(1, title=""),
    "summary": make_entry(1, summary=""),
    "title-and-summary": make_entry(1, title="", summary=""),
    "content": make_entry(1, content_html=""),
    "id": make_entry(1, id=""),
    "url": make_entry(1, url=""),
    "image-url": make_entry(1, image=Image("", "", None, None)),
    "author-name": make_entry(1, authors=(Person("", "x@news.example"),)),
    "author-names": make_entry(1, authors=(Person(""), Person("", "x@news.example"))),
    "tag-name": make_entry(1, tags=(Tag("", "slug"),)),
}


@pytest.mark.parametrize("entry", EMPTY_FIELDS.values(), ids=list(EMPTY_FIELDS))
def test_rss_leaves_empty_fields_out(entry: Entry) -> None:
    (item,) = parse(render_feed(make_feed(entry), FeedFormat.RSS)).findall("channel/item")

    assert read_rss_item(item) == expected_rss_item(entry)
    assert [c.tag for c in item.iter() if not (c.text or c.attrib or len(c))] == []


@pytest.mark.parametrize(
    "entry",
    [e for name, e in EMPTY_FIELDS.items() if name not in {"title", "title-and-summary", "id"}],
)
def test_atom_leaves_empty_fields_out(entry: Entry) -> None:
    (element,) = parse(render_feed(make_feed(entry), FeedFormat.ATOM)).findall(f"{ATOM}entry")

    assert read_atom_entry(element) == expected_atom_entry(entry)


def test_an_rss_item_with_nothing_to_say_is_refused() -> None:
    entry = make_entry(title="", summary="", content_html="")

    with pytest.raises(ValueError, match=r"'https://news\.example/articles/story-1/' has neither"):
        render_item(entry, FeedFormat.RSS)


@pytest.mark.parametrize("field", ["id", "title"])
def test_an_atom_entry_without_id_or_title_is_refused(field: str) -> None:
    with pytest.raises(ValueError, match="needs an id and a title"):
        render_item(make_entry(**{field: ""}), FeedFormat.ATOM)


def test_without_title_or_summary_the_rss_description_is_the_content() -> None:
    entry = make_entry(title="", summary="")

    (item,) = parse(render_feed(make_feed(entry), FeedFormat.RSS)).findall("channel/item")

    assert item.findtext("description") == entry.content_html
    assert item.find("content:encoded", NS) is None


@pytest.mark.parametrize(
    ("authors", "author", "creators"),
    [
        ((JANE,), "jane@news.example (Jane Doe)", []),
        ((Person("", "x@news.example"),), "x@news.example", []),
        ((NOMAIL,), None, ["Ivan Petrov"]),
        ((JANE, DESK), None, ["Jane Doe", "News Desk"]),
        ((), None, []),
    ],
    ids=["email", "email-no-name", "no-email", "several", "none"],
)
def test_rss_credits_one_author_by_email_or_each_by_name(
    authors: tuple[Person, ...], author: str | None, creators: list[str]
) -> None:
    feed = make_feed(make_entry(authors=authors))

    (item,) = parse(render_feed(feed, FeedFormat.RSS)).findall("channel/item")

    assert text_of(item, "author") == author
    assert [c.text for c in item.findall("dc:creator", NS)] == creators


@pytest.mark.parametrize(
    "image",
    [
        Image("https://cdn.news.example/a.png", "A cat", "image/png", 2048),
        Image("https://cdn.news.example/a.png", "", "image/png", 2048),
        Image("https://cdn.news.example/a.png", "A cat", None, None),
        Image("https://cdn.news.example/a.png", "", None, 0),
    ],
    ids=["length-alt", "length", "alt", "length-0"],
)
@pytest.mark.parametrize("fmt", [FeedFormat.RSS, FeedFormat.ATOM])
def test_images_with_and_without_length_and_alt_are_valid(fmt: FeedFormat, image: Image) -> None:
    entry = make_entry(image=image)
    data = render_feed(make_feed(entry), fmt)

    if fmt is FeedFormat.RSS:
        (item,) = parse(data).findall("channel/item")
        assert read_rss_item(item) == expected_rss_item(entry)
    else:
        (element,) = parse(data).findall(f"{ATOM}entry")
        assert read_atom_entry(element) == expected_atom_entry(entry)
    assert_valid(data, fmt)


def test_rss_dates_before_the_year_1000_have_four_digit_years() -> None:
    moment = datetime(999, 12, 31, 23, 59, 59, tzinfo=UTC)
    data = render_feed(make_feed(make_entry(1, published=moment, updated=moment)), FeedFormat.RSS)

    channel = parse(data).find("channel")

    assert channel.findtext("item/pubDate") == "Tue, 31 Dec 0999 23:59:59 +0000"
    assert channel.findtext("lastBuildDate") == "Tue, 31 Dec 0999 23:59:59 +0000"
    assert_valid(data, FeedFormat.RSS)


@SETTINGS
@given(
    st.datetimes(
        min_value=datetime(1, 1, 2),  # a day from either end: any offset stays in range
        max_value=datetime(9999, 12, 30),
        timezones=st.sampled_from([UTC, timezone(timedelta(hours=-11)), ZoneInfo("Asia/Tokyo")]),
    )
)
def test_an_rss_date_of_any_year_reads_back_to_the_second(moment: datetime) -> None:
    # The item's <pubDate> and the channel's <lastBuildDate>, in English whatever the locale.
    # Read strictly: email.utils takes a year below 100 for a two-digit one, "0099" too.
    feed = make_feed(make_entry(1, published=moment, updated=moment))

    channel = parse(render_feed(feed, FeedFormat.RSS)).find("channel")

    for date in (channel.findtext("item/pubDate"), channel.findtext("lastBuildDate")):
        read = datetime.strptime(date, "%a, %d %b %Y %H:%M:%S %z")
        assert read == moment.astimezone(UTC).replace(microsecond=0)
        assert date.endswith(" +0000")


# --------------------------------------------------------------------------------------------
# Documents assembled from items
# --------------------------------------------------------------------------------------------


@SETTINGS
@given(FEEDS, st.sampled_from(FeedFormat))
def test_document_of_a_feed_head_and_its_items_is_the_full_feed(
    feed: Feed, fmt: FeedFormat
) -> None:
    try:
        items = [render_item(entry, fmt) for entry in feed.entries]
        expected = render_feed(feed, fmt)
    except ValueError:
        return  # an entry the format refuses; the tests above cover the error
    assert render_document(head_of(feed), fmt, items, feed.updated) == expected


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


#: Entries that use none, one or all of the namespaces items may use.
ARCHIVE_ITEMS = {
    "none": make_entry(1, content_html="", image=None),
    "content": make_entry(1, image=None),
    "dc": make_entry(1, content_html="", image=None, authors=(NOMAIL,)),
    "media": make_entry(1, content_html="", authors=()),
    "all": make_entry(1, authors=(JANE, DESK)),
}


@pytest.mark.parametrize(
    "entries", [(), *((entry,) for entry in ARCHIVE_ITEMS.values())], ids=["empty", *ARCHIVE_ITEMS]
)
def test_an_rss_archive_declares_what_a_live_feed_does_and_fh(entries: tuple[Entry, ...]) -> None:
    history = History(is_archive=True, prev_archive=archive_key("2021-02"))
    archive = make_feed(*entries, key=archive_key("2021-03"), history=history)

    root = parse(render_feed(archive, FeedFormat.RSS))

    live = parse(render_feed(make_feed(*entries), FeedFormat.RSS))
    assert root.nsmap == live.nsmap | {"fh": "http://purl.org/syndication/history/1.0"}
    assert NS.items() <= root.nsmap.items()


@pytest.mark.parametrize("fmt", list(FeedFormat))
def test_empty_feed_is_its_head(fmt: FeedFormat) -> None:
    feed = make_feed()
    assert render_document(feed, fmt, [], feed.updated) == render_feed(feed, fmt)
    assert_valid(render_feed(make_feed(), fmt), fmt)


# --------------------------------------------------------------------------------------------
# JSON Feed: any text at all
# --------------------------------------------------------------------------------------------

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
def test_json_of_any_text_reads_back_as_the_entry(
    title: str, summary: str, content: str, person: Person, tag: str
) -> None:
    entry = make_entry(
        title=title,
        summary=summary,
        content_html=content,
        authors=(person,),
        tags=(Tag(tag, "slug"),),
    )

    (item,) = json.loads(render_feed(make_feed(entry), FeedFormat.JSON))["items"]

    assert (item["title"], item.get("summary", ""), item["content_html"]) == (
        title,
        summary,
        content,
    )
    assert item["authors"] == [{"name": person.name} | ({"url": person.url} if person.url else {})]
    assert item["tags"] == [tag]


def test_json_escapes_control_characters() -> None:
    content = '<p>\x00\x08\x0b\x0c\x1f\\"\r\n\t\x7f</p>'
    entry = make_entry(1, title="\x01", content_html=content)

    data = render_feed(make_feed(entry), FeedFormat.JSON)

    assert not any(byte < 0x20 and byte != ord("\n") for byte in data)
    (item,) = json.loads(data)["items"]
    assert (item["title"], item["content_html"]) == ("\x01", content)
