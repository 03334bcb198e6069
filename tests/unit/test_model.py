"""Domain values travel between build processes intact."""

from __future__ import annotations

import pickle

from newswire.domain.model import Tag
from tests.support.factories import make_article, make_entry, make_feed


def test_articles_entries_and_feeds_survive_pickling_between_processes() -> None:
    # Builds send them between worker processes, pickled field by field (pickle_by_fields).
    entry = make_entry(1)
    feed = make_feed(entry, make_entry(2))
    article = make_article("Body *text*.", tags=(Tag("World", "world"),))

    for value in (entry, feed, feed.key, article, article.authors[0]):
        assert pickle.loads(pickle.dumps(value)) == value
