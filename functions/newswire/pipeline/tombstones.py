"""The tombstone an article's change leaves in the index (RFC 6721, in the main and archive
Atom feeds), judged from its state before and the file now.

One slot per article key (:attr:`ArticleState.tombstone`): a withdrawal's, a deletion's, or
the id a live article gave up.
"""

from __future__ import annotations

from datetime import datetime

from newswire.domain.model import Article, Tombstone
from newswire.domain.text import clean_xml_text
from newswire.pipeline.ports import ArticleState, ArticleStatus


def tombstone_left(old: ArticleState | None, now: datetime) -> Tombstone | None:
    """The tombstone a removed article leaves: a withdrawn one's stays as it is, a live
    one's is dated ``now`` (the file says nothing any more) and gives no reason."""
    if old is None:
        return None
    if old.status is ArticleStatus.LIVE and old.article_id and old.published:
        return Tombstone(clean_xml_text(old.article_id), now, None, old.published)
    return old.tombstone


def withdrawal_tombstone(
    article: Article, old: ArticleState | None, now: datetime
) -> Tombstone | None:
    """The tombstone of an article kept out of its feeds at ``now`` (``None`` unless it is
    withdrawn and published). A withdrawal its file does not date is dated when the index
    first saw it (the tombstone already listed for its id), so a later change or a reindex
    does not date it anew (see :meth:`Article.withdrawal_date`)."""
    if article.published > now:
        return None
    earlier = old.tombstone if old is not None else None
    same = earlier is not None and earlier.ref == clean_xml_text(article.id)
    seen = min(earlier.when, now) if earlier is not None and same else now
    return article.tombstone_at(seen)


def id_left(old: ArticleState | None, article_id: str, now: datetime) -> Tombstone | None:
    """The tombstone of the id a live article (now ``article_id``) gave up: readers holding
    the old id must drop it, as they get the article under the new one. Dated ``now``, it
    has no reason; one left so earlier is kept while feeds carry it."""
    if old is None:
        return None
    moved = old.article_id and old.article_id != article_id
    if old.status is ArticleStatus.LIVE and old.article_id and old.published and moved:
        return Tombstone(clean_xml_text(old.article_id), now, None, old.published)
    kept = old.tombstone
    ours = kept is not None and kept.ref == clean_xml_text(article_id)
    return kept if kept is not None and not ours and kept.shown_at(now) else None
