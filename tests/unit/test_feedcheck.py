"""The feed validators can fail: each rule is shown rejecting a small broken document.

Every broken document is a valid baseline with one change, so the problem found is the one
the change caused, and the baselines are checked to pass first.
"""

from __future__ import annotations

import copy
import json
from collections.abc import Callable
from typing import Any

import pytest

from newswire.domain.feeds import FeedFormat
from tests.support.feedcheck import (
    assert_valid,
    check_atom,
    check_feed,
    check_json_feed,
    check_rss,
    read_with_reader,
)

RSS_OK = """<?xml version='1.0' encoding='UTF-8'?>
<rss xmlns:atom="http://www.w3.org/2005/Atom" \
xmlns:content="http://purl.org/rss/1.0/modules/content/" \
xmlns:dc="http://purl.org/dc/elements/1.1/" xmlns:media="http://search.yahoo.com/mrss/" \
version="2.0">
  <channel>
    <title>Example News</title>
    <link>https://news.example/</link>
    <description>All the news</description>
    <atom:link href="https://news.example/feeds/rss.xml" rel="self" type="application/rss+xml"/>
    <language>en</language>
    <lastBuildDate>Tue, 02 Jan 2024 10:00:00 +0000</lastBuildDate>
    <item>
      <title>First</title>
      <link>https://news.example/articles/first/</link>
      <description>The first story</description>
      <content:encoded>&lt;p&gt;Hello &lt;a href="https://news.example/"&gt;home&lt;/a&gt;&lt;/p&gt;\
</content:encoded>
      <author>jane@news.example (Jane Doe)</author>
      <guid isPermaLink="true">https://news.example/articles/first/</guid>
      <enclosure url="https://news.example/first.png" length="1234" type="image/png"/>
      <pubDate>Tue, 02 Jan 2024 10:00:00 +0000</pubDate>
      <media:content url="https://news.example/first.png" type="image/png" medium="image"/>
    </item>
    <item>
      <title>Second</title>
      <link>https://news.example/articles/second/</link>
      <description>The second story</description>
      <guid isPermaLink="false">urn:newswire:second</guid>
      <pubDate>Mon, 01 Jan 2024 10:00:00 +0000</pubDate>
      <dc:creator>Ann Other</dc:creator>
    </item>
  </channel>
</rss>
"""
#: The first item's content in RSS_OK.
FIRST_CONTENT = (
    '<content:encoded>&lt;p&gt;Hello &lt;a href="https://news.example/"&gt;home&lt;/a&gt;'
    "&lt;/p&gt;</content:encoded>"
)

ATOM_OK = """<?xml version='1.0' encoding='UTF-8'?>
<feed xmlns="http://www.w3.org/2005/Atom" xml:lang="en">
  <id>https://news.example/feeds/atom.xml</id>
  <title>Example News</title>
  <updated>2024-01-02T10:00:00+00:00</updated>
  <author><name>News Desk</name><email>desk@news.example</email></author>
  <link href="https://news.example/feeds/atom.xml" rel="self" type="application/atom+xml"/>
  <link href="https://news.example/" rel="alternate" type="text/html"/>
  <entry>
    <id>https://news.example/articles/first/</id>
    <title>First</title>
    <link href="https://news.example/articles/first/" rel="alternate" type="text/html"/>
    <link href="https://news.example/first.png" rel="enclosure" type="image/png" length="1234"/>
    <updated>2024-01-02T10:00:00+00:00</updated>
    <published>2024-01-02T09:00:00Z</published>
    <content type="html">&lt;p&gt;Hello&lt;/p&gt;</content>
    <summary type="text">The first story</summary>
    <category term="world" label="World"/>
  </entry>
  <entry>
    <id>tag:news.example,2024:second</id>
    <title>Second</title>
    <link href="https://news.example/articles/second/"/>
    <updated>2024-01-01T10:00:00+00:00</updated>
    <content type="html">&lt;p&gt;Bye&lt;/p&gt;</content>
  </entry>
</feed>
"""

