"""``newswire serve``: the whole stack on loopback, read the way feed readers read it."""

from __future__ import annotations

import gzip
import io
import json
import re
import shutil
import signal
import socket
import struct
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from pathlib import Path

import boto3
import feedparser
import pytest

from newswire.build import build_site
from newswire.cli import main
from newswire.local.serve import SCHEDULE_INTERVAL, VISIBILITY_TIMEOUT, LocalStack
from tests.support.factories import content_site, content_sources

REPO = Path(__file__).resolve().parents[2]
COUNCIL = "Council delays budget vote by a week"
NEW_ARTICLE = b"""---
title: Lighthouse reopens after repairs
published: 2026-01-05T09:00:00Z
---
The lighthouse on the point is open to visitors again.
"""
#: Seconds the test stack lets a connection sit without a request (the default is longer).
IDLE_TIMEOUT = 2.0


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
    local = LocalStack(content, "127.0.0.1", 0, out=output, idle_timeout=IDLE_TIMEOUT)
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


def test_root_is_the_feed_directory_the_pipeline_published(stack: LocalStack) -> None:
    """``/`` serves the feeds bucket's ``index.html`` (as CloudFront's default root object
    does), with its own headers: the directory of every feed, not a file listing."""
    status, headers, body = get(stack.url)
    page = body.decode()
    assert status == 200
    assert headers["Content-Type"] == "text/html; charset=utf-8"
    assert headers["Cache-Control"] == "public, max-age=60, s-maxage=0"
    built = build_site(content_sources(), content_site(), datetime.now(UTC)).files
    assert body == next(f.body for f in built if f.path == "index.html")
    assert '<link rel="alternate" type="application/rss+xml"' in page
    assert 'href="tags/russia/atom.xml" type="application/atom+xml"' in page
    assert 'href="feeds.opml"' in page
    assert "archive/" not in page  # no file listing
    status, headers, _ = get(stack.url + "feeds.opml")
    assert (status, headers["Content-Type"]) == (200, "text/x-opml; charset=utf-8")


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


def test_a_gzipped_feed_revalidates_by_its_weak_etag(stack: LocalStack) -> None:
    _, headers, _ = get(stack.url + "rss.xml", {"Accept-Encoding": "gzip"})
    etag = headers["ETag"]
    assert etag.startswith('W/"')  # the gzipped bytes differ from the stored object's

    status, headers, body = get(
        stack.url + "rss.xml", {"Accept-Encoding": "gzip", "If-None-Match": etag}
    )
    assert (status, body) == (304, b"")
    assert headers["ETag"] == etag
    assert "Accept-Encoding" in headers["Vary"]
    # The same feed, decoded: a reader that stops asking for gzip keeps its copy.
    assert get(stack.url + "rss.xml", {"If-None-Match": etag})[0] == 304


@pytest.mark.parametrize("accept", ["identity", "gzip;q=0", "br"])
def test_a_reader_that_does_not_take_gzip_gets_the_feed_as_stored(
    stack: LocalStack, accept: str
) -> None:
    status, headers, body = get(stack.url + "rss.xml", {"Accept-Encoding": accept})
    assert status == 200
    assert "Content-Encoding" not in headers
    assert int(headers["Content-Length"]) == len(body)
    assert feedparser.parse(body).entries


@pytest.mark.parametrize("since", ["Mon, 01 Jan 2001 00:00:00 GMT", "yesterday"])
def test_a_feed_is_sent_whole_unless_the_readers_date_is_current(
    stack: LocalStack, since: str
) -> None:
    status, headers, body = get(stack.url + "atom.xml", {"If-Modified-Since": since})
    assert status == 200
    assert headers["Last-Modified"].endswith(" GMT")
    assert feedparser.parse(body).entries


def test_a_missing_feed_is_never_a_304(stack: LocalStack) -> None:
    status, _, _ = get(stack.url + "no/such/feed.xml", {"If-None-Match": "*"})
    assert status == 404


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


def _status_over_fresh_connection(host: str, port: int, start: threading.Barrier) -> int:
    """Wait for every other reader, then all connect at once and GET the main feed.

    The connect timeout is below the kernel's first SYN retry (1 s): a connection the listen
    backlog dropped fails here, as a reader with a short timeout would.
    """
    start.wait(timeout=20)
    with socket.create_connection((host, port), timeout=0.9) as conn:
        conn.settimeout(20)
        conn.sendall(b"GET /rss.xml HTTP/1.1\r\nHost: feeds\r\nConnection: close\r\n\r\n")
        with conn.makefile("rb") as response:
            status_line = response.readline()
            response.read()
    return int(status_line.split()[1])


