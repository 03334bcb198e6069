"""The front door: ``feeds.opml`` for readers, ``index.html`` for people, and their data."""

from __future__ import annotations

import dataclasses
import html
import json
from collections.abc import Iterable
from datetime import UTC, datetime
from html.parser import HTMLParser

import listparser
import pytest
from hypothesis import given
from hypothesis import strategies as st
from lxml import etree

from newswire.build import build_site
from newswire.domain.directory import ListedFeed, listed_feed, merged
from newswire.domain.feeds import MAIN_FEED, FeedKey, FeedKind, archive_key
from newswire.errors import DirectoryFormatError
from newswire.pipeline.directory import RenderedListing, decode_listings, encode_listings
from newswire.rendering.base import FeedFile
from newswire.rendering.directory import (
    DATA_PATH,
    OPML_CONTENT_TYPE,
    OPML_PATH,
    PAGE_CONTENT_TYPE,
    PAGE_PATH,
    directory_files,
    parse_directory_data,
    render_directory_data,
    render_opml,
)
from newswire.rendering.directory_page import render_directory_page
from tests.support.directorycheck import check_directory_data, check_directory_page, check_opml
from tests.support.factories import content_site, content_sources, make_entry, make_site
from tests.support.feedcheck import check_published

NOW = datetime(2026, 11, 1, tzinfo=UTC)
SITE = make_site()
HOSTILE = 'Q&A <script>alert("x")</script>'


def listing(kind: FeedKind, slug: str, name: str, articles: int = 2, day: int = 1) -> ListedFeed:
    entry = make_entry(day)
    key = FeedKey(kind, slug, name)
    return ListedFeed(key, articles, entry.title, entry.url, entry.updated)


LISTINGS = [
    listing(FeedKind.AUTHOR, "jane-doe", "Jane Doe"),
    listing(FeedKind.TAG, "world", "World"),
    listing(FeedKind.TAG, "q-a-script", HOSTILE),
    listing(FeedKind.SECTION, "business", "Business"),
    ListedFeed(MAIN_FEED, 3, make_entry(1).title, make_entry(1).url, make_entry(1).updated),
]


def subscription_feeds(paths: Iterable[str]) -> list[str]:
    """The RSS documents a directory lists: not the archives (a finished month) nor the
    partner feeds (each in its partner's form, for that partner)."""
    unlisted = ("archive/", "partners/")
    return [p for p in paths if p.endswith("rss.xml") and not p.startswith(unlisted)]


def built_files() -> dict[str, FeedFile]:
    report = build_site(content_sources(), content_site(), NOW)
    return {file.path: file for file in report.files}


# --- OPML -------------------------------------------------------------------------------


def test_opml_groups_every_feed_as_an_rss_outline_with_absolute_urls() -> None:
    root = etree.fromstring(render_opml(merged(LISTINGS, {}), SITE))
    assert root.tag == "opml" and root.get("version") == "2.0"
    assert root.findtext("head/title") == "Test News: feeds"
    assert root.findtext("head/dateModified") == "Fri, 19 Mar 2021 11:30:00 +0000"
    groups = root.findall("body/outline")
    assert [g.get("text") for g in groups] == ["Main", "Sections", "Tags", "Authors"]
    feeds = {g.get("text"): [o.attrib for o in g.findall("outline")] for g in groups}
    assert [f["xmlUrl"] for f in feeds["Tags"]] == [
        "https://news.example/feeds/tags/q-a-script/rss.xml",
        "https://news.example/feeds/tags/world/rss.xml",
    ]
    (main,) = feeds["Main"]
    assert main["type"] == "rss"
    assert main["text"] == main["title"] == "Test News"
    assert main["xmlUrl"] == "https://news.example/feeds/rss.xml"
    assert main["htmlUrl"] == "https://news.example/"
    (author,) = feeds["Authors"]
    assert author["title"] == "Test News: Jane Doe" and "htmlUrl" not in author
    assert feeds["Tags"][0]["text"] == f"Test News: {HOSTILE}"  # escaped, read back as written


def test_opml_of_the_content_folder_lists_each_subscription_feed_once() -> None:
    files = built_files()
    opml = files[OPML_PATH]
    assert opml.content_type == OPML_CONTENT_TYPE
    outlines = etree.fromstring(opml.body).findall("body/outline/outline")
    urls = [o.get("xmlUrl") for o in outlines]
    feeds = sorted(subscription_feeds(files))
    assert sorted(u.removeprefix("https://englishnews.example/feeds/") for u in urls) == feeds
    assert all(o.get("type") == "rss" and o.get("text") for o in outlines)


