"""The build cache's index: what one build records is read back whole by the next, written in
one transaction, and a database that cannot be trusted is not loaded."""

from __future__ import annotations

import os
import pickle
from pathlib import Path

import pytest

from newswire.buildstore import BuildStore, CachedArticle, CachedFeed, Changes, Parsed
from newswire.errors import InvalidArticleError, StorageError
from newswire.itemfiles import ItemRef

SIGNATURE = (120, 1_700_000_000_000_000_000, 1_700_000_000_000_000_001, 42)
ITEMS = ItemRef("0123456789ab-1.pack", 100, (10, 20, 30))


def _store(folder: Path) -> BuildStore:
    store = BuildStore(folder / "index.sqlite", lambda reason: StorageError(f"{folder}: {reason}"))
    store.create("stamp")
    return store


def _rejection(key: str, why: str = "missing") -> InvalidArticleError:
    return InvalidArticleError(key, "title", why, "a title")  # any picklable parse result


def _batch(*keys: str, why: str = "missing") -> tuple[bytes, list[CachedArticle]]:
    """A worker's pickled batch of parses of ``keys``, and what the cache makes of them."""
    parsed = [Parsed(key, _rejection(key, why), ITEMS, f"digest-{key}", SIGNATURE) for key in keys]
    cached = [CachedArticle(p.digest, p.result, p.items, p.signature) for p in parsed]
    return pickle.dumps(parsed), cached


def _loaded(store: BuildStore) -> tuple[dict[str, tuple[object, ...]], dict[str, CachedFeed]]:
    loaded = store.load("stamp")
    assert loaded is not None
    articles, feeds = loaded
    return {k: (c.digest, str(c.result), c.items, c.signature) for k, c in articles.items()}, feeds


def test_what_a_build_records_is_read_back(tmp_path: Path) -> None:
    store = _store(tmp_path)
    pickled, (first, second) = _batch("a", "b")
    feed = CachedFeed("feed-digest", {"rss.xml": (1200, 5), "atom.xml": (1300, 6)})

    store.save(
        Changes(
            batches=[pickled],
            parsed=[("a", first, 0, 0), ("b", second, 0, 1)],
            feeds=[("main", feed)],
        )
    )

    articles, feeds = _loaded(store)
    assert articles == {
        "a": ("digest-a", str(first.result), ITEMS, SIGNATURE),
        "b": ("digest-b", str(second.result), ITEMS, SIGNATURE),
    }
    assert feeds == {"main": feed}


def test_a_later_build_records_only_what_it_changed(tmp_path: Path) -> None:
    store = _store(tmp_path)
    pickled, (first, second) = _batch("a", "b")
    store.save(Changes(batches=[pickled], parsed=[("a", first, 0, 0), ("b", second, 0, 1)]))
    again, (edited,) = _batch("a", why="edited")
    moved = CachedArticle(
        second.digest, second.result, ItemRef("fedcba987654-2.pack", 0, (1, 2, 3))
    )
    feed = CachedFeed("d", {"rss.xml": (1, 2)})
    store.save(Changes(feeds=[("gone", feed), ("kept", feed)]))

    store.save(
        Changes(
            batches=[again],
            parsed=[("a", edited, 0, 0)],
            kept=[("b", moved)],
            gone_feeds=["gone"],
        )
    )

    articles, feeds = _loaded(store)
    assert articles == {
        "a": ("digest-a", str(edited.result), ITEMS, SIGNATURE),
        "b": ("digest-b", str(second.result), moved.items, None),
    }
    assert set(feeds) == {"kept"}


def test_parses_no_article_points_to_are_not_kept(tmp_path: Path) -> None:
    # The same article parsed again build after build: the database stays the same size.
    store = _store(tmp_path)
    pickled, (cached,) = _batch("a", why="x" * 100_000)
    store.save(Changes(batches=[pickled], parsed=[("a", cached, 0, 0)]))
    size = store.path.stat().st_size

    for _ in range(20):
        store.save(Changes(batches=[pickled], parsed=[("a", cached, 0, 0)]))

    assert store.path.stat().st_size <= size * 1.2
    store.save(Changes(gone=["a"]))
    assert _loaded(store) == ({}, {})


def test_a_save_that_fails_records_nothing(tmp_path: Path) -> None:
    store = _store(tmp_path)
    pickled, (first,) = _batch("a")
    store.save(Changes(batches=[pickled], parsed=[("a", first, 0, 0)]))
    before = _loaded(store)
    again, (edited,) = _batch("a", why="edited")

    with pytest.raises(IndexError):  # the second article's batch is not given
        store.save(Changes(batches=[again], parsed=[("a", edited, 0, 0), ("b", edited, 1, 0)]))

    assert _loaded(store) == before


def test_an_index_for_another_stamp_is_not_loaded(tmp_path: Path) -> None:
    assert _store(tmp_path).load("another stamp") is None


@pytest.mark.parametrize("damage", ["cut inside a page", "garbage", "missing"])
def test_an_index_that_cannot_be_trusted_is_not_loaded(tmp_path: Path, damage: str) -> None:
    store = _store(tmp_path)
    pickled, (first,) = _batch("a")
    store.save(Changes(batches=[pickled], parsed=[("a", first, 0, 0)]))
    if damage == "cut inside a page":  # sqlite would read the page padded with zeros
        os.truncate(store.path, store.path.stat().st_size - 10)
    elif damage == "garbage":
        store.path.write_bytes(b"not a database" * 1000)
    else:
        store.path.unlink()

    assert store.load("stamp") is None


def test_an_index_that_cannot_be_written_is_a_storage_error(tmp_path: Path) -> None:
    store = _store(tmp_path)
    store.path.unlink()  # a save never makes a new, empty database

    with pytest.raises(StorageError, match=str(tmp_path)):
        store.save(Changes(gone=["a"]))


def test_a_folder_that_cannot_hold_the_index_is_a_storage_error(tmp_path: Path) -> None:
    (tmp_path / "file").write_text("a file where the folder should be")
    store = BuildStore(tmp_path / "file" / "index.sqlite", StorageError)

    with pytest.raises(StorageError):
        store.create("stamp")
