"""The work of a build, done in this process or in forked worker processes.

A :class:`BuildWorker` parses chunks of article files (keeping the bodies of the articles it
parsed, so the parent only ever holds metadata), renders the entries it is asked for, and
renders feeds, handing each file to a *sink* (e.g. writing it to the output folder) so no
feed body needs to travel back. :class:`WorkerPool` runs workers in ``fork``-ed processes, each
talking to the parent over its own pipe, one request at a time.

Output does not depend on which worker did what: every piece of work is pure, and the parent
reassembles results in key and path order.
"""

from __future__ import annotations

import contextlib
import multiprocessing
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from multiprocessing.connection import Connection, wait
from typing import Any

from newswire.buildcache import RejectionArgs, entry_digest, without_body
from newswire.content.articles import parse_article
from newswire.domain.feeds import Feed
from newswire.domain.model import Article, Entry, SiteConfig
from newswire.errors import InvalidArticleError
from newswire.rendering.entry import render_entry

#: Writes one feed file; says whether it was written (its bytes changed).
FeedSink = Callable[[str, bytes], bool]
#: A parse result as it travels between processes (exceptions do not pickle).
ParseResult = Article | RejectionArgs


@dataclass(frozen=True, slots=True)
class RenderedFile:
    """A feed file rendered by a worker: its body, unless a sink already took it."""

    path: str
    content_type: str
    body: bytes | None
    written: bool


def to_result(result: ParseResult | InvalidArticleError) -> Article | InvalidArticleError:
    """A travelling parse result back to what ``parse_article`` gave."""
    if isinstance(result, Article | InvalidArticleError):
        return result
    return InvalidArticleError(*result)


class BuildWorker:
    """Parses, renders entries and renders feeds; see the module docstring.

    Args:
        site: the site configuration.
        sink: where rendered feed files go; ``None`` returns their bodies instead.
        digests: whether to compute entry digests (for the build cache).
    """

    def __init__(self, site: SiteConfig, sink: FeedSink | None, digests: bool) -> None:
        self.site = site
        self.sink = sink
        self.digests = digests
        self.bodies: dict[str, Article] = {}

    def parse(self, chunk: Sequence[tuple[str, bytes]]) -> list[tuple[str, ParseResult]]:
        """Parse files; keep each valid article whole, return it without its body."""
        results: list[tuple[str, ParseResult]] = []
        for key, data in chunk:
            try:
                article = parse_article(key, data, self.site)
            except InvalidArticleError as e:
                results.append((key, (e.key, e.field, e.problem, e.expected)))
                continue
            self.bodies[key] = article
            results.append((key, without_body(article)))
        return results

    def render(self, requests: Sequence[tuple[str, bytes | None]]) -> list[tuple[str, Entry, str]]:
        """Render entries: of articles parsed here (``None``), or of the bytes given."""
        rendered = []
        for key, data in requests:
            article = self.bodies.pop(key, None) if data is None else None
            if article is None:
                if data is None:
                    raise LookupError(f"{key}: not parsed by this worker and no bytes given")
                article = parse_article(key, data, self.site)
            entry = render_entry(article, self.site)
            rendered.append((key, entry, entry_digest(entry) if self.digests else ""))
        self.bodies.clear()  # the feeds are planned: no other body will be needed
        return rendered

    def render_feeds(self, feeds: Sequence[Feed]) -> list[RenderedFile]:
        """Render every format of each feed; hand files to the sink if there is one."""
        from newswire.rendering.files import render_feed_files

        files = []
        for feed in feeds:
            for file in render_feed_files(feed, self.site.max_feed_bytes):
                if self.sink is None:
                    files.append(RenderedFile(file.path, file.content_type, file.body, True))
                else:
                    written = self.sink(file.path, file.body)
                    files.append(RenderedFile(file.path, file.content_type, None, written))
        return files


def _serve(worker: BuildWorker, conn: Connection) -> None:
    """A worker process's loop: one ``(method, argument)`` request, one reply, until ``None``."""
    while True:
        request = conn.recv()
        if request is None:
            conn.close()
            return
        method, argument = request
        try:
            reply: Any = ("ok", getattr(worker, method)(argument))
        except BaseException as e:  # reported to the parent, which raises it
            reply = ("error", f"{type(e).__name__}: {e}")
        conn.send(reply)


class WorkerPool:
    """``size`` forked :class:`BuildWorker` processes, each with at most one request running."""

    def __init__(self, worker: BuildWorker, size: int) -> None:
        context = multiprocessing.get_context("fork")
        self._conns: list[Connection] = []
        self._processes = []
        for _ in range(size):
            parent, child = context.Pipe()
            process = context.Process(target=_serve, args=(worker, child), daemon=True)
            process.start()
            child.close()
            self._conns.append(parent)
            self._processes.append(process)
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

    def send_to(self, index: int, method: str, argument: Any) -> None:
        """Send a request to worker ``index``, which must be idle."""
        assert not self._busy[index]
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
