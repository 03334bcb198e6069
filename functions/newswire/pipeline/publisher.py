"""Publishing article changes: validate, index, and rebuild only the feeds they touch.

A batch of changes is applied to the index change by change (different articles at once, the
changes of one article in order), then every feed any of them touched is rebuilt once
(:class:`~newswire.pipeline.feedwriter.FeedWriter`). Guarantees, whatever the number of
publishers running at once:

- **ordered and idempotent**: a change older than the indexed one is ignored; the same
  change again only re-runs the (idempotent) feed rebuild, in case the first run died midway;
- **no lost update**: each feed object is read (HEAD) *before* the index is queried, then
  written with ``IfMatch``/``IfNoneMatch``; a lost race re-reads and re-renders, and a writer
  lists its feed again after writing and renders again if the index moved meanwhile (a
  change whose own writer found nothing to write), so the last feed written shows what the
  index holds;
- **O(feed), not O(corpus)**: a rebuild reads the newest N entries of that feed only;
- **nothing rewritten for nothing**: a feed whose bytes are unchanged is not written, so its
  ETag and Last-Modified stay put and readers get 304s;
- **the bucket decides, not the event**: every change reads the key's current object, so a
  removal that leaves a version current (deleting an old version of a versioned bucket, or
  the delete marker: S3's undelete) publishes that version instead of taking it down. The
  state is stored under the event's sequencer but holds the object as read, which is at least
  that new: an older event (even a write the removal of an old version overtook) is rightly
  stale, and any later change brings a greater sequencer that reads again;
- **a rename keeps its id**: an id held by a key whose object is gone passes to the key that
  wants it; while the holder still exists, the other key is rejected and *waits* (recorded in
  the index only while the holder still has the id, so a holder that lets it go meanwhile
  cannot miss the waiter), and is published again as soon as the holder lets the id go,
  whichever of a rename's two events comes first. A woken article stays listed as a waiter
  until the holder's change has rebuilt its feeds, so the holder's next change finishes a wake
  a run died in (the retry, even one that comes back stale as the holder changed since, or a
  newer change: one Query of its waiters per publish); a retry while the holder keeps the id
  leaves the waiter as it is;
- **nothing lost to a retry**: a redelivered change (its index transition applied, the run
  then died) writes or removes its report again and hands its rejection back again, so it is
  logged and counted; every feed written is queued for WebSub at once (not after the whole
  rebuild), and a redelivered change announces every feed it touches, written or not, as the
  run that wrote them may have died before its ping. Hubs fetch what they are told about and
  ignore what did not change, so an extra ping costs little; a lost one leaves subscribers
  waiting for their next poll.

The parts, each in its module: what the first attempt at a change reads
(:mod:`~newswire.pipeline.firstreads`), the state a change leads to
(:mod:`~newswire.pipeline.states`), its compare-and-set into the index with the id claims and
wakes (:mod:`~newswire.pipeline.indexer`), the feeds' rebuild
(:mod:`~newswire.pipeline.feedwriter`), the articles that come due
(:mod:`~newswire.pipeline.schedule`) and the reindex (:mod:`~newswire.pipeline.reindex`);
what the steps hand each other lives in :mod:`~newswire.pipeline.outcomes`. This module
coordinates a batch: every change indexed, then each feed rebuilt once.
"""

from __future__ import annotations

import dataclasses
from collections import Counter
from collections.abc import Callable, Mapping, Sequence
from datetime import UTC, datetime
from functools import partial

from newswire.domain.feeds import ALWAYS_PUBLISHED, FeedKey, FeedKind
from newswire.domain.model import SiteConfig
from newswire.errors import ConcurrentUpdateError
from newswire.pipeline.changes import ArticleChange
from newswire.pipeline.concurrency import IOPool
from newswire.pipeline.feedwriter import FeedWriter
from newswire.pipeline.indexer import Indexer
from newswire.pipeline.outcomes import (
    BatchOutcome,
    FirstReads,
    Indexed,
    PublishOutcome,
    ReindexReport,
)
from newswire.pipeline.ports import ArticleIndex, ContentStore, FeedStore, HubNotifier
from newswire.pipeline.schedule import publish_due
from newswire.pipeline.writejobs import Rebuilt, paths_of
from newswire.rendering.sitemap import first_part_of


