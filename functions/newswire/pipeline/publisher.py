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

One class in one module, longer than our others: every path a change can take (an edit, a
rename's wake, a takeover of an id whose holder is gone, a redelivery) is the same
compare-and-set protocol, and the guarantees above hold only read together. What its steps
hand each other lives in :mod:`~newswire.pipeline.outcomes`, the feeds in
:mod:`~newswire.pipeline.feedwriter`, the reindex phases in :mod:`~newswire.pipeline.reindex`.
"""

from __future__ import annotations

import contextvars
import dataclasses
from collections import Counter
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from functools import partial
from typing import TypeVar, cast

from newswire.content.articles import parse_article
from newswire.domain.feeds import (
    ALWAYS_PUBLISHED,
    MAIN_FEED,
    FeedKey,
    FeedKind,
    archive_key,
    feed_keys_for,
    month_of,
)
from newswire.domain.model import Article, Entry, SiteConfig
from newswire.errors import (
    ArticleNotFoundError,
    ConcurrentUpdateError,
    InvalidArticleError,
    report_body,
)
from newswire.pipeline.changes import (
    ArticleChange,
    PublishAction,
    event_sequencer,
    forced_sequencer,
    normalise_sequencer,
)
from newswire.pipeline.concurrency import IOPool
from newswire.pipeline.feedwriter import FeedWriter, Rebuilt, paths_of
from newswire.pipeline.outcomes import (
    BatchOutcome,
    FileRead,
    FirstReads,
    Indexed,
    NextState,
    PublishOutcome,
    Read,
    ReindexReport,
    RunLog,
    Transition,
)
from newswire.pipeline.ports import (
    ArticleIndex,
    ArticleState,
    ArticleStatus,
    ContentStore,
    Due,
    FeedStore,
    HubNotifier,
)
from newswire.pipeline.prepare import prepare_article
from newswire.pipeline.tombstones import id_left, tombstone_left, withdrawal_tombstone
from newswire.rendering.sitemap import first_part_of

T = TypeVar("T")

#: How often a publisher looks again after the index changed under it before letting the
#: change be retried.
MAX_ATTEMPTS = 8


_RUN: contextvars.ContextVar[RunLog] = contextvars.ContextVar("publish_run")


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
            (:func:`read_first_with`).

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
        #: used once each, by the first change of its key
        self._read_ahead = dict(read_ahead or {})
        self.writer = FeedWriter(feeds, index, site, clock=clock, pool=self.pool, notifier=notifier)

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

    @property
    def _run(self) -> RunLog:
        return _RUN.get()

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
            feeds_of = self._feeds_of(results)
        except Exception as e:  # indexed, feeds not rebuilt: each is redelivered, rebuilds them
            return BatchOutcome(tuple(r if isinstance(r, Exception) else e for r in results))
        announce = [
            feeds
            for r, feeds in zip(results, feeds_of, strict=True)
            if isinstance(r, Indexed) and r.redelivered
        ]
        rebuilt = self.writer.rebuild(set().union(*feeds_of), announce=set().union(*announce))
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

    def _feeds_of(self, results: Sequence[Indexed | Exception]) -> list[set[FeedKey]]:
        """The feeds each indexed change rebuilds (none for one that failed): those it
        touched, those that link a month it filled or emptied, and the feeds that exist even
        empty, always (from the first change on, even with nothing live yet)."""
        entered = Counter(
            feed.slug
            for r in results
            if isinstance(r, Indexed)
            for feed in r.touched
            if feed.kind is FeedKind.ARCHIVE
        )
        with_neighbours = self.writer.linking(entered)
        return [
            with_neighbours(r.touched | ALWAYS_PUBLISHED, relink=r.redelivered)
            if isinstance(r, Indexed)
            else set()
            for r in results
        ]

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
            self._forget_woken(result.woken)
        except Exception as e:  # redelivered, it finishes (and forgets) its wakes again
            return e
        written = tuple(path for path in rebuilt.written if first_part_of(path) in mine)
        return dataclasses.replace(result.outcome, feeds_written=written)

    def _index_in_run(
        self, change: ArticleChange, earlier: frozenset[tuple[str, str]]
    ) -> Indexed | Exception:
        """:meth:`_index` with a run of its own (``earlier``: the wakes earlier changes of the
        batch finished); its error is returned, not raised, so the other changes go on."""
        try:
            indexed, run = self.in_run(lambda: self._index(change), earlier=earlier)
        except Exception as e:  # this change fails alone (see publish_batch)
            return e
        others = tuple(o for key, o in sorted(run.moved.items()) if key != change.key)
        return dataclasses.replace(
            indexed,
            outcome=dataclasses.replace(indexed.outcome, others=others),
            woken=tuple(run.woken),
        )

    def _index(self, change: ArticleChange) -> Indexed:
        first = self._read_ahead.pop(change.key, None)
        if first is None:
            (first,) = read_first(self.pool, self.content, self.index, [change.key]).values()
        old = first.state
        # the file read here serves the first attempt only
        self._run.read_ahead[change.key] = self._parsed(change.key, first.file)
        # other articles' feeds: wakes a run of this key died in (whatever this change turns
        # out to be: its retry may come back stale), and those kept from attempts that lost
        also = self._finish_wakes(change.key, first.waiters)
        for attempt in range(MAX_ATTEMPTS):
            if attempt:
                old = self.index.state(change.key)
            seen = event_sequencer(old.sequencer) if old is not None else None
            if seen is not None and seen > change.sequencer:
                return Indexed(PublishOutcome(change.key, PublishAction.STALE), frozenset(also))
            if old is not None and seen == change.sequencer:
                return self._redeliver(change.key, old, also)
            step = self._transition(change, old)
            also |= step.also_touched
            if not step.applied:
                continue  # another publisher changed this article meanwhile: look again
            outcome = PublishOutcome(change.key, step.action, (), step.error)
            return Indexed(outcome, frozenset(self._touched(step.state) | also))
        raise ConcurrentUpdateError(f"{change.key}: index kept changing, will be retried")

    def _redeliver(self, key: str, state: ArticleState, also: set[FeedKey]) -> Indexed:
        """Finish what a run that died after the index changed may have left undone: the
        report, the articles waiting for an id this one let go (or woken, not finished), the
        feeds and their pings.

        A rejection is handed back again (``rejected``), so the handler logs and counts it
        even when the run that found it died before it could.
        """
        error = self._report_again(key, state)
        touched = frozenset(self._touched(state) | self._wake_waiters(key) | also)
        action = PublishAction.REJECTED if error else PublishAction.REDELIVERED
        return Indexed(PublishOutcome(key, action, (), error), touched, redelivered=True)

    def _report_again(self, key: str, state: ArticleState) -> InvalidArticleError | None:
        """Write (or remove) the report ``state`` calls for; the rejection, if any."""
        if not state.has_report:
            self.content.delete_report(key)  # its removal may be what failed
            return None
        error = self._rejection(key)
        if error is not None:
            self._report(key, None, error)
        return error

    def _rejection(self, key: str) -> InvalidArticleError | None:
        """Why the current version of ``key`` is rejected, worked out again from the bucket
        and the id claims (``None``: it is not, or is gone; its own event then follows)."""
        try:
            article, _entry = self._read(key)
        except ArticleNotFoundError:
            return None
        except InvalidArticleError as e:
            return e
        holder = self.index.owner(article.id)
        return None if holder in (None, key) else _id_taken(key, article.id, str(holder))

    @staticmethod
    def _touched(state: ArticleState) -> set[FeedKey]:
        """The feeds the change that led to ``state`` can alter, from ``state`` alone (so a
        redelivered change rebuilds the same): the article's feeds now and before, archives
        included. (The feeds that link a month it filled or emptied are added once per batch:
        :meth:`FeedWriter.linking`.)"""
        return set(_shown_in(state) | state.previous_feeds)

    def _transition(
        self,
        change: ArticleChange,
        old: ArticleState | None,
        *,
        woken_by: str | None = None,
        keep_due: bool = False,
    ) -> Transition:
        """Work out the article's next state and compare-and-set it into the index.

        A rejection is reported in the content bucket; an id let go is handed to the
        articles waiting for it. ``woken_by``: the holder that let go the id ``old`` waited for
        (this change is its wake).
        """
        new, entry, action, error = self._next_state(change, old)
        also: set[FeedKey] = set()
        try:
            applied = self.index.apply(new, old, entry, woken_by=woken_by, keep_due=keep_due)
            step = Transition(applied, new, action, error)
        except InvalidArticleError:  # the id is another article's
            step = self._claim_held(
                change,
                old,
                new,
                entry,
                action=action,
                also=also,
                woken_by=woken_by,
                keep_due=keep_due,
            )
        if step.applied:
            self._report(change.key, old, step.error)
            if old is not None and old.article_id and old.article_id != step.state.article_id:
                also |= self._wake_waiters(change.key)
        return step._replace(also_touched=frozenset(also))

    def _claim_held(
        self,
        change: ArticleChange,
        old: ArticleState | None,
        new: ArticleState,
        entry: Entry | None,
        *,
        action: PublishAction,
        also: set[FeedKey],
        woken_by: str | None,
        keep_due: bool,
    ) -> Transition:
        """``new.article_id`` is held by another key: take it over if that key's object is
        gone (its removal is due anyway, its event may just not be here yet), else reject
        the change and wait for the holder to let the id go. Feeds of the holder's removal
        are added to ``also``."""
        article_id = str(new.article_id)
        holder = self.index.owner(article_id)
        if holder is not None and holder != change.key and not self.content.exists(holder):
            # may wake this very article: then ``old`` is gone
            also |= self._refresh(holder, self.index.state(holder))
            try:
                applied = self.index.apply(new, old, entry, woken_by=woken_by, keep_due=keep_due)
                return Transition(applied, new, action, None)
            except InvalidArticleError:
                holder = self.index.owner(article_id)  # claimed again meanwhile
        if holder is None or holder == change.key:
            return Transition(False, new, PublishAction.REJECTED, None)  # claim moved: look again
        error = _id_taken(change.key, article_id, holder)
        rejected = self._rejected(change, old, error, waiting_on=holder)
        applied = self.index.apply(
            rejected,
            old,
            None,
            waiting_for=article_id,
            woken_by=woken_by,
            keep_due=keep_due,
        )
        return Transition(applied, rejected, PublishAction.REJECTED, error)

    def _wake_waiters(self, holder: str) -> set[FeedKey]:
        """Publish again every article waiting for an id ``holder`` let go, and finish those
        a run that died had woken; their feeds.

        One that wants an id ``holder`` still holds is left waiting, untold: a retry of the
        holder's change must not reject it (and count it) again. Each woken article stays
        listed until :meth:`_forget_woken`, once its feeds are rebuilt.
        """
        touched: set[FeedKey] = set()
        for key in self.index.waiters(holder):
            if self._run.finished(holder, key):
                continue
            state = self.index.state(key)
            if state is not None and state.waiting_on == holder:
                if self._still_waits(key, holder):
                    continue
                touched |= self._refresh(key, state, woken_by=holder)
            else:
                touched |= self._finish_wake(key, state)
            self._run.woken.append((holder, key))
        return touched

    def _finish_wakes(self, holder: str, waiters: Sequence[str]) -> set[FeedKey]:
        """Finish every wake a run of ``holder`` died in (its ``waiters`` that no longer wait
        on it), whatever ``holder``'s change now is: the retry of the run that died may come
        back stale. The feeds to rebuild."""
        touched: set[FeedKey] = set()
        for key in waiters:
            if self._run.finished(holder, key):
                continue
            state = self.index.state(key)
            if state is None or state.waiting_on != holder:
                touched |= self._finish_wake(key, state)
                self._run.woken.append((holder, key))
        return touched

    def _still_waits(self, key: str, holder: str) -> bool:
        """Whether the current version of ``key`` wants an id ``holder`` still holds."""
        try:
            article = parse_article(key, self.content.get(key).body, self.site)
        except (ArticleNotFoundError, InvalidArticleError):
            return False  # gone or broken: waking it tells which
        return self.index.owner(article.id) == holder

    def _finish_wake(self, key: str, state: ArticleState | None) -> set[FeedKey]:
        """Write (or remove) the report of an article woken by a run that died, and tell
        its outcome again (that run could not); the feeds to rebuild, queued for WebSub
        written or not (that run may have written them and died before its ping)."""
        if state is None:
            return set()
        error = self._report_again(key, state)
        action = PublishAction.REJECTED if error else _ACTION_OF.get(state.status)
        self._run.moved[key] = PublishOutcome(key, action or PublishAction.REDELIVERED, (), error)
        touched = self._touched(state)
        self.writer.queue_announce(touched)
        return touched

    def _refresh(
        self, key: str, old: ArticleState | None, *, woken_by: str | None = None
    ) -> set[FeedKey]:
        """Apply the bucket's truth about another article now; the feeds that changes. Its
        outcome is kept for the change that moved it to report."""
        _old, step = self.force(key, old, woken_by=woken_by)
        self._run.moved[key] = PublishOutcome(key, step.action, (), step.error)
        return self._touched(step.state) | step.also_touched

    def _next_state(self, change: ArticleChange, old: ArticleState | None) -> NextState:
        old_feeds = _shown_in(old)
        # Removed again (a redundant event, or after a takeover): the feeds it last left are
        # checked again, in case the run that removed it died before rebuilding them.
        removed_again = old is not None and old.status is ArticleStatus.DELETED
        left = old.previous_feeds if old is not None and removed_again else old_feeds
        gone = ArticleState(
            change.key,
            change.sequencer,
            ArticleStatus.DELETED,
            previous_feeds=left,
            tombstone=tombstone_left(old, self.clock()),
        )
        try:  # a removal event too: in a versioned bucket another version may be current
            article, entry = self._read(change.key)
        except ArticleNotFoundError:
            return NextState(gone, None, PublishAction.REMOVED, None)
        except InvalidArticleError as e:
            kept = self._rejected(change, old, e)
            expires = kept.expires if kept.status is ArticleStatus.LIVE else None
            if expires is not None and expires <= self.clock():  # the version kept expired
                kept = dataclasses.replace(kept, status=ArticleStatus.EXPIRED, feeds=frozenset())
            return NextState(kept, None, PublishAction.REJECTED, e)
        now = self.clock()
        if not article.is_live(now):
            hidden = ArticleState(
                change.key,
                change.sequencer,
                _hidden_status(article, now),
                article_id=article.id,
                previous_feeds=old_feeds,
                published=article.published,
                tombstone=withdrawal_tombstone(article, old, now),
            )
            return NextState(hidden, None, _ACTION_OF[hidden.status], None)
        live = ArticleState(
            change.key,
            change.sequencer,
            ArticleStatus.LIVE,
            article_id=article.id,
            feeds=feed_keys_for(entry),
            previous_feeds=old_feeds,
            published=article.published,
            expires=article.expires,
            tombstone=id_left(old, article.id, now),
        )
        return NextState(live, entry, PublishAction.PUBLISHED, None)

    def read(self, key: str) -> Read:
        """The current version of ``key``, parsed and rendered, or why it cannot be published
        (no current version, or invalid)."""
        return self._parsed(key, _file(self.content, key))

    def _parsed(self, key: str, file: FileRead) -> Read:
        if isinstance(file, Exception):
            return file
        try:
            return prepare_article(key, file.body, self.site)
        except InvalidArticleError as e:
            return e

    def _read(self, key: str) -> tuple[Article, Entry]:
        """The current version of ``key``, parsed and rendered (read ahead, if it was).

        Raises:
            ArticleNotFoundError: no current version.
            InvalidArticleError: it cannot be published.
        """
        run = _RUN.get(None)
        found = run.read_ahead.pop(key, None) if run is not None else None
        found = found if found is not None else self.read(key)
        if isinstance(found, Exception):
            raise found
        return found

    @staticmethod
    def _rejected(
        change: ArticleChange,
        old: ArticleState | None,
        error: InvalidArticleError,
        *,
        waiting_on: str | None = None,
    ) -> ArticleState:
        """A rejected change keeps the last good version published, and remembers the report
        (and the holder of the id it wants, if that is why)."""
        if old is None or old.status is ArticleStatus.DELETED:
            return ArticleState(
                change.key,
                change.sequencer,
                ArticleStatus.REJECTED,
                has_report=True,
                waiting_on=waiting_on,
                # a deleted article's tombstone stays its 30 days: a broken copy put back
                # is in no feed, and must not take back the word its readers were given
                tombstone=old.tombstone if old is not None else None,
            )
        return ArticleState(
            change.key,
            change.sequencer,
            old.status,
            article_id=old.article_id,
            feeds=old.feeds,
            previous_feeds=_shown_in(old),
            published=old.published,
            has_report=True,
            waiting_on=waiting_on,
            tombstone=old.tombstone,
            expires=old.expires,
        )

    def _report(
        self, key: str, old: ArticleState | None, error: InvalidArticleError | None
    ) -> None:
        if error is not None:
            self.content.put_report(key, report_body(key, error))
        elif old is not None and old.has_report:
            self.content.delete_report(key)

    def _forget_woken(self, woken: Iterable[tuple[str, str]]) -> None:
        """Take the articles a run woke off their holders' waiters: their feeds are
        rebuilt and their reports written, nothing is left for a retry to finish."""
        for holder, key in dict.fromkeys(woken):
            self.index.forget_waiter(holder, key)

    def publish_due(self, limit: int = 100) -> list[PublishOutcome]:
        """Publish the scheduled articles whose time has come, oldest first, each once; take
        out those whose ``expires`` time has come, and the tombstones whose time is over.

        Run every minute (EventBridge in AWS, a timer in ``newswire serve``). The article is
        read again from the content bucket, so the version published is the latest one. Two
        runs at once cannot both publish an article: the index's compare-and-set lets one
        win, and the other finds it no longer scheduled.

        The feeds all of them touch are rebuilt once, together (the main feed does not need
        rewriting for each); the paths written are reported with the first outcome. After the
        due articles' outcomes come those of other articles they moved (an article waiting for
        an id one let go, an id holder whose file is gone).
        """
        run = RunLog()
        token = _RUN.set(run)
        try:
            due = self._publish_due(limit)
        finally:
            _RUN.reset(token)
        applied = due.applied
        entered = Counter(f.slug for f in due.touched if f.kind is FeedKind.ARCHIVE)
        with_neighbours = self.writer.linking({month: len(applied) for month in entered})
        # a run that died may have filled or emptied a month: relinked whatever the counts
        touched = with_neighbours(due.touched) | with_neighbours(due.left, relink=True)
        now = self.clock()
        over = [t for t in self.index.tombstones() if not t.shown_at(now)]
        if over:  # out of the Atom documents now, off the list once they are written
            touched |= {MAIN_FEED, *(archive_key(month_of(t.published)) for t in over)}
        written = self.writer.rebuild(touched).or_raise()
        self._forget_woken(run.woken)
        for done in due.done:
            self.index.forget_due(done)
        for tombstone in over:
            self.index.forget_tombstone(tombstone)
        if MAIN_FEED not in touched:  # articles age out of it even when nothing is published
            written += self.writer.refresh_news_sitemap()
        published = {key for key, _action, _error in applied}
        outcomes = [PublishOutcome(key, action, (), error) for key, action, error in applied]
        outcomes += [o for key, o in sorted(run.moved.items()) if key not in published]
        if outcomes:
            outcomes[0] = dataclasses.replace(outcomes[0], feeds_written=tuple(sorted(written)))
        return outcomes

    def _publish_due(self, limit: int) -> _DueRun:
        """Publish each due article (in the current run); what to rebuild and forget."""
        run = _DueRun()
        for due in self.index.due(self.clock(), limit):
            old = self.index.state(due.key)
            run.done.append(due)
            if old is None:
                continue  # never indexed: nothing to write
            # its expiry: read again, it leaves its feeds (unless edited since)
            expiring = old.status is ArticleStatus.LIVE and old.expires == due.at
            if not expiring and old.status is not ArticleStatus.SCHEDULED:
                # published (or expired) by a run that died before its feeds were written,
                # or edited since: its feeds are written again (unchanged ones are left)
                run.left |= self._touched(old)
                continue
            if not expiring and old.published != due.at:
                continue  # scheduled again, for another time: listed for that one too
            change = ArticleChange(due.key, False, forced_sequencer(old.sequencer))
            step = self._transition(change, old, keep_due=True)
            run.touched |= step.also_touched
            if step.applied:
                run.applied.append((due.key, step.action, step.error))
                run.touched |= self._touched(step.state)
            else:
                run.done.pop()  # changed meanwhile: looked at again by the next run
        return run

    def reindex(self) -> ReindexReport:
        """Rebuild the index and every feed from the content bucket, all phases here (see
        :func:`newswire.pipeline.reindex.reindex`)."""
        from newswire.pipeline.reindex import reindex

        return reindex(self)

    def in_run(
        self,
        call: Callable[[], T],
        read_ahead: dict[str, Read] | None = None,
        *,
        earlier: frozenset[tuple[str, str]] = frozenset(),
    ) -> tuple[T, RunLog]:
        """``call()`` with a run log of its own: what it did to other articles. Articles in
        ``read_ahead`` are not read again (each once); ``earlier``: wakes an earlier change
        of the batch finished."""
        run = RunLog(read_ahead=dict(read_ahead or {}), earlier=earlier)
        token = _RUN.set(run)
        try:
            return call(), run
        finally:
            _RUN.reset(token)

    def force(
        self,
        key: str,
        old: ArticleState | None,
        *,
        deleted: bool = False,
        woken_by: str | None = None,
    ) -> tuple[ArticleState | None, Transition]:
        """Apply the bucket's truth about ``key`` whatever the sequencers say (a reindex, an
        id let go or taken over); the state it replaced and the transition.

        Other articles it moves are recorded in the current run: call it within
        :meth:`in_run`.
        """
        also: set[FeedKey] = set()
        for _attempt in range(MAX_ATTEMPTS):
            sequencer = forced_sequencer(old.sequencer) if old else normalise_sequencer("0")
            change = ArticleChange(key, deleted, sequencer)
            step = self._transition(change, old, woken_by=woken_by)
            also |= step.also_touched
            if step.applied:
                return old, step._replace(also_touched=frozenset(also))
            old = self.index.state(key)
        raise ConcurrentUpdateError(f"{key}: index kept changing, will be retried")


#: What a change that led to each status did: told again for a wake its run died in.
_ACTION_OF = {
    ArticleStatus.LIVE: PublishAction.PUBLISHED,
    ArticleStatus.DRAFT: PublishAction.HIDDEN,
    ArticleStatus.SCHEDULED: PublishAction.HIDDEN,
    ArticleStatus.DELETED: PublishAction.REMOVED,
    ArticleStatus.WITHDRAWN: PublishAction.WITHDRAWN,
    ArticleStatus.EXPIRED: PublishAction.EXPIRED,
}


def _hidden_status(article: Article, now: datetime) -> ArticleStatus:
    """Why an article that is not live at ``now`` is kept out of its feeds."""
    if article.draft:
        return ArticleStatus.DRAFT
    if article.published > now:  # withdrawn or not: judged again when it comes due
        return ArticleStatus.SCHEDULED
    if article.withdrawn is not None:
        return ArticleStatus.WITHDRAWN
    return ArticleStatus.EXPIRED


def _call(call: Callable[[], object]) -> object:
    return call()


def _settled_call(call: Callable[[], object]) -> object:
    """``call()``, or what it raised: one article's failed read must not fail the others."""
    try:
        return call()
    except Exception as e:  # handed back; the change reads again
        return e