def test_a_reader_importing_the_opml_subscribes_to_every_feed_in_its_group() -> None:
    """listparser reads OPML as feed readers import it: no error, every feed, each filed
    under its group, so a reader subscribes to a whole desk in one step."""
    files = built_files()
    result = listparser.parse(files[OPML_PATH].body)
    assert not result.bozo, result.get("bozo_exception")
    assert result.meta.title == "English News: feeds"
    by_group: dict[str, set[str]] = {}
    for feed in result.feeds:
        by_group.setdefault(feed.categories[0][0], set()).add(feed.url)
    prefix = "https://englishnews.example/feeds/"
    assert by_group["Main"] == {prefix + "rss.xml"}
    for group, folder in (("Sections", "sections/"), ("Tags", "tags/"), ("Authors", "authors/")):
        expected = {prefix + p for p in files if p.startswith(folder) and p.endswith("rss.xml")}
        assert by_group[group] == expected, group


# --- the page ---------------------------------------------------------------------------


class _Page(HTMLParser):
    """What a browser would find: link targets, ids, the text of ``<code>`` elements."""

    def __init__(self) -> None:
        super().__init__()
        self.hrefs: list[str] = []
        self.codes: list[str] = []
        self.tags: list[str] = []
        self._in_code = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append(tag)
        self.hrefs += [v or "" for k, v in attrs if k in ("href", "src")]
        self._in_code = tag == "code"

    def handle_endtag(self, tag: str) -> None:
        self._in_code = False

    def handle_data(self, data: str) -> None:
        if self._in_code:
            self.codes.append(data)


def test_page_escapes_names_and_runs_nothing() -> None:
    body = render_directory_page(merged(LISTINGS, {}), make_site(title="A & <B>"))
    text = body.decode()
    assert "<script>" not in text
    assert html.escape(HOSTILE) in text
    assert "<title>A &amp; &lt;B&gt;: feeds</title>" in text
    page = _Page()
    page.feed(text)
    assert "script" not in page.tags and "img" not in page.tags
    assert all(not href.startswith("//") for href in page.hrefs)  # nothing from elsewhere
    assert "default-src 'none'" in text


#: Names as entries show them: any text but XML's illegal characters and surrounding space.
NAMES = (
    st.text(st.characters(blacklist_categories=("Cs", "Cc", "Cn")), min_size=1, max_size=40)
    .map(str.strip)
    .filter(bool)
)


@given(name=NAMES, headline=NAMES)
def test_any_name_or_headline_reads_back_as_written(name: str, headline: str) -> None:
    """Whatever a tag or headline holds, the OPML gives it back as written and the page
    shows it as text: nothing in it becomes markup."""
    entry = make_entry(1)
    tag = ListedFeed(FeedKey(FeedKind.TAG, "t", name), 1, headline, entry.url, entry.updated)
    listings = merged([tag], {})
    outlines = etree.fromstring(render_opml(listings, SITE)).findall("body/outline/outline")
    assert outlines[-1].get("title") == f"Test News: {name}"
    page = render_directory_page(listings, SITE).decode()
    assert html.escape(f"Test News: {name}") in page
    assert f">{html.escape(headline)}</a>" in page
    parsed = _Page()
    parsed.feed(page)
    assert parsed.tags.count("li") == 2 and "script" not in parsed.tags


def test_page_shows_each_feed_with_its_formats_address_and_what_it_carries() -> None:
    files = built_files()
    page_file = files[PAGE_PATH]
    assert page_file.content_type == PAGE_CONTENT_TYPE
    page = _Page()
    page.feed(page_file.body.decode())
    feeds = subscription_feeds(files)
    for rss in feeds:
        folder = rss.removesuffix("rss.xml")
        assert {folder + "rss.xml", folder + "atom.xml", folder + "feed.json"} <= set(page.hrefs)
        assert f"https://englishnews.example/feeds/{rss}" in page.codes
    assert {"feeds.opml", "sitemap.xml"} <= set(page.hrefs)
    text = page_file.body.decode()
    assert "Flood warning issued for coastal towns" in text  # the main feed's latest
    assert '<meta name="viewport" content="width=device-width, initial-scale=1">' in text


def test_an_empty_site_lists_its_empty_main_feed() -> None:
    files = {f.path: f for f in directory_files(merged([], {}), SITE)}
    assert "No articles yet." in files[PAGE_PATH].body.decode()
    outlines = etree.fromstring(files[OPML_PATH].body).findall("body/outline/outline")
    assert [o.get("xmlUrl") for o in outlines] == ["https://news.example/feeds/rss.xml"]


