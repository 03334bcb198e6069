"""What the first attempt at a change reads, all at once: the articles waiting for its id,
its state and its file, none depending on another, so a publish waits for one round trip
before its index transaction (and a handler reads ``site.yaml`` in the same one)."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from functools import partial
from typing import TypeVar, cast

from newswire.errors import ArticleNotFoundError, InvalidArticleError
from newswire.pipeline.concurrency import IOPool
from newswire.pipeline.outcomes import FileRead, FirstReads
from newswire.pipeline.ports import ArticleIndex, ArticleState, ContentStore

T = TypeVar("T")


def read_file(content: ContentStore, key: str) -> FileRead:
    """The file ``key`` as read, or why it cannot be (gone, or too large to read): what its
    change is told, not a failure to retry."""
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
    so, before it has a :class:`~newswire.pipeline.publisher.Publisher`, and a publish waits
    for one round trip before its index transaction, not two. A key whose reads failed is
    left out: its change reads again, and fails alone if it must.

    Raises:
        Whatever ``also`` raised.
    """
    wanted = list(dict.fromkeys(keys))
    calls: list[Callable[[], object]] = [also]
    for key in wanted:
        calls += [
            partial(index.waiters, key),
            partial(index.state, key),
            partial(read_file, content, key),
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


def _settled_call(call: Callable[[], object]) -> object:
    """``call()``, or what it raised: one article's failed read must not fail the others."""
    try:
        return call()
    except Exception as e:  # handed back; the change reads again
        return e