def _file(content: ContentStore, key: str) -> FileRead:
    try:
        return content.get(key)
    except (ArticleNotFoundError, InvalidArticleError) as e:  # gone, or too large to read
        return e


def read_first(
    pool: IOPool, content: ContentStore, index: ArticleIndex, keys: Iterable[str]
) -> dict[str, FirstReads]:
    """What the first attempt at a change of each of ``keys`` reads, all at once."""
    return read_first_with(pool, content, index, keys, lambda: None)[1]


def read_first_with(
    pool: IOPool,
    content: ContentStore,
    index: ArticleIndex,
    keys: Iterable[str],
    also: Callable[[], T],
) -> tuple[T, dict[str, FirstReads]]:
    """:func:`read_first`, with ``also()`` in flight beside: a handler reads ``site.yaml``
    so, before it has a :class:`Publisher`, and a publish waits for one round trip before
    its index transaction, not two. A key whose reads failed is left out: its change reads
    again, and fails alone if it must.

    Raises:
        Whatever ``also`` raised.
    """
    wanted = list(dict.fromkeys(keys))
    calls: list[Callable[[], object]] = [also]
    for key in wanted:
        calls += [
            partial(index.waiters, key),
            partial(index.state, key),
            partial(_file, content, key),
        ]
    done = pool.map(_settled_call, calls)
    if isinstance(done[0], Exception):
        raise done[0]
    reads = {}
    for i, key in enumerate(wanted):
        waiters, state, file = done[1 + 3 * i : 4 + 3 * i]
        # a file gone or unreadable is what the change is told; any other failure, a retry
        told = isinstance(file, ArticleNotFoundError | InvalidArticleError)
        if any(isinstance(read, Exception) for read in (waiters, state, None if told else file)):
            continue
        reads[key] = FirstReads(
            cast(Sequence[str], waiters), cast(ArticleState | None, state), cast(FileRead, file)
        )
    return cast(T, done[0]), reads


