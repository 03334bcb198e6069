"""What ``newswire build`` may replace or remove in its output folder: the files it wrote,
as its manifest names them, and nothing else; and the folders it refuses to build into."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from newswire.build import Batching
from tests.support.cli import run


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
