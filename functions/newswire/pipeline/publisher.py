"""Publishing one article change: validate, index, and rebuild only the feeds it touches.

Guarantees, whatever the number of publishers running at once:

- **ordered and idempotent**: a change older than the indexed one is ignored; the same
  change again only re-runs the (idempotent) feed rebuild, in case the first run died midway;
- **no lost update**: each feed object is read (HEAD) *before* the index is queried, then
  written with ``IfMatch``/``IfNoneMatch``; a lost race re-reads and re-renders, so the last
  feed written contains every article indexed before it;
- **O(feed), not O(corpus)**: a rebuild reads the newest N entries of that feed only;
- **nothing rewritten for nothing**: a feed whose bytes are unchanged is not written, so its
  ETag and Last-Modified stay put and readers get 304s.
"""

from __future__ import annotations

import functools
import json
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime
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
from newswire.pipeline.changes import ArticleChange, normalise_sequencer
from newswire.pipeline.ports import (
    ArticleIndex,
    ArticleState,
    ContentStore,
    FeedStore,
    HubNotifier,
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
#: A rendered entry must fit one index item (DynamoDB's 400 KB, less room for the rest).
MAX_ENTRY_BYTES = 350_000


@dataclass(frozen=True, slots=True)
class PublishOutcome:
    """What one change did. ``action`` is one of: published, removed, hidden (draft or
    scheduled), rejected (``error`` says why), stale (older than what is indexed),
    redelivered (already applied; feeds re-checked)."""

    key: str
    action: str
    feeds_written: tuple[str, ...] = ()
    error: InvalidArticleError | None = None


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

    Feeds that changed are collected, and the hubs told about them all at once by
    :meth:`announce`, which each invocation calls when its work is done: a slow hub then costs
    one wait per invocation, never one per article of a batch.
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

    def publish(self, change: ArticleChange) -> PublishOutcome:
        """Apply one change and rebuild the feeds it touches.

        Raises:
            TransientStorageError, StorageError: AWS failed; retrying the change is safe.
            ConcurrentUpdateError: lost too many races in a row; retrying is safe.
        """
        for _attempt in range(MAX_ATTEMPTS):
            old = self.index.state(change.key)
            if old is not None and old.sequencer > change.sequencer:
                return PublishOutcome(change.key, "stale")
            if old is not None and old.sequencer == change.sequencer:
                # Already applied: finish what a run that died midway may have left undone.
                return PublishOutcome(change.key, "redelivered", self.rebuild(self._touched(old)))
            applied, new, action, error = self._transition(change, old)
            if not applied:
                continue  # another publisher changed this article meanwhile: look again
            return PublishOutcome(change.key, action, self.rebuild(self._touched(new)), error)
        raise ConcurrentUpdateError(f"{change.key}: index kept changing, will be retried")

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
        self, change: ArticleChange, old: ArticleState | None
    ) -> tuple[bool, ArticleState, str, InvalidArticleError | None]:
        """Work out the article's next state and compare-and-set it into the index.

        Returns:
            Whether it was applied (``False``: the state changed under us), the new state,
            the action and the rejection, if any (reported in the content bucket).
        """
        new, entry, action, error = self._next_state(change, old)
        try:
            applied = self.index.apply(new, old, entry)
        except InvalidArticleError as e:  # the id is another article's
            new, action, error = self._rejected(change, old, e), "rejected", e
            applied = self.index.apply(new, old, None)
        if applied:
            self._report(change.key, old, error)
        return applied, new, action, error

    def _next_state(
        self, change: ArticleChange, old: ArticleState | None
    ) -> tuple[ArticleState, Entry | None, str, InvalidArticleError | None]:
        old_feeds = _shown_in(old)
        gone = ArticleState(change.key, change.sequencer, "deleted", previous_feeds=old_feeds)
        if change.deleted:
            return gone, None, "removed", None
        try:
            article = parse_article(change.key, self.content.get(change.key).body, self.site)
            entry = self._entry(article)
        except ArticleNotFoundError:  # deleted since the event: its own event follows
            return gone, None, "removed", None
        except InvalidArticleError as e:
            return self._rejected(change, old, e), None, "rejected", e
        if not article.is_live(self.clock()):
            hidden = ArticleState(
                change.key,
                change.sequencer,
                "draft" if article.draft else "scheduled",
                article_id=article.id,
                previous_feeds=old_feeds,
                published=_sortable(article.published),
            )
            return hidden, None, "hidden", None
        live = ArticleState(
            change.key,
            change.sequencer,
            "live",
            article_id=article.id,
            feeds=feed_keys_for(entry),
            previous_feeds=old_feeds,
            published=_sortable(article.published),
        )
        return live, entry, "published", None

    def _entry(self, article: Article) -> Entry:
        from newswire.adapters.dynamodb import encode_entry

        entry = render_entry(article, self.site)
        size = len(encode_entry(entry))
        if size > MAX_ENTRY_BYTES:
            raise InvalidArticleError(
                article.key,
                "body",
                f"renders to {size} compressed bytes, more than the index holds",
                f"a body that renders to at most {MAX_ENTRY_BYTES} compressed bytes",
            )
        return entry

    @staticmethod
    def _rejected(
        change: ArticleChange, old: ArticleState | None, error: InvalidArticleError
    ) -> ArticleState:
        """A rejected change keeps the last good version published, and remembers the report."""
        if old is None or old.status == "deleted":
            return ArticleState(change.key, change.sequencer, "rejected", has_report=True)
        return ArticleState(
            change.key,
            change.sequencer,
            old.status,
            article_id=old.article_id,
            feeds=old.feeds,
            previous_feeds=_shown_in(old),
            published=old.published,
            has_report=True,
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

    def rebuild(self, feeds: Iterable[FeedKey]) -> tuple[str, ...]:
        """Re-render each feed from the index and write the formats whose bytes changed.

        With the main feed come the news sitemap (which may change with it) and ``feed.xsl``
        (written once, then only HEAD-checked), so a fresh bucket gets its stylesheet too.

        Returns:
            The paths written, sorted.
        """
        keys = set(feeds)
        written: list[str] = []
        for key in sorted(keys):
            paths = [key.path(fmt) for fmt in FeedFormat]
            written.extend(self._write_latest(paths, functools.partial(self._render_feed, key)))
        if MAIN_FEED in keys:
            written.extend(self.refresh_news_sitemap())
            written.extend(self._write_latest([STYLESHEET_PATH], lambda: [stylesheet_file()]))
        self._announce(written)
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
                if before is not None and before.digest == _digest(file.body):
                    continue
                try:
                    self.feeds.put(file.path, file.body, file.content_type, expected=before)
                    written.append(file.path)
                except ConcurrentUpdateError:
                    pending.append(file.path)
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
        rewriting for each); the paths written are reported with the first outcome.
        """
        applied: list[tuple[str, str, InvalidArticleError | None]] = []
        touched: set[FeedKey] = set()
        for key in self.index.due(_sortable(self.clock()), limit):
            old = self.index.state(key)
            if old is None or old.status != "scheduled":
                continue  # another run (or an edit) got there first
            done, new, action, error = self._transition(
                ArticleChange(key, False, old.sequencer), old
            )
            if done:
                applied.append((key, action, error))
                touched |= self._touched(new)
        written = self.rebuild(touched)
        if MAIN_FEED not in touched:  # articles age out of it even when nothing is published
            written += tuple(self.refresh_news_sitemap())
        return [
            PublishOutcome(key, action, written if i == 0 else (), error)
            for i, (key, action, error) in enumerate(applied)
        ]

    def reindex(self) -> ReindexReport:
        """Rebuild the index and every feed from the content bucket (the source of truth).

        Every article is read and validated again; index states whose article is gone are
        removed. Used to recover from lost events and after ``site.yaml`` changes.
        """
        report = ReindexReport()
        touched: set[FeedKey] = {MAIN_FEED}
        keys = set(self.content.list_articles())
        for state in list(self.index.states()):
            touched |= state.feeds
            if state.key not in keys and state.status != "deleted":
                touched |= self._force(state.key, True, state)
        for article_key in sorted(keys):
            touched |= self._force(article_key, False, self.index.state(article_key), report)
        report.articles = len(keys) - len(report.rejected)
        touched.update(archive_key(month) for month in self.index.months())
        report.feeds_written = len(self.rebuild(touched))
        return report

    def _force(
        self, key: str, deleted: bool, old: ArticleState | None, report: ReindexReport | None = None
    ) -> frozenset[FeedKey]:
        """Apply the bucket's truth about ``key`` whatever the sequencers say (reindex)."""
        for _attempt in range(MAX_ATTEMPTS):
            sequencer = old.sequencer if old else normalise_sequencer("0")
            applied, new, _action, error = self._transition(
                ArticleChange(key, deleted, sequencer), old
            )
            if applied:
                if error is not None and report is not None:
                    report.rejected.append(error)
                return new.feeds | (old.feeds if old else frozenset())
            old = self.index.state(key)
        raise ConcurrentUpdateError(f"{key}: index kept changing during reindex")


def _shown_in(state: ArticleState | None) -> frozenset[FeedKey]:
    """Every feed the article of ``state`` is shown in, its month's archive included."""
    if state is None:
        return frozenset()
    month = state.archive_month
    return state.feeds | {archive_key(month)} if month else state.feeds


def _sortable(moment: datetime) -> str:
    """Fixed-width UTC time: string order is time order in the index's sort keys."""
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def _digest(body: bytes) -> str:
    from newswire.adapters.s3 import digest

    return digest(body)