def _id_taken(key: str, article_id: str, holder: str) -> InvalidArticleError:
    return InvalidArticleError(
        key,
        "id",
        f"{article_id!r} is already the id of {holder}",
        "an id (or, without one, a slug) that no other article has; this one is published"
        " once that article is deleted or takes another id",
    )


def _shown_in(state: ArticleState | None) -> frozenset[FeedKey]:
    """Every feed the article of ``state`` is shown in, its month's archive included, or
    whose Atom document carries its tombstone."""
    if state is None:
        return frozenset()
    month = state.archive_month
    shown = state.feeds | {archive_key(month)} if month else state.feeds
    if state.tombstone is not None:  # Atom's main feed and archive carry it
        shown |= {MAIN_FEED, archive_key(month_of(state.tombstone.published))}
    return shown


@dataclass(slots=True)
class _DueRun:
    """What a run of :meth:`Publisher.publish_due` did: the changes applied, the feeds they
    touched, those of articles a run that died published (``left``), and the due items to
    forget once the feeds are written."""

    applied: list[tuple[str, PublishAction, InvalidArticleError | None]] = field(
        default_factory=list
    )
    touched: set[FeedKey] = field(default_factory=set)
    left: set[FeedKey] = field(default_factory=set)
    done: list[Due] = field(default_factory=list)
