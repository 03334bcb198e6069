"""Hostile input: whatever a writer (or a broken upload) puts in an article file, the build
either publishes valid feeds or rejects the article with a clear error. It never crashes.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from newswire.build import BuildReport, build_site
from newswire.errors import InvalidArticleError
from tests.support.factories import make_site
from tests.support.feedcheck import check_published

NOW = datetime(2026, 11, 1, tzinfo=UTC)
KEY_MD = "articles/hostile-article.md"
KEY_JSON = "articles/hostile-article.json"
SETTINGS = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])

#: Any text at all, control characters, lone surrogates and lone combining marks included
#: (``st.text()`` alone never draws a surrogate).
anything = st.text(st.one_of(st.characters(exclude_categories=()), st.sampled_from("\ud800\udfff")))
article_fields = st.fixed_dictionaries(
    {
        "title": anything,
        "summary": anything,
        "body": anything,
        "tags": st.lists(anything, min_size=1, max_size=3),
        "author": anything,
        "section": anything,
    }
)


def assert_valid_feeds_or_clear_error(report: BuildReport) -> None:
    assert report.files, "the main feed always exists"
    for feed_file in report.files:
        problems = check_published(feed_file.path, feed_file.body)
        assert not problems, (feed_file.path, problems)
    for error in report.rejected:
        assert isinstance(error, InvalidArticleError)
        assert str(error).startswith(f"{error.key}: {error.field}: ")
        assert ", expected " in str(error)
    assert report.published + len(report.rejected) == 1
    if report.published and _front_published(report):
        sitemap = next(f.body for f in report.files if f.path == "news-sitemap.xml")
        assert b"<loc>" in sitemap


def _front_published(report: BuildReport) -> bool:
    """Whether the article published is the one of :func:`_front` (in the sitemap's window)."""
    main = next(f.body for f in report.files if f.path == "feed.json")
    return b'"date_published": "2026-10-31T09:00:00+00:00"' in main


def _front(fields: dict[str, object]) -> dict[str, object]:
    return {
        "title": fields["title"],
        # Within the news sitemap's two days before NOW: the hostile title reaches it too.
        "published": "2026-10-31T10:00:00+01:00",
        "summary": fields["summary"],
        "tags": fields["tags"],
        "authors": [{"name": fields["author"]}],
        "section": fields["section"],
    }


def markdown_article(fields: dict[str, object]) -> bytes:
    front = yaml.safe_dump(_front(fields), allow_unicode=True)
    return f"---\n{front}---\n\n{fields['body']}".encode("utf-8", "surrogatepass")


def json_article(fields: dict[str, object], body_field: str, ascii_only: bool) -> bytes:
    """The article as JSON; ``ascii_only`` escapes every other character (``\\ud800``), so
    a lone surrogate reaches the parsed fields of a file that is valid UTF-8."""
    document = {**_front(fields), body_field: fields["body"]}
    return json.dumps(document, ensure_ascii=ascii_only).encode("utf-8", "surrogatepass")


@SETTINGS
@given(article_fields)
def test_any_text_in_a_markdown_article(fields: dict[str, object]) -> None:
    report = build_site([(KEY_MD, markdown_article(fields))], make_site(), NOW)
    assert_valid_feeds_or_clear_error(report)


@SETTINGS
@given(article_fields, st.sampled_from(["body_markdown", "body_html"]), st.booleans())
def test_any_text_in_a_json_article(
    fields: dict[str, object], body_field: str, ascii_only: bool
) -> None:
    data = json_article(fields, body_field, ascii_only)
    report = build_site([(KEY_JSON, data)], make_site(), NOW)
    assert_valid_feeds_or_clear_error(report)


@SETTINGS
@given(st.binary(max_size=2000), st.sampled_from([KEY_MD, KEY_JSON]))
def test_any_bytes_as_a_file(data: bytes, key: str) -> None:
    report = build_site([(key, data)], make_site(), NOW)
    assert_valid_feeds_or_clear_error(report)


@SETTINGS
@given(st.binary(max_size=2000))
def test_any_bytes_after_valid_front_matter(tail: bytes) -> None:
    data = b"---\ntitle: Fine\npublished: 2025-01-01\n---\n\n" + tail
    report = build_site([(KEY_MD, data)], make_site(), NOW)
    assert_valid_feeds_or_clear_error(report)


@pytest.mark.parametrize(
    "fields",
    [
        {"tags": ["Esc\x1bape"]},
        {"tags": ["nul\x00"]},
        {"tags": ["non\ufffecharacter"]},
        {"authors": [{"name": "Esc\x1bape"}]},
        {"authors": [{"name": "\uffff"}]},
    ],
    ids=["tag-esc", "tag-nul", "tag-fffe", "author-esc", "author-ffff"],
)
def test_xml_illegal_characters_in_a_tag_or_author_name(fields: dict[str, object]) -> None:
    front = yaml.safe_dump({"title": "Fine", "published": "2025-03-01", **fields})
    data = f"---\n{front}---\n\nBody.\n".encode()
    report = build_site([(KEY_MD, data)], make_site(), NOW)
    assert_valid_feeds_or_clear_error(report)
