"""``newswire build`` as a writer uses it: a content folder with mistakes in it.

One bad article must never stop the others: each is named on stderr with the field at fault,
the valid ones are still published, and the exit status tells a script that something failed.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest

import newswire.cli
from newswire.build import Batching
from newswire.cli import main
from tests.support.factories import CONTENT

NOW = "2026-11-01T00:00:00Z"

HOSTILE_BODY = """\
Residents were told to stay calm.

<script>alert("owned")</script>
<img src="https://evil.example/x.png" onerror="alert(1)">
<a href="javascript:alert(2)">Click here for the full story</a>

The meeting ends at noon.
"""

#: file name -> (bytes, the field its rejection must name)
BAD_ARTICLES: dict[str, tuple[bytes, str]] = {
    "broken-yaml.md": (
        b'---\ntitle: "Unclosed\npublished: [2024-01-01\n---\n\nBody.\n',
        "front matter",
    ),
    "no-title.md": (b"---\npublished: 2024-01-01\n---\n\nBody.\n", "title"),
    "impossible-date.md": (b"---\ntitle: Leap\npublished: 2022-02-30\n---\n\nBody.\n", "published"),
    "typo-field.md": (b"---\ntittle: Typo\npublished: 2024-01-01\n---\n\nBody.\n", "tittle"),
    "latin-1.md": (b"---\ntitle: Caf\xe9\npublished: 2024-01-01\n---\n\nBody.\n", "file"),
    "Bad_Name.md": (b"---\ntitle: Bad name\npublished: 2024-01-01\n---\n\nBody.\n", "slug"),
    "zz-same-id.md": (
        b"---\ntitle: Copy\npublished: 2024-01-01\n"
        b'id: "urn:uuid:3f1c2a9e-8b4d-4c6f-9a2e-7d5b1e0c4a83"\n---\n\nBody.\n',
        "id",
    ),
}
GOOD_EXTRA = {
    "cafe-society-meets.md": (
        "---\ntitle: Café Society meets again\npublished: 2025-08-01T10:00:00+02:00\n"
        "tags: [Café Society]\n---\n\nThe society met on Tuesday.\n"
    ).encode(),
    "hostile-html.md": (
        "---\ntitle: Calm urged after meeting\npublished: 2025-08-02T10:00:00Z\n---\n\n"
        + HOSTILE_BODY
    ).encode(),
}
#: 10 articles minus a draft, one scheduled for 2031, one withdrawn and one expired
VALID_IN_CONTENT = 6
#: How the summary line counts those that are not published
HELD_IN_CONTENT = "1 drafts, 1 scheduled, 1 withdrawn, 1 expired"
#: What content/ publishes: 30 feeds in 3 formats (main, 14 tags, 3 authors, 6 sections and
#: 6 monthly archives), the news sitemap, the sitemap index, 6 monthly sitemaps, feed.xsl and
#: the 5 partner feeds and the feed directory (index.html, feeds.opml, directory.json).
FILES_IN_CONTENT = 30 * 3 + 1 + 1 + 6 + 1 + 5 + 3
#: What ``newswire check content`` lists at NOW (see test_check_lists_each_partner_finding).
FINDINGS_IN_CONTENT = 31


@pytest.fixture
def content(tmp_path: Path) -> Path:
    """A copy of the repository's ``content/`` the test may change."""
    folder = tmp_path / "content"
    shutil.copytree(CONTENT, folder)
    return folder


def run(
    content: Path, out: Path, capsys: pytest.CaptureFixture[str], *options: str
) -> tuple[int, list[str]]:
    status = main(["build", str(content), "--out", str(out), "--now", NOW, *options])
    return status, capsys.readouterr().err.splitlines()


def add_articles(content: Path, articles: dict[str, bytes]) -> None:
    for name, data in articles.items():
        (content / "articles" / name).write_bytes(data)


def main_feed_titles(out: Path) -> list[str]:
    return [item["title"] for item in json.loads((out / "feed.json").read_bytes())["items"]]


