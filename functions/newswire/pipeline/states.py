"""The state an article's change leads to, from its state before and its file now.

Pure rules, no storage: every path a change takes (an edit, a rename's wake, a takeover, an
article coming due, a reindex) judges the article alike, and
:class:`~newswire.pipeline.indexer.Indexer` compare-and-sets what they give into the index.
"""

from __future__ import annotations

import dataclasses
from datetime import datetime

from newswire.domain.feeds import MAIN_FEED, FeedKey, archive_key, feed_keys_for, month_of
from newswire.domain.model import Article, Entry
from newswire.errors import InvalidArticleError
from newswire.pipeline.changes import ArticleChange, PublishAction
from newswire.pipeline.outcomes import NextState
from newswire.pipeline.ports import ArticleState, ArticleStatus
from newswire.pipeline.tombstones import tombstones_hidden, tombstones_live, tombstones_removed

#: What a change that led to each status did: told again for a wake its run died in.
ACTION_OF = {
    ArticleStatus.LIVE: PublishAction.PUBLISHED,
    ArticleStatus.DRAFT: PublishAction.HIDDEN,
    ArticleStatus.SCHEDULED: PublishAction.HIDDEN,
    ArticleStatus.DELETED: PublishAction.REMOVED,
    ArticleStatus.WITHDRAWN: PublishAction.WITHDRAWN,
    ArticleStatus.EXPIRED: PublishAction.EXPIRED,
}


def removed_state(change: ArticleChange, old: ArticleState | None, now: datetime) -> ArticleState:
    """The state of an article whose key has no current version at ``now``."""
    # Removed again (a redundant event, or after a takeover): the feeds it last left are
    # checked again, in case the run that removed it died before rebuilding them.
    removed_again = old is not None and old.status is ArticleStatus.DELETED
    left = old.previous_feeds if old is not None and removed_again else shown_in(old)
    return ArticleState(
        change.key,
        change.sequencer,
        ArticleStatus.DELETED,
        previous_feeds=left,
        tombstones=tombstones_removed(old, now),
    )


def rejected_state(
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
            # a deleted article's tombstones stay their 30 days: a broken copy put back
            # is in no feed, and must not take back the word its readers were given
            tombstones=old.tombstones if old is not None else frozenset(),
        )
    return ArticleState(
        change.key,
        change.sequencer,
        old.status,
        article_id=old.article_id,
        feeds=old.feeds,
        previous_feeds=shown_in(old),
        published=old.published,
        has_report=True,
        waiting_on=waiting_on,
        tombstones=old.tombstones,
        expires=old.expires,
    )


def kept_state(
    change: ArticleChange, old: ArticleState | None, error: InvalidArticleError, now: datetime
) -> ArticleState:
    """:func:`rejected_state`, taken out of its feeds if the version it keeps has expired by
    ``now`` (a rejected edit must not keep an expired article in its feeds)."""
    kept = rejected_state(change, old, error)
    expires = kept.expires if kept.status is ArticleStatus.LIVE else None
    if expires is not None and expires <= now:
        return dataclasses.replace(kept, status=ArticleStatus.EXPIRED, feeds=frozenset())
    return kept


def read_state(
    change: ArticleChange, old: ArticleState | None, article: Article, entry: Entry, now: datetime
) -> NextState:
    """The state a valid ``article`` leads to at ``now``: live in its feeds (showing
    ``entry``), or kept out of them (a draft, scheduled, withdrawn or expired)."""
    if not article.is_live(now):
        hidden = ArticleState(
            change.key,
            change.sequencer,
            hidden_status(article, now),
            article_id=article.id,
            previous_feeds=shown_in(old),
            published=article.published,
            tombstones=tombstones_hidden(article, old, now),
        )
        return NextState(hidden, None, ACTION_OF[hidden.status], None)
    live = ArticleState(
        change.key,
        change.sequencer,
        ArticleStatus.LIVE,
        article_id=article.id,
        feeds=feed_keys_for(entry),
        previous_feeds=shown_in(old),
        published=article.published,
        expires=article.expires,
        tombstones=tombstones_live(old, article.id, now),
    )
    return NextState(live, entry, PublishAction.PUBLISHED, None)


def hidden_status(article: Article, now: datetime) -> ArticleStatus:
    """Why an article that is not live at ``now`` is kept out of its feeds."""
    if article.draft:
        return ArticleStatus.DRAFT
    if article.published > now:  # withdrawn or not: judged again when it comes due
        return ArticleStatus.SCHEDULED
    if article.withdrawn is not None:
        return ArticleStatus.WITHDRAWN
    return ArticleStatus.EXPIRED


def shown_in(state: ArticleState | None) -> frozenset[FeedKey]:
    """Every feed the article of ``state`` is shown in, its month's archive included, or
    whose Atom document carries one of its tombstones."""
    if state is None:
        return frozenset()
    month = state.archive_month
    shown = state.feeds | {archive_key(month)} if month else state.feeds
    if state.tombstones:  # Atom's main feed and archives carry them
        shown |= {MAIN_FEED, *(archive_key(month_of(t.published)) for t in state.tombstones)}
    return shown


def touched_by(state: ArticleState) -> set[FeedKey]:
    """The feeds the change that led to ``state`` can alter, from ``state`` alone (so a
    redelivered change rebuilds the same): the article's feeds now and before, archives
    included. (The feeds that link a month it filled or emptied are added once per batch:
    :meth:`FeedWriter.linking`.)"""
    return set(shown_in(state) | state.previous_feeds)


def id_taken(key: str, article_id: str, holder: str) -> InvalidArticleError:
    """The rejection of ``key``, whose ``article_id`` the article ``holder`` holds: it waits."""
    return InvalidArticleError(
        key,
        "id",
        f"{article_id!r} is already the id of {holder}",
        "an id (or, without one, a slug) that no other article has; this one is published"
        " once that article is deleted or takes another id",
    )