def test_two_hundred_concurrent_readers_all_get_the_feed(stack: LocalStack) -> None:
    readers = 200
    start = threading.Barrier(readers)
    with ThreadPoolExecutor(max_workers=readers) as pool:
        statuses = list(
            pool.map(
                lambda _: _status_over_fresh_connection(stack.host, stack.port, start),
                range(readers),
            )
        )
    assert statuses == [200] * readers


def test_an_idle_connection_is_closed_after_the_timeout(stack: LocalStack) -> None:
    with socket.create_connection((stack.host, stack.port), timeout=IDLE_TIMEOUT + 5) as conn:
        conn.sendall(b"GET /rss.xml HTTP/1.1\r\n")  # a request line, then silence
        assert conn.recv(1024) == b""  # the server hung up, before the socket's own timeout


def test_a_client_hanging_up_mid_response_prints_no_traceback(
    stack: LocalStack, capsys: pytest.CaptureFixture[str]
) -> None:
    for _ in range(20):  # each hangs up at a different point of the response
        with socket.create_connection((stack.host, stack.port), timeout=5) as conn:
            conn.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            conn.sendall(b"GET /rss.xml HTTP/1.1\r\nHost: feeds\r\n\r\n")
            conn.recv(1)  # the response has begun; close with a reset
    assert get(stack.url + "rss.xml")[0] == 200  # the server is still serving
    captured = capsys.readouterr()
    assert "Traceback" not in captured.err
    assert "Error" not in captured.err


PYTHON_CLI = (sys.executable, "-c", "from newswire.cli import run; run()")


class Terminal:
    """``newswire serve`` in a process of its own; its stdout and stderr, as a terminal shows."""

    def __init__(self, content: Path, log: Path) -> None:
        self._log = log
        self._sink = log.open("wb")
        access_log = log.with_suffix(".access.log")  # not the home folder's
        self.process = subprocess.Popen(
            [*PYTHON_CLI, "serve", str(content), "--port", "0", "--access-log", str(access_log)],
            stdin=subprocess.DEVNULL,
            stdout=self._sink,
            stderr=subprocess.STDOUT,
        )

    def text(self) -> str:
        return self._log.read_text()

    def wait_for(self, pattern: str, after: int = 0, timeout: float = 30.0) -> re.Match[str]:
        """The first match of ``pattern`` (multiline) past character ``after``."""
        found: list[re.Match[str]] = []

        def seen() -> bool:
            match = re.compile(pattern, re.MULTILINE).search(self.text(), after)
            found[:] = [match] if match else []
            return bool(found)

        eventually(seen, timeout)
        return found[0]

    def stop(self) -> None:
        self.process.send_signal(signal.SIGTERM)
        try:
            self.process.wait(timeout=30)
        finally:
            self._sink.close()


def test_terminal_shows_one_line_per_event_and_nothing_while_idle(tmp_path: Path) -> None:
    content = tmp_path / "content"
    shutil.copytree(REPO / "content", content)
    terminal = Terminal(content, tmp_path / "terminal.txt")
    try:
        end = terminal.wait_for(r"Ctrl-C stops\.\n").end()
        article = content / "articles" / "lighthouse.md"
        article.write_bytes(NEW_ARTICLE)
        end = terminal.wait_for(r"^newswire: published articles/lighthouse\.md.*\n", end).end()
        (content / "articles" / "broken.md").write_text("---\ntitle: Broken\n")
        end = terminal.wait_for(r"^newswire: rejected articles/broken\.md.*\n", end).end()
        article.unlink()
        end = terminal.wait_for(r"^newswire: deleted articles/lighthouse\.md.*\n", end).end()
        time.sleep(SCHEDULE_INTERVAL + VISIBILITY_TIMEOUT + 1)  # a scheduler run, a poll or two
        idle = terminal.text()[end:]
    finally:
        terminal.stop()
    banner, after_banner = terminal.text().split("Ctrl-C stops.\n", 1)
    serving, indexed, *_ = banner.splitlines()
    assert serving.startswith(f"newswire: serving {content} at http://127.0.0.1:")
    assert re.fullmatch(r"newswire: indexed \d+ articles, 0 rejected, \d+ feed files \w+", indexed)
    events = [line for line in after_banner.splitlines() if line]
    assert idle == ""
    assert len(events) == 4, events
    published, rejected, deleted, stopping = events
    assert re.fullmatch(r"newswire: published articles/lighthouse\.md -> \d+ feeds", published)
    assert rejected == (
        "newswire: rejected articles/broken.md: front matter: no closing '---' line, "
        "expected YAML front matter closed by a '---' line"
    )
    assert re.fullmatch(r"newswire: deleted articles/lighthouse\.md -> \d+ feeds", deleted)
    assert stopping == "newswire: stopping"
    assert not [line for line in terminal.text().splitlines() if line.lstrip().startswith("{")]
