"""A person who opens a feed in a real browser sees a readable page, not raw XML.

The feeds built from ``content/`` are served over HTTP the way production and ``newswire serve``
serve them: the stored Content-Type for feed readers, and ``application/xml`` when a browser
asks for ``text/html`` (:func:`~newswire.rendering.stylesheet.browser_content_type`), with
``feed.xsl`` at the feeds' root. Headless Chromium opens
an RSS feed at the root and an Atom feed two folders down (so the relative stylesheet href is
exercised): the page must show the seed article's title, the URL it was opened at (to copy
into a reader, rather than the production URL the feed names), and dates. Each
page is also screenshotted, as a person would see it. (Chromium shows a feed served as
``application/rss+xml`` or ``application/atom+xml`` as plain text and never runs its
stylesheet; ``application/xml`` is what makes the browser view work.)

Chromium is Debian's ``chromium`` package (``.ci/run`` installs it). Without it the test is
skipped locally, but fails under CI, which must run it.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from http import HTTPStatus
from pathlib import Path

import pytest

from newswire.build import build_site
from newswire.rendering.stylesheet import STYLESHEET_PATH, browser_content_type, stylesheet_file
from tests.support.factories import content_site, content_sources
from tests.support.loopback import QuietHandler, serving

NOW = datetime(2026, 11, 1, tzinfo=UTC)
SEED_TITLE = (
    "Putin urges Ukraine military to take over power and hold talks directly with Russia to "
    "end conflict"
)
#: Headless, offline, and quiet: no first-run UI, no update or sync traffic.
CHROMIUM_FLAGS = (
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--hide-scrollbars",
    "--window-size=1200,1600",
)
CHROMIUM_TIMEOUT = 30


def _chromium() -> str:
    found = shutil.which("chromium") or (
        "/usr/bin/chromium" if Path("/usr/bin/chromium").exists() else None
    )
    if found is None:
        message = "Debian's chromium is not installed (.ci/run installs it)"
        if os.environ.get("CI"):
            pytest.fail(f"{message}; CI must run the browser test")
        pytest.skip(message)
    return found


@dataclass(slots=True)
class FeedSite:
    """The built feeds served on loopback, and the paths the browser asked for."""

    url: str
    content_types: dict[str, str] = field(default_factory=dict)
    requested: list[str] = field(default_factory=list)


@pytest.fixture(scope="module")
def feed_site() -> Iterator[FeedSite]:
    report = build_site(content_sources(), content_site(), NOW)
    assert not report.rejected, report.rejected
    stylesheet = stylesheet_file()
    files = {f"/{f.path}": (f.content_type, f.body) for f in report.files}
    files[f"/{stylesheet.path}"] = (stylesheet.content_type, stylesheet.body)
    served = FeedSite("", {f.path: f.content_type for f in report.files})

    class Handler(QuietHandler):
        def do_GET(self) -> None:
            served.requested.append(self.path)
            path = "/index.html" if self.path == "/" else self.path  # the CDN's root object
            content_type, body = files.get(path, ("text/plain", b""))
            content_type = browser_content_type(content_type, self.headers.get("Accept"))
            self.send_response(HTTPStatus.OK if path in files else HTTPStatus.NOT_FOUND)
            self.send_header("Content-Type", content_type)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

    with serving(Handler) as base:
        served.url = f"{base}/"
        yield served


def _open(url: str, workdir: Path, *, screenshot: Path | None = None, phone: bool = False) -> str:
    """Open ``url`` in headless Chromium (``phone``: at a phone's width): the rendered DOM,
    or a screenshot of the page."""
    output = [f"--screenshot={screenshot}"] if screenshot else ["--dump-dom"]
    size = ["--window-size=390,844"] if phone else []
    result = subprocess.run(
        [
            _chromium(),
            *CHROMIUM_FLAGS,
            *size,
            f"--user-data-dir={workdir / 'profile'}",
            *output,
            url,
        ],
        capture_output=True,
        text=True,
        timeout=CHROMIUM_TIMEOUT,
        check=False,
        cwd=workdir,
    )
    assert result.returncode == 0, result.stderr[-2000:]
    return result.stdout


@pytest.mark.parametrize(
    ("path", "self_url"),
    [
        pytest.param("rss.xml", "https://englishnews.example/feeds/rss.xml", id="rss"),
        pytest.param(
            "tags/russia/atom.xml",
            "https://englishnews.example/feeds/tags/russia/atom.xml",
            id="atom-tag",
        ),
    ],
)
def test_browser_shows_a_feed_as_a_readable_page(
    feed_site: FeedSite, tmp_path: Path, path: str, self_url: str
) -> None:
    _chromium()
    dom = _open(feed_site.url + path, tmp_path)

    assert "This is a web feed" in dom, (
        f"the browser did not apply {STYLESHEET_PATH} to {path}, served as "
        f"{feed_site.content_types[path]!r}; it showed: {dom[:300]!r}"
    )
    assert f"/{STYLESHEET_PATH}" in feed_site.requested
    assert SEED_TITLE in dom
    assert f'<code class="url">{feed_site.url}{path}</code>' in dom, (
        "the URL to copy is not the one the page was opened at"
    )
    assert self_url not in dom.split('<code class="url">', 1)[1].split("</code>", 1)[0]
    assert '<time datetime="2022-02-25T16:10:00' in dom
    assert "25 Feb 2022, 16:10 UTC" in dom

    screenshot = tmp_path / "page.png"
    _open(feed_site.url + path, tmp_path, screenshot=screenshot)
    image = screenshot.read_bytes()
    assert image.startswith(b"\x89PNG\r\n\x1a\n")
    assert len(image) > 10_000, "the screenshot is (nearly) blank"


def test_browser_shows_summaries_as_text_written(feed_site: FeedSite, tmp_path: Path) -> None:
    """RSS summaries are HTML-escaped in the feed: the page shows "&", not "&amp;"."""
    _chromium()
    dom = _open(feed_site.url + "rss.xml", tmp_path)

    assert "This is a web feed" in dom, "the browser did not apply the stylesheet"
    # In the serialised DOM a text "&" is written "&amp;"; a double escape would be "&amp;amp;".
    assert "The Harbour &amp; Maritime Festival returns" in dom
    assert "&amp;amp;" not in dom


def test_browser_opens_the_feed_directory_at_the_root(feed_site: FeedSite, tmp_path: Path) -> None:
    """``/`` is the directory: every feed of the site with its three formats and the address
    to copy, and the OPML and sitemap linked; on a phone's screen too."""
    _chromium()
    dom = _open(feed_site.url, tmp_path, phone=True)

    assert '<h1><a href="https://englishnews.example/">English News</a></h1>' in dom
    feeds = [p for p in feed_site.content_types if p.endswith("/rss.xml") or p == "rss.xml"]
    listed = [p for p in feeds if not p.startswith(("archive/", "partners/"))]
    assert listed, "the build published no feeds"
    for rss in listed:
        folder = rss.removesuffix("rss.xml")
        assert f"<code>https://englishnews.example/feeds/{rss}</code>" in dom, rss
        for name in ("rss.xml", "atom.xml", "feed.json"):
            assert f'href="{folder}{name}"' in dom, f"{folder}{name} is not linked"
    assert "archive/" not in dom and "partners/" not in dom
    assert 'href="feeds.opml"' in dom
    assert 'href="sitemap.xml"' in dom
    assert SEED_TITLE in dom  # what a feed carries: its latest headline (the tag "russia")
    assert "<h2>Tags</h2>" in dom and "<h2>Authors</h2>" in dom

    screenshot = tmp_path / "directory.png"
    _open(feed_site.url, tmp_path, screenshot=screenshot, phone=True)
    image = screenshot.read_bytes()
    assert image.startswith(b"\x89PNG\r\n\x1a\n")
    assert len(image) > 10_000, "the screenshot is (nearly) blank"
