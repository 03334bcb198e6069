"""The build's database: items written by any process of a build, read back by any other, and
the cache's rows, which go with the articles they belong to."""

from __future__ import annotations

import multiprocessing
import os
from pathlib import Path

import pytest

from newswire.buildstore import BuildStore, Parsed
from newswire.errors import InvalidArticleError, StorageError

ITEMS = [b"<item>1</item>\n", b"<entry>1</entry>\n", b'{"id": 1}']


def _store(folder: Path) -> BuildStore:
    store = BuildStore(folder / "build.sqlite", lambda reason: StorageError(f"{folder}: {reason}"))
    store.create("stamp")
    return store


def _parsed(key: str, digest: str = "") -> Parsed:
    rejection = InvalidArticleError(key, "title", "missing", "a title")  # any picklable result
    return Parsed(key, rejection, None, digest, None)


def _add_in_child(store: BuildStore, items: list[bytes], ids: list[int | None]) -> None:
    ids.append(store.add([_parsed("child")], [items])[0].items)


def test_items_are_read_back_by_format_in_the_order_asked(tmp_path: Path) -> None:
    store = _store(tmp_path)
    first, second = store.add(
        [_parsed("a"), _parsed("b")], [ITEMS, [b"<item>2</item>\n", b"", b"{}"]]
    )
    assert first.items is not None and second.items is not None

    with store.reader() as read:
        assert read([second.items, first.items]) == [
            [b"<item>2</item>\n", b"<item>1</item>\n"],
            [b"", b"<entry>1</entry>\n"],
            [b"{}", b'{"id": 1}'],
        ]
        assert read([]) == [[], [], []]


def test_a_rejection_has_no_items(tmp_path: Path) -> None:
    (stored,) = _store(tmp_path).add([_parsed("bad")], [None])

    assert stored.items is None


def test_a_forked_worker_writes_items_the_parent_reads(tmp_path: Path) -> None:
    store = _store(tmp_path)
    (parent,) = store.add([_parsed("parent")], [[b"p", b"", b"{}"]])
    context = multiprocessing.get_context("fork")
    with context.Manager() as manager:
        ids = manager.list()
        child = context.Process(target=_add_in_child, args=(store, [b"c", b"", b"{}"], ids))
        child.start()
        child.join()
        (child_id,) = list(ids)

    assert child.exitcode == 0
    assert store.items_of(child_id) == [b"c", b"", b"{}"]
    assert parent.items is not None and store.items_of(parent.items) == [b"p", b"", b"{}"]


def test_an_article_parsed_again_takes_the_place_of_its_old_items(tmp_path: Path) -> None:
    store = _store(tmp_path)
    (old,) = store.add([_parsed("a", digest="1")], [ITEMS])
    (new,) = store.add([_parsed("a", digest="2")], [[b"2", b"2", b"2"]])
    assert old.items is not None and new.items is not None

    with pytest.raises(StorageError, match="items missing"):
        store.items_of(old.items)
    assert store.items_of(new.items) == [b"2", b"2", b"2"]
    loaded = store.load("stamp")
    assert loaded is not None and loaded[0]["a"].digest == "2"


def test_an_article_gone_takes_its_items_with_it(tmp_path: Path) -> None:
    store = _store(tmp_path)
    (kept, gone) = store.add([_parsed("kept", "1"), _parsed("gone", "2")], [ITEMS, ITEMS])

    store.save(gone=["gone"], signatures=[], gone_feeds=[], feeds=[])

    assert gone.items is not None and kept.items is not None
    with pytest.raises(StorageError, match="items missing"):
        store.items_of(gone.items)
    assert store.items_of(kept.items) == ITEMS
    loaded = store.load("stamp")
    assert loaded is not None and set(loaded[0]) == {"kept"}


def test_only_files_with_a_digest_are_recorded(tmp_path: Path) -> None:
    # A build without cache hashes nothing; a file that could not be read has no digest.
    store = _store(tmp_path)
    store.add([_parsed("cached", "1"), _parsed("not-cached")], [ITEMS, ITEMS])

    loaded = store.load("stamp")

    assert loaded is not None and set(loaded[0]) == {"cached"}


def test_a_database_for_another_stamp_is_not_loaded(tmp_path: Path) -> None:
    store = _store(tmp_path)
    store.add([_parsed("a", "1")], [ITEMS])

    assert store.load("another stamp") is None


def test_a_database_cut_short_under_a_build_is_a_storage_error_and_removed(
    tmp_path: Path,
) -> None:
    # Removed, so that the next build makes it again instead of failing the same way.
    store = _store(tmp_path)
    (stored,) = store.add([_parsed("a", "1")], [[item * 2000 for item in ITEMS]])
    assert stored.items is not None
    os.truncate(store.path, store.path.stat().st_size // 2)

    with pytest.raises(StorageError, match=str(tmp_path)):
        store.items_of(stored.items)
    assert not store.path.exists()


def test_a_folder_that_cannot_hold_the_database_is_a_storage_error(tmp_path: Path) -> None:
    (tmp_path / "file").write_text("a file where the folder should be")
    store = BuildStore(tmp_path / "file" / "build.sqlite", StorageError)

    with pytest.raises(StorageError):
        store.create("stamp")