JSON_OK: dict[str, Any] = {
    "version": "https://jsonfeed.org/version/1.1",
    "title": "Example News",
    "home_page_url": "https://news.example/",
    "feed_url": "https://news.example/feeds/feed.json",
    "language": "en",
    "authors": [{"name": "News Desk"}],
    "items": [
        {
            "id": "https://news.example/articles/first/",
            "url": "https://news.example/articles/first/",
            "title": "First",
            "content_html": '<p>Hello <a href="https://news.example/">home</a></p>',
            "date_published": "2024-01-02T10:00:00+00:00",
            "tags": ["World"],
            "attachments": [
                {"url": "https://news.example/first.png", "mime_type": "image/png"},
            ],
            "_newswire": {"section": "world"},
        },
        {
            "id": "tag:news.example,2024:second",
            "content_text": "Bye",
            "date_modified": "2024-01-01T10:00:00Z",
        },
    ],
}


def broken(document: str, old: str, new: str) -> bytes:
    """``document`` with one change; fails loudly if ``old`` is not there to change."""
    assert document.count(old) == 1, f"the baseline must contain {old!r} exactly once"
    return document.replace(old, new).encode()


def problems_mention(problems: list[str], expected: str) -> bool:
    return any(expected in problem for problem in problems)


# --------------------------------------------------------------------------------------------
# Baselines
# --------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("fmt", "data"),
    [
        (FeedFormat.RSS, RSS_OK.encode()),
        (FeedFormat.ATOM, ATOM_OK.encode()),
        (FeedFormat.JSON, json.dumps(JSON_OK).encode()),
    ],
    ids=["rss", "atom", "json"],
)
def test_the_baselines_are_valid_for_the_checks_and_real_parsers(
    fmt: FeedFormat, data: bytes
) -> None:
    assert check_feed(data, fmt) == []
    assert_valid(data, fmt)


def test_read_with_reader_keeps_the_documents_order() -> None:
    feed, entries = read_with_reader(RSS_OK.encode(), FeedFormat.RSS)

    assert feed.title == "Example News"
    assert [entry.title for entry in entries] == ["First", "Second"]


# --------------------------------------------------------------------------------------------
# RSS
# --------------------------------------------------------------------------------------------

SECOND_GUID = '<guid isPermaLink="false">urn:newswire:second</guid>'
SECOND_DATE = "<pubDate>Mon, 01 Jan 2024 10:00:00 +0000</pubDate>"
FIRST_LINK = "<link>https://news.example/articles/first/</link>"


