"""The tombstones an article's change leaves in the index (RFC 6721, in the main and archive
Atom feeds), judged from its state before and the file now.

An article key keeps a set of them (:attr:`ArticleState.tombstones`), at most one per id: a
withdrawal's, a deletion's, and one for each id a live article gave up. Each stays its own
30 days, whatever the file does next, unless its id is shown again (the article brought
back under it), so no reader is left holding a copy that never gets a tombstone.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime

from newswire.domain.model import Article, Tombstone
from newswire.domain.text import clean_xml_text
from newswire.pipeline.ports import ArticleState, ArticleStatus

#: The most tombstones one article's state keeps, the newest: an id changed more often than
#: that within 30 days is no edit a newsroom makes, and the state item must fit DynamoDB's
#: 400 KB beside its entry. One it drops stays listed until its 30 days are over.
MAX_KEPT_TOMBSTONES = 10


def tombstones_removed(old: ArticleState | None, now: datetime) -> frozenset[Tombstone]:
    """The tombstones of an article whose file is gone at ``now``: a live one leaves one of
    its id, dated ``now`` with no reason (the file says nothing any more); the ones it had
    stay as they are (a withdrawal's among them)."""
    return _kept_with(old, now, current=None, own=None)


def tombstones_hidden(
    article: Article, old: ArticleState | None, now: datetime
) -> frozenset[Tombstone]:
    """The tombstones of ``article``, kept out of its feeds at ``now`` (a draft, scheduled,
    withdrawn or expired): its withdrawal's, if it is withdrawn and published, beside those
    it had of other ids, and one of the id it was live under if that changed.

    A withdrawal its file does not date is dated when the index first saw it (the withdrawal
    tombstone already kept for its id), so a later change or a reindex does not date it anew
    (see :meth:`Article.withdrawal_date`). Another tombstone of the id (an id change's, a
    deletion's) says nothing of when the withdrawal was seen: the id may have been given up
    weeks before it came back withdrawn.
    """
    own = None
    if article.published <= now:
        earlier = _withdrawal_of(old, article.id)
        own = article.tombstone_at(min(earlier.when, now) if earlier is not None else now)
    return _kept_with(old, now, current=article.id, own=own)


def tombstones_live(
    old: ArticleState | None, article_id: str, now: datetime
) -> frozenset[Tombstone]:
    """The tombstones of an article live under ``article_id`` at ``now``: those it had of
    other ids, and one of the id it gave up if it changed (readers holding the old id must
    drop it, as they get the article under the new one), dated ``now`` with no reason. Its
    own id's goes: it is shown again."""
    return _kept_with(old, now, current=article_id, own=None)


def _kept_with(
    old: ArticleState | None, now: datetime, *, current: str | None, own: Tombstone | None
) -> frozenset[Tombstone]:
    """``old``'s tombstones still shown at ``now``, with the one of the id a live article
    gave up (its id is no longer ``current``) and ``own``, the tombstone of ``current``
    (none: that id has none)."""
    if old is None:
        return frozenset({own} if own is not None else ())
    kept = {t.ref: t for t in old.tombstones if t.shown_at(now)}
    new: list[Tombstone] = []  # this change's: never the ones the cap drops
    dropped = old.article_id and old.article_id != current
    if old.status is ArticleStatus.LIVE and old.article_id and old.published and dropped:
        ref = clean_xml_text(old.article_id)
        new.append(Tombstone(ref, now, None, old.published))
    if current is not None:
        kept.pop(clean_xml_text(current), None)
    if own is not None:
        new.append(own)
    for tombstone in new:
        kept.pop(tombstone.ref, None)
    return frozenset(new) | newest_kept(kept.values(), MAX_KEPT_TOMBSTONES - len(new))


def newest_kept(tombstones: Iterable[Tombstone], most: int) -> frozenset[Tombstone]:
    """The newest ``most`` of ``tombstones`` (by ``when``, then id)."""
    ordered = sorted(tombstones, key=lambda t: (t.when, t.ref), reverse=True)
    return frozenset(ordered[: max(most, 0)])


def _withdrawal_of(old: ArticleState | None, article_id: str) -> Tombstone | None:
    """The withdrawal's tombstone ``old`` keeps of ``article_id`` (the one with a reason),
    if any."""
    ref = clean_xml_text(article_id)
    found = (t for t in old.tombstones if t.ref == ref and t.comment is not None) if old else ()
    return next(iter(found), None)
