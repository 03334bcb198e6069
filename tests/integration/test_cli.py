"""``newswire build`` as a writer uses it: a content folder with mistakes in it.

One bad article must never stop the others: each is named on stderr with the field at fault,
the valid ones are still published, and the exit status tells a script that something failed.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest

import newswire.cli
from newswire.build import Batching
from newswire.cli import main
from newswire.rendering import sitemap
from tests.support.cli import (
    FILES_IN_CONTENT,
    FINDINGS_IN_CONTENT,
    HELD_IN_CONTENT,
    NOW,
    VALID_IN_CONTENT,
    add_articles,
    run,
)

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


def test_a_later_build_leaves_the_news_sitemap_alone_while_its_articles_stay(
    content: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """The two days are counted from ``--now``, which is not written in it: a build three
    hours later, with the same articles in the window, does not rewrite it."""
    fresh = b"---\ntitle: Fresh\npublished: 2026-10-31T10:00:00Z\n---\n\nNew today.\n"
    add_articles(content, {"fresh.md": fresh})
    out = tmp_path / "feeds"
    run(content, out, capsys)
    sitemap = out / "news-sitemap.xml"
    before = sitemap.stat().st_mtime_ns

    main(["build", str(content), "--out", str(out), "--now", "2026-11-01T03:00:00Z"])

    assert b"articles/fresh/" in sitemap.read_bytes()
    assert sitemap.stat().st_mtime_ns == before


def test_a_month_that_shrinks_to_fewer_sitemap_parts_loses_the_stale_part(
    content: Path,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A month split in two parts, back under the limit: the build removes the second part
    (a file it wrote, as its manifest says) and the index no longer lists it."""
    monkeypatch.setattr(sitemap, "URLS_PER_SITEMAP", 2)
    add_articles(
        content,
        {
            f"march-{day}.md": f"---\ntitle: March {day}\npublished: 2026-03-0{day}T10:00:00Z\n"
            f"---\n\nBody.\n".encode()
            for day in (1, 2, 3)
        },
    )
    out = tmp_path / "feeds"
    run(content, out, capsys, "--no-cache")
    assert (out / "sitemaps/2026-03-2.xml").exists()

    (content / "articles/march-3.md").unlink()
    status, _err = run(content, out, capsys, "--no-cache")

    assert status == 0
    assert not (out / "sitemaps/2026-03-2.xml").exists()
    assert b"articles/march-2/" in (out / "sitemaps/2026-03.xml").read_bytes()
    index = (out / "sitemap.xml").read_bytes()
    assert b"sitemaps/2026-03.xml" in index
    assert b"sitemaps/2026-03-2.xml" not in index


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
