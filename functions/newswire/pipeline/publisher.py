"""Publishing one article change: validate, index, and rebuild only the feeds it touches.

Guarantees, whatever the number of publishers running at once:

- **ordered and idempotent**: a change older than the indexed one is ignored; the same
  change again only re-runs the (idempotent) feed rebuild, in case the first run died midway;
- **no lost update**: each feed object is read (HEAD) *before* the index is queried, then
  written with ``IfMatch``/``IfNoneMatch``; a lost race re-reads and re-renders, so the last
  feed written contains every article indexed before it;
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
"""

from __future__ import annotations

import dataclasses
import functools
import json
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import NamedTuple
from urllib.parse import quote

from newswire.content.articles import parse_article
from newswire.domain.feeds import (
    MAIN_FEED,
    FeedFormat,
    FeedKey,
    FeedKind,
    archive_key,
    build_feed,
    feed_keys_for,
    history_of,
    is_feed_path,
    named_after,
)
from newswire.domain.model import Article, Entry, SiteConfig
from newswire.errors import ArticleNotFoundError, ConcurrentUpdateError, InvalidArticleError
from newswire.pipeline.changes import (
    ArticleChange,
    PublishAction,
    event_sequencer,
    forced_sequencer,
    normalise_sequencer,
)
from newswire.pipeline.ports import (
    ArticleIndex,
    ArticleState,
    ArticleStatus,
    ContentStore,
    FeedStore,
    HubNotifier,
    check_entry_size,
    feed_digest,
)
from newswire.rendering.base import FeedFile
from newswire.rendering.entry import render_entry
from newswire.rendering.files import render_feed_files
from newswire.rendering.sitemap import (
    MAX_NEWS_URLS,
    NEWS_SITEMAP_CONTENT_TYPE,
    NEWS_SITEMAP_PATH,
    news_window_start,
    render_news_sitemap,
)
from newswire.rendering.stylesheet import STYLESHEET_PATH, stylesheet_file

#: How often a publisher re-renders after losing a race before letting SQS retry the record.
MAX_ATTEMPTS = 8


@dataclass(frozen=True, slots=True)
class PublishOutcome:
    """What one change did. ``feeds_written`` includes feeds of other articles the change
    moved: an id holder removed, an article that waited for the id published. ``others``
    are the outcomes of those other articles (their own rejection included), so they are
    logged and counted like this one; their feeds are in ``feeds_written``."""

    key: str
    action: PublishAction
    feeds_written: tuple[str, ...] = ()
    error: InvalidArticleError | None = None
    others: tuple[PublishOutcome, ...] = ()


class Transition(NamedTuple):
    """One compare-and-set of an article's state, and what it led to."""

    applied: bool  # False: the state changed under us, look again
    state: ArticleState
    action: PublishAction
    error: InvalidArticleError | None
    #: feeds of *other* articles it changed: a holder removed, a waiting article published
    also_touched: frozenset[FeedKey] = frozenset()


class NextState(NamedTuple):
    """The state a change leads to, before it is compare-and-set into the index."""

    state: ArticleState
    entry: Entry | None  # shown in the feeds of ``state``; ``None`` when in none
    action: PublishAction
    error: InvalidArticleError | None


@dataclass(slots=True)
class ReindexReport:
    """What a full reindex did."""

    articles: int = 0
    rejected: list[InvalidArticleError] = field(default_factory=list)
    feeds_written: int = 0


