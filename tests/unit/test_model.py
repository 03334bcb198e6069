"""Domain values travel between build processes intact."""

from __future__ import annotations

import pickle

from newswire.domain.model import Tag
from newswire.errors import InvalidArticleError
from tests.support.factories import make_article, make_entry, make_feed


def test_articles_entries_and_feeds_survive_pickling_between_processes() -> None:
    # Builds send them between worker processes and keep them in their cache.
    entry = make_entry(1)
    feed = make_feed(entry, make_entry(2))
    article = make_article("Body *text*.", tags=(Tag("World", "world"),))

    for value in (entry, feed, feed.key, article, article.authors[0]):
        assert pickle.loads(pickle.dumps(value)) == value


def test_a_rejection_survives_pickling_with_every_field() -> None:
    # Rejections travel from build workers and are kept in the build cache.
    error = InvalidArticleError("articles/a.md", "published", "is not a date", "2024-01-01")

    copy = pickle.loads(pickle.dumps(error))

    assert (copy.key, copy.field, copy.problem, copy.expected) == (
        "articles/a.md",
        "published",
        "is not a date",
        "2024-01-01",
    )
    assert str(copy) == str(error)
