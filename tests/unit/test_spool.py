"""The build's spool: items written once by any process, read back by any other."""

from __future__ import annotations

import multiprocessing
from pathlib import Path

from newswire.buildworkers import ItemRef, Spool


def _append_in_child(spool: Spool, items: list[bytes], refs: list[ItemRef]) -> None:
    refs.append(spool.append(items))
    spool.flush()


def test_items_are_read_back_exactly_in_any_order(tmp_path: Path) -> None:
    spool = Spool(tmp_path)
    first = spool.append([b"<item>1</item>\n", b"", b'{"id": 1}'])
    second = spool.append([b"<item>2</item>\n", b"<entry/>\n", b"{}"])

    assert spool.read(second) == [b"<item>2</item>\n", b"<entry/>\n", b"{}"]
    assert spool.read(first) == [b"<item>1</item>\n", b"", b'{"id": 1}']


def test_reading_and_appending_can_alternate(tmp_path: Path) -> None:
    spool = Spool(tmp_path)
    first = spool.append([b"a"])
    assert spool.read(first) == [b"a"]

    second = spool.append([b"b", b"c"])  # still buffered when read: read flushes it

    assert spool.read(second) == [b"b", b"c"]


def test_a_process_that_reads_before_it_writes_can_still_write(tmp_path: Path) -> None:
    (tmp_path / "1.items").write_bytes(b"from process 1")  # as another worker left it
    spool = Spool(tmp_path)

    assert spool.read(ItemRef(1, 5, (7, 2))) == [b"process", b" 1"]
    assert spool.read(spool.append([b"x"])) == [b"x"]


def test_a_forked_worker_writes_its_own_file_the_parent_reads(tmp_path: Path) -> None:
    spool = Spool(tmp_path)
    parent_ref = spool.append([b"parent"])  # open before the fork: the child must not share it
    context = multiprocessing.get_context("fork")
    with context.Manager() as manager:
        refs = manager.list()
        child = context.Process(target=_append_in_child, args=(spool, [b"child"], refs))
        child.start()
        child.join()
        (child_ref,) = list(refs)

    assert child_ref.pid != parent_ref.pid
    assert spool.read(child_ref) == [b"child"]
    assert spool.read(parent_ref) == [b"parent"]
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(
        f"{ref.pid}.items" for ref in (parent_ref, child_ref)
    )
