"""Rendered items on disk: append-only files that every process of a build shares.

A build renders each entry once per format (its *items*) and assembles feeds from them in
whichever process is free. Items never travel between processes: each process appends to its
own file in one folder, and any process reads any file by an :class:`ItemRef`. The build
cache keeps its folder of these files (items of unchanged articles are read from there by
the next build, never rendered again); without a cache, a temporary folder holds them.
Files of our own, not BLOBs in the cache's sqlite index: see benchmarks/RESULTS.md,
"Measured choices".
"""

from __future__ import annotations

import os
import re
import uuid
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any, NamedTuple

from newswire.errors import StorageError

#: The name every item file ends with.
SUFFIX = ".pack"
#: An item file's whole name: its writer's token, the writing process, :data:`SUFFIX`.
_FILE_NAME = re.compile(r"[0-9a-f]{12}-[0-9]+" + re.escape(SUFFIX))


def is_item_file(name: str) -> bool:
    """Whether ``name`` is one :class:`ItemFiles` gives its files: only those may be removed
    from a folder that may hold others (``--cache`` names any folder)."""
    return _FILE_NAME.fullmatch(name) is not None


class ItemRef(NamedTuple):
    """Where an entry's items lie: file name, offset, one length per format."""

    file: str
    offset: int
    lengths: tuple[int, ...]

    @property
    def end(self) -> int:
        """The offset just past the last item."""
        return self.offset + sum(self.lengths)


class ItemFiles:
    """The item files of one folder; see the module docstring.

    A file is named after the :class:`ItemFiles` that wrote it (one per build) and the
    writing process, so forked workers never share a file, and files of a build that crashed
    are simply never referenced.

    Args:
        folder: where the files are (created on the first write).
        on_error: the error a writer can act on, for an ``OSError`` (a full disk).
    """

    def __init__(self, folder: Path, on_error: Callable[[OSError], StorageError]) -> None:
        self.folder = folder
        self.on_error = on_error
        self._build = uuid.uuid4().hex[:12]
        self._pid = -1
        self._name = ""
        self._writer: Any = None
        self._size = 0
        self._readers: dict[str, int] = {}

    def append(self, items: Sequence[bytes]) -> ItemRef:
        """Store one entry's items (one per format); say where they lie."""
        self._own()
        try:
            if self._writer is None:  # this process's first item
                self._name = f"{self._build}-{self._pid}{SUFFIX}"
                self.folder.mkdir(parents=True, exist_ok=True)
                self._writer = (self.folder / self._name).open("ab", buffering=1 << 20)
                self._size = self._writer.tell()
            offset = self._size
            for item in items:
                self._writer.write(item)
                self._size += len(item)
        except OSError as e:
            raise self.on_error(e) from e
        return ItemRef(self._name, offset, tuple(len(item) for item in items))

    def flush(self) -> None:
        """Make every item this process appended readable by the others."""
        if self._writer is not None and self._pid == os.getpid():
            try:
                self._writer.flush()
            except OSError as e:
                raise self.on_error(e) from e

    def read(self, ref: ItemRef) -> list[bytes]:
        """The items of one entry, one per format.

        Raises:
            StorageError: the file is gone or cut short (deleted during the build).
        """
        return [column[0] for column in self.read_columns([ref], len(ref.lengths))]

    def read_columns(self, refs: Sequence[ItemRef], formats: int) -> list[list[bytes]]:
        """The items of several entries, by format: ``[format][entry]``, in ``refs``' order.

        What assembling a feed needs, read in one call: a build reads the items of every
        entry every feed shows, and per-entry calls cost more than the reads.

        Raises:
            StorageError: a file is gone or cut short (deleted during the build).
        """
        self._own()
        if any(ref.file == self._name for ref in refs):
            self.flush()  # this process's own items may still be in its buffer
        columns: list[list[bytes]] = [[] for _ in range(formats)]
        readers = self._readers
        for file, offset, lengths in refs:
            length = sum(lengths)
            try:
                fd = readers.get(file)
                if fd is None:
                    fd = readers[file] = os.open(self.folder / file, os.O_RDONLY)
                data = os.pread(fd, length, offset)
            except OSError as e:
                raise self.on_error(e) from e
            if len(data) != length:
                raise StorageError(f"{self.folder / file}: cut short during the build")
            start = 0
            for column, size in zip(columns, lengths, strict=True):
                column.append(data[start : start + size])
                start += size
        return columns

    def _own(self) -> None:
        """Forget the files a forked copy inherited: each process has its own."""
        if self._pid != os.getpid():
            self._pid, self._name, self._writer, self._readers = os.getpid(), "", None, {}

    def close(self) -> None:
        """Close this process's files (the folder and its files stay)."""
        if self._pid == os.getpid():
            if self._writer is not None:
                self._writer.close()
            for fd in self._readers.values():
                os.close(fd)
        self._pid, self._name, self._writer, self._readers = -1, "", None, {}
