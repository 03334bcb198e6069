"""What the publisher's steps hand each other and its callers: outcomes, index transitions,
and the log of what one change did to other articles."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import NamedTuple

from newswire.domain.feeds import FeedKey
from newswire.domain.model import Article, Entry
from newswire.errors import ArticleNotFoundError, InvalidArticleError
from newswire.pipeline.changes import PublishAction
from newswire.pipeline.ports import ArticleState, StoredObject


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


@dataclass(frozen=True, slots=True)
class BatchOutcome:
    """What a batch did: per change (in the order given) its outcome, or the error that
    failed it (retrying that change is safe); and every path the batch wrote."""

    results: tuple[PublishOutcome | Exception, ...]
    written: tuple[str, ...] = ()


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


@dataclass(frozen=True, slots=True)
class Indexed:
    """One change applied to the index; its feeds not rebuilt yet."""

    outcome: PublishOutcome
    touched: frozenset[FeedKey]  # the feeds it may have changed
    #: a change run again: its feeds are told to WebSub written or not, and its months'
    #: neighbours rebuilt (the run before may have died before either)
    redelivered: bool = False
    woken: tuple[tuple[str, str], ...] = ()  # (holder, waiter) to forget once rebuilt


@dataclass(slots=True)
class RunLog:
    """What one change did to *other* articles: their outcomes (by key) and the wakes to
    forget once the feeds are rebuilt. One per change; the changes of a batch run at once,
    each in a context of its own."""

    moved: dict[str, PublishOutcome] = field(default_factory=dict)
    woken: list[tuple[str, str]] = field(default_factory=list)
    #: articles read ahead (a reindex batch reads its files together): used once, by the
    #: first read of their key
    read_ahead: dict[str, Read] = field(default_factory=dict)
    #: wakes an earlier change of the same batch finished: still listed until the batch's
    #: feeds are written, they are not told again
    earlier: frozenset[tuple[str, str]] = frozenset()

    def finished(self, holder: str, key: str) -> bool:
        """Whether this change, or an earlier one of its batch, finished this wake."""
        return (holder, key) in self.earlier or (holder, key) in self.woken


#: An article file as read: parsed and rendered, or why it cannot be published.
Read = tuple[Article, Entry] | ArticleNotFoundError | InvalidArticleError


#: An article file as read from the bucket, or why it cannot be (gone, too large).
FileRead = StoredObject | ArticleNotFoundError | InvalidArticleError


@dataclass(frozen=True, slots=True)
class FirstReads:
    """What the first attempt at a change of ``key`` reads, none depending on another: the
    articles waiting for its id, its state and its file (or that it has none)."""

    waiters: Sequence[str]
    state: ArticleState | None
    file: FileRead


@dataclass(slots=True)
class ReindexReport:
    """What a full reindex did."""

    articles: int = 0
    rejected: list[InvalidArticleError] = field(default_factory=list)
    feeds_written: int = 0