class Publisher:
    """Applies article changes to the index and the feeds.

    Args:
        content: the content bucket.
        feeds: the feeds bucket.
        index: the article index.
        site: the site configuration the feeds are rendered with.
        clock: the current time (drafts and scheduled articles are judged by it).
        notifier: WebSub hubs to ping when feeds change (none: no pings).
        pool: runs independent requests together (default: a pool of its own).
        read_ahead: what the first attempt at a change of these keys reads, read already
            (:func:`~newswire.pipeline.firstreads.read_first_with`).

    Feeds that changed are collected as each is written (so a change that fails later still
    has them announced), and the hubs told about them all at once by :meth:`announce`, which
    each invocation calls when its work is done: a slow hub then costs one wait per
    invocation, never one per article of a batch.
    """

    def __init__(
        self,
        content: ContentStore,
        feeds: FeedStore,
        index: ArticleIndex,
        site: SiteConfig,
        *,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
        notifier: HubNotifier | None = None,
        pool: IOPool | None = None,
        read_ahead: Mapping[str, FirstReads] | None = None,
    ) -> None:
        self.content = content
        self.index = index
        self.site = site
        self.pool = pool or IOPool()
        self.writer = FeedWriter(feeds, index, site, clock=clock, pool=self.pool, notifier=notifier)
        self.indexer = Indexer(
            content, index, site, self.writer, pool=self.pool, read_ahead=read_ahead
        )

    @property
    def clock(self) -> Callable[[], datetime]:
        """The current time, for the articles and the feeds alike (the writer's)."""
        return self.writer.clock

    @clock.setter
    def clock(self, clock: Callable[[], datetime]) -> None:
        self.writer.clock = clock

    @property
    def feeds(self) -> FeedStore:
        """The feeds bucket (the writer's)."""
        return self.writer.feeds

    @feeds.setter
    def feeds(self, store: FeedStore) -> None:
        self.writer.feeds = store

    @property
    def notifier(self) -> HubNotifier | None:
        """The WebSub hubs told of changed feeds (the writer's)."""
        return self.writer.notifier

    @notifier.setter
    def notifier(self, notifier: HubNotifier | None) -> None:
        self.writer.notifier = notifier

    def announce(self) -> list[str]:
        """Tell the WebSub hubs about every feed changed since the last call (see
        :meth:`FeedWriter.announce`)."""
        return self.writer.announce()

    def publish(self, change: ArticleChange) -> PublishOutcome:
        """Apply one change and rebuild the feeds it touches.

        Raises:
            TransientStorageError, StorageError: AWS failed; retrying the change is safe.
            ConcurrentUpdateError: lost too many races in a row; retrying is safe.
        """
        result = self.publish_batch([change]).results[0]
        if isinstance(result, Exception):
            raise result
        return result

    def publish_batch(self, changes: Sequence[ArticleChange]) -> BatchOutcome:
        """Apply every change to the index, then rebuild each feed they touch once.

        Changes of different articles are indexed at once, those of one article in the order
        given. A change that fails (AWS, lost races) fails alone; a rebuild that fails fails
        every change it rebuilt for (retrying any of them is safe: a redelivered change
        rebuilds its feeds again). Nothing is raised: an SQS batch then fails only the
        messages whose changes failed.
        """
        results = self._index_all(changes)
        try:
            feeds_of, months = self._feeds_of(results)
        except Exception as e:  # indexed, feeds not rebuilt: each is redelivered, rebuilds them
            return BatchOutcome(tuple(r if isinstance(r, Exception) else e for r in results))
        announce = [
            feeds
            for r, feeds in zip(results, feeds_of, strict=True)
            if isinstance(r, Indexed) and r.redelivered
        ]
        rebuilt = self.writer.rebuild(
            set().union(*feeds_of), announce=set().union(*announce), months=months
        )
        final = [
            self._settle(result, feeds, rebuilt)
            for result, feeds in zip(results, feeds_of, strict=True)
        ]
        return BatchOutcome(tuple(final), rebuilt.written)

    def _index_all(self, changes: Sequence[ArticleChange]) -> list[Indexed | Exception]:
        """Index every change, in the order given: different articles at once, the changes
        of one article one after another, each told only the wakes the ones before were not."""
        by_key: dict[str, list[int]] = {}
        for position, change in enumerate(changes):
            by_key.setdefault(change.key, []).append(position)
        results: list[Indexed | Exception] = [ConcurrentUpdateError("not run")] * len(changes)

        def index_in_order(positions: list[int]) -> list[Indexed | Exception]:
            indexed: list[Indexed | Exception] = []
            earlier: set[tuple[str, str]] = set()
            for position in positions:
                result = self._index_in_run(changes[position], frozenset(earlier))
                if isinstance(result, Indexed):
                    earlier.update(result.woken)
                indexed.append(result)
            return indexed

        for positions, indexed in zip(
            by_key.values(), self.pool.map(index_in_order, by_key.values()), strict=True
        ):
            for position, result in zip(positions, indexed, strict=True):
                results[position] = result
        return results

    def _feeds_of(
        self, results: Sequence[Indexed | Exception]
    ) -> tuple[list[set[FeedKey]], Mapping[str, int]]:
        """The feeds each indexed change rebuilds (none for one that failed): those it
        touched, those that link a month it filled or emptied, and the feeds that exist even
        empty, always (from the first change on, even with nothing live yet); with the
        months' counts they were found from (which name the archives' sitemap parts)."""
        entered = Counter(
            feed.slug
            for r in results
            if isinstance(r, Indexed)
            for feed in r.touched
            if feed.kind is FeedKind.ARCHIVE
        )
        with_neighbours = self.writer.linking(entered)
        feeds = [
            with_neighbours(r.touched | ALWAYS_PUBLISHED, relink=r.redelivered)
            if isinstance(r, Indexed)
            else set()
            for r in results
        ]
        return feeds, with_neighbours.months

    def _settle(
        self, result: Indexed | Exception, feeds: set[FeedKey], rebuilt: Rebuilt
    ) -> PublishOutcome | Exception:
        """What one change ends as, once its feeds were rebuilt: its outcome, or why it
        failed (retried: its feeds are rebuilt again, its wakes finished then)."""
        if isinstance(result, Exception):
            return result
        mine = paths_of(feeds, self.writer.site.partners)
        failed = sorted(path for path in rebuilt.failed if first_part_of(path) in mine)
        if failed:
            return rebuilt.failed[failed[0]]
        try:
            self.indexer.forget_woken(result.woken)
        except Exception as e:  # redelivered, it finishes (and forgets) its wakes again
            return e
        written = tuple(path for path in rebuilt.written if first_part_of(path) in mine)
        return dataclasses.replace(result.outcome, feeds_written=written)

    def _index_in_run(
        self, change: ArticleChange, earlier: frozenset[tuple[str, str]]
    ) -> Indexed | Exception:
        """:meth:`Indexer.index_change` with a run of its own (``earlier``: the wakes earlier
        changes of the batch finished); its error is returned, not raised, so the other
        changes go on."""
        try:
            indexed, run = self.indexer.in_run(
                partial(self.indexer.index_change, change), earlier=earlier
            )
        except Exception as e:  # this change fails alone (see publish_batch)
            return e
        others = tuple(o for key, o in sorted(run.moved.items()) if key != change.key)
        return dataclasses.replace(
            indexed,
            outcome=dataclasses.replace(indexed.outcome, others=others),
            woken=tuple(run.woken),
        )

    def publish_due(self, limit: int = 100) -> list[PublishOutcome]:
        """Publish the scheduled articles whose time has come, and take out what expired
        (see :func:`newswire.pipeline.schedule.publish_due`)."""
        return publish_due(self.indexer, limit)

    def reindex(self) -> ReindexReport:
        """Rebuild the index and every feed from the content bucket, all phases here (see
        :func:`newswire.pipeline.reindex.reindex`)."""
        from newswire.pipeline.reindex import reindex

        return reindex(self)
