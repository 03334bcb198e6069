"""Feeds rendered from the index and written to the feeds bucket, with no update lost.

Every feed of a batch is rebuilt together, in three steps each with its requests in flight
at once: read (HEAD) every object, render every feed from the index, write every object whose
bytes changed. The HEADs come *before* the index is queried, and each write is conditional on
the object read (``IfMatch``/``IfNoneMatch``): a writer that lost a race reads, renders and
tries again.

A condition on the ETag cannot see everything, though. S3's ETag is the MD5 of the bytes, and
a writer whose render equals the object leaves it alone: when a change is indexed after a slow
writer's query, the change's own writer may find nothing to write (the slow one has not
written yet), and the slow writer's condition still holds. So after writing, a writer lists
its feed again (:class:`~newswire.pipeline.ports.Listing`: keys and entry revisions, and the
months) and compares that with what it rendered: the revisions of the entries it read, the
months it took. If they differ, it reads, renders and writes again. The last writer of a
document therefore rendered what the index still held after the write, and every change
indexed after that has a writer that reads the document after it.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Collection, Iterable, Mapping, Sequence
from datetime import datetime
from functools import partial
from typing import TypeVar, cast
from urllib.parse import quote

from newswire.domain.directory import LISTED_KINDS, listed_feed
from newswire.domain.feeds import (
    MAIN_FEED,
    FeedKey,
    FeedKind,
    History,
    build_feed,
    history_of,
    is_feed_path,
    named_after,
    tombstones_of,
)
from newswire.domain.model import Entry, SiteConfig, Tombstone
from newswire.errors import ConcurrentUpdateError
from newswire.pipeline.concurrency import IOPool, run_beside, settled
from newswire.pipeline.directory import (
    DIRECTORY_ATTEMPTS,
    DirectoryDraft,
    DirectoryOutcome,
    DirectoryWrites,
    RenderedListing,
    pause_before_directory,
    put_directory,
)
from newswire.pipeline.indexreads import IndexReads
from newswire.pipeline.items import columns, partner_item_of
from newswire.pipeline.ports import (
    ArticleIndex,
    FeedObject,
    FeedStore,
    HubNotifier,
    Listing,
)
from newswire.pipeline.writejobs import (
    Job,
    JobListings,
    MonthLinks,
    Progress,
    PutRound,
    Rebuilt,
    Rendered,
    RenderedFrom,
    Write,
    archive_paths,
    formats,
    month_list,
    paths_of,
)
from newswire.rendering.base import FeedFile, ReplaceOnly
from newswire.rendering.directory import DATA_PATH
from newswire.rendering.files import render_feed_files
from newswire.rendering.partners import render_partner_files
from newswire.rendering.sitemap import (
    MAX_NEWS_URLS,
    NEWS_SITEMAP_CONTENT_TYPE,
    NEWS_SITEMAP_PATH,
    SITEMAP_CONTENT_TYPE,
    SITEMAP_INDEX_PATH,
    news_window_start,
    render_month_sitemaps,
    render_news_sitemap,
    render_sitemap_index,
    sitemap_index_parts,
)
from newswire.rendering.stylesheet import STYLESHEET_PATH, stylesheet_file

T = TypeVar("T")

#: How often a feed is re-rendered after losing a write race before the change is retried.
MAX_ATTEMPTS = 8


class FeedWriter:
    """Rebuilds feeds from the index into the feeds bucket, and tells WebSub hubs.

    Args:
        feeds: the feeds bucket.
        index: the article index the feeds are rendered from.
        site: the site configuration.
        clock: the current time (the news sitemap's window).
        pool: runs independent requests together.
        notifier: WebSub hubs to ping when feeds change (none: no pings).

    Feeds that changed are collected as each is written (so a failure later still has them
    announced), and the hubs told about them all at once by :meth:`announce`.
    """

    def __init__(
        self,
        feeds: FeedStore,
        index: ArticleIndex,
        site: SiteConfig,
        *,
        clock: Callable[[], datetime],
        pool: IOPool,
        notifier: HubNotifier | None = None,
    ) -> None:
        self.feeds = feeds
        self.index = index
        self.site = site
        self.clock = clock
        self.pool = pool
        self.notifier = notifier
        self._changed: set[str] = set()  # feed URLs not announced yet
        self._lock = threading.Lock()

    def linking(self, entered: Mapping[str, int] | None = None) -> MonthLinks:
        """What adds to a set of feeds the feeds whose archive links it changes: when a month
        of theirs may have gained its first article or lost its last, the main feed and the
        neighbouring archives link it. ``entered``: per month, how many of the changes being
        rebuilt touch its archive (one, by default); a month holding no more articles than
        that may be new or just emptied. With ``relink``, whatever the counts: a change run
        again cannot tell whether the run before it filled or emptied the month (nor whether
        that run wrote its links). One read of the months, however many sets are asked
        about; pass its ``months`` on to :meth:`rebuild`."""
        return MonthLinks(self.index.months(), entered or {})

    def rebuild(
        self,
        feeds: Iterable[FeedKey],
        *,
        announce: Collection[FeedKey] = (),
        directory: bool = True,
        months: Mapping[str, int] | None = None,
    ) -> Rebuilt:
        """Re-render each feed from the index and write the documents whose bytes changed.

        With the main feed come the news sitemap (which may change with it), the sitemap index
        and ``feed.xsl`` (written once, then only HEAD-checked), so a fresh bucket gets its
        stylesheet too; with an archive, its month's sitemap; with any feed the directory
        lists, the directory, its listings of those feeds replaced
        (:mod:`newswire.pipeline.directory`).

        Args:
            feeds: the feeds to rebuild.
            announce: feeds to queue for WebSub written now or not (a redelivered change:
                the run that wrote them may have died before its ping).
            directory: whether to write the directory; without, the listings rendered are
                only returned, for :meth:`write_directory` (a reindex's render groups, which
                would all race for it).
            months: the months' counts read since the changes were indexed
                (:attr:`MonthLinks.months`), to name each archive's sitemap parts up front
                (:func:`~newswire.pipeline.writejobs.archive_paths`); without, a part beyond
                the first is found by the render, and written in another attempt.

        Returns:
            The paths written, sorted, and those that failed (each alone: the others are
            still written), with the listings rendered.
        """
        keys = sorted(set(feeds))
        self.queue_announce(announce)
        listed = any(key.kind in LISTED_KINDS for key in keys)
        draft = DirectoryDraft(self.site) if listed else None
        jobs = [self._feed_job(key, draft, months) for key in keys]
        if MAIN_FEED in keys:
            jobs.append(self._news_sitemap_job())
            jobs.append(self._sitemap_index_job())
            jobs.append(Job((STYLESHEET_PATH,), lambda _reads, _keys: [stylesheet_file()]))
        written = self._write_latest(jobs, draft if directory else None)
        listings = tuple(draft.rendered()) if draft is not None else ()
        return Rebuilt(written.written, written.failed, listings)

    def write_directory(self, listings: Iterable[RenderedListing]) -> Rebuilt:
        """Write the directory alone, from ``listings`` rendered by earlier rebuilds (a
        reindex's render groups): each holds while its feed's RSS document is still the one
        it was rendered with; any other feed keeps its published listing."""
        return self._write_latest([], DirectoryDraft(self.site, listings))

    def refresh_news_sitemap(self) -> tuple[str, ...]:
        """Rewrite ``news-sitemap.xml`` if the last two days' articles changed.

        Also run every minute by the scheduler, so articles age out of it on time.
        """
        return self._write_latest([self._news_sitemap_job()]).or_raise()

    def announce(self) -> list[str]:
        """Tell the WebSub hubs about every feed changed since the last call, in one ping per
        hub; a failure never fails anything.

        Returns:
            What the operator should hear about (a hub that could not be reached).
        """
        with self._lock:
            urls, self._changed = sorted(self._changed), set()
        if self.notifier is None or not urls:
            return []
        return self.notifier.notify(urls)

    def queue_announce(self, feeds: Iterable[FeedKey]) -> None:
        """Queue ``feeds`` for :meth:`announce`, written or not (a change run again: the run
        that wrote them may have died before its ping)."""
        self._announce(path for path in paths_of(feeds, self.site.partners))

    def _announce(self, written: Iterable[str]) -> None:
        """Remember every feed document that changed, for :meth:`announce`."""
        if self.notifier is not None:
            urls = {self.site.feeds_url + quote(p) for p in written if is_feed_path(p)}
            with self._lock:
                self._changed |= urls

    def _feed_job(
        self,
        key: FeedKey,
        draft: DirectoryDraft | None = None,
        months: Mapping[str, int] | None = None,
    ) -> Job:
        def shows() -> Listing:
            if key.kind is FeedKind.ARCHIVE:
                return self.index.month(MAIN_FEED, key.slug)
            return self.index.newest(key, self.site.items_per_feed)

        # Only the main feed and the archives link months and carry tombstones.
        linked = key == MAIN_FEED or key.kind is FeedKind.ARCHIVE
        now = self.clock()

        def render(reads: IndexReads, keys: Sequence[str]) -> list[FeedFile]:
            history = history_of(key, reads.months() if linked else [])
            carried = tombstones_of(key, reads.tombstones(), now) if linked else ()
            return reads.render(keys, partial(files, history, carried))

        def files(
            history: History | None, carried: tuple[Tombstone, ...], entries: list[Entry]
        ) -> list[FeedFile]:
            named = named_after(key, entries[0]) if entries else key
            feed = build_feed(named, entries, self.site, history, carried)
            files = render_feed_files(feed, self.site.max_feed_bytes, columns(feed.entries))
            if draft is not None and key.kind in LISTED_KINDS:
                latest = feed.entries[0] if feed.entries else None
                listed = listed_feed(named, len(feed.entries), latest, feed.updated)
                draft.record(key, listed, files)
            if key.kind is FeedKind.ARCHIVE:  # an emptied month's sitemap stays, empty
                files += render_month_sitemaps(key.slug, feed.entries)
                if not entries:  # never made: a build has no archive of a month with none
                    files = [ReplaceOnly(f.path, f.content_type, f.body) for f in files]
            elif key == MAIN_FEED:  # from the entries the main feed just read
                files += render_partner_files(self.site, feed.entries, partner_item_of)
            return files

        paths = formats(key)
        if key.kind is FeedKind.ARCHIVE:
            paths = archive_paths(key, months)
        elif key == MAIN_FEED:
            paths += tuple(feed.partner.path for feed in self.site.partners)
        return Job(paths, render, shows, month_list if linked else None, linked)

    def _news_sitemap_job(self) -> Job:
        now = self.clock()

        def shows() -> Listing:
            return self.index.newest(MAIN_FEED, MAX_NEWS_URLS, since=news_window_start(now))

        def render(reads: IndexReads, keys: Sequence[str]) -> list[FeedFile]:
            return reads.render(keys, files)

        def files(entries: list[Entry]) -> list[FeedFile]:
            body = render_news_sitemap(entries, self.site, now)
            return [FeedFile(NEWS_SITEMAP_PATH, NEWS_SITEMAP_CONTENT_TYPE, body)]

        return Job((NEWS_SITEMAP_PATH,), render, shows)

    def _sitemap_index_job(self) -> Job:
        """The sitemap index, from the months' counts: rebuilt with the main feed, which every
        change rebuilds (every article is in it), so a month's new part or its emptying is
        listed by the change that made it."""

        def render(reads: IndexReads, _keys: Sequence[str]) -> list[FeedFile]:
            body = render_sitemap_index(reads.month_counts(), self.site)
            return [FeedFile(SITEMAP_INDEX_PATH, SITEMAP_CONTENT_TYPE, body)]

        return Job((SITEMAP_INDEX_PATH,), render, months_view=sitemap_index_parts)

    def _write_latest(self, jobs: Sequence[Job], draft: DirectoryDraft | None = None) -> Rebuilt:
        """Write what each job renders for its paths, so that no concurrent update is lost.

        Every object is read (HEAD) *before* the jobs query the index, and written only if
        it is still that object; a job that wrote lists its articles again, and if the index
        moved since its render, its paths are read, rendered and written again (see the
        module docstring), as are the paths that lost a race and those a render gave that
        its job did not name (a month's sitemap grown a part since its count was read, or
        never counted). Objects whose bytes did not change are left alone. A path that
        fails (AWS, races lost too often) fails alone: the others are still written.

        With ``draft``, each attempt also writes the directory (read with the other objects,
        written beside them or after them: :mod:`newswire.pipeline.directory`), again while
        any feed is written again, it lost a race, or a listing it wrote ahead of its feed
        is unsettled (even after a failure: a redelivered change would find that listing in
        place, with nothing to undo); when it alone is left, up to
        :data:`~newswire.pipeline.directory.DIRECTORY_ATTEMPTS` times, after a random pause
        when it lost or failed.
        """
        run = Progress(jobs)
        for attempt in range(DIRECTORY_ATTEMPTS):
            current = self._heads(run.paths(), draft)
            run.drop_unreadable(current)
            writes = run.writes(self._render(run.pending_jobs()), current)
            writing = {w.file.path for w in writes}
            last = attempt + 1 >= MAX_ATTEMPTS  # never leave a listing ahead unsettled
            ahead = draft.ahead(writing, current) if draft and writes and not last else None
            confirm = draft.to_confirm(writing) if draft and not ahead else []
            outcomes, confirmed, wrote_ahead = self._put_all(writes, confirm, ahead)
            wrote = run.settle(writes, outcomes)
            written = {w.file.path for w, won in zip(writes, outcomes, strict=True) if won is True}
            recheck = partial(self._moved, {n: (jobs[n], run.read[n]) for n in wrote})
            if draft is None:
                moved, listed = recheck(), DirectoryOutcome()
            elif ahead is not None:  # read back while the written feeds are listed again
                listed = draft.settle(ahead, wrote_ahead, written)
                read_back = partial(draft.read_back, ahead, listed, written, self.feeds, self.pool)
                moved, listed.lost = run_beside(recheck, read_back)
            else:  # the directory written while the written feeds are listed again
                files = draft.render(written, confirmed)
                commit = partial(draft.commit, self.feeds, self.pool, current, files, written)
                moved, listed = run_beside(recheck, commit)
            run.rewrite(moved)
            run.written |= listed.written
            run.failed |= listed.failed
            more = run.next_attempt()
            if draft is not None and draft.done(listed, more=more):
                draft = None
            if more and last:
                break  # the feeds give up; the directory with them
            if not more:
                if draft is None:
                    break
                if listed.lost or listed.failed:
                    pause_before_directory()  # the directory alone lost a race, or failed
        lost = [path for _number, wanted in run.pending for path in wanted]
        lost += list(DirectoryDraft.paths) if draft is not None else []
        for path in lost:  # a directory that failed to the end keeps why
            run.failed.setdefault(
                path, ConcurrentUpdateError(f"{path}: kept losing write races, will be retried")
            )
        return Rebuilt(tuple(sorted(run.written)), run.failed)

    def _put_all(
        self, writes: Sequence[Write], confirm: Sequence[str], ahead: DirectoryWrites | None
    ) -> PutRound:
        """Each write, with the HEADs of ``confirm`` made beside them (after the attempt's
        reads) and the directory's writes ``ahead``: one round of requests."""
        calls: list[Callable[[], object]] = [partial(self._put, w) for w in writes]
        calls += [partial(self.feeds.head, path) for path in confirm]
        put = put_directory(self.feeds)
        calls += [partial(put, write) for write in (ahead.writes if ahead else [])]
        done = self.pool.map(settled(_call), calls)
        heads = done[len(writes) : len(writes) + len(confirm)]
        return PutRound(
            outcomes=cast("list[bool | Exception]", done[: len(writes)]),
            confirmed=dict(
                zip(confirm, cast("list[FeedObject | Exception | None]", heads), strict=True)
            ),
            ahead=cast("list[bool | Exception]", done[len(writes) + len(confirm) :]),
        )

    def _heads(
        self, paths: Sequence[str], draft: DirectoryDraft | None = None
    ) -> dict[str, FeedObject | Exception | None]:
        """Each object of ``paths`` (with ``draft``, and the directory's) as it is now
        (``None``: absent), or why it could not be read; the directory's data read whole,
        for ``draft``."""

        def look(path: str) -> FeedObject | None:
            if draft is not None and path == DATA_PATH:
                return draft.read(self.feeds)
            return self.feeds.head(path)

        looked = sorted({*paths, *(draft.paths if draft is not None else ())})
        return dict(zip(looked, self.pool.map(settled(look), looked), strict=True))

    def _render(self, jobs: Sequence[Job]) -> list[Rendered]:
        """Render each job (or say why it could not be), in three steps of requests in flight
        together: what each shows (and the months, for those that link them), the entries
        of all, read once each, then the documents; with each, what it was rendered from."""
        months, tombstones, shown = self._list(jobs)
        reads = IndexReads(self.index, months, tombstones)
        reads.read(self.pool, [listed.keys for listed in shown if isinstance(listed, Listing)])

        def render(
            job_and_listing: tuple[Job, Listing | Exception],
        ) -> tuple[list[FeedFile], RenderedFrom]:
            job, listed = job_and_listing
            if isinstance(listed, Exception):
                raise listed
            rendered = reads.rendered(listed.keys)
            files = job.render(reads, listed.keys)
            view = job.months_view(reads.month_counts()) if job.months_view else None
            carried = reads.tombstones() if job.carries_tombstones else None
            return files, RenderedFrom(rendered, view, carried)

        return self.pool.map(settled(render), list(zip(jobs, shown, strict=True)))

    def _list(self, jobs: Sequence[Job]) -> JobListings:
        """What each job shows and, when one of them links months (carries tombstones), the
        months' counts (the tombstones): read at once (or why they could not be)."""
        calls: list[Callable[[], object]] = [job.shows or _no_articles for job in jobs]
        months = any(job.links_months for job in jobs)
        tombstones = any(job.carries_tombstones for job in jobs)
        calls += [self.index.months] if months else []
        calls += [self.index.tombstones] if tombstones else []
        listed = self.pool.map(settled(_call), calls)
        rest = iter(listed[len(jobs) :])
        return JobListings(
            months=cast("dict[str, int] | Exception", next(rest)) if months else None,
            tombstones=(
                cast("Sequence[Tombstone] | Exception", next(rest)) if tombstones else None
            ),
            shown=cast("list[Listing | Exception]", listed[: len(jobs)]),
        )

    def _moved(self, read: Mapping[int, tuple[Job, RenderedFrom]]) -> set[int]:
        """The jobs whose articles, their entries or the months they take the index lists
        differently now than what they were rendered from (or that cannot be listed again:
        they had better be rendered again)."""
        checked = [(number, job, was) for number, (job, was) in read.items() if job.reads_index]
        if not checked:
            return set()
        months, tombstones, listed = self._list([job for _n, job, _w in checked])
        moved = set()
        for (number, job, was), shown in zip(checked, listed, strict=True):
            if (
                shown != was.shown
                or (job.months_view and _view(job.months_view, months) != was.months)
                or (job.carries_tombstones and tombstones != was.tombstones)
            ):
                moved.add(number)  # an error is never equal to what was read
        return moved

    def _put(self, write: Write) -> bool:
        """Write one object if it is still what was read; ``False`` when the race was lost."""
        file = write.file
        try:
            self.feeds.put(file.path, file.body, file.content_type, expected=write.before)
        except ConcurrentUpdateError:
            return False
        self._announce([file.path])  # at once: a later failure must not lose it
        return True


def _call(call: Callable[[], T]) -> T:
    return call()


def _no_articles() -> Listing:
    return Listing()


def _view(
    view: Callable[[Mapping[str, int]], object], months: dict[str, int] | Exception | None
) -> object:
    """What ``view`` takes of the months read (an error, if they could not be)."""
    return months if months is None or isinstance(months, Exception) else view(months)
