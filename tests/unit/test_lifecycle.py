"""The article lifecycle as a writer sees it: corrections, withdrawal and expiry."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime

import pytest

from newswire.content.articles import parse_article
from newswire.domain.feeds import MAIN_FEED, build_feed
from newswire.domain.model import SiteConfig
from newswire.errors import InvalidArticleError
from newswire.rendering.entry import render_entry
from newswire.rendering.registry import RENDERERS

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
