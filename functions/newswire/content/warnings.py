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
    time, a build cannot, so each build dates its tombstone anew and keeps it as long.
    """
    return [
        f"{article.key}: withdrawn: no date, and updated ({rfc3339(article.shown_updated)}) is "
        f"over {TOMBSTONE_DAYS} days old, so its tombstone is dated when it is first seen "
        f"(this build: {rfc3339(now)}), anew by every build, expected withdrawn: "
        "{reason: …, date: <when it was withdrawn>}"
        for article in sorted(articles, key=lambda a: a.key)
        if article.published <= now and not article.draft and article.withdrawal_needs_date(now)
    ]
