"""Reindex: the index and every feed rebuilt from the content bucket, in phases that fan out.

The content bucket is the source of truth; a reindex recovers from lost events and applies a
``site.yaml`` change to every feed. Its phases are the unit of work of every executor:

1. :func:`sweep`: index states whose article is gone from the bucket are removed;
2. :func:`index_articles`: each batch of keys is read, validated and indexed again;
3. :func:`feeds_to_render`: every feed an article is in, or was in before this reindex;
4. :func:`render_feeds`: each group of feeds rendered and written (unchanged bytes are left);
   with the main feed, the feed of each partner no longer in ``site.yaml`` is deleted, with
   each archive, the sitemap parts its month no longer needs are emptied. A
   group leaves the feed directory alone (every group would race for it, the work growing
   with the square of the feeds): it returns the listings it rendered;
5. :func:`write_directory`: the directory written once, from every group's listings.

In AWS a Step Functions Distributed Map runs phases 2 and 4 over batches
(:mod:`newswire.handlers.reindex`, ``infra/``); :func:`reindex` runs them all in this process
(``newswire reindex``, ``newswire serve``). Each phase is safe to run again, and safe beside
publishers: every index change is a compare-and-set and every feed write conditional.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from functools import partial
from itertools import chain, islice

from newswire.content.articles import is_published_key
from newswire.domain.feeds import ALWAYS_PUBLISHED, MAIN_FEED, FeedKey, FeedKind, archive_key
from newswire.domain.partners import Partner
from newswire.errors import ConcurrentUpdateError, InvalidArticleError
from newswire.pipeline.directory import RenderedListing
from newswire.pipeline.outcomes import ReindexReport
from newswire.pipeline.ports import ArticleState, ArticleStatus, FeedObject, feed_digest
from newswire.pipeline.publisher import Publisher
from newswire.rendering.sitemap import (
    SITEMAP_CONTENT_TYPE,
    month_sitemap_path,
    render_sitemap,
    sitemap_parts,
)

#: Articles per index invocation: a batch's reads and transactions, a few at once, stay well
#: inside a minute.
INDEX_BATCH = 250
#: Feeds per render invocation: archives hold a month of full articles each, so a group of
#: them stays within a Lambda's memory.
RENDER_BATCH = 40
#: Invocations in flight at once in each phase of a deployed reindex: enough to finish 100,000
#: articles in minutes, few enough to leave DynamoDB and the publish function room.
MAP_CONCURRENCY = 40


@dataclass(slots=True)
class IndexReport:
    """What one batch of :func:`index_articles` did."""

    articles: int = 0
    rejected: list[InvalidArticleError] = field(default_factory=list)
    skipped: int = 0  # keys that are not articles (hidden files, folders)


def sweep(publisher: Publisher) -> int:
    """Remove from the index every article whose file is gone (one listing, one scan); how
    many were removed. Their feeds are rendered by the render phase (they keep them as
    ``previous_feeds``)."""
    listed = set(publisher.content.list_articles())
    gone = [
        state
        for state in publisher.index.states()
        if state.key not in listed and state.status is not ArticleStatus.DELETED
    ]

    def remove(state: ArticleState) -> list[tuple[str, str]]:
        # the scanned state: a change since makes the compare-and-set fail, and force reads again
        _, run = publisher.indexer.in_run(
            partial(publisher.indexer.force, state.key, state, deleted=True)
        )
        return run.woken

    _forget(publisher, publisher.pool.map(remove, gone))
    return len(gone)


def index_articles(publisher: Publisher, keys: Iterable[str]) -> IndexReport:
    """Read, validate and index again each article of ``keys``, several at once.

    The batch's states are read together; each article then costs a read of its file and one
    index transaction. Waits an article let go are finished here (its waiters published), and
    forgotten at the end: the render phase rebuilds every feed anyway.

    Raises:
        TransientStorageError, StorageError, ConcurrentUpdateError: retrying the batch is safe.
    """
    wanted = list(dict.fromkeys(keys))
    articles = [key for key in wanted if is_published_key(key)]
    report = IndexReport(skipped=len(wanted) - len(articles))
    states = publisher.index.states_of(articles)
    # Read (and validated) together; files sharing an id are then indexed one after another,
    # in key order, so the first holds it as in a build (unless another file held it before).
    read = dict(zip(articles, publisher.pool.map(publisher.indexer.read, articles), strict=True))
    by_id: dict[str, list[str]] = {}
    for key in articles:
        found = read[key]
        by_id.setdefault(key if isinstance(found, Exception) else found[0].id, []).append(key)

    def index(keys: list[str]) -> list[tuple[InvalidArticleError | None, list[tuple[str, str]]]]:
        done = []
        for key in keys:
            (_old, step), run = publisher.indexer.in_run(
                partial(publisher.indexer.force, key, states.get(key)), {key: read.pop(key)}
            )
            done.append((step.error, run.woken))
        return done

    results = [done for group in publisher.pool.map(index, by_id.values()) for done in group]
    report.rejected = [error for error, _woken in results if error is not None]
    report.articles = len(articles) - len(report.rejected)
    _forget(publisher, [woken for _error, woken in results])
    return report


def feeds_to_render(publisher: Publisher) -> list[str]:
    """Ids of every feed to render after indexing, the main feed first: every feed an article
    is in or was in before its last change (an emptied feed is rendered empty), and every
    month's archive."""
    feeds: set[FeedKey] = set(ALWAYS_PUBLISHED)
    for state in publisher.index.states():
        feeds |= state.feeds | state.previous_feeds
    feeds.update(archive_key(month) for month in publisher.index.months())
    return [MAIN_FEED.id, *sorted(key.id for key in feeds if key != MAIN_FEED)]