class Publisher:
    """Applies article changes to the index and the feeds.

    Args:
        content: the content bucket.
        feeds: the feeds bucket.
        index: the article index.
        site: the site configuration the feeds are rendered with.
        clock: the current time (drafts and scheduled articles are judged by it).
        notifier: WebSub hubs to ping when feeds change (none: no pings).

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
    ) -> None:
        self.content = content
        self.feeds = feeds
        self.index = index
        self.site = site
        self.clock = clock
        self.notifier = notifier
        self._changed: set[str] = set()  # feed URLs not announced yet
        self._moved: dict[str, PublishOutcome] = {}  # other articles moved, by key
        self._woken: list[tuple[str, str]] = []  # (holder, waiter) to forget once rebuilt

    def publish(self, change: ArticleChange) -> PublishOutcome:
        """Apply one change and rebuild the feeds it touches.

        Raises:
            TransientStorageError, StorageError: AWS failed; retrying the change is safe.
            ConcurrentUpdateError: lost too many races in a row; retrying is safe.
        """
        self._moved, self._woken = {}, []
        outcome = self._publish(change)
        self._forget_woken()
        others = tuple(o for key, o in sorted(self._moved.items()) if key != change.key)
        self._moved = {}
        return dataclasses.replace(outcome, others=others)

    def _publish(self, change: ArticleChange) -> PublishOutcome:
        # other articles' feeds: wakes a run of this key died in (whatever this change turns
        # out to be: its retry may come back stale), and those kept from attempts that lost
        also = self._finish_wakes(change.key)
        for _attempt in range(MAX_ATTEMPTS):
            old = self.index.state(change.key)
            seen = event_sequencer(old.sequencer) if old is not None else None
            if seen is not None and seen > change.sequencer:
                written = self.rebuild(also) if also else ()
                return PublishOutcome(change.key, PublishAction.STALE, written)
            if old is not None and seen == change.sequencer:
                return self._redeliver(change.key, old, also)
            step = self._transition(change, old)
            also |= step.also_touched
            if not step.applied:
                continue  # another publisher changed this article meanwhile: look again
            written = self.rebuild(self._touched(step.state) | also)
            return PublishOutcome(change.key, step.action, written, step.error)
        raise ConcurrentUpdateError(f"{change.key}: index kept changing, will be retried")

    def _redeliver(
        self, key: str, state: ArticleState, also: set[FeedKey] | None = None
    ) -> PublishOutcome:
        """Finish what a run that died after the index changed may have left undone: the
        report, the articles waiting for an id this one let go (or woken, not finished), the
        feeds and their pings.

        A rejection is handed back again (``rejected``), so the handler logs and counts it
        even when the run that found it died before it could.
        """
        error = self._report_again(key, state)
        touched = self._touched(state) | self._wake_waiters(key) | (also or set())
        written = self.rebuild(touched, announce_unchanged=True)
        action = PublishAction.REJECTED if error else PublishAction.REDELIVERED
        return PublishOutcome(key, action, written, error)

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

    def _touched(self, state: ArticleState) -> set[FeedKey]:
        """The feeds the change that led to ``state`` can alter, from ``state`` alone (so a
        redelivered change rebuilds the same): the article's feeds now and before, archives
        included, and when a month gained its first article or lost its last one, the main
        feed and the neighbouring archives, whose links change too.
        """
        touched = set(state.feeds | state.previous_feeds)
        months = {k.slug for k in touched if k.kind is FeedKind.ARCHIVE}
        if state.archive_month:
            months.add(state.archive_month)
        if not months:
            return touched
        counts = self.index.months()
        listed = sorted(counts)
        for month in months:
            touched.add(archive_key(month))
            if counts.get(month, 0) <= 1:  # just became non-empty, or just emptied
                touched.add(MAIN_FEED)
                older = [m for m in listed if m < month]
                newer = [m for m in listed if m > month]
                touched.update(archive_key(m) for m in (older[-1:] + newer[:1]))
        return touched

    def _transition(
        self, change: ArticleChange, old: ArticleState | None, *, woken_by: str | None = None
    ) -> Transition:
        """Work out the article's next state and compare-and-set it into the index.

        A rejection is reported in the content bucket; an id let go is handed to the
        articles waiting for it. ``woken_by``: the holder that let go the id ``old`` waited for
        (this change is its wake).
        """
        new, entry, action, error = self._next_state(change, old)
        also: set[FeedKey] = set()
        try:
            applied = self.index.apply(new, old, entry, woken_by=woken_by)
            step = Transition(applied, new, action, error)
        except InvalidArticleError:  # the id is another article's
            step = self._claim_held(
                change, old, new, entry, action=action, also=also, woken_by=woken_by
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
                applied = self.index.apply(new, old, entry, woken_by=woken_by)
                return Transition(applied, new, action, None)
            except InvalidArticleError:
                holder = self.index.owner(article_id)  # claimed again meanwhile
        if holder is None or holder == change.key:
            return Transition(False, new, PublishAction.REJECTED, None)  # claim moved: look again
        error = _id_taken(change.key, article_id, holder)
        rejected = self._rejected(change, old, error, waiting_on=holder)
        applied = self.index.apply(rejected, old, None, waiting_for=article_id, woken_by=woken_by)
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
            if (holder, key) in self._woken:
                continue  # finished earlier in this run
            state = self.index.state(key)
            if state is not None and state.waiting_on == holder:
                if self._still_waits(key, holder):
                    continue
                touched |= self._refresh(key, state, woken_by=holder)
            else:
                touched |= self._finish_wake(key, state)
            self._woken.append((holder, key))
        return touched

    def _finish_wakes(self, holder: str) -> set[FeedKey]:
        """Finish every wake a run of ``holder`` died in (its waiters that no longer wait on
        it), whatever ``holder``'s change now is: the retry of the run that died may come
        back stale. One Query when there is none. The feeds to rebuild."""
        touched: set[FeedKey] = set()
        for key in self.index.waiters(holder):
            state = self.index.state(key)
            if state is None or state.waiting_on != holder:
                touched |= self._finish_wake(key, state)
                self._woken.append((holder, key))
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
        self._moved[key] = PublishOutcome(key, action or PublishAction.REDELIVERED, (), error)
        touched = self._touched(state)
        self._announce(feed.path(fmt) for feed in touched for fmt in FeedFormat)
        return touched

    def _forget_woken(self) -> None:
        """Take the articles this run woke off their holders' waiters: their feeds are
        rebuilt and their reports written, nothing is left for a retry to finish."""
        woken, self._woken = self._woken, []
        for holder, key in dict.fromkeys(woken):
            self.index.forget_waiter(holder, key)

    def _refresh(
        self, key: str, old: ArticleState | None, *, woken_by: str | None = None
    ) -> set[FeedKey]:
        """Apply the bucket's truth about another article now; the feeds that changes. Its
        outcome is kept for the change that moved it to report."""
        _old, step = self._force(key, False, old, woken_by=woken_by)
        self._moved[key] = PublishOutcome(key, step.action, (), step.error)
        return self._touched(step.state) | step.also_touched

    def _next_state(self, change: ArticleChange, old: ArticleState | None) -> NextState:
        old_feeds = _shown_in(old)
        # Removed again (a redundant event, or after a takeover): the feeds it last left are
        # checked again, in case the run that removed it died before rebuilding them.
        removed_again = old is not None and old.status is ArticleStatus.DELETED
        left = old.previous_feeds if old is not None and removed_again else old_feeds
        gone = ArticleState(
            change.key, change.sequencer, ArticleStatus.DELETED, previous_feeds=left
        )
        try:  # a removal event too: in a versioned bucket another version may be current
            article, entry = self._read(change.key)
        except ArticleNotFoundError:
            return NextState(gone, None, PublishAction.REMOVED, None)
        except InvalidArticleError as e:
            return NextState(self._rejected(change, old, e), None, PublishAction.REJECTED, e)
        if not article.is_live(self.clock()):
            hidden = ArticleState(
                change.key,
                change.sequencer,
                ArticleStatus.DRAFT if article.draft else ArticleStatus.SCHEDULED,
                article_id=article.id,
                previous_feeds=old_feeds,
                published=_sortable(article.published),
            )
            return NextState(hidden, None, PublishAction.HIDDEN, None)
        live = ArticleState(
            change.key,
            change.sequencer,
            ArticleStatus.LIVE,
            article_id=article.id,
            feeds=feed_keys_for(entry),
            previous_feeds=old_feeds,
            published=_sortable(article.published),
        )
        return NextState(live, entry, PublishAction.PUBLISHED, None)

    def _read(self, key: str) -> tuple[Article, Entry]:
        """The current version of ``key``, parsed and rendered.

        Raises:
            ArticleNotFoundError: no current version.
            InvalidArticleError: it cannot be published.
        """
        article = parse_article(key, self.content.get(key).body, self.site)
        return article, self._entry(article)

    def _entry(self, article: Article) -> Entry:
        entry = render_entry(article)
        check_entry_size(article.key, entry)
        return entry

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
        )

    def _report(
        self, key: str, old: ArticleState | None, error: InvalidArticleError | None
    ) -> None:
        if error is not None:
            report = {
                "key": key,
                "field": error.field,
                "problem": error.problem,
                "expected": error.expected,
                "message": str(error),
                "problems": [
                    {"field": p.field, "problem": p.problem, "expected": p.expected}
                    for p in error.problems
                ],
            }
            self.content.put_report(key, json.dumps(report, ensure_ascii=False, indent=2).encode())
        elif old is not None and old.has_report:
            self.content.delete_report(key)

    def rebuild(
        self, feeds: Iterable[FeedKey], *, announce_unchanged: bool = False
    ) -> tuple[str, ...]:
        """Re-render each feed from the index and write the formats whose bytes changed.

        With the main feed come the news sitemap (which may change with it) and ``feed.xsl``
        (written once, then only HEAD-checked), so a fresh bucket gets its stylesheet too.

        Args:
            feeds: the feeds to rebuild.
            announce_unchanged: queue them all for WebSub, written now or not (a redelivered
                change: the run that wrote them may have died before its ping).

        Returns:
            The paths written, sorted.
        """
        keys = set(feeds)
        written: list[str] = []
        for key in sorted(keys):
            paths = [key.path(fmt) for fmt in FeedFormat]
            written.extend(self._write_latest(paths, functools.partial(self._render_feed, key)))
            if announce_unchanged:
                self._announce(paths)
        if MAIN_FEED in keys:
            written.extend(self.refresh_news_sitemap())
            written.extend(self._write_latest([STYLESHEET_PATH], lambda: [stylesheet_file()]))
        return tuple(sorted(written))

    def _announce(self, written: Iterable[str]) -> None:
        """Remember every feed document that changed, for :meth:`announce`."""
        if self.notifier is not None:
            self._changed.update(self.site.feeds_url + quote(p) for p in written if is_feed_path(p))

    def announce(self) -> list[str]:
        """Tell the WebSub hubs about every feed changed since the last call, in one ping per
        hub; a failure never fails anything.

        Returns:
            What the operator should hear about (a hub that could not be reached).
        """
        urls, self._changed = sorted(self._changed), set()
        if self.notifier is None or not urls:
            return []
        return self.notifier.notify(urls)

    def _render_feed(self, key: FeedKey) -> list[FeedFile]:
        if key.kind is FeedKind.ARCHIVE:
            entries = self.index.month(MAIN_FEED, key.slug)
        else:
            entries = self.index.newest(key, self.site.items_per_feed)
        # Only the main feed and the archives link months: no index query for the others.
        linked = key == MAIN_FEED or key.kind is FeedKind.ARCHIVE
        history = history_of(key, sorted(self.index.months()) if linked else [])
        named = named_after(key, entries[0]) if entries else key
        feed = build_feed(named, entries, self.site, history)
        return render_feed_files(feed, self.site.max_feed_bytes)

    def refresh_news_sitemap(self) -> list[str]:
        """Rewrite ``news-sitemap.xml`` if the last two days' articles changed.

        Also run every minute by the scheduler, so articles age out of it on time.
        """
        now = self.clock()
        since = _sortable(news_window_start(now))

        def render() -> list[FeedFile]:
            entries = self.index.newest(MAIN_FEED, MAX_NEWS_URLS, since=since)
            body = render_news_sitemap(entries, self.site, now)
            return [FeedFile(NEWS_SITEMAP_PATH, NEWS_SITEMAP_CONTENT_TYPE, body)]

        return self._write_latest([NEWS_SITEMAP_PATH], render)

    def _write_latest(self, paths: list[str], render: Callable[[], list[FeedFile]]) -> list[str]:
        """Write what ``render`` gives for ``paths``, so that no concurrent update is lost.

        Each object is read (HEAD) *before* ``render`` queries the index, and written only if
        it is still that object; a lost race reads, renders and tries again. Objects whose
        bytes did not change are left alone.
        """
        written: list[str] = []
        pending = paths
        for _attempt in range(MAX_ATTEMPTS):
            current = {path: self.feeds.head(path) for path in pending}
            pending = []
            for file in render():
                if file.path not in current:
                    continue
                before = current[file.path]
                if before is not None and before.digest == feed_digest(file.body):
                    continue
                try:
                    self.feeds.put(file.path, file.body, file.content_type, expected=before)
                except ConcurrentUpdateError:
                    pending.append(file.path)
                else:
                    written.append(file.path)
                    self._announce([file.path])  # at once: a later failure must not lose it
            if not pending:
                return written
        raise ConcurrentUpdateError(
            f"{', '.join(pending)}: kept losing write races, will be retried"
        )

    def publish_due(self, limit: int = 100) -> list[PublishOutcome]:
        """Publish the scheduled articles whose time has come, oldest first, each once.

        Run every minute (EventBridge in AWS, a timer in ``newswire serve``). The article is
        read again from the content bucket, so the version published is the latest one. Two
        runs at once cannot both publish an article: the index's compare-and-set lets one
        win, and the other finds it no longer scheduled.

        The feeds all of them touch are rebuilt once, together (the main feed does not need
        rewriting for each); the paths written are reported with the first outcome. After the
        due articles' outcomes come those of other articles they moved (an article waiting for
        an id one let go, an id holder whose file is gone).
        """
        applied: list[tuple[str, PublishAction, InvalidArticleError | None]] = []
        touched: set[FeedKey] = set()
        self._moved, self._woken = {}, []
        for key in self.index.due(_sortable(self.clock()), limit):
            old = self.index.state(key)
            if old is None or old.status is not ArticleStatus.SCHEDULED:
                continue  # another run (or an edit) got there first
            step = self._transition(ArticleChange(key, False, forced_sequencer(old.sequencer)), old)
            touched |= step.also_touched
            if step.applied:
                applied.append((key, step.action, step.error))
                touched |= self._touched(step.state)
        written = self.rebuild(touched)
        self._forget_woken()
        if MAIN_FEED not in touched:  # articles age out of it even when nothing is published
            written += tuple(self.refresh_news_sitemap())
        due = {key for key, _action, _error in applied}
        outcomes = [PublishOutcome(key, action, (), error) for key, action, error in applied]
        outcomes += [o for key, o in sorted(self._moved.items()) if key not in due]
        self._moved = {}
        if outcomes:
            outcomes[0] = dataclasses.replace(outcomes[0], feeds_written=written)
        return outcomes

    def reindex(self) -> ReindexReport:
        """Rebuild the index and every feed from the content bucket (the source of truth).

        Every article is read and validated again; index states whose article is gone are
        removed. Used to recover from lost events and after ``site.yaml`` changes.
        """
        report = ReindexReport()
        touched: set[FeedKey] = {MAIN_FEED}
        self._woken = []
        keys = set(self.content.list_articles())
        for state in list(self.index.states()):
            touched |= state.feeds
            if state.key not in keys and state.status is not ArticleStatus.DELETED:
                touched |= _feeds_of(*self._force(state.key, True, state))
        for article_key in sorted(keys):
            step = self._force(article_key, False, self.index.state(article_key), report)
            touched |= _feeds_of(*step)
        report.articles = len(keys) - len(report.rejected)
        touched.update(archive_key(month) for month in self.index.months())
        report.feeds_written = len(self.rebuild(touched))
        self._forget_woken()
        return report

    def _force(
        self,
        key: str,
        deleted: bool,
        old: ArticleState | None,
        report: ReindexReport | None = None,
        *,
        woken_by: str | None = None,
    ) -> tuple[ArticleState | None, Transition]:
        """Apply the bucket's truth about ``key`` whatever the sequencers say (a reindex, an
        id let go or taken over); the state it replaced and the transition."""
        also: set[FeedKey] = set()
        for _attempt in range(MAX_ATTEMPTS):
            sequencer = forced_sequencer(old.sequencer) if old else normalise_sequencer("0")
            step = self._transition(ArticleChange(key, deleted, sequencer), old, woken_by=woken_by)
            also |= step.also_touched
            if step.applied:
                if step.error is not None and report is not None:
                    report.rejected.append(step.error)
                return old, step._replace(also_touched=frozenset(also))
            old = self.index.state(key)
        raise ConcurrentUpdateError(f"{key}: index kept changing, will be retried")


#: What a change that led to each status did: told again for a wake its run died in.
_ACTION_OF = {
    ArticleStatus.LIVE: PublishAction.PUBLISHED,
    ArticleStatus.DRAFT: PublishAction.HIDDEN,
    ArticleStatus.SCHEDULED: PublishAction.HIDDEN,
    ArticleStatus.DELETED: PublishAction.REMOVED,
}


def _feeds_of(old: ArticleState | None, step: Transition) -> frozenset[FeedKey]:
    """The feeds a reindex must rebuild for one forced transition."""
    return step.state.feeds | (old.feeds if old else frozenset()) | step.also_touched


def _id_taken(key: str, article_id: str, holder: str) -> InvalidArticleError:
    return InvalidArticleError(
        key,
        "id",
        f"{article_id!r} is already the id of {holder}",
        "an id (or, without one, a slug) that no other article has; this one is published"
        " once that article is deleted or takes another id",
    )


def _shown_in(state: ArticleState | None) -> frozenset[FeedKey]:
    """Every feed the article of ``state`` is shown in, its month's archive included."""
    if state is None:
        return frozenset()
    month = state.archive_month
    return state.feeds | {archive_key(month)} if month else state.feeds


def _sortable(moment: datetime) -> str:
    """Fixed-width UTC time: string order is time order in the index's sort keys."""
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
