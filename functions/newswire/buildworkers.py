"""The work of a build, done in this process or in forked worker processes.

A :class:`BuildWorker` parses chunks of article files and renders each valid article's entry
at once, each format into its :class:`Spool` file, then assembles feeds from spooled items,
handing each file to a *sink* (e.g. writing it to the output folder). Bodies and items never
travel between processes: the parent holds metadata, lightweight entries (no content or
summary) and :class:`ItemRef` locations. :class:`WorkerPool` runs workers in
``fork``-ed processes, each talking to the parent over its own pipe, one request at a time.

Output does not depend on which worker did what: every piece of work is pure, and the parent
reassembles results in key and path order.
"""

from __future__ import annotations

import contextlib
import dataclasses
import gc
import hashlib
import multiprocessing
import os
import pickle
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from multiprocessing.connection import Connection, wait
from pathlib import Path
from typing import Any, NamedTuple

from newswire.buildcache import EntryPacks, EntryRef, file_digest, without_body
from newswire.content.articles import parse_article
from newswire.domain.feeds import Feed, FeedFormat
from newswire.domain.model import Article, Entry, SiteConfig
from newswire.errors import InvalidArticleError, StorageError
from newswire.rendering.entry import render_entry
from newswire.rendering.registry import render_item

#: Writes one feed file; says whether it was written (its bytes changed).
FeedSink = Callable[[str, bytes], bool]


class ItemRef(NamedTuple):
    """Where an entry's items lie: the spool of process ``pid``, from ``offset``, one length
    per format (in :class:`FeedFormat` order)."""

    pid: int
    offset: int
    lengths: tuple[int, ...]


class RenderedEntry(NamedTuple):
    """An entry rendered by a worker, as it travels back to the parent.

    ``entry`` is lightweight (no ``content_html`` or summary: feeds and the news sitemap need
    only its metadata); ``stored`` is where the whole entry was packed for the build cache,
    when one is kept (with ``digest``, the SHA-256 of its pickle).
    """

    entry: Entry
    digest: str
    stored: EntryRef | None
    items: ItemRef


#: One parsed file: its key, the article without body (or the rejection), and its entry.
#: With a cache kept, the file's digest too: the parent's, or hashed here, in parallel, for a
#: file the cache had never seen; ``""`` otherwise.
Parsed = tuple[str, Article | InvalidArticleError, RenderedEntry | None, str]


class FeedJob(NamedTuple):
    """A feed to assemble: the feed (lightweight entries) and where its entries' items lie."""

    feed: Feed
    items: tuple[ItemRef, ...]


_FORMATS = tuple(FeedFormat)


class Spool:
    """The items rendered in one build, in one append-only file per process.

    Every process of the build appends to its own file (named after its pid) and reads any
    other's, so a feed can be assembled by whichever worker is free, from items any worker
    rendered, without items ever passing through the parent. The folder is the build's to
    remove.
    """

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self._pid = -1
        self._writer: Any = None
        self._size = 0
        self._readers: dict[int, int] = {}

    def append(self, items: Sequence[bytes]) -> ItemRef:
        """Store one entry's items (one per format); say where they lie."""
        try:
            self._own()
            if self._writer is None:  # this process's first item
                self._writer = (self.folder / f"{self._pid}.items").open("ab", buffering=1 << 20)
                self._size = self._writer.tell()
            offset = self._size
            for item in items:
                self._writer.write(item)
                self._size += len(item)
        except OSError as e:
            raise spool_error(self.folder, e) from e
        return ItemRef(self._pid, offset, tuple(len(item) for item in items))

    def flush(self) -> None:
        """Make every appended item readable by other processes."""
        if self._writer is not None and self._pid == os.getpid():
            try:
                self._writer.flush()
            except OSError as e:
                raise spool_error(self.folder, e) from e

    def read(self, ref: ItemRef) -> list[bytes]:
        """The items of one entry, one per format."""
        self._own()
        if ref.pid == self._pid:
            self.flush()  # this process's own items may still be in its buffer
        fd = self._readers.get(ref.pid)
        if fd is None:
            fd = self._readers[ref.pid] = os.open(self.folder / f"{ref.pid}.items", os.O_RDONLY)
        data = os.pread(fd, sum(ref.lengths), ref.offset)
        items, start = [], 0
        for length in ref.lengths:
            items.append(data[start : start + length])
            start += length
        return items

    def _own(self) -> None:
        """Forget the files a forked copy of this spool inherited: each process has its own."""
        if self._pid != os.getpid():
            self._pid, self._writer, self._readers = os.getpid(), None, {}

    def close(self) -> None:
        """Close this process's files (the folder stays)."""
        if self._pid == os.getpid():
            if self._writer is not None:
                self._writer.close()
            for fd in self._readers.values():
                os.close(fd)
        self._pid, self._writer, self._readers = -1, None, {}


def spool_error(folder: Path, error: OSError) -> StorageError:
    """The error a writer can act on when rendered items cannot be stored (a full disk)."""
    return StorageError(
        f"{folder}: cannot store rendered items ({error.strerror}); a build needs about 20 KB "
        "per article in the temporary folder: set TMPDIR to one with room"
    )


@dataclass(frozen=True, slots=True)
class RenderedFile:
    """A feed file rendered by a worker: its body, unless a sink already took it."""

    path: str
    content_type: str
    body: bytes | None
    written: bool


