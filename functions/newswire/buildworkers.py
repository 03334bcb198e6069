"""The work of a build, done in this process or in forked worker processes.

A :class:`BuildWorker` parses chunks of article files and renders each valid article's entry
at once, each format's item into the build's :class:`~newswire.itemfiles.ItemFiles`, then
assembles feeds from those items, handing each file to a *sink* (e.g. writing it to the
output folder). Bodies, entries and items never travel between processes: the parent holds
articles without their bodies and :class:`~newswire.itemfiles.ItemRef` locations.
:class:`WorkerPool` runs workers in ``fork``-ed processes, each talking to the parent over its
own pipe, one request at a time.

Output does not depend on which worker did what: every piece of work is pure, and the parent
reassembles results in key and path order.
"""

from __future__ import annotations

import contextlib
import gc
import multiprocessing
import pickle
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from multiprocessing.connection import Connection, wait
from pathlib import Path
from typing import Any, NamedTuple

from newswire.buildcache import file_digest, without_body
from newswire.buildstore import Parsed
from newswire.content.articles import parse_article, read_article_file
from newswire.domain.feeds import Feed, FeedFormat
from newswire.domain.model import SiteConfig
from newswire.errors import InvalidArticleError, StorageError
from newswire.itemfiles import ItemFiles, ItemPlace
from newswire.pipeline.ports import check_entry_size
from newswire.rendering.entry import render_entry
from newswire.rendering.registry import render_items


class Written(StrEnum):
    """What a sink did with a feed file."""

    WRITTEN = "written"  # its bytes changed
    UNCHANGED = "unchanged"  # already there, byte for byte
    REFUSED = "refused"  # a file the build did not write is in the way: left as it is


#: Writes one feed file; says what it did.
FeedSink = Callable[[str, bytes], Written]


#: One file to parse: its key, its bytes (``None``: read by the worker, its key being its
#: path), its digest if the parent hashed it (``""`` otherwise) and the ``stat`` signature the
#: cache may record with it (see :data:`~newswire.buildstore.Parsed`).
ParseJob = tuple[str, bytes | None, str, tuple[int, ...] | None]


class FeedJob(NamedTuple):
    """A feed to assemble: its head (no entries), and the ``updated`` time of each entry it
    shows and where its items lie, newest first."""

    feed: Feed
    updated: tuple[datetime, ...]
    items: tuple[ItemPlace, ...]


_FORMATS = tuple(FeedFormat)


def spool_error(folder: Path, error: OSError) -> StorageError:
    """The error a writer can act on when rendered items cannot be stored (a full disk)."""
    return StorageError(
        f"{folder}: cannot store rendered items ({error.strerror}); a build needs about 22 KB "
        "per article in the temporary folder: set TMPDIR to one with room"
    )


@dataclass(frozen=True, slots=True)
class RenderedFile:
    """A feed file rendered by a worker: its body, unless a sink already took it."""

    path: str
    content_type: str
    body: bytes | None
    written: Written


class BuildWorker:
    """Parses, renders entries and assembles feeds; see the module docstring.

    Args:
        site: the site configuration.
        sink: where rendered feed files go; ``None`` returns their bodies instead.
        items: where rendered items go, shared by every process of the build (the build
            cache's packs, when one is kept).
        digests: whether to hash files, for the build cache.
    """

    def __init__(
        self, site: SiteConfig, sink: FeedSink | None, items: ItemFiles, *, digests: bool
    ) -> None:
        self.site = site
        self.sink = sink
        self.items = items
        self.digests = digests

    def parse(self, chunk: Sequence[ParseJob]) -> bytes:
        """Parse files and render each valid article's entry into items; return the
        :data:`~newswire.buildstore.Parsed` results, pickled.

        A file given without its bytes is read here (its key is its path): reading, like
        parsing, is spread over the workers. Every article is rendered as soon as it is
        parsed, whether a feed will show it or not: the monthly archives show every published
        article, and a body that is never held costs no memory. Drafts and duplicate ids are
        the rare waste.

        The results are pickled here, as sending them would anyway, and the parent keeps the
        bytes: they are what a cold build's cache index holds, written as they are instead of
        pickling every article again at the end of the build, when the parent works alone.
        """
        results: list[Parsed] = []
        for key, given, known_digest, signature in chunk:
            data = read_article_file(key) if given is None else given
            if isinstance(data, InvalidArticleError):
                results.append(Parsed(key, data, None, "", None))  # no digest: never cached
                continue
            digest = known_digest or (file_digest(data) if self.digests else "")
            try:
                article = parse_article(key, data, self.site)
                entry = render_entry(article)
                check_entry_size(key, entry)  # as the pipeline: never publish what it rejects
                items = render_items(entry)
            except InvalidArticleError as e:
                results.append(Parsed(key, e, None, digest, signature))
                continue
            except Exception as e:  # a bug of ours, set off by this file alone: see unrenderable
                results.append(Parsed(key, unrenderable(key, e), None, digest, signature))
                continue
            ref = self.items.append(items)
            results.append(Parsed(key, without_body(article), ref, digest, signature))
        self.items.flush()
        return pickle.dumps(results, protocol=pickle.HIGHEST_PROTOCOL)

    def render_feeds(self, jobs: Sequence[FeedJob]) -> list[RenderedFile]:
        """Assemble every format of each feed from stored items; hand files to the sink if
        there is one."""
        from newswire.rendering.files import render_feed_files

        files = []
        for job in jobs:
            columns = self.items.read_columns(job.items, len(_FORMATS))
            items = dict(zip(_FORMATS, columns, strict=True))
            max_bytes = self.site.max_feed_bytes
            for file in render_feed_files(job.feed, max_bytes, items, job.updated):
                if self.sink is None:
                    files.append(
                        RenderedFile(file.path, file.content_type, file.body, Written.WRITTEN)
                    )
                else:
                    written = self.sink(file.path, file.body)
                    files.append(RenderedFile(file.path, file.content_type, None, written))
        return files


def unrenderable(key: str, error: Exception) -> InvalidArticleError:
    """The rejection of a file that parsing or rendering failed on unexpectedly.

    Parsing and rendering are pure, so the same bytes would fail every time: the file is
    reported like any bad article, and the others are still published, instead of one file
    stopping the whole build with a traceback.
    """
    return InvalidArticleError(
        key,
        "file",
        f"cannot be rendered ({type(error).__name__}: {error})",
        "an article newswire can render; this is a bug in newswire, please report it",
    )


def collect_rarely() -> None:
    """Run the garbage collector a hundred times less often, in this process.

    A build makes no garbage cycles worth chasing: each article makes hundreds of short-lived
    objects, and what lives (articles' metadata, the cache index) lives to the end. At the
    default thresholds the collector walks those again and again (measured:
    benchmarks/RESULTS.md, "Measured choices").
    """
    gc.set_threshold(70_000, 10, 10)


def _serve(worker: BuildWorker, conn: Connection) -> None:
    """A worker process's loop: one ``(method, argument)`` request, one reply, until ``None``."""
    collect_rarely()
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

    def submit(self, method: str, argument: Any) -> list[tuple[int, Any]]:
        """Send a request to an idle worker, first receiving replies until one is idle.

        Returns:
            The replies received, as ``(worker index, result)``: handled by the caller once
            the worker that sent one is busy again, not while it waits.
        """
        replies: list[tuple[int, Any]] = []
        while all(self._busy.values()):
            replies.extend(self._receive_any())
        index = next(i for i, busy in self._busy.items() if not busy)
        self._conns[index].send((method, argument))
        self._busy[index] = True
        return replies

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
