"""A full build: every article of a site to every feed, in every format.

Used by ``newswire build``. The order of work is chosen so that a large
archive stays cheap: files are parsed and their entries rendered in one pass by the workers
(every published article is in some monthly archive), each entry once per format; feeds are
planned on article metadata alone and assembled from the rendered items, each once per
format, by whichever worker is free.
"""

from __future__ import annotations

import hashlib
import pickle
import shutil
import tempfile
import time
from collections.abc import Iterable, Sized
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

from newswire.buildcache import BuildCache, file_digest
from newswire.buildpartners import build_findings, partner_files
from newswire.buildstore import CachedArticle, Parsed
from newswire.buildworkers import (
    BuildWorker,
    FeedJob,
    FeedRendering,
    FeedSink,
    ParseJob,
    RenderedFile,
    Requests,
    Written,
    can_fork,
    fork_workers,
    parse_in_worker,
    spool_error,
)
from newswire.content.articles import ArticleFile, ArticleInput, claim_ids
from newswire.content.warnings import article_warnings
from newswire.domain.directory import LISTED_KINDS
from newswire.domain.feeds import (
    MAIN_FEED,
    FeedFormat,
    FeedKey,
    feed_head,
    history_of,
    plan_archives,
    plan_feeds,
    tombstones_of,
)
from newswire.domain.model import Article, SiteConfig, Tombstone
from newswire.errors import InvalidArticleError
from newswire.itemfiles import ItemFiles, ItemRef
from newswire.rendering.base import FeedFile
from newswire.rendering.directory import directory_files, planned_listings
from newswire.rendering.entry import entry_head, sitemap_url_of
from newswire.rendering.sitemap import (
    NEWS_SITEMAP_CONTENT_TYPE,
    NEWS_SITEMAP_PATH,
    SITEMAP_CONTENT_TYPE,
    SITEMAP_INDEX_PATH,
    render_month_sitemaps,
    render_news_sitemap,
    render_sitemap_index,
)
from newswire.rendering.stylesheet import stylesheet_file


@dataclass(slots=True)
class BuildReport:
    """What a build did: enough for a one-line summary and an error report.

    ``paths`` names every feed file of the site; ``files`` holds the rendered ones (unless a
    sink took them), ``written`` counts those whose bytes changed, ``reused`` names those the
    cache showed to be unchanged, which were not rendered at all, and ``refused`` those the
    sink would not write (a file the build did not write was in the way).
    """

    published: int = 0
    drafts: int = 0
    scheduled: int = 0
    withdrawn: int = 0
    expired: int = 0
    rejected: list[InvalidArticleError] = field(default_factory=list)
    files: list[FeedFile] = field(default_factory=list)
    paths: list[str] = field(default_factory=list)
    written: int = 0
    reused: list[str] = field(default_factory=list)
    refused: list[str] = field(default_factory=list)
    #: What valid articles publish unlike their writer would expect (see
    #: :func:`~newswire.content.warnings.article_warnings`).
    warnings: list[str] = field(default_factory=list)
    #: What the enabled partners would refuse or downgrade (``newswire check`` lists them).
    partner_findings: int | None = None  # ``None``: no partner enabled


def build_site(
    sources: Iterable[ArticleInput],
    site: SiteConfig,
    now: datetime,
    *,
    cache: BuildCache | None = None,
    jobs: int = 1,
    sink: FeedSink | None = None,
    batching: Batching | None = None,
) -> BuildReport:
    """Build every feed of the site.

    Every file is parsed and validated (or, with a cache, its result for the same bytes
    reused: a bad file stays reported), each valid article's entry is rendered as it is parsed,
    and ids are claimed over the whole corpus. The output never depends on ``jobs`` or the
    cache.

    Args:
        sources: every article file, as ``(key, bytes)`` or as an :class:`ArticleFile` (whose
            bytes are read only if the cache has not seen it unchanged).
        site: the site configuration.
        now: the time drafts and scheduled articles are judged at (never written to output).
        cache: a :class:`BuildCache`: unchanged files skip parsing and rendering, unchanged
            feeds skip rendering (their files are reported in ``reused``).
        jobs: how many processes parse and render; more than 1 forks workers once there is
            enough to do (where the platform can fork; elsewhere, all is done in this one).
        sink: where each feed file goes as soon as it is rendered (``(path, bytes) -> written``);
            then ``files`` stays empty and the bodies are never all held at once.
        batching: how work is handed to the processes (default :data:`DEFAULT_BATCHING`).

    Returns:
        The report: ``paths`` of every feed file (sorted), and without a sink their ``files``.
    """
    build = _Build(site, cache, jobs, sink, batching or DEFAULT_BATCHING)
    try:
        return build.run(sources, now)
    finally:
        build.close()


