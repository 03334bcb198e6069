"""The work of a build, done in this process or in forked worker processes.

A :class:`BuildWorker` parses chunks of article files and renders each valid article's entry
at once, each format's item into the build's :class:`~newswire.itemfiles.ItemFiles`, then
assembles feeds from those items, handing each file to a *sink* (e.g. writing it to the
output folder). Bodies, entries and items never travel between processes: the parent holds
articles without their bodies and :class:`~newswire.itemfiles.ItemRef` locations.
:func:`fork_workers` runs workers in ``fork``-ed processes of a
:class:`~concurrent.futures.ProcessPoolExecutor`, :class:`Requests` sends them work, and
:class:`FeedRendering` deals feed jobs out so that the workers finish together.

Output does not depend on which worker did what: every piece of work is pure, and the parent
reassembles results in key and path order.
"""

from __future__ import annotations

import gc
import multiprocessing
import pickle
import signal
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import FIRST_COMPLETED, Future, ProcessPoolExecutor, as_completed, wait
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from pathlib import Path
from typing import Generic, NamedTuple, TypeVar

from newswire.buildcache import file_digest, without_body
from newswire.buildstore import Parsed, Signature
from newswire.content.articles import read_article_file
from newswire.domain.directory import LISTED_KINDS
from newswire.domain.feeds import Feed, FeedFormat, FeedKey
from newswire.domain.model import Article, SiteConfig
from newswire.errors import InvalidArticleError, StorageError
from newswire.itemfiles import ItemFiles, ItemRef
from newswire.pipeline.ports import feed_digest
from newswire.pipeline.prepare import prepare_article
from newswire.rendering.registry import render_items


class Written(StrEnum):
    """What a sink did with a feed file."""

    WRITTEN = "written"  # its bytes changed
    UNCHANGED = "unchanged"  # already there, byte for byte
    REFUSED = "refused"  # a file the build did not write is in the way: left as it is


#: Writes one feed file; says what it did.
FeedSink = Callable[[str, bytes], Written]


class ParseJob(NamedTuple):
    """One file to parse."""

    key: str
    #: Its bytes; ``None``: read by the worker, the key being its path.
    data: bytes | None
    #: Its digest if the parent hashed it, ``""`` otherwise.
    digest: str
    #: The ``stat`` signature the cache may record with it (``None``: not to be recorded).
    signature: Signature | None


class FeedJob(NamedTuple):
    """A feed to assemble: its head (no entries), and the ``updated`` time of each entry it
    shows and where its items lie, newest first."""

    feed: Feed
    updated: tuple[datetime, ...]
    items: tuple[ItemRef, ...]


_FORMATS = tuple(FeedFormat)

T = TypeVar("T")
R = TypeVar("R")


def spool_error(folder: Path, error: OSError) -> StorageError:
    """The error a writer can act on when rendered items cannot be stored (a full disk)."""
    return StorageError(
        f"{folder}: cannot store rendered items ({error.strerror}); a build needs about 22 KB "
        "per article in the temporary folder: set TMPDIR to one with room"
    )


@dataclass(frozen=True, slots=True)
class RenderedFile:
    """A feed file rendered by a worker: its body, unless a sink already took it, and the
    digest of a listed feed's RSS document (``""`` for any other file), which the directory
    names (the body may be gone)."""

    path: str
    content_type: str
    body: bytes | None
    written: Written
    digest: str = ""


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
        for job in chunk:
            key, signature = job.key, job.signature
            data = read_article_file(key) if job.data is None else job.data
            if isinstance(data, InvalidArticleError):
                results.append(Parsed(key, data, None, "", None))  # no digest: never cached
                continue
            digest = job.digest or (file_digest(data) if self.digests else "")
            try:
                article, entry = prepare_article(key, data, self.site)  # as the pipeline's
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
            key = job.feed.key
            listed = key.path(FeedFormat.RSS) if key.kind in LISTED_KINDS else None
            for file in render_feed_files(job.feed, max_bytes, items, job.updated):
                digest = feed_digest(file.body) if file.path == listed else ""
                if self.sink is None:
                    written, body = Written.WRITTEN, file.body
                else:
                    written, body = self.sink(file.path, file.body), None
                files.append(RenderedFile(file.path, file.content_type, body, written, digest))
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


#: The worker of this process, once :func:`fork_workers` has started it.
_worker: BuildWorker | None = None


def _start_worker(worker: BuildWorker) -> None:
    """A forked worker's set-up: the parent's objects it inherits stay shared, Ctrl-C is left
    to the parent (which stops the pool), and its worker is the parent's, as it was at the fork.
    """
    global _worker  # noqa: PLW0603 - one per process: what the submitted functions call
    # Frozen, the inherited objects are never walked by this process's collector, so the pages
    # they share with the parent are never touched, and never copied.
    gc.freeze()
    collect_rarely()
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    _worker = worker


def _this_worker() -> BuildWorker:
    if _worker is None:
        raise RuntimeError("not a build worker process: see fork_workers")
    return _worker


def parse_in_worker(chunk: Sequence[ParseJob]) -> bytes:
    """:meth:`BuildWorker.parse`, run by a worker of :func:`fork_workers`."""
    return _this_worker().parse(chunk)


def render_in_worker(jobs: Sequence[FeedJob]) -> list[RenderedFile]:
    """:meth:`BuildWorker.render_feeds`, run by a worker of :func:`fork_workers`."""
    return _this_worker().render_feeds(jobs)


def can_fork() -> bool:
    """Whether this platform can fork workers: they inherit the build's worker as it is, with
    its open item files and sink, which could not be sent to a spawned process."""
    return "fork" in multiprocessing.get_all_start_methods()


