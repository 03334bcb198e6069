"""``newswire build`` and ``newswire check`` as a writer runs them, on a copy of the
repository's ``content/`` (the ``content`` fixture of ``tests/integration/conftest.py``)."""

from __future__ import annotations

from pathlib import Path

import pytest

from newswire.cli import main

NOW = "2026-11-01T00:00:00Z"

#: 10 articles minus a draft, one scheduled for 2031, one withdrawn and one expired
VALID_IN_CONTENT = 6
#: How the summary line counts those that are not published
HELD_IN_CONTENT = "1 drafts, 1 scheduled, 1 withdrawn, 1 expired"
#: What content/ publishes: 30 feeds in 3 formats (main, 14 tags, 3 authors, 6 sections and
#: 6 monthly archives), the news sitemap, the sitemap index, 6 monthly sitemaps, feed.xsl and
#: the 5 partner feeds and the feed directory (index.html, feeds.opml, directory.json).
FILES_IN_CONTENT = 30 * 3 + 1 + 1 + 6 + 1 + 5 + 3
#: What ``newswire check content`` lists at NOW (see tests/integration/test_cli_check.py).
FINDINGS_IN_CONTENT = 31


def run(
    content: Path, out: Path, capsys: pytest.CaptureFixture[str], *options: str
) -> tuple[int, list[str]]:
    status = main(["build", str(content), "--out", str(out), "--now", NOW, *options])
    return status, capsys.readouterr().err.splitlines()


def add_articles(content: Path, articles: dict[str, bytes]) -> None:
    for name, data in articles.items():
        (content / "articles" / name).write_bytes(data)
