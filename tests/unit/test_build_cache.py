"""The build cache never changes what a build reports or writes; it only skips work.

Warm builds reuse a file's parse (and rendered items) only while its bytes, the site
configuration and the code are the same: a changed file is parsed again, an unchanged bad file
is still reported, an edited ``site.yaml`` voids everything, and the output is byte-identical
to a cold build without a cache (in one process or several).
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import os
import re
import sqlite3
import tomllib
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

import newswire.buildworkers
import newswire.content.articles
from newswire.adapters.local import LocalContent
from newswire.build import Batching, BuildReport, build_site
from newswire.buildcache import (
    CACHE_FILE,
    OUTPUT_LIBRARIES,
    PACK_FOLDER,
    BuildCache,
    code_version,
    without_body,
)
from newswire.buildworkers import Written
from newswire.content.articles import SETTLED_NS, parse_article
from newswire.content.site import parse_site
from newswire.domain.model import Article, Entry, SiteConfig
from newswire.errors import InvalidArticleError
from tests.support.corpus import generate_corpus
from tests.support.feedcheck import feed_format_of

NOW = datetime(2026, 11, 1, tzinfo=UTC)
SITE_YAML = b"""\
title: Cache Wire
description: Testing the build cache
base_url: https://news.example.org/
timezone: Europe/London
author: Newsroom
items_per_feed: 5
"""
#: Requests small enough that the test corpus of 61 files reaches the worker processes.
SMALL = Batching(files=8)
BAD_KEY = "articles/zz-bad-date.md"
BAD = b"---\ntitle: Leap\npublished: 2022-02-30\n---\n\nBody.\n"


def site(yaml: bytes = SITE_YAML) -> SiteConfig:
    return parse_site("site.yaml", yaml)


@pytest.fixture
def sources() -> list[tuple[str, bytes]]:
    return [*generate_corpus(60, seed=7), (BAD_KEY, BAD)]


def files_of(report: BuildReport) -> dict[str, bytes]:
    return {f.path: f.body for f in report.files}


class Tree:
    """An output folder and its cache, built the way ``newswire build`` does."""

    def __init__(self, root: Path, settle_ns: int = SETTLED_NS) -> None:
        self.out = root / "out"
        self.cache_dir = root / "cache"
        self.settle_ns = settle_ns

    def write(self, path: str, body: bytes) -> Written:
        target = self.out / path
        if target.exists() and target.read_bytes() == body:
            return Written.UNCHANGED
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(body)
        return Written.WRITTEN

    def build(
        self, sources: list[tuple[str, bytes]], config: SiteConfig, jobs: int = 1
    ) -> tuple[BuildReport, BuildCache]:
        cache = BuildCache.open(self.cache_dir, config, self.out, self.settle_ns)
        report = build_site(
            sources, config, NOW, cache=cache, jobs=jobs, sink=self.write, batching=SMALL
        )
        cache.save()
        return report, cache

    def files(self) -> dict[str, bytes]:
        return {
            p.relative_to(self.out).as_posix(): p.read_bytes()
            for p in sorted(self.out.rglob("*"))
            if p.is_file()
        }


@pytest.fixture
def parses(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The keys parsed from their bytes (not taken from the cache), in order."""
    seen: list[str] = []
    real = newswire.buildworkers.prepare_article

    def spy(key: str, data: bytes, config: SiteConfig):  # type: ignore[no-untyped-def]
        seen.append(key)
        return real(key, data, config)

    monkeypatch.setattr(newswire.buildworkers, "prepare_article", spy)
    return seen


