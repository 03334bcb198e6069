"""The partner feeds of a build, and what partners would say of its articles.

A build's parent holds articles without their bodies (:mod:`newswire.buildworkers`), and a
partner item is not one of the three formats every worker renders: so the few articles a
partner feed shows (the main feed's) are read and rendered again here, as the pipeline
renders them from the index. Nothing of this runs for a site with no partner.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime

from newswire.content.articles import ArticleFile
from newswire.domain.model import Article, Entry, SiteConfig
from newswire.domain.partners import Finding, site_findings
from newswire.errors import InvalidArticleError
from newswire.pipeline.prepare import prepare_article
from newswire.rendering.base import FeedFile
from newswire.rendering.partners import render_partner_files

#: An article file as a build is given it: ``(key, bytes)``, or a file read when needed.
Source = tuple[str, bytes] | ArticleFile


def partner_files(
    shown: Sequence[Article], sources: Mapping[str, Source], site: SiteConfig
) -> list[FeedFile]:
    """Every enabled partner's feed of ``shown`` (the main feed's articles, newest first).

    An article whose file can no longer be read or parsed (changed during the build) is left
    out, as the next build would leave it.
    """
    entries: list[Entry] = []
    for article in shown:
        source = sources[article.key]
        data = source.read() if isinstance(source, ArticleFile) else source[1]
        if isinstance(data, InvalidArticleError):
            continue
        try:
            entries.append(prepare_article(article.key, data, site)[1])
        except InvalidArticleError:
            continue
    return render_partner_files(site, entries)


def build_findings(articles: Sequence[Article], site: SiteConfig, now: datetime) -> list[Finding]:
    """What the enabled partners would refuse or downgrade among ``articles`` (drafts, and
    articles withdrawn or expired, which no partner gets, left out), judged at ``now``, with
    each partner feed holding the main feed's item count."""
    seen = [
        article
        for article in articles
        if not article.draft
        and article.withdrawn is None
        and (article.expires is None or now < article.expires)
    ]
    live = sum(1 for article in seen if article.is_live(now))
    items = min(live, site.items_per_feed)
    return site_findings(seen, (feed.partner for feed in site.partners), now, items)