def test_bad_articles_are_reported_and_the_rest_published(
    content: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    add_articles(content, {name: data for name, (data, _) in BAD_ARTICLES.items()})
    add_articles(content, GOOD_EXTRA)
    out = tmp_path / "feeds"

    status, err = run(content, out, capsys)

    assert status == 1
    rejections, findings, summary = err[:-2], err[-2], err[-1]
    assert findings.endswith(
        "things partners would refuse or downgrade (newswire check lists them)"
    )
    # One line per problem: typo-field.md has two (the unknown field, and no title).
    assert len(rejections) == len(BAD_ARTICLES) + 1, "\n".join(err)
    for name, (_, field) in BAD_ARTICLES.items():
        path = re.escape(str(content / "articles" / name))
        pattern = rf"^{path}: {re.escape(field)}: .+, expected .+$"
        assert [line for line in rejections if re.match(pattern, line)], (name, rejections)
    assert "'title'" in next(line for line in rejections if "typo-field" in line)  # did you mean
    assert summary.startswith(
        f"newswire: {VALID_IN_CONTENT + len(GOOD_EXTRA)} articles published, "
        f"{len(BAD_ARTICLES)} rejected, {HELD_IN_CONTENT};"
    )
    titles = main_feed_titles(out)
    assert "Café Society meets again" in titles
    assert "Calm urged after meeting" in titles
    assert "Rail timetable changes confirmed for the autumn" in titles  # the id's first owner


def test_hostile_html_is_published_sanitised(
    content: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    add_articles(content, GOOD_EXTRA)
    out = tmp_path / "feeds"
    status, _ = run(content, out, capsys)
    assert status == 0
    item = next(
        item
        for item in json.loads((out / "feed.json").read_bytes())["items"]
        if item["title"] == "Calm urged after meeting"
    )
    html = item["content_html"]
    assert "Residents were told to stay calm." in html
    assert "The meeting ends at noon." in html
    for feed in ("rss.xml", "atom.xml", "feed.json"):
        text = (out / feed).read_text("utf-8").lower()
        for hostile in ("<script", "&lt;script", "onerror", "javascript:", "alert("):
            assert hostile not in text, (feed, hostile)


def test_a_tag_lands_in_its_slug_folder(
    content: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    add_articles(content, GOOD_EXTRA)
    out = tmp_path / "feeds"
    run(content, out, capsys)
    feed = json.loads((out / "tags" / "cafe-society" / "feed.json").read_bytes())
    assert feed["title"] == "English News: Café Society"
    assert [item["title"] for item in feed["items"]] == [
        "Café Society meets again",
        "Café owners adapt to higher energy bills",
    ]


def test_clean_content_exits_zero_and_ends_with_the_summary(
    content: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    status, err = run(content, tmp_path / "feeds", capsys)
    assert status == 0
    assert err == [
        f"newswire: {FINDINGS_IN_CONTENT} things partners would refuse or downgrade "
        "(newswire check lists them)",
        f"newswire: {VALID_IN_CONTENT} articles published, 0 rejected, {HELD_IN_CONTENT}; "
        f"{FILES_IN_CONTENT} feed files in {tmp_path / 'feeds'} "
        f"({FILES_IN_CONTENT} written, 0 unchanged, 0 removed)",
    ]


def test_a_second_run_leaves_unchanged_files_untouched(
    content: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "feeds"
    run(content, out, capsys)
    before = {p: p.stat().st_mtime_ns for p in out.rglob("*") if p.is_file()}

    status, err = run(content, out, capsys)

    assert status == 0
    assert err[-1].endswith(f"(0 written, {FILES_IN_CONTENT} unchanged, 0 removed)")
    assert {p: p.stat().st_mtime_ns for p in out.rglob("*") if p.is_file()} == before


def test_a_tag_nobody_uses_any_more_is_pruned(
    content: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "feeds"
    keep = out / "README.txt"
    run(content, out, capsys)
    keep.write_text("not a feed")
    assert (out / "tags" / "cafe-society" / "rss.xml").is_file()

    (content / "articles" / "cafe-owners-adapt-to-higher-energy-bills.md").unlink()
    status, err = run(content, out, capsys)

    assert status == 0
    assert not (out / "tags" / "cafe-society").exists()
    assert not (out / "tags" / "energy-bills").exists()
    assert (out / "tags" / "russia" / "rss.xml").is_file()
    assert keep.read_text() == "not a feed"
    assert not (out / "sections" / "business").exists()
    assert not (out / "archive" / "2025-07").exists()
    # 3 tags, its section and its month's archive, in 3 formats each, and its month's sitemap
    assert err[-1].endswith(" removed)") and ", 16 removed)" in err[-1]


def files_under(folder: Path) -> dict[str, bytes | None]:
    """Every file (with its bytes) and folder (``None``) under ``folder``."""
    return {
        p.relative_to(folder).as_posix(): p.read_bytes() if p.is_file() else None
        for p in sorted(folder.rglob("*"))
    }


def test_files_and_folders_the_build_did_not_write_are_kept(
    content: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    site = tmp_path / "site"
    theirs = {
        "about.html": b"<h1>Our site</h1>",
        "assets/feed.json": b'{"not": "a newswire feed"}',
        "blog/rss.xml": b"<rss>another tool's feed</rss>",
    }
    for path, body in theirs.items():
        (site / path).parent.mkdir(parents=True, exist_ok=True)
        (site / path).write_bytes(body)
    (site / "uploads" / "2024").mkdir(parents=True)

    first, _ = run(content, site, capsys)
    (content / "articles" / "cafe-owners-adapt-to-higher-energy-bills.md").unlink()
    second, err = run(content, site, capsys)

    assert (first, second) == (0, 0), err
    assert {path: (site / path).read_bytes() for path in theirs} == theirs
    assert (site / "uploads" / "2024").is_dir()
    assert not (site / "tags" / "cafe-society").exists()  # its own stale feeds still go
    assert ", 16 removed)" in err[-1]  # its month's sitemap too


def test_a_site_page_where_the_directory_goes_is_kept_and_named(
    content: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A site's own ``index.html`` in the output folder is not the feed directory: it is
    kept, named, and the build says so with status 2 (the feeds are still written)."""
    site = tmp_path / "site"
    site.mkdir()
    (site / "index.html").write_bytes(b"<h1>Our site</h1>")

    status, err = run(content, site, capsys)

    assert status == 2
    assert (site / "index.html").read_bytes() == b"<h1>Our site</h1>"
    assert f"newswire: {site / 'index.html'}: not written: " in "\n".join(err)
    assert (site / "feeds.opml").is_file() and (site / "rss.xml").is_file()


def test_a_stale_feed_someone_changed_since_is_kept(
    content: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "feeds"
    run(content, out, capsys)
    edited = out / "tags" / "cafe-society" / "rss.xml"
    edited.write_bytes(b"<rss>edited by hand</rss>")

    (content / "articles" / "cafe-owners-adapt-to-higher-energy-bills.md").unlink()
    status, err = run(content, out, capsys)

    assert status == 0
    assert edited.read_bytes() == b"<rss>edited by hand</rss>"
    assert not (out / "tags" / "cafe-society" / "atom.xml").exists()
    assert f"newswire: kept {edited}: changed since newswire wrote it" in err
    assert ", 15 removed)" in err[-1]


def test_without_a_manifest_nothing_is_removed_or_replaced(
    content: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "feeds"
    run(content, out, capsys)
    (out / ".newswire-manifest.json").unlink()
    before = files_under(out)

    (content / "articles" / "cafe-owners-adapt-to-higher-energy-bills.md").unlink()
    status, err = run(content, out, capsys)

    assert status == 2
    assert files_under(out).items() >= before.items()  # every file kept, byte for byte
    assert f"newswire: {out / 'rss.xml'}: not written: " in "\n".join(err)
    assert err[-3] == (
        f"newswire: {out} has no {'.newswire-manifest.json'}: files an older newswire wrote "
        "there count as someone else's; delete them (or the folder) once"
    )
    # main, section, month, news sitemap, sitemap index, the partner feeds, the directory's
    # three documents
    assert err[-1].endswith(", 0 removed, 20 refused)")


def test_a_manifest_that_cannot_be_read_removes_nothing_and_says_so(
    content: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "feeds"
    run(content, out, capsys)
    manifest = out / ".newswire-manifest.json"
    manifest.write_text('{"format": 1, "files": ')  # cut short
    before = files_under(out)

    (content / "articles" / "putin-urges-ukraine-military-to-take-power.md").unlink()
    status, err = run(content, out, capsys)

    assert status == 2  # the feeds that changed are no longer known to be newswire's
    assert err[0].startswith(f"newswire: {manifest}: ignored, not a list of files newswire can")
    assert err[-1].endswith(", 0 removed, 18 refused)")  # the directory's three documents too
    del before[".newswire-manifest.json"]  # written anew
    assert files_under(out).items() >= before.items()


@pytest.mark.parametrize("jobs", ["1", "2"])
def test_a_file_of_someone_else_in_the_way_is_never_overwritten(
    content: Path,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
    jobs: str,
) -> None:
    # so that worker processes meet it
    monkeypatch.setattr("newswire.build.DEFAULT_BATCHING", Batching(files=2))
    site = tmp_path / "site"
    site.mkdir()
    theirs = site / "rss.xml"
    theirs.write_bytes(b"<rss>the blog's own feed</rss>")

    status, err = run(content, site, capsys, "--jobs", jobs)

    assert status == 2
    assert theirs.read_bytes() == b"<rss>the blog's own feed</rss>"
    assert err[0] == (
        f"newswire: {theirs}: not written: a file newswire did not write is in the way "
        "(move it away, or build into another --out)"
    )
    assert (site / "atom.xml").is_file()  # the rest is built
    # It is not taken for ours later either: the next build refuses it again.
    status, err = run(content, site, capsys, "--jobs", jobs)
    assert status == 2
    assert theirs.read_bytes() == b"<rss>the blog's own feed</rss>"


def test_a_manifest_never_makes_a_build_delete_outside_its_feeds(
    content: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "feeds"
    outside = tmp_path / "outside" / "rss.xml"
    outside.parent.mkdir()
    outside.write_text("keep")
    page = out / "about.html"
    run(content, out, capsys)
    page.write_text("keep")
    manifest = out / ".newswire-manifest.json"
    recorded = json.loads(manifest.read_bytes())
    for path, target in (("../outside/rss.xml", outside), ("about.html", page)):
        stat = target.stat()
        recorded["files"][path] = [stat.st_size, stat.st_mtime_ns]
    manifest.write_text(json.dumps(recorded))

    status, _ = run(content, out, capsys)

    assert status == 0
    assert outside.read_text() == "keep"
    assert page.read_text() == "keep"


@pytest.mark.parametrize(
    ("where", "reason"),
    [
        ("content", "is the content folder"),
        ("content/public", "is inside the content folder"),
        (".", "holds the content folder"),
    ],
)
def test_an_out_folder_that_is_in_or_holds_the_content_is_refused(
    content: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str], where: str, reason: str
) -> None:
    article = content / "articles" / "feed.json"  # an article named like a feed
    article.write_bytes((content / "articles" / "coastal-flood-warning-issued.json").read_bytes())
    (content / "articles" / "coastal-flood-warning-issued.json").unlink()
    out = tmp_path / where
    before = files_under(tmp_path)

    status, err = run(content, out, capsys, "--cache", str(tmp_path / "cache"))

    assert status == 2
    assert err == [
        f"newswire: --out {out}: {reason} ({content}); build into a folder of its own, e.g. public"
    ]
    assert files_under(tmp_path) == before


def test_the_home_folder_is_refused_as_out(
    content: Path,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    home = tmp_path / "home"
    (home / "notes").mkdir(parents=True)
    (home / "notes" / "feed.json").write_text("mine")
    monkeypatch.setenv("HOME", str(home))
    monkeypatch.delenv("XDG_CACHE_HOME", raising=False)
    before = files_under(home)

    status, err = run(content, home, capsys)

    assert status == 2
    assert err == [
        f"newswire: --out {home}: is the home folder; build into a folder of its own, e.g. public"
    ]
    assert files_under(home) == before


def test_the_root_folder_is_refused_as_out(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # No site.yaml: were --out / not refused first, the build would stop at site.yaml, before
    # writing anything.
    status, err = run(tmp_path / "content", Path("/"), capsys)

    assert status == 2
    assert err == [
        "newswire: --out /: is the root folder; build into a folder of its own, e.g. public"
    ]


def test_missing_site_yaml_exits_2_with_a_clear_message(
    content: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (content / "site.yaml").unlink()
    status, err = run(content, tmp_path / "feeds", capsys)
    assert status == 2
    assert len(err) == 1
    assert str(content / "site.yaml") in err[0]
    assert "cannot read the site configuration" in err[0]
    assert not (tmp_path / "feeds").exists()


@pytest.mark.parametrize(
    ("line", "field"),
    [
        ('title: "English\\x01News"', "title"),
        ('description: "News\\x1b[31m in red"', "description"),
        ('author: "Desk\\x00"', "author.name"),
    ],
)
def test_a_control_character_in_site_yaml_exits_2_naming_the_field(
    content: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str], line: str, field: str
) -> None:
    site = content / "site.yaml"
    site.write_text(site.read_text(encoding="utf-8") + line + "\n", encoding="utf-8")

    status, err = run(content, tmp_path / "feeds", capsys)

    assert status == 2
    assert len(err) == 1, err
    assert err[0].startswith(f"newswire: {site}: {field}: contains the control character U+")
    assert not (tmp_path / "feeds").exists()


def test_every_problem_of_site_yaml_is_printed(
    content: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    site = content / "site.yaml"
    site.write_text(
        site.read_text(encoding="utf-8") + "items_per_feed: 0\nlanguage: ''\n", encoding="utf-8"
    )

    status, err = run(content, tmp_path / "feeds", capsys)

    assert status == 2
    assert err == [
        f"newswire: {site}: language: is empty, expected a non-empty text",
        f"{site}: items_per_feed: 0 is not a positive whole number, expected a whole number ≥ 1",
    ]


def test_every_problem_of_an_article_is_printed(
    content: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    add_articles(
        content,
        {"two-mistakes.md": b"---\ntitle: ''\npublished: 2024-02-30\ndraft: maybe\n---\n\nBody.\n"},
    )

    status, err = run(content, tmp_path / "feeds", capsys)

    assert status == 1
    path = content / "articles" / "two-mistakes.md"
    assert [line.split(": ", 2)[1] for line in err if line.startswith(f"{path}: ")] == [
        "title",
        "published",
        "draft",
    ]
    assert err[-1].startswith(f"newswire: {VALID_IN_CONTENT} articles published, 1 rejected")


def test_files_over_the_size_limit_are_refused_unread(
    content: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    video = content / "articles" / "video.md"
    with video.open("wb") as sparse:
        sparse.truncate(3 * 1024**3)  # 3 GiB that take no disk space, and must not be read

    status, err = run(content, tmp_path / "feeds", capsys)

    assert status == 1
    assert f"{video}: file: {3 * 1024**3} bytes is too large, expected at most" in err[0]

    with (content / "site.yaml").open("wb") as sparse:
        sparse.truncate(3 * 1024**3)
    status, err = run(content, tmp_path / "feeds", capsys)

    assert status == 2
    assert err == [
        f"newswire: {content / 'site.yaml'}: file: {3 * 1024**3} bytes is too large, "
        f"expected at most {1024 * 1024}"
    ]


def test_drafts_and_scheduled_articles_are_in_no_feed(
    content: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "feeds"
    run(content, out, capsys)
    manifest = out / ".newswire-manifest.json"
    feeds = [p for p in out.rglob("*") if p.is_file() and p != manifest]
    assert len(feeds) == FILES_IN_CONTENT
    # The manifest lists exactly the files the build wrote.
    listed = json.loads(manifest.read_bytes())["files"]
    assert sorted(listed) == sorted(p.relative_to(out).as_posix() for p in feeds)
    for feed in feeds:
        text = feed.read_text("utf-8")
        assert "Eastgate" not in text, feed
        assert "Ferry service review" not in text, feed
        assert "ferry-service-review" not in text, feed
    assert not (out / "tags" / "infrastructure").exists()  # only the scheduled article has it


def test_the_installed_console_script(content: Path, tmp_path: Path) -> None:
    script = Path(sys.executable).parent / "newswire"
    add_articles(content, {"no-title.md": BAD_ARTICLES["no-title.md"][0]})
    out = tmp_path / "feeds"
    result = subprocess.run(
        [str(script), "build", str(content), "--out", str(out), "--now", NOW],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 1
    lines = result.stderr.splitlines()
    assert lines[0].startswith(f"{content / 'articles' / 'no-title.md'}: title: is missing")
    assert lines[-1].startswith("newswire: 6 articles published, 1 rejected")
    assert (out / "rss.xml").is_file()


def test_the_console_script_flushes_its_output_and_keeps_the_status_as_it_exits() -> None:
    # What main printed must arrive (a piped stdout is block-buffered), its status must be the
    # process's, nothing after run() may run, and cleanup registered with atexit (logging's
    # flush of its handlers, for one) still runs.
    program = (
        "import atexit, sys\n"
        "from newswire import cli\n"
        "def main():\n"
        "    print('to stdout', end='')\n"
        "    print('to stderr', end='', file=sys.stderr)\n"
        "    return 3\n"
        "atexit.register(print, ', cleaned up', end='')\n"
        "cli.main = main\n"
        "cli.run()\n"
        "print('after run')\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", program], capture_output=True, text=True, timeout=60, check=False
    )
    assert (result.returncode, result.stdout, result.stderr) == (
        3,
        "to stdout, cleaned up",
        "to stderr",
    )


def test_feeds_that_cannot_be_written_exit_2_with_a_clear_message(
    content: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "feeds"
    out.write_text("a file where the output folder should be")

    status, err = run(content, out, capsys)

    assert status == 2
    assert len(err) == 1
    assert err[0].startswith(f"newswire: {out}")
    assert "cannot write the feed file" in err[0]


def test_a_cache_that_cannot_be_written_exits_2_and_names_the_way_out(
    content: Path,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # so that worker processes hit it
    monkeypatch.setattr("newswire.build.DEFAULT_BATCHING", Batching(files=2))
    cache = tmp_path / "cache"
    cache.write_text("a file where the cache folder should be")

    out = str(tmp_path / "feeds")
    status = main(
        ["build", str(content), "--out", out, "--now", NOW, "--jobs", "2", "--cache", str(cache)]
    )

    err = capsys.readouterr().err.splitlines()
    assert status == 2
    assert len(err) == 1
    assert err[0].startswith(f"newswire: {cache}: cannot write the build cache (")
    assert err[0].endswith("free some space, or build with --no-cache")


def test_a_temporary_folder_that_cannot_be_used_exits_2_and_names_tmpdir(
    content: Path,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    not_a_folder = tmp_path / "tmp"
    not_a_folder.write_text("a file where the temporary folder should be")
    monkeypatch.setattr(tempfile, "tempdir", str(not_a_folder))

    # Without a cache (which keeps the items), rendered items go to the temporary folder.
    status, err = run(content, tmp_path / "feeds", capsys, "--no-cache")

    assert status == 2
    assert len(err) == 1
    assert err[0].startswith(f"newswire: {not_a_folder}: cannot store rendered items (")
    assert err[0].endswith("set TMPDIR to one with room")


@pytest.mark.parametrize(("cores", "jobs"), [(1, 1), (2, 3), (4, 5)])
def test_builds_use_a_worker_per_core_and_one_more(
    monkeypatch: pytest.MonkeyPatch, cores: int, jobs: int
) -> None:
    # One more than cores keeps them busy while a worker waits; one core stays in-process.
    monkeypatch.setattr(os, "sched_getaffinity", lambda pid: set(range(cores)), raising=False)
    assert newswire.cli._default_jobs() == jobs


def check(content: Path, capsys: pytest.CaptureFixture[str]) -> tuple[int, list[str], list[str]]:
    status = main(["check", str(content), "--now", NOW])
    captured = capsys.readouterr()
    return status, captured.out.splitlines(), captured.err.splitlines()


def test_check_lists_each_partner_finding_with_its_rule(
    content: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    status, out, err = check(content, capsys)

    assert status == 1
    assert len(out) == FINDINGS_IN_CONTENT
    harbour = f"{content}/articles/harbour-festival-returns-to-the-waterfront.md"
    rail = f"{content}/articles/rail-timetable-changes-confirmed.md"
    assert f"{harbour}: msn: published: 532 days ago, expected within 365 days " in "\n".join(out)
    assert (
        f"{rail}: msn: image: missing, expected a lead image "
        "(MSN publishes only articles with one by itself)"
    ) in out
    assert (
        f"{rail}: newsbreak: image: missing, expected a lead image (NewsBreak requires one)" in out
    )
    assert out[-2] == (
        "partners/flipboard/rss.xml: flipboard: items: 6 items, expected at least 20 "
        "(Flipboard asks for a site's most recent ones)"
    )
    # What site.yaml gives the channel is judged too: SmartNews wants a short description.
    assert out[-1] == (
        "partners/smartnews/rss.xml: smartnews: description: 56 characters (site.yaml), "
        "expected at most 30 (SmartNews)"
    )
    # The draft is no partner's business.
    assert not [line for line in out if "ferry-service-review" in line]
    assert err[-1] == (
        f"newswire: {FINDINGS_IN_CONTENT} partner findings "
        "(msn, google-news, flipboard, smartnews, newsbreak) in 7 articles, 0 rejected"
    )


def test_check_names_each_rule_broken(content: Path, capsys: pytest.CaptureFixture[str]) -> None:
    add_articles(
        content,
        {
            "short.md": (
                b"---\ntitle: Short title\npublished: 2026-10-30T10:00:00Z\n"
                b"image: {url: a.jpg, width: 640, height: 360}\n---\n\nBody.\n"
            )
        },
    )

    _status, out, _err = check(content, capsys)

    mine = [line.split(": ", 2)[1:] for line in out if "short.md" in line]
    assert mine == [
        ["msn", "title: 11 characters, expected 21–150 (MSN)"],
        [
            "msn",
            "image: 640×360 px, expected at least 720 px in height or width (MSN recommends it)",
        ],
        [
            "google-news",
            "image: 640×360 px, expected at least 800 px on the shortest side "
            "(Google News recommends it)",
        ],
        [
            "flipboard",
            "image: 640×360 px, expected at least 500 px on the shortest side (Flipboard)",
        ],
        ["newsbreak", "image.credit: missing, expected who took the image (NewsBreak asks)"],
        # Judged on the item: its description is the summary taken from the body, "Body."
        [
            "flipboard",
            "summary: 5 characters in the item, expected at least 300 "
            "(Flipboard recommends it for the excerpt it shows)",
        ],
    ]


def test_check_of_a_clean_site_exits_zero(
    content: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    site = (content / "site.yaml").read_text(encoding="utf-8")
    site = site.replace("News from the UK and around the world, in plain English.", "UK news")
    (content / "site.yaml").write_text(site.split("partners:")[0] + "partners:\n  smartnews:\n")

    status, out, _err = check(content, capsys)

    assert (status, out) == (0, [])


def test_check_of_a_site_with_no_partner_says_so(
    content: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    site = (content / "site.yaml").read_text(encoding="utf-8")
    (content / "site.yaml").write_text(site.split("partners:")[0])

    status, out, err = check(content, capsys)

    assert status == 0
    # Not a finding: stdout holds findings alone, as a script reading it expects.
    assert out == []
    assert err == ["newswire: no partner enabled (partners: in site.yaml), nothing to check"]


def test_check_of_an_invalid_site_exits_two(
    content: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    site = (content / "site.yaml").read_text(encoding="utf-8")
    (content / "site.yaml").write_text(site + "  msm:\n")

    status, _out, err = check(content, capsys)

    assert status == 2
    assert "partners.msm: unknown partner (did you mean 'msn'?)" in err[0]


def test_a_site_without_partners_builds_no_partner_feed_and_counts_nothing(
    content: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    site = (content / "site.yaml").read_text(encoding="utf-8")
    (content / "site.yaml").write_text(site.split("partners:")[0])
    out = tmp_path / "feeds"

    status, err = run(content, out, capsys)

    assert status == 0
    assert len(err) == 1
    assert err[0].startswith(f"newswire: {VALID_IN_CONTENT} articles published")
    assert not (out / "partners").exists()