@pytest.mark.parametrize(
    ("old", "new", "expected"),
    [
        pytest.param(SECOND_GUID, "", "item 2: missing <guid>", id="missing-guid"),
        pytest.param(
            SECOND_GUID,
            '<guid isPermaLink="false">https://news.example/articles/first/</guid>',
            "is used by 2 items",
            id="duplicate-guid",
        ),
        pytest.param(
            SECOND_GUID,
            "<guid>urn:newswire:second</guid>",
            "is a permalink but not an absolute",
            id="guid-permalink-by-default-but-not-a-url",
        ),
        pytest.param(
            SECOND_GUID,
            '<guid isPermaLink="yes">urn:newswire:second</guid>',
            "expected 'true' or 'false'",
            id="guid-permalink-not-boolean",
        ),
        pytest.param(
            SECOND_DATE,
            "<pubDate>Mon, 01 Jan 2024 10:00:00</pubDate>",
            "has no time zone",
            id="date-without-zone",
        ),
        pytest.param(
            SECOND_DATE,
            "<pubDate>2024-01-01T10:00:00Z</pubDate>",
            "is not an RFC 822 date",
            id="date-in-iso-form",
        ),
        pytest.param(
            SECOND_DATE,
            "<pubDate>Tue, 01 Jan 2024 10:00:00 +0000</pubDate>",
            "wrong day of the week",
            id="date-with-wrong-weekday",
        ),
        pytest.param(
            "<lastBuildDate>Tue, 02 Jan 2024 10:00:00 +0000</lastBuildDate>",
            "<lastBuildDate>2 Jan 24 10:00 GMT</lastBuildDate>",
            "channel: <lastBuildDate>",
            id="date-with-two-digit-year",
        ),
        pytest.param(
            FIRST_LINK, "<link>/articles/first/</link>", "not an absolute", id="relative-link"
        ),
        pytest.param(
            "<link>https://news.example/</link>",
            "<link>news.example</link>",
            "channel: <link>",
            id="relative-channel-link",
        ),
        pytest.param(
            '<enclosure url="https://news.example/first.png"',
            '<enclosure url="first.png"',
            "<enclosure> url 'first.png'",
            id="relative-enclosure",
        ),
        pytest.param(
            ' length="1234" type="image/png"/>',
            ' type="image/png"/>',
            "<enclosure> length None",
            id="enclosure-without-length",
        ),
        pytest.param(
            'length="1234" type="image/png"/>',
            'length="1234" type="png"/>',
            "<enclosure> type 'png'",
            id="enclosure-bad-type",
        ),
        pytest.param(
            '<media:content url="https://news.example/first.png"',
            '<media:content url="//news.example/first.png"',
            "<media:content> url",
            id="relative-media-url",
        ),
        pytest.param(
            '    <atom:link href="https://news.example/feeds/rss.xml" rel="self" '
            'type="application/rss+xml"/>\n',
            "",
            'missing <atom:link rel="self">',
            id="missing-self-link",
        ),
        pytest.param(
            'rel="self" type="application/rss+xml"',
            'rel="self" type="text/xml"',
            "expected 'application/rss+xml'",
            id="self-link-wrong-type",
        ),
        pytest.param(
            "<author>jane@news.example (Jane Doe)</author>",
            "<author>jane@news.example</author>",
            "is not 'email (Name)'",
            id="author-without-name",
        ),
        pytest.param(
            "<author>jane@news.example (Jane Doe)</author>",
            "<author>jane@news.example (Jane Doe)</author><author>a@news.example (A)</author>",
            "<author> appears 2 times",
            id="two-authors",
        ),
        pytest.param(
            "<author>jane@news.example (Jane Doe)</author>",
            "<author>jane@news.example (Jane Doe)</author><dc:creator>Jane Doe</dc:creator>",
            "both <author> and <dc:creator>",
            id="author-and-dc-creator",
        ),
        pytest.param("<title>First</title>", "<title>Fir\x01st</title>", "U+0001", id="illegal"),
        pytest.param(
            "<title>First</title>", "<title>Fir&#1;st</title>", "not well-formed", id="charref"
        ),
        pytest.param(
            "<item>\n      <title>Second",
            '<item xmlns:x="urn:x">\n      <title>Second',
            "declares xmlns:x='urn:x'",
            id="namespace-below-root",
        ),
        pytest.param("</channel>", "", "not well-formed XML", id="not-well-formed"),
        pytest.param(
            "<?xml version='1.0' encoding='UTF-8'?>",
            "<?xml version='1.0' encoding='ISO-8859-1'?>",
            "expected UTF-8",
            id="declared-latin-1",
        ),
        pytest.param(
            "<?xml version='1.0' encoding='UTF-8'?>\n",
            "<?xml version='1.0' encoding='UTF-8'?>\n<!DOCTYPE rss>\n",
            "DOCTYPE",
            id="doctype",
        ),
        pytest.param('version="2.0">', 'version="0.91">', 'expected version="2.0"', id="version"),
        pytest.param(
            "<title>Second</title>",
            "<title>Second</title><foo>bar</foo>",
            "<foo> is not an RSS 2.0 element",
            id="unknown-element",
        ),
        pytest.param(
            "<title>Second</title>\n      <link>https://news.example/articles/second/</link>\n"
            "      <description>The second story</description>",
            "<link>https://news.example/articles/second/</link>",
            "needs a non-empty <title> or <description>",
            id="item-without-title-or-description",
        ),
        pytest.param(
            "<title>Example News</title>", "<title> </title>", "<title> is empty", id="blank-title"
        ),
        pytest.param(
            "<language>en</language>", "<language>English</language>", "language", id="language"
        ),
        pytest.param(
            "<description>The first story</description>",
            "",
            "without a <description> before it",
            id="content-without-description",
        ),
        pytest.param(
            "<description>The first story</description>\n      " + FIRST_CONTENT,
            FIRST_CONTENT + "\n      <description>The first story</description>",
            "without a <description> before it",
            id="description-after-content",
        ),
        pytest.param(
            '&lt;a href="https://news.example/"&gt;',
            '&lt;a href="/"&gt;',
            "relative URL",
            id="relative-url-in-content",
        ),
        pytest.param(
            '&lt;a href="https://news.example/"&gt;',
            '&lt;a href="javascript:alert(1)"&gt;',
            "unsafe javascript",
            id="javascript-in-content",
        ),
        pytest.param(
            "&lt;p&gt;Hello", "&lt;div&gt;&lt;p&gt;Hello", "<div> is never closed", id="unclosed"
        ),
        pytest.param(
            "&lt;/a&gt;&lt;/p&gt;",
            "&lt;/a&gt;&lt;/p&gt;&lt;/em&gt;",
            "</em> closes nothing",
            id="stray",
        ),
        pytest.param(
            "<description>The first story</description>",
            "<description>The <b>first</b> story</description>",
            "holds XML elements instead of escaped HTML",
            id="html-as-xml",
        ),
        # RSS wants URLs, which are ASCII: the W3C validator's UriNotIri and
        # InvalidURLAttribute.
        pytest.param(
            FIRST_LINK,
            "<link>https://news.example/café/</link>",
            "<link> 'https://news.example/café/' is not an absolute http(s) URL in ASCII",
            id="iri-link",
        ),
        pytest.param(
            '<enclosure url="https://news.example/first.png"',
            '<enclosure url="https://news.example/straße.png"',
            "<enclosure> url 'https://news.example/straße.png' is not an absolute URL in ASCII",
            id="iri-enclosure",
        ),
        pytest.param(
            '<media:content url="https://news.example/first.png"',
            '<media:content url="https://news.example/straße.png"',
            "<media:content> url 'https://news.example/straße.png' is not an absolute URL in ASCII",
            id="iri-media",
        ),
    ],
)
def test_check_rss_rejects(old: str, new: str, expected: str) -> None:
    problems = check_rss(broken(RSS_OK, old, new))

    assert problems_mention(problems, expected), problems


