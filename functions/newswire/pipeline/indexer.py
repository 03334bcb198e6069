"""One article's change applied to the index: the compare-and-set protocol every path a
change can take shares (an edit, a redelivery, a rename's wake, a takeover of an id whose
holder is gone, an article coming due, a reindex).

A change reads the article's state and its file, works out the next state
(:mod:`~newswire.pipeline.states`) and compare-and-sets it; a lost race reads again. A
rejection is reported in the content bucket. An id is claimed in the same transaction: a key
that wants an id another key holds takes it over if the holder's object is gone, else waits,
and is woken (published again) when the holder lets the id go. What one change did to other
articles is kept in a run log of its own (:meth:`Indexer.in_run`), as the changes of a batch
run at once. The guarantees these steps keep, read together, are the publisher's
(:mod:`~newswire.pipeline.publisher`).
"""

from __future__ import annotations

import contextvars
from collections.abc import Callable, Iterable, Mapping, Sequence
from datetime import datetime
from typing import TypeVar

from newswire.content.articles import parse_article
from newswire.domain.feeds import FeedKey
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
from newswire.pipeline.feedwriter import FeedWriter
from newswire.pipeline.firstreads import read_file, read_first
from newswire.pipeline.outcomes import (
    FileRead,
    FirstReads,
    Indexed,
    NextState,
    PublishOutcome,
    Read,
    RunLog,
    Transition,
)
from newswire.pipeline.ports import ArticleIndex, ArticleState, ContentStore
from newswire.pipeline.prepare import prepare_article
from newswire.pipeline.states import (
    ACTION_OF,
    id_taken,
    kept_state,
    read_state,
    rejected_state,
    removed_state,
    touched_by,
)

T = TypeVar("T")

#: How often a change looks again after the index changed under it before letting the
#: change be retried.
MAX_ATTEMPTS = 8

_RUN: contextvars.ContextVar[RunLog] = contextvars.ContextVar("publish_run")


class Indexer:
    """Applies article changes to the index, one article's at a time.

    Args:
        content: the content bucket (the articles, and their reports).
        index: the article index.
        site: the site configuration the articles are validated with.
        writer: the feed writer, whose clock judges drafts and scheduled articles, and which
            announces the feeds of a wake a run died in.
        pool: runs a change's first reads together.
        read_ahead: what the first attempt at a change of these keys reads, read already
            (:func:`~newswire.pipeline.firstreads.read_first_with`).
    """

    def __init__(
        self,
        content: ContentStore,
        index: ArticleIndex,
        site: SiteConfig,
        writer: FeedWriter,
        *,
        pool: IOPool,
        read_ahead: Mapping[str, FirstReads] | None = None,
    ) -> None:
        self.content = content
        self.index = index
        self.site = site
        self.writer = writer
        self.pool = pool
        #: used once each, by the first change of its key
        self._read_ahead = dict(read_ahead or {})

    @property
    def clock(self) -> Callable[[], datetime]:
        """The current time, for the articles and the feeds alike (the writer's)."""
        return self.writer.clock

    @property
    def _run(self) -> RunLog:
        return _RUN.get()

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

    def index_change(self, change: ArticleChange) -> Indexed:
        """Apply ``change`` (within :meth:`in_run`): stale, redelivered, or a transition
        compare-and-set into the index; the feeds it touched.

        Raises:
            TransientStorageError, StorageError: AWS failed; retrying the change is safe.
            ConcurrentUpdateError: lost too many races in a row; retrying is safe.
        """
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
            step = self.transition(change, old)
            also |= step.also_touched
            if not step.applied:
                continue  # another publisher changed this article meanwhile: look again
            outcome = PublishOutcome(change.key, step.action, (), step.error)
            return Indexed(outcome, frozenset(touched_by(step.state) | also))
        raise ConcurrentUpdateError(f"{change.key}: index kept changing, will be retried")

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
            step = self.transition(change, old, woken_by=woken_by)
            also |= step.also_touched
            if step.applied:
                return old, step._replace(also_touched=frozenset(also))
            old = self.index.state(key)
        raise ConcurrentUpdateError(f"{key}: index kept changing, will be retried")

    def transition(
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

    def read(self, key: str) -> Read:
        """The current version of ``key``, parsed and rendered, or why it cannot be published
        (no current version, or invalid)."""
        return self._parsed(key, read_file(self.content, key))

    def forget_woken(self, woken: Iterable[tuple[str, str]]) -> None:
        """Take the articles a run woke off their holders' waiters: their feeds are
        rebuilt and their reports written, nothing is left for a retry to finish."""
        for holder, key in dict.fromkeys(woken):
            self.index.forget_waiter(holder, key)

    def _redeliver(self, key: str, state: ArticleState, also: set[FeedKey]) -> Indexed:
        """Finish what a run that died after the index changed may have left undone: the
        report, the articles waiting for an id this one let go (or woken, not finished), the
        feeds and their pings.

        A rejection is handed back again (``rejected``), so the handler logs and counts it
        even when the run that found it died before it could.
        """
        error = self._report_again(key, state)
        touched = frozenset(touched_by(state) | self._wake_waiters(key) | also)
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
        return None if holder in (None, key) else id_taken(key, article.id, str(holder))

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
        error = id_taken(change.key, article_id, holder)
        rejected = rejected_state(change, old, error, waiting_on=holder)
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
        listed until :meth:`forget_woken`, once its feeds are rebuilt.
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
        action = PublishAction.REJECTED if error else ACTION_OF.get(state.status)
        self._run.moved[key] = PublishOutcome(key, action or PublishAction.REDELIVERED, (), error)
        touched = touched_by(state)
        self.writer.queue_announce(touched)
        return touched

    def _refresh(
        self, key: str, old: ArticleState | None, *, woken_by: str | None = None
    ) -> set[FeedKey]:
        """Apply the bucket's truth about another article now; the feeds that changes. Its
        outcome is kept for the change that moved it to report."""
        _old, step = self.force(key, old, woken_by=woken_by)
        self._run.moved[key] = PublishOutcome(key, step.action, (), step.error)
        return touched_by(step.state) | step.also_touched

    def _next_state(self, change: ArticleChange, old: ArticleState | None) -> NextState:
        """The state ``change`` leads to, judged on the key's current version (whatever the
        event said: the bucket decides)."""
        gone = removed_state(change, old, self.clock())
        try:  # a removal event too: in a versioned bucket another version may be current
            article, entry = self._read(change.key)
        except ArticleNotFoundError:
            return NextState(gone, None, PublishAction.REMOVED, None)
        except InvalidArticleError as e:
            return NextState(
                kept_state(change, old, e, self.clock()), None, PublishAction.REJECTED, e
            )
        return read_state(change, old, article, entry, self.clock())

    def _parsed(self, key: str, file: FileRead) -> Read:
        """``file`` parsed and rendered, or why it cannot be published (as a value: a read
        ahead is used later, by the change it was read for)."""
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

    def _report(
        self, key: str, old: ArticleState | None, error: InvalidArticleError | None
    ) -> None:
        """Write the report of a rejection, or remove the one an earlier rejection left (the
        newsroom reads the bucket, not the logs)."""
        if error is not None:
            self.content.put_report(key, report_body(key, error))
        elif old is not None and old.has_report:
            self.content.delete_report(key)