@dataclass(frozen=True, slots=True)
class Batching:
    """How a build with ``jobs`` > 1 hands work to its worker processes.

    The defaults suit sites of thousands of files; smaller values send a small site's work
    to the workers too (a test's, say).

    Attributes:
        files: files parsed per request to a worker; workers are forked only once that many
            are waiting (below that, forking costs more than it saves).
        last_files: the smallest request the last files are sent in (see ``_Build._chunk``).
        feeds: feeds rendered per request: enough to make a request worth its round trip.
    """

    files: int = 256
    last_files: int = 16
    feeds: int = 16


#: The batching of a build that names none (the CLI's).
DEFAULT_BATCHING = Batching()


class _Build:
    """One build's state: see :func:`build_site`."""

    def __init__(
        self,
        site: SiteConfig,
        cache: BuildCache | None,
        jobs: int,
        sink: FeedSink | None,
        batching: Batching,
    ) -> None:
        self.site = site
        self.batching = batching
        self.cache = cache
        self.jobs = min(max(1, jobs), _MAX_JOBS) if can_fork() else 1
        self.sink = sink
        # Items are written to disk, not held: a cold build's items outweigh its memory. The
        # cache keeps them (unchanged articles are never rendered again); without one, they
        # go to a temporary folder.
        self.spool_folder: Path | None = None
        if cache is not None:
            self.items = cache.packs
        else:
            try:
                self.spool_folder = Path(tempfile.mkdtemp(prefix="newswire-items-"))
            except OSError as e:
                raise spool_error(Path(tempfile.gettempdir()), e) from e
            folder = self.spool_folder
            self.items = ItemFiles(folder, lambda e: spool_error(folder, e))
        self.local = BuildWorker(site, sink, self.items, digests=cache is not None)
        self.pool: ProcessPoolExecutor | None = None
        self.parsing: Requests[list[ParseJob], bytes] | None = None
        self.results: dict[str, Article | InvalidArticleError] = {}
        # Partner feeds render their articles again (see buildpartners): only then kept.
        self.sources: dict[str, ArticleInput] | None = {} if site.partners else None
        # Where every valid article's items lie, with its file's digest (see _feed_digest):
        # rendered as its file was parsed, or as the cache holds them.
        self.entries: dict[str, tuple[ItemRef, str]] = {}
        self.started_ns = time.time_ns()

    def close(self) -> None:
        if self.pool is not None:
            # Requests not started are dropped; a worker's current one ends soon (one chunk).
            self.pool.shutdown(wait=True, cancel_futures=True)
            self.pool = None
        if self.spool_folder is not None:
            self.items.close()
            shutil.rmtree(self.spool_folder, ignore_errors=True)

    def run(self, sources: Iterable[ArticleInput], now: datetime) -> BuildReport:
        self._parse_all(sources)
        keys = sorted(self.results)
        if self.cache is not None:
            self.cache.forget_missing(set(keys))
        articles, rejected = claim_ids(self.results[k] for k in keys)
        self.results.clear()
        report = BuildReport(rejected=rejected)
        live = _live_articles(articles, now, report)
        # withdrawn articles' (RFC 6721), for the main feed's and the archives' Atom documents
        tombstones = [t for a in articles if a.published <= now and (t := a.tombstone_at(now))]
        report.warnings = article_warnings(articles, now)
        # newest first, as plans take them
        live.sort(key=lambda article: article.sort_key, reverse=True)
        # The archives first: quick to plan and most of the output, they are rendered by the
        # workers while the other feeds are planned.
        archives = sorted(plan_archives(live).items())
        months = [key.slug for key, _ in archives]
        feed_ids: set[str] = set()
        rendering = FeedRendering(self.pool, self.jobs, self.local, self.batching.feeds)
        rendering.start(
            archives,
            lambda plan: self._feed_jobs(plan, months, report, feed_ids, (tombstones, now)),
        )
        plan = sorted(plan_feeds(live, self.site).items())
        # The other feeds go to the workers before the sitemaps and the directory are written
        # here, so that no worker waits for this process once the archives are done.
        rendering.send(self._feed_jobs(plan, months, report, feed_ids, (tombstones, now)))
        if self.cache is not None:
            self.cache.keep_feeds(feed_ids)
        self.entries.clear()
        # lazily: only the articles the sitemap's window holds are made entries
        sitemap = render_news_sitemap(map(entry_head, live), self.site, now)
        documents = _sitemap_files(archives, self.site)
        if self.sources is not None:
            main = next(shown for key, shown in plan if key == MAIN_FEED)
            partners = partner_files(main, self.sources, self.site)
            documents += partners.files
            report.partner_findings = len(build_findings(articles, self.site, now, partners))
            self.sources = None
        del articles, live
        self._emit(report, FeedFile(NEWS_SITEMAP_PATH, NEWS_SITEMAP_CONTENT_TYPE, sitemap))
        for document in documents:
            self._emit(report, document)
        self._emit(report, stylesheet_file())
        digests = self._take_feed_files(report, rendering.finish())
        if self.cache is not None:
            self.cache.files_hashed(digests)
        digests |= self._reused_digests(plan, set(report.reused))
        # written after every feed, as a reindex writes it after its render groups
        for document in directory_files(planned_listings(plan, digests), self.site):
            self._emit(report, document)
        report.files.sort(key=lambda f: f.path)
        report.paths.sort()
        report.reused.sort()
        report.refused.sort()
        return report

    def _take_feed_files(
        self, report: BuildReport, files: Iterable[RenderedFile]
    ) -> dict[str, str]:
        """Count the feed files the workers rendered into ``report`` (with their bodies,
        unless a sink took them); the digests of listed feeds' RSS documents among them, by
        path, which the directory names."""
        digests = {}
        for file in files:
            self._count(report, file.path, file.written)
            if file.body is not None:
                report.files.append(FeedFile(file.path, file.content_type, file.body))
            if file.digest:
                digests[file.path] = file.digest
        return digests

    def _reused_digests(
        self, plan: list[tuple[FeedKey, list[Article]]], reused: set[str]
    ) -> dict[str, str]:
        """The digest of each listed feed's RSS document the cache vouched for (not
        rendered), as the build that rendered it noted it in the cache, so the directory
        names it whoever rendered it."""
        if self.cache is None:
            return {}
        digests: dict[str, str] = {}
        for key, _shown in plan:
            path = key.path(FeedFormat.RSS)
            if key.kind in LISTED_KINDS and path in reused:
                noted = self.cache.file_sha256(key.id, path)
                if noted is not None:
                    digests[path] = noted
        return digests

    def _emit(self, report: BuildReport, file: FeedFile) -> None:
        """Publish a file that is not a feed (a sitemap, the stylesheet, the directory)."""
        report.paths.append(file.path)
        if self.sink is not None:
            self._count(report, file.path, self.sink(file.path, file.body))
        else:
            report.files.append(file)

    @staticmethod
    def _count(report: BuildReport, path: str, written: Written) -> None:
        if written is Written.WRITTEN:
            report.written += 1
        elif written is Written.REFUSED:
            report.refused.append(path)

    def _feed_jobs(
        self,
        plan: list[tuple[FeedKey, list[Article]]],
        months: list[str],
        report: BuildReport,
        feed_ids: set[str],
        tombstones: tuple[list[Tombstone], datetime],
    ) -> list[FeedJob]:
        """The feeds to render (those the cache cannot vouch for), with their items' places;
        every feed's paths go to ``report``, their ids to ``feed_ids``. ``tombstones``: every
        withdrawn article's, and the time they are judged at."""
        jobs: list[FeedJob] = []
        for key, shown in plan:
            paths = tuple(key.path(fmt) for fmt in FeedFormat)
            report.paths.extend(paths)
            feed_ids.add(key.id)
            history = history_of(key, months)
            carried = tombstones_of(key, *tombstones)
            entries = [self.entries[a.key] for a in shown]
            if self.cache is not None:
                files = [(a.key, entry[1]) for a, entry in zip(shown, entries, strict=True)]
                digest = _feed_digest(key, (history, carried), files)
                if self.cache.feed_is_current(key.id, digest, paths):
                    report.reused.extend(paths)
                    continue
                self.cache.feed_rendered(key.id, digest, paths)
            jobs.append(
                FeedJob(
                    feed_head(key, self.site, history, carried),
                    tuple(a.shown_updated for a in shown),
                    tuple(ref for ref, _ in entries),
                )
            )
        return jobs

    # --- parsing ------------------------------------------------------------------------------

    def _parse_all(self, sources: Iterable[ArticleInput]) -> None:
        pending: list[ParseJob] = []
        total = len(sources) if isinstance(sources, Sized) else None
        for listed, source in enumerate(sources, start=1):
            if self.sources is not None:
                self.sources[source.key if isinstance(source, ArticleFile) else source[0]] = source
            signature = None  # the file's signature, if it may be recorded
            if isinstance(source, ArticleFile):
                key = source.key
                if self.cache is not None and (
                    cached := self.cache.lookup_unchanged(key, source.signature)
                ):
                    self._reuse(key, cached)
                    continue
                if self.cache is not None and source.settled(self.started_ns, self.cache.settle_ns):
                    signature = source.signature
                data: bytes | None = None  # read by the worker that parses it
                if self.cache is not None and key in self.cache.articles:
                    read = source.read()  # unless its digest may find it in the cache
                    if isinstance(read, InvalidArticleError):
                        self.results[key] = read
                        continue
                    data = read
            else:
                key, data = source
            digest = ""  # a file the cache has never seen is hashed by the worker parsing it
            if self.cache is not None and key in self.cache.articles:
                assert data is not None
                digest = file_digest(data)
                cached = self.cache.lookup(key, digest, signature)
                if cached is not None:
                    self._reuse(key, cached)
                    continue
            pending.append(ParseJob(key, data, digest, signature))
            if self.jobs > 1 and len(pending) >= self._chunk(total, listed, len(pending)):
                self._dispatch(pending)
                pending = []
        if self.parsing is not None:
            if pending:
                self._dispatch(pending)
            for results in self.parsing.results():
                self._collect(results)
        elif pending:
            self._collect(self.local.parse(pending))

    def _chunk(self, total: int | None, listed: int, pending: int) -> int:
        """How many files to send a worker at once.

        Guided self-scheduling once the workers run and the number of files is known:
        requests shrink as the files run out (a quarter of what is left, for two workers),
        so the workers finish together instead of one idling while the other parses a last
        full chunk.
        """
        files, last_files = self.batching.files, self.batching.last_files
        if self.pool is None or total is None:
            return files
        left = total - listed + pending  # files not yet sent, these included
        return min(files, max(last_files, left // (2 * self.jobs)))

    def _reuse(self, key: str, cached: CachedArticle) -> None:
        """Take a file's cached parse, and where its entry's items lie if it has one."""
        self.results[key] = cached.result
        if cached.items is not None:
            self.entries[key] = (cached.items, cached.digest)

    def _dispatch(self, chunk: list[ParseJob]) -> None:
        if self.parsing is None:
            self.pool = fork_workers(self.local, self.jobs)
            # a request running and one waiting per worker: none waits on the parent
            self.parsing = Requests(self.pool, parse_in_worker, 2 * self.jobs)
        for results in self.parsing.send(chunk):
            self._collect(results)

    def _collect(self, batch: bytes) -> None:
        """Take a worker's results (:meth:`BuildWorker.parse`), and hand them to the cache."""
        results: list[Parsed] = pickle.loads(batch)  # noqa: S301 - from our own worker
        for parsed in results:
            if parsed.key in self.results:
                raise ValueError(f"{parsed.key}: given twice")
            self.results[parsed.key] = parsed.result
            if parsed.items is not None:
                self.entries[parsed.key] = (parsed.items, parsed.digest)
        if self.cache is not None:
            self.cache.store_batch(results, batch)


def _sitemap_files(
    archives: list[tuple[FeedKey, list[Article]]], site: SiteConfig
) -> list[FeedFile]:
    """The sitemap index and each month's sitemap, from the articles of each archive."""
    files = [
        file
        for key, shown in archives
        for file in render_month_sitemaps(
            key.slug, [sitemap_url_of(a) for a in shown], empty_next_part=False
        )
    ]
    counts = {key.slug: len(shown) for key, shown in archives}
    index = render_sitemap_index(counts, site)
    return [FeedFile(SITEMAP_INDEX_PATH, SITEMAP_CONTENT_TYPE, index), *files]


def _live_articles(
    articles: Iterable[Article], now: datetime, report: BuildReport
) -> list[Article]:
    """The articles feeds show at ``now``; the others are counted in ``report``."""
    live: list[Article] = []
    for article in articles:
        if article.draft:
            report.drafts += 1
        elif article.published > now:
            report.scheduled += 1
        elif article.withdrawn is not None:
            report.withdrawn += 1
        elif not article.is_live(now):
            report.expired += 1
        else:
            live.append(article)
    report.published = len(live)
    return live


#: More processes than this only add memory: the work is split into few, large pieces.
_MAX_JOBS = 8


def _feed_digest(key: FeedKey, head: object, files: list[tuple[str, str]]) -> str:
    """What a feed's files are rendered from besides the site and the code (in the cache
    stamp): its name, what its head holds beyond the site's (archive links, tombstones) and
    its articles' files (key and digest), newest first.

    An entry's items are a function of its file's key and bytes, the site and the code alone,
    so these stand for them: no item is hashed.
    """
    parts = [key.id, key.name, repr(head), *(f"{path} {digest}" for path, digest in files)]
    return hashlib.sha256("\n".join(parts).encode()).hexdigest()