def test_check_rss_rejects_other_formats() -> None:
    assert problems_mention(check_rss(ATOM_OK.encode()), "expected <rss>")
    assert problems_mention(check_rss(json.dumps(JSON_OK).encode()), "not well-formed XML")


# --------------------------------------------------------------------------------------------
# Atom
# --------------------------------------------------------------------------------------------

SECOND_UPDATED = "<updated>2024-01-01T10:00:00+00:00</updated>"


@pytest.mark.parametrize(
    ("old", "new", "expected"),
    [
        pytest.param(
            "<id>https://news.example/feeds/atom.xml</id>",
            "",
            "feed: has 0 <id> elements",
            id="feed-without-id",
        ),
        pytest.param(
            "<updated>2024-01-02T10:00:00+00:00</updated>\n  <author>",
            "<author>",
            "feed: has 0 <updated> elements",
            id="feed-without-updated",
        ),
        pytest.param(
            "<title>Second</title>", "", "entry 2: has 0 <title> elements", id="entry-no-title"
        ),
        pytest.param(SECOND_UPDATED, "", "entry 2: has 0 <updated>", id="entry-without-updated"),
        pytest.param(
            SECOND_UPDATED,
            "<updated>2024-01-01T10:00:00</updated>",
            "has no time zone",
            id="date-without-zone",
        ),
        pytest.param(
            SECOND_UPDATED, "<updated>2024-01-01</updated>", "has no time zone", id="date-only"
        ),
        pytest.param(
            SECOND_UPDATED,
            "<updated>20240101T100000Z</updated>",
            "is not an RFC 3339 date-time",
            id="basic-iso-form",
        ),
        pytest.param(
            SECOND_UPDATED,
            "<updated>Mon, 01 Jan 2024 10:00:00 +0000</updated>",
            "is not a date-time",
            id="rfc822-date",
        ),
        pytest.param(
            "<id>tag:news.example,2024:second</id>",
            "<id>https://news.example/articles/first/</id>",
            "is used by 2 entries",
            id="duplicate-ids",
        ),
        pytest.param(
            "<id>tag:news.example,2024:second</id>",
            "<id>second</id>",
            "is not an absolute IRI",
            id="relative-id",
        ),
        pytest.param(
            '<link href="https://news.example/articles/second/"/>',
            '<link href="/articles/second/"/>',
            "href '/articles/second/' is not an absolute URL",
            id="relative-link",
        ),
        pytest.param(
            '  <link href="https://news.example/feeds/atom.xml" rel="self" '
            'type="application/atom+xml"/>\n',
            "",
            'feed: missing <link rel="self">',
            id="missing-self",
        ),
        pytest.param(
            # What feedgen 1.0.0 writes: both entry links lose rel, type and length.
            '<link href="https://news.example/articles/first/" rel="alternate" type="text/html"/>\n'
            '    <link href="https://news.example/first.png" rel="enclosure" type="image/png" '
            'length="1234"/>',
            '<link href="https://news.example/articles/first/"/>\n'
            '    <link href="https://news.example/first.png"/>',
            "2 <link rel='alternate'>",
            id="two-alternates",
        ),
        pytest.param(
            'rel="enclosure" type="image/png" length="1234"',
            'rel="enclosure" length="1234"',
            "<link rel='enclosure'> has no type",
            id="enclosure-without-type",
        ),
        pytest.param(
            'type="image/png" length="1234"',
            'type="image/png" length="big"',
            "length 'big' is not a byte count",
            id="enclosure-bad-length",
        ),
        pytest.param(
            "<author><name>News Desk</name><email>desk@news.example</email></author>",
            "",
            "entry 1: no <author>, and the feed has none to inherit",
            id="no-author",
        ),
        pytest.param(
            "<name>News Desk</name>", "", "needs exactly one non-empty <name>", id="nameless"
        ),
        pytest.param(
            "<email>desk@news.example</email>",
            "<email>desk</email>",
            "'desk' is not an email address",
            id="bad-email",
        ),
        pytest.param(
            '<content type="html">&lt;p&gt;Bye',
            '<content type="text">&lt;p&gt;Bye',
            'expected type="html"',
            id="content-as-text",
        ),
        pytest.param(
            '<content type="html">&lt;p&gt;Bye&lt;/p&gt;</content>',
            '<content type="html"><p xmlns="http://www.w3.org/2005/Atom">Bye</p></content>',
            "holds XML elements",
            id="html-as-xml",
        ),
        pytest.param(
            '    <link href="https://news.example/articles/second/"/>\n    '
            + SECOND_UPDATED
            + '\n    <content type="html">&lt;p&gt;Bye&lt;/p&gt;</content>',
            SECOND_UPDATED,
            "needs a <content> or a <link rel='alternate'>",
            id="neither-content-nor-link",
        ),
        pytest.param(
            '<category term="world" label="World"/>',
            '<category label="World"/>',
            "<category> has no term",
            id="category-without-term",
        ),
        pytest.param(
            "&lt;p&gt;Hello&lt;/p&gt;",
            "&lt;img src=&quot;hello.png&quot;&gt;",
            "relative URL",
            id="relative-url-in-content",
        ),
    ],
)
def test_check_atom_rejects(old: str, new: str, expected: str) -> None:
    problems = check_atom(broken(ATOM_OK, old, new))

    assert problems_mention(problems, expected), problems