def fork_workers(worker: BuildWorker, size: int) -> ProcessPoolExecutor:
    """``size`` processes forked from this one, each running ``worker``'s methods through
    :func:`parse_in_worker` and :func:`render_in_worker`."""
    return ProcessPoolExecutor(
        size,
        mp_context=multiprocessing.get_context("fork"),
        initializer=_start_worker,
        initargs=(worker,),
    )


class Requests(Generic[T, R]):
    """Calls of ``call`` sent to ``pool``, at most ``limit`` waiting or running at once, their
    results taken as they finish, in whatever order.

    The limit keeps each worker a request ahead without queueing the whole build, so that
    request sizes can still follow the work left (see ``_Build._chunk``). A worker that dies
    or raises makes every later step raise :class:`RuntimeError` (a :class:`StorageError`, the
    user's to fix, is raised as it is): the build stops, it never waits forever.
    """

    def __init__(self, pool: ProcessPoolExecutor, call: Callable[[T], R], limit: int) -> None:
        self._pool = pool
        self._call = call
        self._limit = limit
        self._running: set[Future[R]] = set()

    def send(self, argument: T) -> list[R]:
        """Send a request, first waiting for room; return the results finished by then."""
        finished = [f for f in self._running if f.done()]
        while len(self._running) - len(finished) >= self._limit:
            done, _ = wait(self._running, return_when=FIRST_COMPLETED)
            finished = list(done)
        self._running.difference_update(finished)
        try:
            self._running.add(self._pool.submit(self._call, argument))
        except BrokenProcessPool as e:
            raise _worker_died(e) from e
        return [_result(f) for f in finished]

    def results(self) -> Iterator[R]:
        """Every result not yet returned, as the requests finish."""
        running, self._running = self._running, set()
        for future in as_completed(running):
            yield _result(future)


def _result(future: Future[R]) -> R:
    error = future.exception()
    if error is None:
        return future.result()
    if isinstance(error, StorageError):  # the user's to fix (a full disk): raised as it is
        raise error
    if isinstance(error, BrokenProcessPool):
        raise _worker_died(error) from error
    raise RuntimeError(f"a build worker failed: {type(error).__name__}: {error}") from error


def _worker_died(error: BrokenProcessPool) -> RuntimeError:
    return RuntimeError(f"a build worker died (killed, or out of memory?): {error}")


class FeedRendering:
    """Feed jobs handed to the workers in two rounds: :meth:`start` shares the first jobs out
    at once, to keep the workers busy while the parent plans the rest; :meth:`send` sends
    the rest, largest first (by bytes), in small batches that whichever worker is free takes,
    so the work is balanced as it goes; :meth:`finish` returns every file.

    Without workers, or with too little to share, everything is rendered here in
    :meth:`finish`.
    """

    def __init__(
        self,
        pool: ProcessPoolExecutor | None,
        workers: int,
        local: BuildWorker,
        feeds_per_batch: int,
    ) -> None:
        self.requests = None if pool is None else Requests(pool, render_in_worker, _UNLIMITED)
        self.workers = workers
        self.local = local
        self.feeds_per_batch = feeds_per_batch
        self.waiting: list[FeedJob] = []
        self.sent = False
        self.files: list[RenderedFile] = []

    def start(
        self,
        plan: list[tuple[FeedKey, list[Article]]],
        jobs_of: Callable[[list[tuple[FeedKey, list[Article]]]], list[FeedJob]],
    ) -> None:
        """Share the feeds of ``plan`` out among the workers, one request each, or keep
        their jobs (``jobs_of``) for :meth:`send`.

        All of them at once: planning the other feeds keeps the parent from sending more for
        a while, longer than a small first batch would keep a worker busy. Dealt out largest
        first in turn (by article count, articles being of a size), the shares come out nearly
        even, and :meth:`finish`'s small batches even out the rest. Each share is made into
        jobs and sent as soon as it is dealt, so the first worker starts before the last
        share's jobs are made.
        """
        if self.requests is None or len(plan) < 2 * self.workers:
            self.waiting = _largest_first(jobs_of(plan))
            return
        dealt = sorted(plan, key=lambda feed: (-len(feed[1]), feed[0]))
        for index in range(self.workers):
            self._send(jobs_of(dealt[index :: self.workers]))

    def send(self, jobs: list[FeedJob]) -> None:
        """Hand ``jobs`` and those :meth:`start` kept to the workers, without waiting for
        them; or keep them all for :meth:`finish` when there are too few to share."""
        todo = self.waiting + _largest_first(jobs)
        if self.requests is None or (not self.sent and len(todo) < 2 * self.workers):
            self.waiting = todo
            return
        self.waiting = []
        for start in range(0, len(todo), self.feeds_per_batch):
            self._send(todo[start : start + self.feeds_per_batch])

    def finish(self) -> list[RenderedFile]:
        """Render the jobs kept here, wait for the workers'; return every file rendered."""
        if self.waiting:
            self.files.extend(self.local.render_feeds(self.waiting))
            self.waiting = []
        if self.requests is not None:
            for files in self.requests.results():
                self.files.extend(files)
        return self.files

    def _send(self, batch: list[FeedJob]) -> None:
        assert self.requests is not None
        if batch:
            self.sent = True
            for files in self.requests.send(batch):
                self.files.extend(files)


#: Feed requests are small and their results are files already written (or their bodies,
#: which the report holds anyway): every one is queued at once.
_UNLIMITED = 1 << 30


def _largest_first(jobs: list[FeedJob]) -> list[FeedJob]:
    return sorted(jobs, key=lambda j: (-sum(sum(lengths) for _, _, lengths in j.items), j.feed.key))
