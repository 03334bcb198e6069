"""The article lifecycle as a writer sees it: corrections, withdrawal and expiry."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime, timedelta
from typing import Any

import feedparser
import pytest
from lxml import etree

from newswire.build import build_site
from newswire.buildpartners import PartnerFeeds, build_findings
from newswire.content.articles import parse_article
from newswire.domain.feeds import MAIN_FEED, MAX_MAIN_FEED_TOMBSTONES, FeedFormat, build_feed
from newswire.domain.model import MAX_REASON_CHARS, Entry, SiteConfig
from newswire.errors import InvalidArticleError
from newswire.rendering.entry import render_entry
from newswire.rendering.registry import RENDERERS
from tests.support.factories import content_site
from tests.support.feedcheck import assert_valid, check_atom

VALID = 'title: "Council vote"\npublished: 2024-06-14T10:00:00+01:00'


def md(front: str, body: str = "The vote is on 20 June.") -> bytes:
    return f"---\n{front.strip()}\n---\n\n{body}".encode()


def problems(key: str, data: bytes, site: SiteConfig) -> list[str]:
    with pytest.raises(InvalidArticleError) as caught:
        parse_article(key, data, site)
    return [str(problem) for problem in caught.value.problems]


CORRECTED = md(
    VALID
    + """
updated: 2024-06-14T12:00:00+01:00
corrections:
  - date: 2024-06-16T00:30:00+01:00
    text: "The vote is on 21 June, not 20 June."
  - date: 2024-06-15
    text: 'An earlier version misspelt the <b>leader''s</b> name & title.'
