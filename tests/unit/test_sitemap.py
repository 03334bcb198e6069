"""The site's sitemaps (sitemaps.org 0.9): a sitemap index of one sitemap per archive month."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta, timezone

import pytest
from lxml import etree

from newswire.build import build_site
from newswire.content.site import parse_site
from newswire.rendering import sitemap
from newswire.rendering.base import ReplaceOnly
from newswire.rendering.sitemap import (
    MAX_LOC_CHARACTERS,
    MAX_SITEMAP_BYTES,
    SITEMAP_CONTENT_TYPE,
    URLS_PER_SITEMAP,
    first_part_of,
    is_sitemap_path,
    month_sitemap_path,
    month_sitemap_paths,
    render_month_sitemaps,
    render_sitemap,
    render_sitemap_index,
)
from tests.support.factories import make_entry, make_site
from tests.support.feedcheck import check_published, check_sitemap

NS = {"s": "http://www.sitemaps.org/schemas/sitemap/0.9"}


def locs(body: bytes) -> list[str]:
    return [str(loc) for loc in etree.fromstring(body).xpath("//s:loc/text()", namespaces=NS)]


def test_each_url_has_its_loc_and_lastmod_from_updated() -> None:
    edited = make_entry(1, updated=datetime(2021, 3, 21, 8, 5, tzinfo=timezone(timedelta(hours=2))))

    body = render_sitemap([edited, make_entry(2)])

    root = etree.fromstring(body)
    assert root.tag == "{http://www.sitemaps.org/schemas/sitemap/0.9}urlset"
    assert [(u.findtext("s:loc", namespaces=NS), u.findtext("s:lastmod", namespaces=NS))
            for u in root.xpath("s:url", namespaces=NS)] == [
        ("https://news.example/articles/story-1/", "2021-03-21T06:05:00+00:00"),
        ("https://news.example/articles/story-2/", "2021-03-18T11:30:00+00:00"),
    ]  # fmt: skip
    assert body.startswith(b"<?xml version='1.0' encoding='UTF-8'?>")
    assert check_sitemap(body) == []


def test_urls_are_percent_encoded_and_entity_escaped() -> None:
    entry = make_entry(1, url="https://news.example/café/a b?x=1&y='2'\x01")

    body = render_sitemap([entry])

    assert b"<loc>https://news.example/caf%C3%A9/a%20b?x=1&amp;y=&apos;2&apos;%01</loc>" in body
    assert locs(body) == ["https://news.example/caf%C3%A9/a%20b?x=1&y='2'%01"]
    assert check_sitemap(body) == []


def test_a_url_at_the_protocols_length_limit_is_left_out() -> None:
    base = "https://news.example/"
    fits = make_entry(1, url=base + "a" * (MAX_LOC_CHARACTERS - len(base)))
    too_long = make_entry(2, url=base + "a" * (MAX_LOC_CHARACTERS - len(base) + 1))
    escaped_too_long = make_entry(3, url=base + "&" * ((MAX_LOC_CHARACTERS - len(base)) // 5 + 1))

    assert locs(render_sitemap([fits, too_long, escaped_too_long])) == [fits.url]


def test_a_month_over_the_url_limit_is_split_oldest_first() -> None:
    start, entry = datetime(2026, 12, 1, tzinfo=UTC), make_entry(1)
    entries = [
        replace(
            entry,
            url=f"https://news.example/articles/{n}/",
            published=start + timedelta(seconds=n),
            updated=start + timedelta(seconds=n),
        )
        for n in reversed(range(URLS_PER_SITEMAP + 1))  # newest first, as an archive
    ]

    files = render_month_sitemaps("2026-12", entries)

    assert [f.path for f in files] == ["sitemaps/2026-12.xml", "sitemaps/2026-12-2.xml"]
    assert {f.content_type for f in files} == {SITEMAP_CONTENT_TYPE}
    first, second = (locs(f.body) for f in files)
    assert len(first) == URLS_PER_SITEMAP
    assert first[0] == "https://news.example/articles/0/"  # the oldest
    assert second == [f"https://news.example/articles/{URLS_PER_SITEMAP}/"]  # the newest
    assert check_sitemap(files[1].body) == []


def test_a_full_part_of_the_longest_urls_stays_within_the_byte_limit() -> None:
    base = "https://news.example/?"
    longest = make_entry(1, url=base + "a&" * ((MAX_LOC_CHARACTERS - len(base)) // 6))
    assert locs(render_sitemap([longest])) == [longest.url]  # at the limit, escaped

    body = render_month_sitemaps("2026-12", [longest] * URLS_PER_SITEMAP)[0].body

    assert MAX_SITEMAP_BYTES * 0.5 < len(body) <= MAX_SITEMAP_BYTES


def test_an_emptied_month_keeps_one_empty_sitemap() -> None:
    [file] = render_month_sitemaps("2026-12", [])

    assert file.path == "sitemaps/2026-12.xml"
    assert locs(file.body) == []
    assert check_sitemap(file.body) == []


def test_the_index_lists_every_part_of_each_month_with_articles() -> None:
    site = make_site(feeds_url="https://cdn.news.example/feeds/")

    body = render_sitemap_index({"2026-12": URLS_PER_SITEMAP + 1, "2026-10": 3, "2026-11": 0}, site)

    assert locs(body) == [
        "https://cdn.news.example/feeds/sitemaps/2026-10.xml",
        "https://cdn.news.example/feeds/sitemaps/2026-12.xml",
        "https://cdn.news.example/feeds/sitemaps/2026-12-2.xml",
    ]
    assert b"lastmod" not in body  # an edit rewrites its month's sitemap alone
    assert check_sitemap(body, index=True) == []
    assert check_published("sitemap.xml", body) == []


def test_an_empty_site_has_an_empty_index() -> None:
    body = render_sitemap_index({}, make_site())

    assert etree.fromstring(body).tag == "{http://www.sitemaps.org/schemas/sitemap/0.9}sitemapindex"
    assert locs(body) == []


@pytest.mark.parametrize(
    ("path", "expected"),
    [
        ("sitemap.xml", True),
        ("sitemaps/2026-12.xml", True),
        ("sitemaps/2026-12-2.xml", True),
        ("news-sitemap.xml", False),
        ("archive/2026-12/rss.xml", False),
    ],
)
def test_sitemap_paths(path: str, expected: bool) -> None:
    assert is_sitemap_path(path) is expected


def test_month_sitemap_paths() -> None:
    assert month_sitemap_path("2026-12") == "sitemaps/2026-12.xml"
    assert month_sitemap_path("2026-12", 3) == "sitemaps/2026-12-3.xml"


@pytest.mark.parametrize(
    ("articles", "parts", "empty_next"),
    [(0, 1, False), (1, 1, False), (2, 1, True), (3, 2, False), (4, 2, True), (41, 21, False)],
)
def test_a_months_paths_are_its_parts_and_the_next_when_just_full(
    monkeypatch: pytest.MonkeyPatch, articles: int, parts: int, empty_next: bool
) -> None:
    """A rebuild reads the paths it names before rendering (a part only the render gave
    would cost another attempt): every part, and after a full last one the next, which the
    change may have just emptied, written empty only over one already there."""
    monkeypatch.setattr(sitemap, "URLS_PER_SITEMAP", 2)
    entries = [replace(make_entry(1), url=f"https://news.example/{n}/") for n in range(articles)]
    expected = [month_sitemap_path("2026-12", n) for n in range(1, parts + 1 + empty_next)]

    rendered = render_month_sitemaps("2026-12", entries)

    assert list(month_sitemap_paths("2026-12", articles)) == expected
    assert [f.path for f in rendered] == expected
    assert [isinstance(f, ReplaceOnly) for f in rendered] == [False] * parts + [True] * empty_next
    assert sum(f.body.count(b"<url>") for f in rendered) == articles


GOOD = render_sitemap([make_entry(1)])


@pytest.mark.parametrize(
    ("old", "new", "expected"),
    [
        (b"sitemaps.org/schemas", b"example.org/schemas", "expected sitemaps.org urlset"),
        (b"<loc>https://news.example/articles/story-1/</loc>", b"", "expected one loc"),
        (b"https://news.example/articles/story-1/", b"/articles/story-1/", "not an absolute URL"),
        (b"https://news.example/articles/", b"https://news.example/caf\xc3\xa9/", "URL-escaped"),
        (b"11:30:00+00:00", b"11:30:00", "has no time zone"),
        (b"2021-03-19T11:30:00+00:00", b"yesterday", "is not a W3C date"),
        (b"<lastmod>", b"<priority>1</priority><lastmod>", ""),  # optional, allowed
        (b"<lastmod>", b"<title>x</title><lastmod>", "expected one loc and"),
    ],
)
def test_check_sitemap_rejects(old: bytes, new: bytes, expected: str) -> None:
    assert old in GOOD
    problems = check_sitemap(GOOD.replace(old, new))
    assert (expected in "\n".join(problems)) if expected else problems == []
    assert bool(problems) is bool(expected)


@pytest.mark.parametrize(
    ("path", "first"),
    [
        ("sitemaps/2026-12-2.xml", "sitemaps/2026-12.xml"),
        ("sitemaps/2026-12.xml", "sitemaps/2026-12.xml"),
        ("archive/2026-12/rss.xml", "archive/2026-12/rss.xml"),
        ("tags/a-b-c/rss.xml", "tags/a-b-c/rss.xml"),
    ],
)
def test_a_months_further_parts_go_with_its_first(path: str, first: str) -> None:
    assert first_part_of(path) == first


def test_a_build_publishes_the_index_and_a_sitemap_per_month_of_live_articles() -> None:
    site = parse_site(
        "site.yaml", b"title: Wire\ndescription: D\nauthor: Desk\nbase_url: https://news.example/\n"
    )
    files = [
        (f"articles/{name}.md", f"---\ntitle: {name}\n{fields}---\n\nBody.\n".encode())
        for name, fields in (
            ("jan", "published: 2026-01-05T10:00:00Z\nupdated: 2026-02-20T09:00:00+01:00\n"),
            ("feb", "published: 2026-02-05T10:00:00Z\n"),
            ("draft", "published: 2026-02-06T10:00:00Z\ndraft: true\n"),
            ("later", "published: 2026-03-06T10:00:00Z\n"),
        )
    ]

    report = build_site(files, site, datetime(2026, 3, 1, tzinfo=UTC))

    built = {f.path: f for f in report.files if is_sitemap_path(f.path)}
    assert sorted(built) == ["sitemap.xml", "sitemaps/2026-01.xml", "sitemaps/2026-02.xml"]
    assert {f.content_type for f in built.values()} == {SITEMAP_CONTENT_TYPE}
    assert locs(built["sitemap.xml"].body) == [
        "https://news.example/feeds/sitemaps/2026-01.xml",
        "https://news.example/feeds/sitemaps/2026-02.xml",
    ]
    assert b"<lastmod>2026-02-20T08:00:00+00:00</lastmod>" in built["sitemaps/2026-01.xml"].body
    assert locs(built["sitemaps/2026-02.xml"].body) == ["https://news.example/articles/feb/"]
    assert all(check_published(path, f.body) == [] for path, f in built.items())