@pytest.fixture
def reads(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The article files whose bytes were read, in order, by the build or its workers (the
    parent reads a file the cache knows; a worker, one it has never seen)."""
    seen: list[str] = []
    real = newswire.content.articles.read_article_file

    def spy(path: str) -> bytes | InvalidArticleError:
        seen.append(path)
        return real(path)

    monkeypatch.setattr(newswire.content.articles, "read_article_file", spy)
    monkeypatch.setattr(newswire.buildworkers, "read_article_file", spy)
    return seen


def test_a_warm_build_parses_only_the_changed_file(
    tmp_path: Path, sources: list[tuple[str, bytes]], parses: list[str]
) -> None:
    tree = Tree(tmp_path)
    tree.build(sources, site())
    assert len(parses) == len(sources)
    parses.clear()
    key = sources[10][0]
    changed = [(k, d) if k != key else (k, d + b"\nOne more line.\n") for k, d in sources]

    report, _ = tree.build(changed, site())

    assert parses == [key]
    assert report.published == len(sources) - 1


def _edited(sources: list[tuple[str, bytes]], index: int, text: bytes) -> list[tuple[str, bytes]]:
    key = sources[index][0]
    return [(k, d + text if k == key else d) for k, d in sources]


def _state(cache: BuildCache) -> tuple[dict[str, Any], dict[str, Any]]:
    """What a cache knows, comparable across loads."""
    articles = {
        k: (c.digest, repr(c.result), c.items, c.signature)  # rejections compare by identity
        for k, c in sorted(cache.articles.items())
    }
    feeds = {k: (f.digest, f.outputs) for k, f in sorted(cache.feeds.items())}
    return articles, feeds


def test_what_a_warm_build_learns_is_kept_for_the_next(
    tmp_path: Path, sources: list[tuple[str, bytes]], parses: list[str]
) -> None:
    tree = Tree(tmp_path)
    tree.build(sources, site())
    first = _edited(sources, 10, b"\nOne more line.\n")
    tree.build(first, site())
    second = _edited(first, 20, b"\nAnother line.\n")
    _, cache = tree.build(second, site())
    assert _state(BuildCache.open(tree.cache_dir, site(), output=tree.out)) == _state(cache)
    parses.clear()

    report, _ = tree.build(second, site())

    assert parses == []
    assert report.reused == [p for p in report.paths if feed_format_of(p)]
    assert files_of(build_site(second, site(), NOW)) == tree.files() | files_of(report)


def test_a_build_that_changes_nothing_leaves_the_cache_folder_as_it_was(
    tmp_path: Path, sources: list[tuple[str, bytes]]
) -> None:
    tree = Tree(tmp_path)
    tree.build(sources, site())
    before = _folder(tree.cache_dir)

    tree.build(sources, site())

    assert _folder(tree.cache_dir) == before


def _folder(folder: Path) -> dict[str, tuple[bytes, int]]:
    """Every file under ``folder``: its bytes and modification time."""
    return {
        p.relative_to(folder).as_posix(): (p.read_bytes(), p.stat().st_mtime_ns)
        for p in sorted(folder.rglob("*"))
        if p.is_file()
    }


def test_an_unchanged_bad_article_is_still_reported_with_the_same_message(
    tmp_path: Path, sources: list[tuple[str, bytes]], parses: list[str]
) -> None:
    tree = Tree(tmp_path)
    cold, _ = tree.build(sources, site())
    parses.clear()

    warm, _ = tree.build(sources, site())

    assert parses == []  # nothing parsed again, the bad file included
    assert [str(e) for e in warm.rejected] == [str(e) for e in cold.rejected]
    assert len(warm.rejected) == 1
    assert warm.rejected[0].key == BAD_KEY
    assert warm.rejected[0].field == "published"


def test_a_duplicate_id_is_judged_again_on_every_build(
    tmp_path: Path, sources: list[tuple[str, bytes]]
) -> None:
    tree = Tree(tmp_path)
    tree.build(sources, site())
    key, data = sources[3]
    copy = ("articles/zz-copy.md", data.replace(b"---\n", b"---\nid: urn:x:1\n", 1))
    first = (key, data.replace(b"---\n", b"---\nid: urn:x:1\n", 1))
    again = [first if k == key else (k, d) for k, d in sources] + [copy]

    report, _ = tree.build(again, site())

    assert {(e.key, e.field) for e in report.rejected} == {
        (BAD_KEY, "published"),
        ("articles/zz-copy.md", "id"),
    }


def test_a_site_yaml_change_voids_the_cache(
    tmp_path: Path, sources: list[tuple[str, bytes]], parses: list[str]
) -> None:
    tree = Tree(tmp_path)
    tree.build(sources, site())
    parses.clear()
    edited = SITE_YAML.replace(b"title: Cache Wire", b"title: Renamed Wire")

    tree.build(sources, site(edited))

    assert sorted(parses) == sorted(k for k, _ in sources)
    assert b"Renamed Wire" in tree.files()["rss.xml"]


@pytest.mark.parametrize("jobs", [1, 2])
def test_output_is_byte_identical_to_a_cold_build_without_cache(
    tmp_path: Path, sources: list[tuple[str, bytes]], jobs: int
) -> None:
    tree = Tree(tmp_path)
    tree.build(sources, site(), jobs=jobs)
    key = sources[-2][0]  # a change, a deletion and an addition since the first build
    changed = [(k, d + b"\nEdited.\n" if k == key else d) for k, d in sources[1:]]
    changed.append(("articles/a-new-one.md", sources[0][1]))

    report, _ = tree.build(changed, site(), jobs=jobs)
    for stale in set(tree.files()) - set(report.paths):
        (tree.out / stale).unlink()

    cold = build_site(changed, site(), NOW)
    assert tree.files() == files_of(cold)
    assert report.paths == sorted(files_of(cold))
    assert [str(e) for e in report.rejected] == [str(e) for e in cold.rejected]


def test_unchanged_feeds_are_not_rendered_again(
    tmp_path: Path, sources: list[tuple[str, bytes]]
) -> None:
    tree = Tree(tmp_path)
    first, _ = tree.build(sources, site())
    assert first.reused == []

    second, _ = tree.build(sources, site())

    # every feed file was already right; the sitemap and stylesheet are not written either
    assert second.reused == [p for p in second.paths if feed_format_of(p)]
    assert second.written == 0


def test_other_files_in_the_cache_folder_survive_every_build(
    tmp_path: Path, sources: list[tuple[str, bytes]]
) -> None:
    # --cache may name a folder that holds other files: a cache made again removes only what
    # newswire wrote there, this version or an older one (its index, journal and item packs).
    tree = Tree(tmp_path)
    theirs = {
        "notes.txt": b"my notes",
        "entries/holiday.pack": b"not a newswire pack",
        "build-cache.sqlite-old": b"a copy of mine",
    }
    old = ["build-cache.pickle", "build-cache.journal", "entries/0123456789ab-4242.pack"]
    for name, body in theirs.items():
        (tree.cache_dir / name).parent.mkdir(parents=True, exist_ok=True)
        (tree.cache_dir / name).write_bytes(body)
    for name in old:
        (tree.cache_dir / name).write_bytes(b"left by an older newswire")

    tree.build(sources, site())
    # A new site.yaml voids the cache: it is made again.
    tree.build(sources, site(yaml=SITE_YAML.replace(b"Cache Wire", b"Other Wire")))

    for name, body in theirs.items():
        assert (tree.cache_dir / name).read_bytes() == body
    assert not [name for name in old if (tree.cache_dir / name).exists()]


def test_a_feed_whose_file_was_refused_is_rendered_again(
    tmp_path: Path, sources: list[tuple[str, bytes]]
) -> None:
    # Someone else's rss.xml is in the way (the sink leaves it): the cache must not take it for
    # the main feed's file, or the next build would count it as ours, unchanged.
    tree = Tree(tmp_path)
    theirs = tree.out / "rss.xml"
    theirs.parent.mkdir(parents=True)
    theirs.write_bytes(b"<rss>theirs</rss>")

    def refusing(path: str, body: bytes) -> Written:
        return Written.REFUSED if path == "rss.xml" else tree.write(path, body)

    for _ in range(2):
        cache = BuildCache.open(tree.cache_dir, site(), output=tree.out)
        report = build_site(sources, site(), NOW, cache=cache, sink=refusing)
        cache.save(unwritten=report.refused)

        assert report.refused == ["rss.xml"]
        assert "rss.xml" not in report.reused
    assert theirs.read_bytes() == b"<rss>theirs</rss>"


def test_a_feed_file_changed_by_hand_is_rendered_again(
    tmp_path: Path, sources: list[tuple[str, bytes]]
) -> None:
    tree = Tree(tmp_path)
    tree.build(sources, site())
    expected = tree.files()["rss.xml"]
    (tree.out / "rss.xml").write_bytes(b"tampered")

    report, _ = tree.build(sources, site())

    assert "rss.xml" not in report.reused
    assert tree.files()["rss.xml"] == expected


@pytest.mark.parametrize("jobs", [1, 2])
def test_a_cold_build_leaves_what_it_learnt_for_the_next(
    tmp_path: Path, sources: list[tuple[str, bytes]], jobs: int
) -> None:
    # With workers, each records the files it parses: the cache loads as the build kept it.
    tree = Tree(tmp_path)
    _, cache = tree.build(sources, site(), jobs=jobs)

    assert _state(BuildCache.open(tree.cache_dir, site(), output=tree.out)) == _state(cache)
    edited = _edited(sources, 10, b"\nOne more line.\n")
    tree.build(edited, site())
    assert tree.files() == files_of(build_site(edited, site(), NOW))


def test_a_file_gone_is_forgotten(tmp_path: Path, sources: list[tuple[str, bytes]]) -> None:
    tree = Tree(tmp_path)
    tree.build(sources, site())
    gone = sources[0][0]

    tree.build(sources[1:], site())

    assert gone not in BuildCache.open(tree.cache_dir, site(), output=tree.out).articles


@pytest.mark.parametrize(
    "damage",
    ["garbage", "empty", "cut to its first page", "cut in half", "last bytes cut", "other tables"],
)
def test_a_cache_that_cannot_be_read_is_rebuilt(
    tmp_path: Path, sources: list[tuple[str, bytes]], parses: list[str], damage: str
) -> None:
    tree = Tree(tmp_path)
    tree.build(sources, site())
    for feed in tree.out.rglob("*.xml"):
        feed.unlink()  # every feed must be rendered again, from cached or fresh entries
    database = tree.cache_dir / CACHE_FILE
    size = database.stat().st_size
    if damage == "garbage":
        database.write_bytes(b"not a database" * 1000)
    elif damage == "empty":
        database.write_bytes(b"")
    elif damage == "other tables":  # an older newswire's, say
        database.unlink()
        with sqlite3.connect(database) as other:
            other.execute("CREATE TABLE articles (key TEXT, digest TEXT)")
        other.close()
    else:
        keep = {
            "cut to its first page": 4096,
            "cut in half": size // 2,
            "last bytes cut": size - 10,
        }
        os.truncate(database, keep[damage])
    parses.clear()

    report, cache = tree.build(sources, site())

    assert sorted(parses) == sorted(k for k, _ in sources)
    assert tree.files() == files_of(build_site(sources, site(), NOW))
    assert len(report.rejected) == 1
    healed = BuildCache.open(tree.cache_dir, site(), output=tree.out)
    assert _state(healed) == _state(cache)
    assert all(_cached_items(healed, k) for k, _ in sources if k != BAD_KEY)


@pytest.mark.parametrize("damage", ["truncate", "delete"])
def test_a_damaged_item_pack_only_costs_rendering_again(
    tmp_path: Path, sources: list[tuple[str, bytes]], damage: str
) -> None:
    tree = Tree(tmp_path)
    tree.build(sources, site())
    for pack in (tree.cache_dir / PACK_FOLDER).glob("*.pack"):
        if damage == "delete":
            pack.unlink()
        else:
            pack.write_bytes(pack.read_bytes()[:100])
    for feed in tree.out.rglob("*.xml"):
        feed.unlink()  # every feed must be rendered again, from cached or fresh entries

    report, _ = tree.build(sources, site())

    assert {p: b for p, b in tree.files().items() if p.endswith(".xml")} == {
        p: b for p, b in files_of(build_site(sources, site(), NOW)).items() if p.endswith(".xml")
    }
    assert len(report.rejected) == 1
    healed = BuildCache.open(tree.cache_dir, site(), output=tree.out)
    assert all(_cached_items(healed, k) for k, _ in sources if k != BAD_KEY)


def test_a_build_that_dies_leaves_a_cache_the_next_build_uses(
    tmp_path: Path, sources: list[tuple[str, bytes]], parses: list[str]
) -> None:
    # Stopped while writing feeds, before the cache was saved: the next build finds the cache
    # as the build before left it, and what the stopped one wrote is not mistaken for it.
    tree = Tree(tmp_path)
    tree.build(sources, site())
    edited = _edited(sources, 10, b"\nOne more line.\n")

    def dying(path: str, body: bytes) -> Written:
        if path.startswith("tags/"):
            raise KeyboardInterrupt
        return tree.write(path, body)

    cache = BuildCache.open(tree.cache_dir, site(), output=tree.out)
    with pytest.raises(KeyboardInterrupt):
        build_site(edited, site(), NOW, cache=cache, sink=dying)
    parses.clear()

    report, _ = tree.build(edited, site())

    assert parses == [sources[10][0]]
    assert tree.files() == files_of(build_site(edited, site(), NOW))
    assert len(report.rejected) == 1


def test_a_write_cut_short_by_a_crash_is_undone(
    tmp_path: Path, sources: list[tuple[str, bytes]], parses: list[str]
) -> None:
    # A process killed in the middle of a transaction (a worker's chunk, a cache's save):
    # sqlite undoes it when the database is next opened, and the cache is used as it was.
    tree = Tree(tmp_path)
    tree.build(sources, site())
    pid = os.fork()
    if pid == 0:  # the child starts a write and dies without committing or closing
        dying = sqlite3.connect(tree.cache_dir / CACHE_FILE, isolation_level=None)
        dying.execute("BEGIN IMMEDIATE")
        dying.execute("DELETE FROM articles")
        dying.execute("DELETE FROM batches")
        os._exit(0)
    os.waitpid(pid, 0)
    parses.clear()

    report, _ = tree.build(sources, site())

    assert parses == []
    assert report.written == 0
    assert tree.files() == files_of(build_site(sources, site(), NOW))


def test_the_cache_folder_does_not_grow_with_every_build(
    tmp_path: Path, sources: list[tuple[str, bytes]]
) -> None:
    # One file edited a build, another each time, the way a newsroom works: the items each
    # edit replaces do not pile up.
    tree = Tree(tmp_path)
    _, first = tree.build(sources, site())
    cold_size = _size(tree.cache_dir)
    shown = [k for k, cached in sorted(first.articles.items()) if cached.items is not None]
    edited = [k for k in shown if k.endswith(".md")][:20]  # a line added stays Markdown
    changed = dict(sources)
    for key in edited:
        changed[key] += b"\nEdited.\n"
        tree.build(list(changed.items()), site())

    assert _size(tree.cache_dir) < 1.5 * cold_size
    reopened = BuildCache.open(tree.cache_dir, site(), output=tree.out)
    for key in edited:
        assert all(b"Edited." in item for item in _cached_items(reopened, key))
    assert tree.files() == files_of(build_site(list(changed.items()), site(), NOW))


def _size(folder: Path) -> int:
    return sum(p.stat().st_size for p in folder.rglob("*") if p.is_file())


def _cached_items(cache: BuildCache, key: str) -> list[bytes]:
    """The items the cache holds for ``key`` (one per format), read from its packs."""
    ref = cache.articles[key].items
    assert ref is not None
    return cache.packs.read(ref)


@pytest.mark.parametrize("feeds_per_batch", [16, 1])
def test_parallel_build_is_byte_identical_to_a_single_process_one(
    sources: list[tuple[str, bytes]], feeds_per_batch: int
) -> None:
    # One feed per batch: archives go to the workers before the other feeds are planned.
    single = build_site(sources, site(), NOW)

    batching = Batching(files=8, feeds=feeds_per_batch)
    parallel = build_site(sources, site(), NOW, jobs=2, batching=batching)

    assert files_of(parallel) == files_of(single)
    assert [str(e) for e in parallel.rejected] == [str(e) for e in single.rejected]


def _write_corpus(folder: Path, sources: list[tuple[str, bytes]]) -> LocalContent:
    (folder / "articles").mkdir(parents=True)
    (folder / "site.yaml").write_bytes(SITE_YAML)
    for key, data in sources:
        (folder / key).write_bytes(data)
    return LocalContent(folder)


def _built_from_files(
    tmp_path: Path, sources: list[tuple[str, bytes]], settle_ns: int
) -> tuple[LocalContent, Tree]:
    """``sources`` written to a content folder and built once from its files, cache kept."""
    content = _write_corpus(tmp_path / "content", sources)
    tree = Tree(tmp_path, settle_ns)
    tree.build(list(content.article_files()), site())
    return content, tree


def test_files_the_cache_saw_unchanged_are_not_even_read(
    tmp_path: Path,
    sources: list[tuple[str, bytes]],
    parses: list[str],
    reads: list[str],
) -> None:
    content, tree = _built_from_files(tmp_path, sources, settle_ns=0)  # no wait for settling
    reads.clear()
    parses.clear()
    markdown = [k for k, _ in sources if k.endswith(".md") and k != BAD_KEY]
    edited = tmp_path / "content" / markdown[0]
    edited.write_bytes(edited.read_bytes() + b"\nEdited.\n")
    touched = tmp_path / "content" / markdown[1]
    os.utime(touched, ns=(1, 1))  # a new time, the same bytes

    report, _ = tree.build(list(content.article_files()), site())

    assert sorted(reads) == sorted([str(edited), str(touched)])
    assert parses == [str(edited)]
    assert len(report.rejected) == 1


def test_an_edit_that_keeps_size_and_time_is_still_seen(
    tmp_path: Path,
    sources: list[tuple[str, bytes]],
    parses: list[str],
) -> None:
    content, tree = _built_from_files(tmp_path, sources, settle_ns=0)
    path = tmp_path / "content" / sources[5][0]
    before = path.stat()
    path.write_bytes(path.read_bytes().replace(b"a", b"e", 1))  # same size
    os.utime(path, ns=(before.st_atime_ns, before.st_mtime_ns))  # same time: ctime moved on
    parses.clear()

    tree.build(list(content.article_files()), site())

    assert parses == [str(path)]


def test_files_changed_just_before_a_build_are_read_and_hashed_by_the_next(
    tmp_path: Path,
    sources: list[tuple[str, bytes]],
    parses: list[str],
    reads: list[str],
) -> None:
    # On a file system keeping whole seconds, a file written again within the second at the
    # same size would keep its signature: signatures younger than that are not recorded.
    content, tree = _built_from_files(tmp_path, sources, settle_ns=60 * 10**9)  # a slow runner

    reads.clear()
    parses.clear()

    tree.build(list(content.article_files()), site())

    assert len(reads) == len(sources)  # none trusted by its signature alone
    assert parses == []  # but each recognised by its digest


def test_a_file_renamed_with_the_same_bytes_has_its_feeds_rendered_again(
    tmp_path: Path, sources: list[tuple[str, bytes]]
) -> None:
    # Feed digests stand on file digests; the key must count too, since the slug (and with it
    # the entry's URL and id) comes from the file name.
    tree = Tree(tmp_path)
    tree.build(sources, site())
    key, data = next((k, d) for k, d in sources if k.endswith(".md") and k != BAD_KEY)
    renamed = [(k, d) for k, d in sources if k != key] + [(key.replace(".md", "-x.md"), data)]

    tree.build(renamed, site())

    fresh = files_of(build_site(renamed, site(), NOW))
    assert {path: tree.files()[path] for path in fresh} == fresh


@pytest.mark.parametrize("jobs", [1, 2])
@pytest.mark.parametrize("cached", [False, True], ids=["cold", "cache-known"])
def test_a_file_that_cannot_be_read_is_reported_and_the_others_published(
    tmp_path: Path,
    sources: list[tuple[str, bytes]],
    cached: bool,
    jobs: int,
) -> None:
    content = _write_corpus(tmp_path / "content", sources)
    tree = Tree(tmp_path)
    if cached:
        tree.build(list(content.article_files()), site())
    listed = list(content.article_files())
    gone = next(f for f in listed if f.key.endswith(".md") and not f.key.endswith(BAD_KEY))
    Path(gone.key).unlink()  # deleted after it was listed, before it was read

    report, cache = tree.build(listed, site(), jobs=jobs)

    errors = {e.key: str(e) for e in report.rejected}
    assert set(errors) == {gone.key, str(tmp_path / "content" / BAD_KEY)}
    assert errors[gone.key].startswith(f"{gone.key}: file: cannot be read (")
    assert report.published == len(sources) - 2
    if not cached:
        assert gone.key not in cache.articles  # a failed read is never cached


@pytest.mark.parametrize("jobs", [1, 2])
def test_a_file_rendering_fails_on_is_reported_and_the_others_published(
    sources: list[tuple[str, bytes]], jobs: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    # A failure nobody foresaw, in pure code, happens again for the same bytes: it is one
    # bad file, not a reason to stop the build. The failure is injected (forked workers
    # inherit it), standing for any bug a file could set off.
    victim = next(k for k, _ in sources if k.endswith(".md") and k != BAD_KEY)
    real = newswire.buildworkers.prepare_article

    def prepare_article(key: str, data: bytes, config: SiteConfig) -> tuple[Article, Entry]:
        if key == victim:
            raise RuntimeError("boom")
        return real(key, data, config)

    monkeypatch.setattr("newswire.buildworkers.prepare_article", prepare_article)

    report = build_site(sources, site(), NOW, jobs=jobs, batching=SMALL)

    errors = {e.key: str(e) for e in report.rejected}
    assert set(errors) == {victim, BAD_KEY}
    assert errors[victim].startswith(f"{victim}: file: cannot be rendered (RuntimeError: boom)")
    assert report.published == len(sources) - 2
    url = site().article_url(victim.rsplit("/", 1)[-1].removesuffix(".md"))
    assert not [f.path for f in report.files if url.encode() in f.body]


def test_requests_to_workers_shrink_as_the_files_run_out(
    sources: list[tuple[str, bytes]], monkeypatch: pytest.MonkeyPatch
) -> None:
    # With the number of files known, the last requests are small, so that no worker idles
    # while another parses a last full chunk.
    sizes: list[int] = []
    real = newswire.buildworkers.Requests.send

    def spy(requests: newswire.buildworkers.Requests[Any, Any], argument: Any) -> Any:
        if not isinstance(argument[0], newswire.buildworkers.FeedJob):  # files, not feeds
            sizes.append(len(argument))
        return real(requests, argument)

    monkeypatch.setattr(newswire.buildworkers.Requests, "send", spy)

    report = build_site(sources, site(), NOW, jobs=2, batching=Batching(files=24, last_files=4))

    assert sum(sizes) == len(sources)
    assert sizes[0] == 24  # workers are forked for a first full chunk
    assert sizes == sorted(sizes, reverse=True)
    assert min(sizes) <= 4
    assert files_of(report) == files_of(build_site(sources, site(), NOW))


#: Runtime dependencies whose version cannot change what a build writes, and why.
_NOT_STAMPED = {
    "boto3": "AWS calls only; a build makes none",
    "botocore": "AWS calls only; a build makes none",
    "aws-lambda-powertools": "logging, metrics and tracing of the Lambda handlers",
    "python-dateutil": "feedgen parses date strings with it; newswire hands it datetimes",
    "tzdata": "a fallback: zoneinfo reads the system's zone database first",
}


def test_every_dependency_is_in_the_cache_stamp_or_cannot_change_output() -> None:
    # A library that shapes output but is missing from the stamp would let a warm build keep
    # items rendered by its previous version (orjson was, for a while).
    project = tomllib.loads((Path(__file__).parents[2] / "pyproject.toml").read_text())
    names = {
        re.split(r"[\[<>=!~;, ]", dep, maxsplit=1)[0] for dep in project["project"]["dependencies"]
    }

    assert {n.lower() for n in names} == {n.lower() for n in (*OUTPUT_LIBRARIES, *_NOT_STAMPED)}


def test_an_article_without_body_keeps_every_other_field(sources: list[tuple[str, bytes]]) -> None:
    key, data = sources[0]
    article = parse_article(key, data, site())

    kept = without_body(article)

    assert kept == dataclasses.replace(article, body="")
    assert without_body(kept) is kept  # already without: held once


@pytest.fixture
def versions_read_again() -> Iterator[None]:
    """Forget the installed versions a build read, after the test as well as before it."""
    code_version.cache_clear()
    yield
    code_version.cache_clear()


def test_a_new_version_of_a_library_that_shapes_output_voids_the_cache(
    tmp_path: Path,
    sources: list[tuple[str, bytes]],
    parses: list[str],
    monkeypatch: pytest.MonkeyPatch,
    versions_read_again: None,
) -> None:
    tree = Tree(tmp_path)
    tree.build(sources, site())
    parses.clear()
    # An upgrade installed ahead of the old version on the path: the first one found wins.
    upgraded = tmp_path / "site-packages" / "nh3-99.0.dist-info"
    upgraded.mkdir(parents=True)
    (upgraded / "METADATA").write_text("Metadata-Version: 2.1\nName: nh3\nVersion: 99.0\n")
    monkeypatch.syspath_prepend(str(upgraded.parent))
    code_version.cache_clear()  # the next build runs in a new process

    report, _ = tree.build(sources, site())

    assert sorted(parses) == sorted(k for k, _ in sources)
    assert report.reused == []


def test_a_warm_build_names_each_listed_feed_as_the_render_that_wrote_it(
    tmp_path: Path, sources: list[tuple[str, bytes]]
) -> None:
    # directory.json names each listed feed's RSS document (rss_sha256): a warm build that
    # reuses every feed names the same documents, from the digests the cache kept with them.
    tree = Tree(tmp_path)
    tree.build(sources, site())
    cold = json.loads((tree.out / "directory.json").read_bytes())

    second, _ = tree.build(sources, site())

    assert "rss.xml" in second.reused
    assert json.loads((tree.out / "directory.json").read_bytes()) == cold
    kept = BuildCache.open(tree.cache_dir, site(), output=tree.out)
    main_rss = hashlib.sha256((tree.out / "rss.xml").read_bytes()).hexdigest()
    assert kept.file_sha256("main", "rss.xml") == main_rss
    assert main_rss in {listed["rss_sha256"] for listed in cold["feeds"]}
