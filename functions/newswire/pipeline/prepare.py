"""An article file as every executor of the engine reads it, before the index or the feeds.

The publish and reindex functions index what :func:`prepare_article` gives; ``newswire
build``'s workers render its items and assemble feeds from them. One function, so that an
article one executor publishes is never one another rejects.
"""

from __future__ import annotations

from newswire.content.articles import parse_article
from newswire.domain.model import Article, Entry, SiteConfig
from newswire.pipeline.ports import check_entry_size
from newswire.rendering.entry import render_entry


def prepare_article(key: str, data: bytes, site: SiteConfig) -> tuple[Article, Entry]:
    """Parse, validate and render the file ``key`` holding ``data``.

    Returns:
        The article and the entry its feeds show.

    Raises:
        InvalidArticleError: every problem found in the file, or an entry too large for the
            index.
    """
    article = parse_article(key, data, site)
    entry = render_entry(article)
    check_entry_size(key, entry)
    return article, entry
