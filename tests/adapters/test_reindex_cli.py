"""``newswire reindex``: rebuild the index and every feed from the content bucket."""

from __future__ import annotations

from collections.abc import Iterator

import feedparser
import pytest

from newswire import runtime
from newswire.cli import main
from tests.support.aws import Stack
from tests.support.factories import CONTENT


@pytest.fixture
def uploaded(stack: Stack) -> Iterator[Stack]:
    runtime.clear_clients()  # the command's clients must be made inside this moto account
    stack.upload_content(CONTENT)
    yield stack
    runtime.clear_clients()


def reindex(stack: Stack) -> int:
    return main(
        [
            "reindex",
            "--content-bucket",
            stack.content_bucket,
            "--feeds-bucket",
            stack.feeds_bucket,
            "--table",
            stack.table,
        ]
    )


def test_reindex_publishes_every_feed_from_the_bucket(
    uploaded: Stack, capsys: pytest.CaptureFixture[str]
) -> None:
    assert reindex(uploaded) == 0
    titles = [e.title for e in feedparser.parse(uploaded.feed("rss.xml")).entries]
    assert len(titles) == 6 and titles[-1].startswith("Putin urges")
    assert feedparser.parse(uploaded.feed("archive/2022-02/atom.xml")).entries
    err = capsys.readouterr().err.strip().splitlines()
    assert err[-1].startswith("newswire: reindexed 10 articles, 0 rejected;")


def test_reindex_reports_bad_articles_and_exits_1(
    uploaded: Stack, capsys: pytest.CaptureFixture[str]
) -> None:
    uploaded.put_article("articles/broken.md", b"---\ntitle: [\n---\n")
    assert reindex(uploaded) == 1
    err = capsys.readouterr().err.strip().splitlines()
    assert err[0].startswith("articles/broken.md: front matter: invalid YAML")
    assert "1 rejected" in err[-1]
    assert len(feedparser.parse(uploaded.feed("rss.xml")).entries) == 6


def test_reindex_without_names_says_what_is_missing(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    for name in ("CONTENT_BUCKET", "FEEDS_BUCKET", "INDEX_TABLE"):
        monkeypatch.delenv(name, raising=False)
    assert main(["reindex", "--table", "t"]) == 2
    assert "--content-bucket, --feeds-bucket" in capsys.readouterr().err