class BuildWorker:
    """Parses, renders entries and assembles feeds; see the module docstring.

    Args:
        site: the site configuration.
        sink: where rendered feed files go; ``None`` returns their bodies instead.
        spool: where rendered items go, shared by every process of the build.
        packs: the build cache's entry packs, if a cache is kept: every rendered entry is
            stored there, with a digest.
    """

    def __init__(
        self, site: SiteConfig, sink: FeedSink | None, spool: Spool, packs: EntryPacks | None
    ) -> None:
        self.site = site
        self.sink = sink
        self.spool = spool
        self.packs = packs

    def parse(self, chunk: Sequence[tuple[str, bytes, str]]) -> list[Parsed]:
        """Parse files and render each valid article's entry (its items into the spool).

        Every article is rendered as soon as it is parsed, whether a feed will show it or not:
        the monthly archives show every published article, and a body that is never held
        costs no memory. Drafts and duplicate ids are the rare waste.
        """
        results: list[Parsed] = []
        for key, data, known_digest in chunk:
            digest = known_digest or (file_digest(data) if self.packs is not None else "")
            try:
                article = parse_article(key, data, self.site)
            except InvalidArticleError as e:
                results.append((key, e, None, digest))
                continue
            results.append((key, without_body(article), self._render_one(article), digest))
        self.spool.flush()
        if self.packs is not None:
            self.packs.flush()
        return results

    def _render_one(self, article: Article) -> RenderedEntry:
        entry = render_entry(article, self.site)
        digest, stored = "", None
        if self.packs is not None:
            blob = pickle.dumps(entry, protocol=pickle.HIGHEST_PROTOCOL)
            digest, stored = hashlib.sha256(blob).hexdigest(), self.packs.append(blob)
        return RenderedEntry(lite(entry), digest, stored, self.spool_items(entry))

    def spool_items(self, entry: Entry) -> ItemRef:
        """Render ``entry`` once per format into the spool."""
        return self.spool.append([render_item(entry, fmt) for fmt in _FORMATS])

    def render_feeds(self, jobs: Sequence[FeedJob]) -> list[RenderedFile]:
        """Assemble every format of each feed from spooled items; hand files to the sink if
        there is one."""
        from newswire.rendering.files import render_feed_files

        files = []
        for job in jobs:
            stored = [self.spool.read(ref) for ref in job.items]
            items = {fmt: [entry[i] for entry in stored] for i, fmt in enumerate(_FORMATS)}
            for file in render_feed_files(job.feed, self.site.max_feed_bytes, items):
                if self.sink is None:
                    files.append(RenderedFile(file.path, file.content_type, file.body, True))
                else:
                    written = self.sink(file.path, file.body)
                    files.append(RenderedFile(file.path, file.content_type, None, written))
        return files


def lite(entry: Entry) -> Entry:
    """``entry`` without its content and summary: what feed heads and the sitemap read."""
    return dataclasses.replace(entry, content_html="", summary="")


def _serve(worker: BuildWorker, conn: Connection) -> None:
    """A worker process's loop: one ``(method, argument)`` request, one reply, until ``None``."""
    # Each article makes hundreds of short-lived objects and no garbage cycles worth chasing:
    # the collector runs a hundred times less often (measured: 5-10 % off a cold build).
    gc.set_threshold(70_000, 10, 10)
    while True:
        request = conn.recv()
        if request is None:
            conn.close()
            return
        method, argument = request
        try:
            reply: Any = ("ok", getattr(worker, method)(argument))
        except StorageError as e:  # the user's to fix (a full disk): raised as it is
            reply = ("storage", str(e))
        except BaseException as e:  # reported to the parent, which raises it
            reply = ("error", f"{type(e).__name__}: {e}")
        conn.send(reply)


class WorkerPool:
    """``size`` forked :class:`BuildWorker` processes, each with at most one request running."""

    def __init__(self, worker: BuildWorker, size: int) -> None:
        context = multiprocessing.get_context("fork")
        # The parent's objects as they are now are frozen while forking: the workers' collector
        # never walks them, so never touches (and copies) the pages they share with the parent.
        # The parent thaws its own at once: nothing of it stays uncollectable.
        gc.freeze()
        self._conns: list[Connection] = []
        self._processes = []
        for _ in range(size):
            parent, child = context.Pipe()
            process = context.Process(target=_serve, args=(worker, child), daemon=True)
            process.start()
            child.close()
            self._conns.append(parent)
            self._processes.append(process)
        gc.unfreeze()
        self._busy: dict[int, bool] = dict.fromkeys(range(size), False)

    @property
    def size(self) -> int:
        """How many worker processes there are."""
        return len(self._conns)

    def submit(self, method: str, argument: Any) -> Iterator[tuple[int, Any]]:
        """Send a request to an idle worker, first yielding replies that make one idle."""
        while all(self._busy.values()):
            yield from self._receive_any()
        index = next(i for i, busy in self._busy.items() if not busy)
        self._conns[index].send((method, argument))
        self._busy[index] = True

    def drain(self) -> Iterator[tuple[int, Any]]:
        """Yield every outstanding reply, as ``(worker index, result)``."""
        while any(self._busy.values()):
            yield from self._receive_any()

    def _receive_any(self) -> Iterator[tuple[int, Any]]:
        busy = [self._conns[i] for i, b in self._busy.items() if b]
        for conn in wait(busy):
            assert isinstance(conn, Connection)
            index = self._conns.index(conn)
            try:
                status, value = conn.recv()
            except EOFError as e:
                raise RuntimeError(f"build worker {index} died") from e
            self._busy[index] = False
            if status == "storage":
                raise StorageError(value)
            if status != "ok":
                raise RuntimeError(f"build worker {index} failed: {value}")
            yield index, value

    def close(self) -> None:
        """Stop every worker (after its current request) and wait for it."""
        for conn in self._conns:
            with contextlib.suppress(OSError):
                conn.send(None)
            conn.close()
        for process in self._processes:
            process.join(timeout=10)
            if process.is_alive():
                process.kill()
                process.join()
