"""``newswire serve``: the whole stack on loopback, read the way feed readers read it."""

from __future__ import annotations

import gzip
import io
import json
import shutil
import socket
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path

import boto3
import feedparser
import pytest

from newswire.build import build_site
from newswire.cli import main
from newswire.local.serve import LocalStack
from tests.support.factories import content_site, content_sources

REPO = Path(__file__).resolve().parents[2]
COUNCIL = "Council delays budget vote by a week"
NEW_ARTICLE = b"""---
title: Lighthouse reopens after repairs
published: 2026-01-05T09:00:00Z
---
The lighthouse on the point is open to visitors again.
"""


class Output(io.StringIO):
    """What the stack printed, readable while it runs."""

    def __init__(self) -> None:
        super().__init__()
        self._lock = threading.Lock()

    def write(self, text: str) -> int:
        with self._lock:
            return super().write(text)

    def text(self) -> str:
        with self._lock:
            return self.getvalue()


@pytest.fixture(scope="module")
def content(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("serve") / "content"
    shutil.copytree(REPO / "content", root)
    return root


@pytest.fixture(scope="module")
def output() -> Output:
    return Output()


@pytest.fixture(scope="module")
def stack(content: Path, output: Output) -> Iterator[LocalStack]:
    local = LocalStack(content, "127.0.0.1", 0, out=output)
    try:
        local.start()
        yield local
    finally:
        local.stop()


def get(
    url: str, headers: dict[str, str] | None = None, method: str = "GET"
) -> tuple[int, dict[str, str], bytes]:
    request = urllib.request.Request(url, headers=headers or {}, method=method)
    try:
        with urllib.request.urlopen(request, timeout=5) as response:
            return response.status, dict(response.headers), response.read()
    except urllib.error.HTTPError as e:
        return e.code, dict(e.headers), e.read()


def eventually(check: Callable[[], bool], timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while not check():
        if time.monotonic() > deadline:
            pytest.fail(f"not within {timeout} s")
        time.sleep(0.1)


def test_main_feed_lists_the_live_articles(stack: LocalStack) -> None:
    status, headers, body = get(stack.url + "rss.xml")
    assert status == 200
    assert headers["Content-Type"] == "application/rss+xml; charset=utf-8"
    assert headers["Cache-Control"] == "public, max-age=60, s-maxage=0"
    shown = [entry.title for entry in feedparser.parse(body).entries]
    built = build_site(content_sources(), content_site(), datetime.now(UTC)).files
    main_feed = json.loads(next(f.body for f in built if f.path == "feed.json"))
    assert COUNCIL in shown
    assert shown == [item["title"] for item in main_feed["items"]]  # the live ones, in order


def test_index_page_links_every_feed_with_autodiscovery(stack: LocalStack) -> None:
    status, headers, body = get(stack.url)
    page = body.decode()
    assert status == 200
    assert headers["Content-Type"].startswith("text/html")
    assert '<link rel="alternate" type="application/rss+xml"' in page
    assert 'type="application/atom+xml"' in page
    assert 'type="application/feed+json"' in page
    assert 'href="/tags/' in page


def test_unchanged_feed_answers_304(stack: LocalStack) -> None:
    _, headers, _ = get(stack.url + "atom.xml")
    etag, modified = headers["ETag"], headers["Last-Modified"]
    assert get(stack.url + "atom.xml", {"If-None-Match": etag})[0] == 304
    assert get(stack.url + "atom.xml", {"If-Modified-Since": modified})[0] == 304
    # If-None-Match wins over a date that alone would say "not modified".
    assert (
        get(stack.url + "atom.xml", {"If-None-Match": '"other"', "If-Modified-Since": modified})[0]
        == 200
    )


def test_head_gives_headers_without_body(stack: LocalStack) -> None:
    status, headers, body = get(stack.url + "feed.json", method="HEAD")
    assert status == 200
    assert body == b""
    assert int(headers["Content-Length"]) > 0
    assert headers["Content-Type"] == "application/feed+json; charset=utf-8"


def test_gzip_when_asked(stack: LocalStack) -> None:
    _, _, plain = get(stack.url + "rss.xml")
    status, headers, body = get(stack.url + "rss.xml", {"Accept-Encoding": "gzip"})
    assert status == 200
    assert headers["Content-Encoding"] == "gzip"
    assert "Accept-Encoding" in headers["Vary"]
    assert gzip.decompress(body) == plain


def test_missing_feed_is_a_404_page(stack: LocalStack) -> None:
    status, headers, body = get(stack.url + "no/such/feed.xml")
    assert status == 404
    assert headers["Content-Type"].startswith("text/html")
    assert b"No feed at /no/such/feed.xml" in body


def test_article_written_through_s3_appears_in_the_feed(stack: LocalStack) -> None:
    s3 = boto3.client(
        "s3",
        endpoint_url=stack.endpoint_url,
        region_name="us-east-1",
        aws_access_key_id="testing",
        aws_secret_access_key="testing",
    )
    s3.put_object(Bucket=stack.names.content_bucket, Key="articles/lighthouse.md", Body=NEW_ARTICLE)
    eventually(lambda: b"Lighthouse reopens" in get(stack.url + "rss.xml")[2])


def test_edits_in_the_folder_are_published(stack: LocalStack, content: Path) -> None:
    path = content / "articles" / "ferry-extra.md"
    path.write_bytes(NEW_ARTICLE.replace(b"Lighthouse", b"Ferry"))
    eventually(lambda: b"Ferry reopens" in get(stack.url + "rss.xml")[2])
    path.unlink()
    eventually(lambda: b"Ferry reopens" not in get(stack.url + "rss.xml")[2])


def test_broken_article_is_reported_and_the_server_keeps_running(
    stack: LocalStack, content: Path, output: Output
) -> None:
    (content / "articles" / "broken.md").write_text("---\ntitle: Broken\n")
    eventually(lambda: "rejected articles/broken.md: " in output.text())
    assert "expected" in output.text().split("rejected articles/broken.md: ")[1].splitlines()[0]
    assert get(stack.url + "rss.xml")[0] == 200


def test_a_feed_reader_follows_the_feed(stack: LocalStack, content: Path) -> None:
    from reader import make_reader

    reader = make_reader(":memory:")
    try:
        feed_url = stack.url + "rss.xml"
        reader.add_feed(feed_url)
        reader.update_feeds()
        before = list(reader.get_entries())
        assert COUNCIL in {e.title for e in before}
        path = content / "articles" / "council-delays-budget-vote.md"
        path.write_text(path.read_text().replace(COUNCIL, COUNCIL + " again"))
        eventually(lambda: b"by a week again" in get(feed_url)[2])
        reader.update_feeds(scheduled=False)  # "refresh now", whatever its schedule says
        entries = list(reader.get_entries())
        council = [e for e in entries if e.title and e.title.startswith(COUNCIL)]
        assert [e.title for e in council] == [COUNCIL + " again"]
        assert len(entries) == len(before)
    finally:
        reader.close()


def test_port_in_use_is_one_line_and_status_2(
    stack: LocalStack, content: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        assert main(["serve", str(content), "--port", str(port)]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1
    assert f"127.0.0.1:{port}" in err
    assert "Traceback" not in err


def test_browsers_get_a_styled_page_and_readers_the_feed_type(stack: LocalStack) -> None:
    browser = {"Accept": "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8"}
    status, headers, body = get(stack.url + "rss.xml", browser)
    assert status == 200
    assert headers["Content-Type"] == "application/xml; charset=utf-8"
    assert "Accept" in headers["Vary"]
    assert b'<?xml-stylesheet type="text/xsl" href="feed.xsl"?>' in body
    _, headers, _ = get(stack.url + "rss.xml", {"Accept": "application/rss+xml"})
    assert headers["Content-Type"] == "application/rss+xml; charset=utf-8"
    status, headers, _ = get(stack.url + "feed.xsl")
    assert status == 200 and headers["Content-Type"].startswith("text/xsl")


def test_websub_hub_is_advertised_in_feeds_and_link_headers(
    stack: LocalStack, content: Path
) -> None:
    """Last in this module: it changes site.yaml (a reindex) for the stack it shares."""
    site = content / "site.yaml"
    site.write_text(site.read_text() + "hub: http://127.0.0.1:9/hub\n")
    eventually(lambda: b'rel="hub"' in get(stack.url + "atom.xml")[2])
    _, headers, _ = get(stack.url + "tags/world/rss.xml")
    assert headers["Link"] == (
        '<http://127.0.0.1:9/hub>; rel="hub", '
        '<https://englishnews.example/feeds/tags/world/rss.xml>; rel="self"'
    )
    assert get(stack.url + "rss.xml")[0] == 200  # an unreachable hub failed nothing