# --- listings and their data ------------------------------------------------------------


def test_directory_data_reads_back_what_it_wrote_and_ignores_a_stranger() -> None:
    ordered = merged(LISTINGS, {})
    again = parse_directory_data(render_directory_data(ordered))
    assert again == ordered
    assert [lst.key.name for lst in again] == [lst.key.name for lst in ordered]
    assert parse_directory_data(b"not json") == []
    assert parse_directory_data(json.dumps({"version": 0, "feeds": []}).encode()) == []
    assert parse_directory_data(json.dumps({"version": "2", "feeds": []}).encode()) == []
    assert parse_directory_data(None) == []
    assert parse_directory_data(b"[1, 2]") == []


def test_a_listing_names_its_rss_document_and_an_older_one_reads_as_unknown() -> None:
    """The digest tells apart two RSS documents listed alike; a ``directory.json`` written
    before listings had one is still read, each listing's document unknown (``""``)."""
    named = dataclasses.replace(LISTINGS[0], rss_sha256="ab" * 32)
    data = json.loads(render_directory_data([named]))
    assert data["feeds"][0]["rss_sha256"] == "ab" * 32
    assert parse_directory_data(render_directory_data([named])) == [named]
    del data["feeds"][0]["rss_sha256"]
    older = parse_directory_data(json.dumps(data).encode())
    assert older == [dataclasses.replace(named, rss_sha256="")]


def test_directory_data_in_a_newer_format_is_refused_not_read_as_empty() -> None:
    """Read as empty, a newer file would be overwritten with the feeds one change touched."""
    newer = json.dumps({"version": 2, "feeds": [{"id": "main", "shown": 3}]}).encode()
    with pytest.raises(DirectoryFormatError) as raised:
        parse_directory_data(newer)
    assert str(raised.value).startswith("directory.json: version: 2, expected 1 (written by a")


def test_listings_handed_from_render_groups_to_the_directory_step_read_back() -> None:
    handed = [
        RenderedListing(MAIN_FEED, LISTINGS[-1], "d1"),
        RenderedListing(FeedKey(FeedKind.TAG, "gone"), None, "d2"),  # the feed left
        RenderedListing(LISTINGS[2].key, LISTINGS[2], "d3"),
    ]
    again = decode_listings(encode_listings(handed))
    assert again == handed
    assert again[2].listed is not None and again[2].listed.key.name == HOSTILE


def test_one_unreadable_listing_costs_the_directory_that_listing_alone() -> None:
    ordered = merged(LISTINGS, {})
    data = json.loads(render_directory_data(ordered))
    data["feeds"].insert(1, {"key": "not a listing"})
    data["feeds"].append(["nor", "this"])

    assert parse_directory_data(json.dumps(data).encode()) == ordered


def test_archives_and_emptied_feeds_are_not_listed() -> None:
    entry = make_entry(1)
    assert listed_feed(archive_key("2021-03"), 1, entry, entry.updated) is None
    assert listed_feed(FeedKey(FeedKind.TAG, "gone"), 0, None, None) is None
    assert listed_feed(MAIN_FEED, 0, None, None) == ListedFeed(MAIN_FEED, 0)
    world = FeedKey(FeedKind.TAG, "world")
    assert world not in {lst.key for lst in merged(LISTINGS, {world: None})}


# --- the checkers the other tests rely on -------------------------------------------------


def test_the_checks_find_what_a_front_door_must_not_have() -> None:
    """:mod:`tests.support.directorycheck` passes what newswire publishes and names what is
    wrong in a page that runs or loads something, and in a list with a relative feed URL."""
    files = built_files()
    for path in (OPML_PATH, PAGE_PATH, DATA_PATH):
        assert check_published(path, files[path].body) == [], path
    page = b"<!DOCTYPE html>\n<html><head><title>x</title></head><body><main>"
    page += b'<script>x</script><img src="//elsewhere.example/x.png"></main></body></html>'
    assert check_directory_page(page)[:2] == [
        "<script> in a page that runs and loads nothing",
        "<img> in a page that runs and loads nothing",
    ]
    relative = b"<opml version='2.0'><head/><body><outline type='rss' text='a' xmlUrl='a.xml'/>"
    assert check_opml(relative + b"</body></opml>")[0] == "a: xmlUrl 'a.xml'"
    assert check_directory_data(b'{"version": 1, "feeds": [{"id": "main"}]}') != []
