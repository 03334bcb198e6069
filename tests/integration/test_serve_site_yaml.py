"""``newswire serve`` when the writer edits ``site.yaml``: a valid edit reindexes, an invalid
one changes no feed and is reported once, however long it stays broken."""

from __future__ import annotations

import shutil
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

from newswire.local.serve import SCHEDULE_INTERVAL, VISIBILITY_TIMEOUT, LocalStack
from tests.integration.test_serve import NEW_ARTICLE, REPO, Output, eventually

#: Two problems: both must be said, each once.
BROKEN_SITE = "title: English News\nbase_url: not a url\nitems_per_feed: many\n"


@pytest.fixture
def content(tmp_path: Path) -> Path:
    root = tmp_path / "content"
    shutil.copytree(REPO / "content", root)
    return root


@pytest.fixture
def served(content: Path) -> Iterator[tuple[LocalStack, Output]]:
    output = Output()
    with LocalStack(content, "127.0.0.1", 0, out=output) as stack:
        yield stack, output


def main_feed(stack: LocalStack) -> bytes:
    with urllib.request.urlopen(stack.url + "rss.xml", timeout=5) as response:
        body: bytes = response.read()
    return body


def test_an_invalid_site_yaml_changes_nothing_and_is_reported_once(
    served: tuple[LocalStack, Output], content: Path
) -> None:
    stack, output = served
    site = content / "site.yaml"
    valid = site.read_text(encoding="utf-8")
    before = main_feed(stack)
    start = len(output.text())

    site.write_text(BROKEN_SITE, encoding="utf-8")
    eventually(lambda: "base_url" in output.text()[start:])
    # An article written meanwhile cannot be published either: it must not repeat the report.
    (content / "articles" / "lighthouse.md").write_bytes(NEW_ARTICLE)
    time.sleep(2 * SCHEDULE_INTERVAL + 2 * VISIBILITY_TIMEOUT + 1)  # scheduler runs, retries
    said = output.text()[start:].splitlines()

    assert main_feed(stack) == before
    assert len([line for line in said if "base_url: 'not a url'" in line]) == 1, said
    assert len([line for line in said if "items_per_feed: 'many'" in line]) == 1, said
    assert all(line.startswith("newswire: ") for line in said), said

    site.write_text(valid, encoding="utf-8")
    eventually(lambda: b"Lighthouse reopens after repairs" in main_feed(stack), timeout=15)