"""
)


# --- corrections -----------------------------------------------------------------------------


def test_corrections_are_read_oldest_first_and_dated_in_the_site_zone(site: SiteConfig) -> None:
    article = parse_article("articles/vote.md", CORRECTED, site)

    assert [(c.date, c.day) for c in article.corrections] == [
        (datetime(2024, 6, 15, 23, 30, tzinfo=UTC), date(2024, 6, 16)),  # BST: the 16th
        (datetime(2024, 6, 14, 23, 0, tzinfo=UTC), date(2024, 6, 15)),
    ]


def test_the_latest_correction_moves_updated(site: SiteConfig) -> None:
    article = parse_article("articles/vote.md", CORRECTED, site)

    assert render_entry(article).updated == datetime(2024, 6, 15, 23, 30, tzinfo=UTC)


def test_a_correction_older_than_updated_leaves_it(site: SiteConfig) -> None:
    data = md(
        VALID + "\nupdated: 2024-07-01T00:00:00Z\ncorrections: [{date: 2024-06-20, text: Fixed.}]"
    )

    assert render_entry(parse_article("articles/v.md", data, site)).updated == datetime(
        2024, 7, 1, tzinfo=UTC
    )


def test_corrections_end_the_content_as_dated_escaped_notices(site: SiteConfig) -> None:
    entry = render_entry(parse_article("articles/vote.md", CORRECTED, site))

    assert entry.content_html == (
        "<p>The vote is on 20 June.</p>\n"
        "<p><strong>Correction (15 June 2024):</strong> An earlier version misspelt the "
        "&lt;b&gt;leader's&lt;/b&gt; name &amp; title.</p>\n"
        "<p><strong>Correction (16 June 2024):</strong> The vote is on 21 June, not 20 June.</p>"
    )
    assert entry.summary == "The vote is on 20 June."


def test_every_format_carries_the_notice(site: SiteConfig) -> None:
    entry = render_entry(parse_article("articles/vote.md", CORRECTED, site))
    feed = build_feed(MAIN_FEED, [entry], site)

    for fmt, renderer in RENDERERS.items():
        document = renderer.render(feed)
        if fmt.name == "JSON":
            item = json.loads(document)["items"][0]
            assert "Correction (16 June 2024):</strong>" in item["content_html"]
            assert item["date_modified"] == "2024-06-15T23:30:00+00:00"
        else:
            assert b"Correction (16 June 2024):&lt;/strong&gt;" in document, fmt


def test_corrections_follow_the_sources(site: SiteConfig) -> None:
    data = md(VALID + "\nsources: [BBC]\ncorrections: [{date: 2024-06-15, text: Fixed.}]")

    content = render_entry(parse_article("articles/v.md", data, site)).content_html

    assert content.endswith(
        "<p>Sources: BBC</p>\n<p><strong>Correction (15 June 2024):</strong> Fixed.</p>"
    )


def test_a_json_article_takes_corrections_too(site: SiteConfig) -> None:
    data = {
        "title": "T",
        "published": "2026-01-15T06:45:00Z",
        "body_html": "<p>Text.</p>",
        "corrections": [{"date": "2026-01-16T10:00:00Z", "text": "Fixed."}],
    }

    article = parse_article("articles/t.json", json.dumps(data).encode(), site)

    assert render_entry(article).content_html.endswith(
        "Correction (16 January 2026):</strong> Fixed.</p>"
    )


def test_a_correction_dated_by_its_day_of_publication_is_dated_when_it_was_published(
    site: SiteConfig,
) -> None:
    """``date: 2024-06-14`` for an article published at 10:00 (BST) that day: corrected that
    day, not at the midnight before it was published (refused as before publication)."""
    data = md(VALID + "\ncorrections: [{date: 2024-06-14, text: Fixed the time.}]")

    article = parse_article("articles/v.md", data, site)

    assert [(c.date, c.day) for c in article.corrections] == [
        (datetime(2024, 6, 14, 9, 0, tzinfo=UTC), date(2024, 6, 14))
    ]
    assert article.shown_updated == article.published  # not moved by it


@pytest.mark.parametrize(
    ("corrections", "expected"),
    [
        (
            "{date: 2024-06-15}",
            [
                "corrections[0].text: is missing or empty, expected what was corrected, as text",
            ],
        ),
        (
            "[{text: Fixed.}, {date: soon, text: Fixed.}]",
            [
                "corrections[0].date: is missing, expected an ISO 8601 date such as "
                "2022-02-25T14:30:00+03:00",
                "corrections[1].date: 'soon' is not a date, expected an ISO 8601 date such as "
                "2022-02-25T14:30:00+03:00",
            ],
        ),
        (
            "[{date: 2024-06-15, text: '  '}, {date: 2024-06-15, txt: x}]",
            [
                "corrections[0].text: is missing or empty, expected what was corrected, as text",
                "corrections[1].txt: unknown field (did you mean 'text'?), expected one of "
                "date, text",
            ],
        ),
        (
            "[Fixed.]",
            ["corrections[0]: is a string, expected a mapping with date, text"],
        ),
        (
            "[{date: 2024-06-13, text: Fixed.}]",
            [
                "corrections[0].date: 2024-06-12T23:00:00+00:00 is before published "
                "(2024-06-14T09:00:00+00:00), expected the date of the correction, at or after "
                "published",
            ],
        ),
    ],
)
def test_a_bad_correction_is_named_by_its_place(
    site: SiteConfig, corrections: str, expected: list[str]
) -> None:
    data = md(VALID + f"\ncorrections: {corrections}")

    assert problems("articles/v.md", data, site) == expected


def test_at_most_fifty_corrections(site: SiteConfig) -> None:
    many = ", ".join("{date: 2024-06-15, text: Fixed.}" for _ in range(51))

    assert problems("articles/v.md", md(VALID + f"\ncorrections: [{many}]"), site) == [
        "corrections: has 51 entries, expected at most 50"
    ]


# --- withdrawal ------------------------------------------------------------------------------

NOW = datetime(2026, 3, 10, 12, 0, tzinfo=UTC)
AT = "{http://purl.org/atompub/tombstones/1.0}"
ATOM = "{http://www.w3.org/2005/Atom}"


def story(title: str, published: str, extra: str = "") -> bytes:
    front = f'title: "{title}"\npublished: {published}\ntags: [World]\nsection: World\n{extra}'
    return md(front, f"Body of {title}.")


WITHDRAWN = story(
    "Withdrawn",
    "2026-03-02T09:00:00Z",
    'updated: 2026-03-09T08:00:00Z\nwithdrawn: "Legal reasons: the court ordered it & we agreed"\n',
)
SOURCES = [
    ("articles/kept.md", story("Kept", "2026-03-01T09:00:00Z")),
    ("articles/withdrawn.md", WITHDRAWN),
]


def build(sources: list[tuple[str, bytes]], site: SiteConfig, now: datetime = NOW) -> Any:
    report = build_site(sources, site, now)
    assert not report.rejected
    return report


def files_of(report: Any) -> dict[str, bytes]:
    return {file.path: file.body for file in report.files}


def tombstones(document: bytes) -> list[tuple[str | None, str | None, str | None]]:
    root = etree.fromstring(document)
    return [
        (t.get("ref"), t.get("when"), t.findtext(f"{AT}comment"))
        for t in root.iter(f"{AT}deleted-entry")
    ]


def test_a_withdrawn_article_leaves_every_feed_and_sitemap(site: SiteConfig) -> None:
    report = build(SOURCES, site)
    files = files_of(report)

    assert (report.published, report.withdrawn) == (1, 1)
    for path, body in files.items():
        assert b"Withdrawn" not in body.replace(b"withdrawn", b""), path
        assert b"articles/withdrawn/</" not in body or b"deleted-entry" in body, path
    assert b"articles/kept/" in files["sitemaps/2026-03.xml"]
    assert b"articles/withdrawn/" not in files["sitemaps/2026-03.xml"]


def test_the_main_and_archive_atom_feeds_carry_its_tombstone(site: SiteConfig) -> None:
    files = files_of(build(SOURCES, site))
    expected = [
        (
            "https://news.example/articles/withdrawn/",
            "2026-03-09T08:00:00+00:00",  # its updated
            "Legal reasons: the court ordered it & we agreed",
        )
    ]

    assert tombstones(files["atom.xml"]) == expected
    assert tombstones(files["archive/2026-03/atom.xml"]) == expected
    for path in ("tags/world/atom.xml", "sections/world/atom.xml", "rss.xml", "feed.json"):
        assert b"deleted-entry" not in files[path], path
    assert b'xmlns:at="http://purl.org/atompub/tombstones/1.0"' in files["atom.xml"]


def test_the_tombstone_is_valid_atom_for_a_strict_validator_and_feedparser(
    site: SiteConfig,
) -> None:
    files = files_of(build(SOURCES, site))

    for path in ("atom.xml", "archive/2026-03/atom.xml"):
        assert_valid(files[path], FeedFormat.ATOM)
        parsed = feedparser.parse(files[path])
        assert [entry.title for entry in parsed.entries] == ["Kept"]


def test_the_validator_refuses_a_broken_tombstone() -> None:
    broken = (
        b'<feed xmlns="http://www.w3.org/2005/Atom" xmlns:at="http://purl.org/atompub/'
        b'tombstones/1.0"><at:deleted-entry ref="relative/x" when="yesterday"/></feed>'
    )

    problems = check_atom(broken)

    assert "deleted-entry 1: ref 'relative/x' is not an absolute IRI" in problems
    assert any(p.startswith("deleted-entry 1: when ") for p in problems)


def test_the_tombstone_stays_thirty_days_after_when(site: SiteConfig) -> None:
    when = datetime(2026, 3, 9, 8, 0, tzinfo=UTC)
    dated = story(
        "Withdrawn", "2026-03-02T09:00:00Z", f"withdrawn: {{reason: Wrong, date: {when}}}\n"
    )
    sources = [SOURCES[0], ("articles/withdrawn.md", dated)]

    last = files_of(build(sources, site, when + timedelta(days=30, microseconds=-1)))
    gone = files_of(build(sources, site, when + timedelta(days=30)))

    assert len(tombstones(last["atom.xml"])) == 1
    assert tombstones(gone["atom.xml"]) == []
    assert b"deleted-entry" not in gone["archive/2026-03/atom.xml"]
    assert b"xmlns:at" not in gone["atom.xml"]


def test_an_undated_withdrawal_too_old_for_its_updated_is_dated_by_the_build_and_warned(
    site: SiteConfig,
) -> None:
    """Withdrawn with no date, its ``updated`` over 30 days old: still a tombstone readers
    see (dated when first seen: by a build, its ``now``), and a warning naming the field."""
    later = datetime(2026, 4, 20, 12, 0, tzinfo=UTC)  # updated (9 March) + 42 days

    report = build(SOURCES, site, later)

    assert tombstones(files_of(report)["atom.xml"]) == [
        (
            "https://news.example/articles/withdrawn/",
            "2026-04-20T12:00:00+00:00",
            "Legal reasons: the court ordered it & we agreed",
        )
    ]
    (warning,) = report.warnings
    assert warning.startswith(
        "articles/withdrawn.md: withdrawn: no date, and its last update "
        "(2026-03-09T08:00:00+00:00) is over 30 days old, so its tombstone is dated when it is "
        "first seen "
        "(this build: 2026-04-20T12:00:00+00:00)"
    )
    assert warning.endswith("expected withdrawn: {reason: …, date: <when it was withdrawn>}")
    assert build(SOURCES, site).warnings == []  # within 30 days of updated: dated by it


def test_the_main_feed_carries_the_newest_tombstones_only(site: SiteConfig) -> None:
    """A mass withdrawal cannot crowd the live entries out of the main feed; the month's
    archive still carries every tombstone."""

    def withdrawn(n: int) -> bytes:
        day = datetime(2026, 3, 3, tzinfo=UTC) + timedelta(minutes=n)
        return story(f"W{n}", "2026-03-02T09:00:00Z", f"updated: {day}\nwithdrawn: r{n}\n")

    count = MAX_MAIN_FEED_TOMBSTONES + 10
    sources = [SOURCES[0]] + [(f"articles/w{n:02}.md", withdrawn(n)) for n in range(count)]

    files = files_of(build(sources, site))

    carried = tombstones(files["atom.xml"])
    assert len(carried) == MAX_MAIN_FEED_TOMBSTONES
    assert carried[0][2] == f"r{count - 1}" and carried[-1][2] == "r10"  # the newest
    assert len(tombstones(files["archive/2026-03/atom.xml"])) == count
    assert [e.title for e in feedparser.parse(files["atom.xml"]).entries] == ["Kept"]


def test_a_withdrawn_draft_or_scheduled_article_leaves_no_tombstone(site: SiteConfig) -> None:
    sources = [
        ("articles/kept.md", story("Kept", "2026-03-01T09:00:00Z")),
        ("articles/d.md", story("D", "2026-03-02T09:00:00Z", "withdrawn: x\ndraft: true\n")),
        ("articles/s.md", story("S", "2026-03-11T09:00:00Z", "withdrawn: x\n")),
    ]

    assert tombstones(files_of(build(sources, site))["atom.xml"]) == []
    later = files_of(build(sources, site, datetime(2026, 3, 12, tzinfo=UTC)))
    assert [ref for ref, _when, _comment in tombstones(later["atom.xml"])] == [
        "https://news.example/articles/s/"
    ]


def test_tombstones_come_newest_first(site: SiteConfig) -> None:
    sources = [
        (
            "articles/a.md",
            story("A", "2026-02-01T09:00:00Z", "updated: 2026-03-05\nwithdrawn: a\n"),
        ),
        ("articles/b.md", story("B", "2026-03-01T09:00:00Z", "withdrawn: b\n")),
        ("articles/kept.md", story("Kept", "2026-03-01T10:00:00Z")),
    ]

    files = files_of(build(sources, site))

    # by when: a was withdrawn (updated) on 5 March, b on 1 March (its published)
    assert [c for _r, _w, c in tombstones(files["atom.xml"])] == ["a", "b"]
    assert [c for _r, _w, c in tombstones(files["archive/2026-03/atom.xml"])] == ["b"]
    assert "archive/2026-02/atom.xml" not in files  # a month with no live article has none


EXPECTED_WITHDRAWAL = "the reason as text, or a mapping with reason and date"


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ('""', "withdrawn: is missing or empty, expected the reason the article is withdrawn"),
        ("true", f"withdrawn: is a boolean, expected {EXPECTED_WITHDRAWAL}"),
        ("[a]", f"withdrawn: is a list, expected {EXPECTED_WITHDRAWAL}"),
        ("{date: 2024-06-15}", "withdrawn.reason: is missing or empty, expected the reason"),
        ("{reason: x, date: soon}", "withdrawn.date: 'soon' is not a date, expected an ISO"),
        ("{reason: x, when: 2024-06-15}", "withdrawn.when: unknown field, expected one of date"),
        (
            "{reason: x, date: 2024-06-13}",
            "withdrawn.date: 2024-06-12T23:00:00+00:00 is before published "
            "(2024-06-14T09:00:00+00:00), expected the time the article was withdrawn",
        ),
    ],
)
def test_a_withdrawal_needs_a_reason_and_a_date_if_any(
    site: SiteConfig, value: str, expected: str
) -> None:
    (found,) = problems("articles/v.md", md(VALID + f"\nwithdrawn: {value}"), site)
    assert found.startswith(expected)


def test_a_dated_withdrawal_dates_its_tombstone(site: SiteConfig) -> None:
    data = md(VALID + "\nwithdrawn: {reason: Wrong town, date: 2024-07-01T10:00:00Z}")

    article = parse_article("articles/v.md", data, site)

    assert (article.withdrawn, article.withdrawn_at) == (
        "Wrong town",
        datetime(2024, 7, 1, 10, tzinfo=UTC),
    )
    tombstone = article.tombstone_at(datetime(2026, 1, 1, tzinfo=UTC))  # seen much later
    assert tombstone is not None and tombstone.when == datetime(2024, 7, 1, 10, tzinfo=UTC)


@pytest.mark.parametrize("value", ["2024-06-15T16:30:00Z", "2024-06-15", "'2024-06-15 16:30'"])
def test_a_date_given_as_the_withdrawal_is_refused_not_taken_for_its_reason(
    site: SiteConfig, value: str
) -> None:
    """``withdrawn: <date>`` means "withdrawn then", not a reason; a tombstone saying
    "2024-06-15" to readers would be wrong, so the writer is shown both forms."""
    written = value.strip("'")

    assert problems("articles/v.md", md(VALID + f"\nwithdrawn: {value}"), site) == [
        f"withdrawn: {written!r} is a date, not the reason, expected withdrawn: "
        f'"<reason>", or withdrawn: {{reason: "<reason>", date: {written}}} to date it'
    ]


def test_a_reason_that_starts_with_a_date_is_a_reason(site: SiteConfig) -> None:
    data = md(VALID + '\nwithdrawn: "2024-06-15: published in error"')

    assert parse_article("articles/v.md", data, site).withdrawn == "2024-06-15: published in error"


def test_a_withdrawal_dated_by_its_day_of_publication_is_dated_when_it_was_published(
    site: SiteConfig,
) -> None:
    """``date: 2026-03-02`` for an article published at 09:00 that day: withdrawn that day,
    so its tombstone is dated at its publication, never before its entry."""
    same_day = story(
        "Withdrawn", "2026-03-02T09:00:00Z", "withdrawn: {reason: Wrong, date: 2026-03-02}\n"
    )

    files = files_of(build([SOURCES[0], ("articles/withdrawn.md", same_day)], site))

    expected = [("https://news.example/articles/withdrawn/", "2026-03-02T09:00:00+00:00", "Wrong")]
    assert tombstones(files["atom.xml"]) == expected
    assert tombstones(files["archive/2026-03/atom.xml"]) == expected
    assert_valid(files["atom.xml"], FeedFormat.ATOM)


def test_a_withdrawal_dated_by_a_later_day_is_dated_at_its_midnight(site: SiteConfig) -> None:
    data = md(VALID + "\nwithdrawn: {reason: Wrong, date: 2024-06-16}")

    article = parse_article("articles/v.md", data, site)

    assert article.withdrawn_at == datetime(2024, 6, 15, 23, 0, tzinfo=UTC)  # London midnight


def test_a_long_reason_is_cut_not_refused(site: SiteConfig) -> None:
    data = md(VALID + "\nwithdrawn: " + "Legal reasons. " * 100)

    reason = parse_article("articles/v.md", data, site).withdrawn

    assert reason is not None and len(reason) == MAX_REASON_CHARS and reason.endswith("…")


# --- expiry ----------------------------------------------------------------------------------


def test_an_article_leaves_every_feed_when_it_expires(site: SiteConfig) -> None:
    expiring = story("Offer", "2026-03-01T09:00:00Z", "expires: 2026-03-10T12:00:00Z\n")
    sources = [("articles/kept.md", story("Kept", "2026-03-02T09:00:00Z"))]
    sources.append(("articles/offer.md", expiring))

    before = build(sources, site, NOW - timedelta(microseconds=1))
    at = build(sources, site, NOW)

    assert b"Offer" in files_of(before)["rss.xml"]
    assert (at.published, at.expired) == (1, 1)
    for path, body in files_of(at).items():
        assert b"Offer" not in body and b"articles/offer/" not in body, path  # no tombstone


def test_expires_is_on_the_entry_and_survives_the_index(site: SiteConfig) -> None:
    data = md(VALID + "\nexpires: 2024-07-01T00:00:00")

    entry = render_entry(parse_article("articles/v.md", data, site))

    assert entry.expires == datetime(2024, 6, 30, 23, 0, tzinfo=UTC)  # London time
    assert Entry.from_dict(entry.to_dict()) == entry


def test_expires_must_come_after_published(site: SiteConfig) -> None:
    assert problems("articles/v.md", md(VALID + "\nexpires: 2024-06-14T10:00:00+01:00"), site) == [
        "expires: 2024-06-14T09:00:00+00:00 is not after published (2024-06-14T09:00:00+00:00), "
        "expected the time the article leaves its feeds, after published"
    ]


def test_partners_are_not_checked_for_what_they_will_never_get() -> None:
    site = content_site()
    live = parse_article("articles/s.md", story("S", "2026-03-01T09:00:00Z"), site)
    withdrawn = parse_article(
        "articles/w.md", story("W", "2026-03-01T09:00:00Z", "withdrawn: x\n"), site
    )
    expired = parse_article(
        "articles/e.md", story("E", "2026-03-01T09:00:00Z", "expires: 2026-03-02T00:00:00Z\n"), site
    )

    def files_with_findings(articles: list[Any]) -> set[str]:
        no_feeds = PartnerFeeds([], [], [])  # the articles' own findings
        return {str(f).split(":", 1)[0] for f in build_findings(articles, site, NOW, no_feeds)}

    assert "articles/s.md" in files_with_findings([live])  # no image: Flipboard wants one
    assert files_with_findings([live, withdrawn, expired]) == files_with_findings([live])


def test_a_withdrawal_dated_in_the_future_is_warned_of(site: SiteConfig) -> None:
    """A mistyped year (2062 for 2026): the article leaves its feeds at once, but its
    tombstone, dated decades ahead, would head the main feed's tombstones until then."""
    typo = story("Typo", "2026-03-02T09:00:00Z", "withdrawn: {reason: Wrong, date: 2062-03-09}\n")

    report = build([SOURCES[0], ("articles/typo.md", typo)], site)

    assert report.warnings == [
        "articles/typo.md: withdrawn.date: 2062-03-09T00:00:00+00:00 is after this build's "
        f"time ({NOW.isoformat()}), so its tombstone stays until 30 days after it, expected "
        "the time the article was withdrawn, not later than now"
    ]
