"""Item files: items written once by any process of a build, read back by any other."""

from __future__ import annotations

import multiprocessing
from pathlib import Path

import pytest

from newswire.errors import StorageError
from newswire.itemfiles import ItemFiles, ItemRef


def _files(folder: Path) -> ItemFiles:
    return ItemFiles(folder, lambda e: StorageError(f"{folder}: {e.strerror}"))


def _append_in_child(files: ItemFiles, items: list[bytes], refs: list[ItemRef]) -> None:
    refs.append(files.append(items))
    files.flush()


def test_items_are_read_back_exactly_in_any_order(tmp_path: Path) -> None:
    files = _files(tmp_path)
    first = files.append([b"<item>1</item>\n", b"", b'{"id": 1}'])
    second = files.append([b"<item>2</item>\n", b"<entry/>\n", b"{}"])

    assert files.read(second) == [b"<item>2</item>\n", b"<entry/>\n", b"{}"]
    assert files.read(first) == [b"<item>1</item>\n", b"", b'{"id": 1}']
    assert first.end == second.offset


def test_entries_are_read_by_format_in_the_order_asked(tmp_path: Path) -> None:
    files = _files(tmp_path)
    first = files.append([b"r1", b"", b"j1"])
    files.close()
    later = _files(tmp_path)  # a later build's file: entries come from several files
    second = later.append([b"r2", b"a2", b"j2"])
    later.close()

    other = _files(tmp_path)
    assert other.read_columns([second, first, second], 3) == [
        [b"r2", b"r1", b"r2"],
        [b"a2", b"", b"a2"],
        [b"j2", b"j1", b"j2"],
    ]
    assert other.read_columns([], 3) == [[], [], []]


def test_reading_and_appending_can_alternate(tmp_path: Path) -> None:
    files = _files(tmp_path)
    first = files.append([b"a"])
    assert files.read(first) == [b"a"]

    second = files.append([b"b", b"c"])  # still buffered when read: read flushes it

    assert files.read(second) == [b"b", b"c"]


def test_a_process_that_reads_before_it_writes_can_still_write(tmp_path: Path) -> None:
    (tmp_path / "other-1.pack").write_bytes(b"from process 1")  # as another worker left it
    files = _files(tmp_path)

    assert files.read(ItemRef("other-1.pack", 5, (7, 2))) == [b"process", b" 1"]
    assert files.read(files.append([b"x"])) == [b"x"]


def test_items_written_before_closing_are_kept_and_appended_to(tmp_path: Path) -> None:
    files = _files(tmp_path)
    first = files.append([b"kept"])
    files.close()

    second = files.append([b"more"])

    assert second.file == first.file and second.offset == first.end
    assert _files(tmp_path).read(first) == [b"kept"]


@pytest.mark.parametrize("damage", ["truncate", "delete"])
def test_a_file_damaged_under_a_build_is_a_storage_error(tmp_path: Path, damage: str) -> None:
    files = _files(tmp_path)
    ref = files.append([b"an item"])
    files.close()
    if damage == "delete":
        (tmp_path / ref.file).unlink()
    else:
        (tmp_path / ref.file).write_bytes(b"an")

    with pytest.raises(StorageError, match=str(tmp_path)):
        files.read(ref)


def test_a_forked_worker_writes_its_own_file_the_parent_reads(tmp_path: Path) -> None:
    files = _files(tmp_path)
    parent_ref = files.append([b"parent"])  # open before the fork: the child must not share it
    context = multiprocessing.get_context("fork")
    with context.Manager() as manager:
        refs = manager.list()
        child = context.Process(target=_append_in_child, args=(files, [b"child"], refs))
        child.start()
        child.join()
        (child_ref,) = list(refs)

    assert child_ref.file != parent_ref.file
    assert files.read(child_ref) == [b"child"]
    assert files.read(parent_ref) == [b"parent"]
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(
        ref.file for ref in (parent_ref, child_ref)
    )
