"""Scheduled publishing and expiry: what comes due is published (or taken out) on time,
exactly once, without anyone touching the article.

The index lists each scheduled article at its ``published`` time and each live one that
expires at its ``expires`` time; :func:`publish_due` runs every minute (EventBridge in AWS, a
timer in ``newswire serve``) and also takes the tombstones whose 30 days are over out of the
Atom documents.
"""

from __future__ import annotations

import dataclasses
from collections import Counter
from dataclasses import dataclass, field
from functools import partial

from newswire.domain.feeds import MAIN_FEED, FeedKey, FeedKind, archive_key, month_of
from newswire.errors import InvalidArticleError
from newswire.pipeline.changes import ArticleChange, PublishAction, forced_sequencer
from newswire.pipeline.indexer import Indexer
from newswire.pipeline.outcomes import PublishOutcome
from newswire.pipeline.ports import ArticleStatus, Due
from newswire.pipeline.states import touched_by


def publish_due(indexer: Indexer, limit: int = 100) -> list[PublishOutcome]:
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
    due, run = indexer.in_run(partial(_publish_due, indexer, limit))
    writer = indexer.writer
    applied = due.applied
    entered = Counter(f.slug for f in due.touched if f.kind is FeedKind.ARCHIVE)
    with_neighbours = writer.linking({month: len(applied) for month in entered})
    # a run that died may have filled or emptied a month: relinked whatever the counts
    touched = with_neighbours(due.touched) | with_neighbours(due.left, relink=True)
    now = indexer.clock()
    over = [t for t in indexer.index.tombstones() if not t.shown_at(now)]
    if over:  # out of the Atom documents now, off the list once they are written
        touched |= {MAIN_FEED, *(archive_key(month_of(t.published)) for t in over)}
    written = writer.rebuild(touched, months=with_neighbours.months).or_raise()
    indexer.forget_woken(run.woken)
    for done in due.done:
        indexer.index.forget_due(done)
    for tombstone in over:
        indexer.index.forget_tombstone(tombstone)
    if MAIN_FEED not in touched:  # articles age out of it even when nothing is published
        written += writer.refresh_news_sitemap()
    published = {key for key, _action, _error in applied}
    outcomes = [PublishOutcome(key, action, (), error) for key, action, error in applied]
    outcomes += [o for key, o in sorted(run.moved.items()) if key not in published]
    if outcomes:
        outcomes[0] = dataclasses.replace(outcomes[0], feeds_written=tuple(sorted(written)))
    return outcomes


def _publish_due(indexer: Indexer, limit: int) -> _DueRun:
    """Publish each due article (in the current run); what to rebuild and forget."""
    run = _DueRun()
    for due in indexer.index.due(indexer.clock(), limit):
        old = indexer.index.state(due.key)
        run.done.append(due)
        if old is None:
            continue  # never indexed: nothing to write
        # its expiry: read again, it leaves its feeds (unless edited since)
        expiring = old.status is ArticleStatus.LIVE and old.expires == due.at
        if not expiring and old.status is not ArticleStatus.SCHEDULED:
            # published (or expired) by a run that died before its feeds were written,
            # or edited since: its feeds are written again (unchanged ones are left)
            run.left |= touched_by(old)
            continue
        if not expiring and old.published != due.at:
            continue  # scheduled again, for another time: listed for that one too
        change = ArticleChange(due.key, False, forced_sequencer(old.sequencer))
        step = indexer.transition(change, old, keep_due=True)
        run.touched |= step.also_touched
        if step.applied:
            run.applied.append((due.key, step.action, step.error))
            run.touched |= touched_by(step.state)
        else:
            run.done.pop()  # changed meanwhile: looked at again by the next run
    return run


@dataclass(slots=True)
class _DueRun:
    """What a run of :func:`publish_due` did: the changes applied, the feeds they
    touched, those of articles a run that died published (``left``), and the due items to
    forget once the feeds are written."""

    applied: list[tuple[str, PublishAction, InvalidArticleError | None]] = field(
        default_factory=list
    )
    touched: set[FeedKey] = field(default_factory=set)
    left: set[FeedKey] = field(default_factory=set)
    done: list[Due] = field(default_factory=list)
