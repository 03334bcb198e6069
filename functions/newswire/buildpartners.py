"""The partner feeds of a build, and what partners would say of its articles.

A build's parent holds articles without their bodies (:mod:`newswire.buildworkers`), and a
partner item is not one of the three formats every worker renders: so the few articles a
partner feed shows (the main feed's) are read and rendered again here, as the pipeline
renders them from the index. Nothing of this runs for a site with no partner.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime

from newswire.content.articles import ArticleFile, ArticleInput
from newswire.domain.feeds import MAIN_FEED, plan_feeds
from newswire.domain.model import Article, Entry, SiteConfig
from newswire.domain.partners import (
    Finding,
    excerpt_finding,
    feed_findings,
    item_finding,
    site_findings,
    site_rule_findings,
)
from newswire.errors import InvalidArticleError
from newswire.pipeline.prepare import prepare_article
from newswire.rendering.base import FeedFile
from newswire.rendering.partners import (
    PartnerDocument,
    partner_description,
    render_partner_documents,
)


@dataclass(frozen=True, slots=True)
class PartnerFeeds:
    """The partner feeds of a build, and the key of each article they were offered.

    Attributes:
        documents: each enabled partner's feed, as rendered.
        keys: the key of each entry the feeds were offered, in their order.
        excerpts: the ``description`` of each entry's item, in the same order.
    """

    documents: list[PartnerDocument]
    keys: list[str]
    excerpts: list[str]

    @property
    def files(self) -> list[FeedFile]:
        """The documents to write."""
        return [document.file for document in self.documents]


def main_feed_articles(
    articles: Iterable[Article], site: SiteConfig, now: datetime
) -> list[Article]:
    """The articles the main feed shows at ``now``, newest first, as a build plans it."""
    live = [article for article in articles if article.is_live(now)]
    live.sort(key=lambda article: article.sort_key, reverse=True)
    return next(shown for key, shown in plan_feeds(live, site).items() if key == MAIN_FEED)


def partner_files(
    shown: Sequence[Article], sources: Mapping[str, ArticleInput], site: SiteConfig
) -> PartnerFeeds:
    """Every enabled partner's feed of ``shown`` (the main feed's articles, newest first).

    An article whose file can no longer be read or parsed (changed during the build) is left
    out, as the next build would leave it.
    """
    entries: list[Entry] = []
    keys: list[str] = []
    for article in shown:
        source = sources[article.key]
        data = source.read() if isinstance(source, ArticleFile) else source[1]
        if isinstance(data, InvalidArticleError):
            continue
        try:
            entries.append(prepare_article(article.key, data, site)[1])
        except InvalidArticleError:
            continue
        keys.append(article.key)
    excerpts = [partner_description(entry) for entry in entries]
    return PartnerFeeds(render_partner_documents(site, entries), keys, excerpts)


def judged_articles(articles: Iterable[Article], now: datetime) -> list[Article]:
    """The articles partners are judged on at ``now``: live or scheduled (drafts, and
    articles withdrawn or expired, which no partner gets, left out)."""
    return [
        article
        for article in articles
        if not article.draft
        and article.withdrawn is None
        and (article.expires is None or now < article.expires)
    ]


def build_findings(
    articles: Sequence[Article], site: SiteConfig, now: datetime, feeds: PartnerFeeds
) -> list[Finding]:
    """What the enabled partners would refuse or downgrade among ``articles`` (drafts, and
    articles withdrawn or expired, which no partner gets, left out), judged at ``now``; in
    their ``feeds`` as rendered (an item too big or its excerpt too short, a feed trimmed by
    its byte limit below a partner's item floor); and in what ``site.yaml`` gives each
    feed's channel.

    Returns:
        The findings, by article key, then partner order; the feeds' last.
    """
    seen = judged_articles(articles, now)
    found = site_findings(seen, (feed.partner for feed in site.partners), now)
    for document in feeds.documents:
        partner = document.feed.partner
        for key, size in zip(feeds.keys, document.item_bytes, strict=True):
            finding = item_finding(key, partner, size, document.room, document.limit)
            if finding is not None:
                found.append(finding)
        for key, excerpt in zip(feeds.keys, feeds.excerpts, strict=True):
            finding = excerpt_finding(key, partner, excerpt)
            if finding is not None:
                found.append(finding)
    found.sort(key=lambda finding: finding.where)  # stable: partner order within an article
    for document in feeds.documents:
        partner = document.feed.partner
        found += feed_findings(partner, document.offered, document.shown, document.limit)
        found += site_rule_findings(partner, site)
    return found
