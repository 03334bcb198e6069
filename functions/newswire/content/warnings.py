"""What ``newswire check`` and ``newswire build`` warn of in valid articles: what they
publish, but not as their writer would expect."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime

from newswire.domain.model import TOMBSTONE_DAYS, Article, rfc3339


def article_warnings(articles: Iterable[Article], now: datetime) -> list[str]:
    """One line per warning, ``<file>: <field>: <problem>, expected <what to write>``, in
    key order.

    A withdrawal its file does not date (``withdrawn`` a plain reason, ``updated`` over
    :data:`TOMBSTONE_DAYS` old) is dated when it is first seen: the pipeline remembers that
    time, a build cannot, so each build dates its tombstone anew and keeps it as long. One
    dated after ``now`` (a mistyped year) would head the main feed's tombstones until then.
    """
    warnings: list[str] = []
    for article in sorted(articles, key=lambda a: a.key):
        if article.published > now or article.draft:
            continue
        if article.withdrawal_needs_date(now):
            warnings.append(
                f"{article.key}: withdrawn: no date, and its last update "
                f"({rfc3339(article.shown_updated)}) is over {TOMBSTONE_DAYS} days old, so its "
                f"tombstone is dated when it is first seen (this build: {rfc3339(now)}), anew "
                "by every build, expected withdrawn: {reason: …, date: <when it was withdrawn>}"
            )
        if article.withdrawn is not None and article.withdrawn_at and article.withdrawn_at > now:
            warnings.append(
                f"{article.key}: withdrawn.date: {rfc3339(article.withdrawn_at)} is after this "
                f"build's time ({rfc3339(now)}), so its tombstone stays until "
                f"{TOMBSTONE_DAYS} days after it, expected the time the article was withdrawn, "
                "not later than now"
            )
    return warnings