def test_check_atom_accepts_an_entry_with_content_and_no_link() -> None:
    data = broken(ATOM_OK, '    <link href="https://news.example/articles/second/"/>\n', "")

    assert check_atom(data) == []


def test_check_atom_rejects_other_formats() -> None:
    assert problems_mention(check_atom(RSS_OK.encode()), "expected Atom's <feed>")


# --------------------------------------------------------------------------------------------
# JSON Feed
# --------------------------------------------------------------------------------------------


def _set(path: tuple[str | int, ...], value: Any) -> Callable[[dict[str, Any]], None]:
    def change(document: dict[str, Any]) -> None:
        target: Any = document
        for key in path[:-1]:
            target = target[key]
        target[path[-1]] = value

    return change


def _delete(path: tuple[str | int, ...]) -> Callable[[dict[str, Any]], None]:
    def change(document: dict[str, Any]) -> None:
        target: Any = document
        for key in path[:-1]:
            target = target[key]
        del target[path[-1]]

    return change


@pytest.mark.parametrize(
    ("change", "expected"),
    [
        pytest.param(_delete(("version",)), "'version' is a required property", id="no-version"),
        pytest.param(
            _set(("version",), "https://jsonfeed.org/version/1"), "$.version", id="old-version"
        ),
        pytest.param(_delete(("title",)), "'title' is a required property", id="no-title"),
        pytest.param(_delete(("items",)), "'items' is a required property", id="no-items"),
        pytest.param(
            _delete(("items", 1, "id")), "$.items[1]: 'id' is a required property", id="no-id"
        ),
        pytest.param(_set(("items", 0, "id"), 1), "$.items[0].id: 1 is not of type", id="int-id"),
        pytest.param(
            _delete(("items", 1, "content_text")),
            "$.items[1]: needs content_html or content_text",
            id="no-content",
        ),
        pytest.param(
            _set(("items", 0, "date_published"), "2024-01-02T10:00:00"),
            "$.items[0].date_published: '2024-01-02T10:00:00' is not an RFC 3339 date-time with",
            id="date-without-zone",
        ),
        pytest.param(
            _set(("items", 1, "date_modified"), "2024-01-01"),
            "$.items[1].date_modified",
            id="date-only",
        ),
        pytest.param(
            _set(("items", 0, "url"), "/articles/first/"),
            "$.items[0].url: '/articles/first/' is not an absolute http(s) URL",
            id="relative-url",
        ),
        pytest.param(_set(("feed_url",), "feed.json"), "$.feed_url", id="relative-feed-url"),
        pytest.param(
            _set(("items", 1, "id"), "https://news.example/articles/first/"),
            "is used by 2 items",
            id="duplicate-ids",
        ),
        pytest.param(
            _set(("items", 0, "date_publised"), "2024-01-02T10:00:00Z"),
            "$.items[0]: unknown key(s) 'date_publised'",
            id="typo",
        ),
        pytest.param(_set(("authors",), [{}]), "$.authors[0]", id="empty-author"),
        pytest.param(
            _delete(("items", 0, "attachments", 0, "mime_type")),
            "'mime_type' is a required property",
            id="attachment-without-type",
        ),
        pytest.param(_set(("items", 0, "tags"), "World"), "$.items[0].tags", id="tags-not-list"),
        pytest.param(
            _set(("items", 0, "content_html"), '<p><a href="/">home</a></p>'),
            "$.items[0].content_html: <a href='/'>: relative URL",
            id="relative-url-in-content",
        ),
        pytest.param(
            _set(("items", 0, "_newswire"), "world"),
            "$.items[0]['_newswire']: 'world' is not of type 'object'",
            id="bad-extension",
        ),
    ],
)
def test_check_json_feed_rejects(change: Callable[[dict[str, Any]], None], expected: str) -> None:
    document = copy.deepcopy(JSON_OK)
    change(document)

    problems = check_json_feed(json.dumps(document).encode())

    assert problems_mention(problems, expected), problems


def test_check_json_feed_rejects_what_is_not_json() -> None:
    assert problems_mention(check_json_feed(RSS_OK.encode()), "not JSON")
    assert problems_mention(check_json_feed(b'{"title": "\xff"}'), "not UTF-8")


# --------------------------------------------------------------------------------------------
# assert_valid
# --------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("fmt", "data", "expected"),
    [
        (FeedFormat.RSS, broken(RSS_OK, SECOND_GUID, ""), "missing <guid>"),
        (FeedFormat.ATOM, broken(ATOM_OK, SECOND_UPDATED, ""), "0 <updated>"),
        (FeedFormat.JSON, b'{"version": "https://jsonfeed.org/version/1.1"}', "'items'"),
        (FeedFormat.RSS, ATOM_OK.encode(), "expected <rss>"),
    ],
    ids=["rss", "atom", "json", "wrong-format"],
)
def test_assert_valid_fails_with_every_problem_listed(
    fmt: FeedFormat, data: bytes, expected: str
) -> None:
    with pytest.raises(AssertionError, match="invalid") as failure:
        assert_valid(data, fmt)

    assert expected in str(failure.value)