@dataclass(frozen=True, slots=True)
class RenderedGroup:
    """What one group of :func:`render_feeds` did: how many objects it wrote or deleted, and
    the directory listing of each listed feed it rendered (for :func:`write_directory`)."""

    written: int
    listings: tuple[RenderedListing, ...]


def render_feeds(publisher: Publisher, feed_ids: Sequence[str]) -> RenderedGroup:
    """Render and write the feeds ``feed_ids`` name, all but the feed directory. The main
    feed brings the news sitemap, the sitemap index, the stylesheet and the partner feeds
    with it (and the removal of disabled partners' feeds), each month's archive its sitemap
    (and the emptying of the parts it no longer needs: :func:`empty_stale_sitemap_parts`).

    Raises:
        TransientStorageError, StorageError, ConcurrentUpdateError: retrying is safe.
    """
    keys = [FeedKey.from_id(f) for f in feed_ids]
    rebuilt = publisher.writer.rebuild(keys, directory=False)
    written = len(rebuilt.or_raise())
    if MAIN_FEED.id in feed_ids:
        written += remove_disabled_partner_feeds(publisher)
    months = [key.slug for key in keys if key.kind is FeedKind.ARCHIVE]
    if months:
        written += empty_stale_sitemap_parts(publisher, months)
    return RenderedGroup(written, rebuilt.listings)


def write_directory(publisher: Publisher, listings: Iterable[RenderedListing]) -> int:
    """Write the feed directory once, from the ``listings`` every render group returned;
    how many of its documents were written. A feed changed by a publish since its group
    rendered it keeps the listing that publish gave it.

    Raises:
        TransientStorageError, StorageError, ConcurrentUpdateError: retrying is safe.
        DirectoryFormatError: the published directory is in a newer format.
    """
    return len(publisher.writer.write_directory(listings).or_raise())


def remove_disabled_partner_feeds(publisher: Publisher) -> int:
    """Delete the feed of every partner not in ``site.yaml`` that the feeds bucket still holds;
    how many were deleted.

    A partner taken out of ``partners:`` would otherwise read its last feed forever; the
    ``site.yaml`` change starts a reindex, whose render phase brings this with the main feed.
    Only a feed that exists is deleted, so a site that never had the partner deletes nothing.
    """
    enabled = {feed.partner for feed in publisher.site.partners}
    paths = [partner.path for partner in Partner if partner not in enabled]
    found = publisher.pool.map(publisher.feeds.head, paths)
    stale = [path for path, head in zip(paths, found, strict=True) if head is not None]
    for path in stale:
        publisher.feeds.delete(path)
    return len(stale)


def empty_stale_sitemap_parts(publisher: Publisher, months: Sequence[str]) -> int:
    """Empty every part of the ``months``' sitemaps that the feeds bucket holds beyond the
    parts each month needs now; how many were emptied.

    A rebuild empties the part after a month's last when the month may just have shrunk
    (:func:`~newswire.rendering.sitemap.may_have_shrunk`); a month that lost more at once
    (a ``timezone`` change moving thousands of articles) has its stale parts emptied here,
    in the reindex such a change starts. Each month's next part is read (a HEAD per month,
    all at once), and the parts after one found; the months are counted after those reads,
    so a part a publisher wrote meanwhile for a month grown back is counted as needed, and
    one it writes later makes the conditional write here lose (the publisher's is newer).
    """
    empty = render_sitemap([])
    empty_digest = feed_digest(empty)
    before = publisher.index.months()
    found: list[tuple[str, int, FeedObject]] = []
    looking = [(month, sitemap_parts(before.get(month, 0)) + 1) for month in months]
    while looking:
        heads = publisher.pool.map(
            lambda wanted: publisher.feeds.head(month_sitemap_path(*wanted)), looking
        )
        held = [(m, part, h) for (m, part), h in zip(looking, heads, strict=True) if h]
        found += held
        looking = [(month, part + 1) for month, part, _head in held]
    counts = publisher.index.months()
    stale = [
        (month_sitemap_path(month, part), head)
        for month, part, head in found
        if part > sitemap_parts(counts.get(month, 0)) and head.digest != empty_digest
    ]

    def write_empty(path: str, head: FeedObject) -> bool:
        try:
            publisher.feeds.put(path, empty, SITEMAP_CONTENT_TYPE, expected=head)
        except ConcurrentUpdateError:
            return False  # written since it was read: by a publisher, who knew the count
        return True

    return sum(publisher.pool.map(lambda item: write_empty(*item), stale))


def reindex(publisher: Publisher) -> ReindexReport:
    """Every phase, here, in order: what ``newswire reindex`` and ``newswire serve`` run."""
    sweep(publisher)
    report = ReindexReport()
    for batch in _batches(publisher.content.list_articles(), INDEX_BATCH):
        indexed = index_articles(publisher, batch)
        report.articles += indexed.articles
        report.rejected += indexed.rejected
    listings: list[RenderedListing] = []
    for group in _batches(feeds_to_render(publisher), RENDER_BATCH):
        rendered = render_feeds(publisher, group)
        report.feeds_written += rendered.written
        listings += rendered.listings
    report.feeds_written += write_directory(publisher, listings)
    return report


def _forget(publisher: Publisher, woken: Iterable[list[tuple[str, str]]]) -> None:
    """Take the articles a phase woke off their holders' waiters (the render phase rebuilds
    their feeds, and a reindex that dies is run again whole)."""
    for holder, key in dict.fromkeys(chain.from_iterable(woken)):
        publisher.index.forget_waiter(holder, key)


def _batches(items: Iterable[str], size: int) -> Iterable[list[str]]:
    iterator = iter(items)
    while batch := list(islice(iterator, size)):
        yield batch
