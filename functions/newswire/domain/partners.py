"""Syndication partners: which exist, what each requires, and what each would refuse.

A partner feed (``partners/<name>/rss.xml``) carries the main feed's newest articles in the
form one aggregator reads. Each partner's rules come from its own published specification;
the table below names the source of each rule, so a rule can be checked against it again.

| Partner | Rule | Source |
|---|---|---|
| msn | title more than 20 and at most 150 characters | [1] |
| msn | published within the last 365 days, else not ingested | [1] |
| msn | only articles with an image publish automatically | [2] |
| msn | recommended: images at least 720 px in height or width (a downgrade, not a refusal) | [2] |
| msn | an update is read from ``dcterms:modified``, under the same id | [3] |
| msn | an item is taken down at its ``dcterms:valid`` (expiry) time | [3] |
| google-news | at most 2 MB per feed (1 MB per article); ``guid`` identifies an article | [4] |
| google-news | an update is read from ``pubDate`` | [4] |
| google-news | an image's shortest side at least 800 px | [5] |
| flipboard | full body; an image per article, at least 400 px on its shortest side | [6] |
| flipboard | at least 30 items | [6] |
| smartnews | SmartFormat: RSS 2.0, ``snf:logo``, ``media:thumbnail``, at most 1 MB | [7] |
| newsbreak | full articles with images; author bylines and image credits | [8] |

Sources:

[1]
    https://support.microsoft.com/msn/partner-hub/msn-feed-item-metadata-requirements
[2]
    https://support.microsoft.com/msn/partner-hub/feed-content-specifications-in-msn-partner-hub
[3]
    https://support.microsoft.com/topic/msn-content-expiration-and-takedown-rules-c06e8a18-8365-43dc-a5b3-364f1a470edf
[4]
    https://support.google.com/news/publisher-center/answer/9545420
[5]
    https://support.google.com/news/producer/answer/4304250
[6]
    https://about.flipboard.com/rss-spec/
[7]
    https://publishers.smartnews.com/hc/en-us/articles/360036526213-SmartFormat-Specification-Version-2-1
[8]
    https://support.newsbreak.com/publisher-faq
"""

from __future__ import annotations

import enum
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Final

from newswire.domain.text import counted

if TYPE_CHECKING:  # the model imports this module for SiteConfig.partners
    from newswire.domain.model import Article


class Partner(enum.StrEnum):
    """A syndication partner, by the name ``site.yaml`` and its feed's folder use."""

    MSN = "msn"
    GOOGLE_NEWS = "google-news"
    FLIPBOARD = "flipboard"
    SMARTNEWS = "smartnews"
    NEWSBREAK = "newsbreak"

    @property
    def path(self) -> str:
        """The feed's path relative to ``feeds_url``."""
        return f"partners/{self.value}/rss.xml"

    @property
    def rules(self) -> PartnerRules:
        """What this partner requires."""
        return RULES[self]


@dataclass(frozen=True, slots=True)
class PartnerRules:
    """One partner's requirements, as its specification states them (see the module table).

    Attributes:
        label: the partner's name as people write it, for messages.
        max_bytes: the largest feed it reads, if it says (else the site's ``max_feed_bytes``).
        max_item_bytes: the largest article it reads, if it says.
        min_items: the fewest items it takes a feed with, if it says.
        title_chars: the shortest and longest title it takes, if it says.
        image_required: it refuses, or does not publish by itself, an article with no image.
        image_note: what it does with an article without one, for messages.
        min_long_side: the smallest longer side of a lead image it recommends, in pixels
            (a downgrade: it still takes a smaller one).
        min_short_side: the smallest shortest side of a lead image it takes, in pixels.
        credit_required: it wants every image credited.
        max_age: the oldest article it ingests.
        updated_by_pub_date: it reads an update from ``pubDate``, so that carries ``updated``.
        modified_element: it reads an update from ``dcterms:modified``.
        valid_element: it takes an article down at its ``dcterms:valid`` time (the
            article's ``expires``).
        settings: the settings ``site.yaml`` may give it.
    """

    label: str
    max_bytes: int | None = None
    max_item_bytes: int | None = None
    min_items: int | None = None
    title_chars: tuple[int, int] | None = None
    image_required: bool = False
    min_long_side: int | None = None
    min_short_side: int | None = None
    credit_required: bool = False
    max_age: timedelta | None = None
    image_note: str = "requires one"
    updated_by_pub_date: bool = False
    modified_element: bool = False
    valid_element: bool = False
    settings: frozenset[str] = frozenset()


RULES: Final[dict[Partner, PartnerRules]] = {
    Partner.MSN: PartnerRules(
        "MSN",
        title_chars=(21, 150),
        image_required=True,
        image_note="publishes only articles with one by itself",
        min_long_side=720,
        max_age=timedelta(days=365),
        modified_element=True,
        valid_element=True,
    ),
    Partner.GOOGLE_NEWS: PartnerRules(
        "Google News",
        max_bytes=2_000_000,
        max_item_bytes=1_000_000,
        min_short_side=800,
        updated_by_pub_date=True,
    ),
    Partner.FLIPBOARD: PartnerRules(
        "Flipboard", min_items=30, image_required=True, min_short_side=400
    ),
    Partner.SMARTNEWS: PartnerRules("SmartNews", max_bytes=1_000_000, settings=frozenset({"logo"})),
    Partner.NEWSBREAK: PartnerRules("NewsBreak", image_required=True, credit_required=True),
}


@dataclass(frozen=True, slots=True)
class PartnerFeed:
    """A partner enabled in ``site.yaml``, with its settings.

    Attributes:
        partner: which partner.
        logo: the logo URL SmartNews shows above each article (``snf:logo``).
    """

    partner: Partner
    logo: str | None = None


@dataclass(frozen=True, slots=True)
class Finding:
    """What a partner would refuse or downgrade, and the rule behind it.

    Printed as ``<where>: <partner>: <field>: <problem>, expected <expected>``.
    """

    where: str
    partner: Partner
    field: str
    problem: str
    expected: str

    def __str__(self) -> str:
        return (
            f"{self.where}: {self.partner}: {self.field}: {self.problem}, expected {self.expected}"
        )


def article_findings(article: Article, partner: Partner, now: datetime) -> Iterator[Finding]:
    """Each thing about ``article`` that ``partner`` would refuse or downgrade.

    Reads the article's metadata only (no body), so a build can ask about every article it
    holds; an image of unknown size is not judged by a size rule.

    Args:
        article: a parsed article.
        partner: the partner.
        now: when the partner would read it (for age limits).
    """
    rules = partner.rules

    def finding(field: str, problem: str, expected: str) -> Finding:
        return Finding(article.key, partner, field, problem, expected)

    if rules.title_chars is not None:
        low, high = rules.title_chars
        length = len(article.title)
        if not low <= length <= high:
            yield finding("title", f"{length} characters", f"{low}–{high} ({rules.label})")
    if rules.max_age is not None and now - article.published > rules.max_age:
        days = (now - article.published).days
        yield finding(
            "published",
            f"{days} days ago",
            f"within {rules.max_age.days} days ({rules.label} ingests nothing older)",
        )
    image = article.image
    if image is None:
        if rules.image_required:
            yield finding("image", "missing", f"a lead image ({rules.label} {rules.image_note})")
        return
    known = [side for side in (image.width, image.height) if side is not None]
    if rules.min_long_side is not None and known and max(known) < rules.min_long_side:
        yield finding(
            "image",
            _image_size(image.width, image.height),
            f"at least {rules.min_long_side} px in height or width ({rules.label} recommends it)",
        )
    if rules.min_short_side is not None and image.width is not None and image.height is not None:
        short = min(image.width, image.height)
        if short < rules.min_short_side:
            yield finding(
                "image",
                _image_size(image.width, image.height),
                f"at least {rules.min_short_side} px on the shortest side ({rules.label})",
            )
    if rules.credit_required and not image.credit:
        yield finding("image.credit", "missing", f"who took the image ({rules.label} asks)")


def _image_size(width: int | None, height: int | None) -> str:
    """An image's size as far as known, for messages: ``640×360 px``, ``640 px wide``."""
    if width is not None and height is not None:
        return f"{width}×{height} px"
    return f"{width} px wide" if width is not None else f"{height} px high"


def feed_findings(partner: Partner, offered: int, shown: int, limit: int) -> Iterator[Finding]:
    """What ``partner`` would say of its whole feed, as rendered.

    Args:
        partner: the partner.
        offered: how many items the feed was given (the main feed's).
        shown: how many it holds within its byte limit.
        limit: that byte limit, for the message.
    """
    rules = partner.rules
    if rules.min_items is not None and shown < rules.min_items:
        trimmed = f", trimmed from {offered} to fit {limit} bytes" if shown < offered else ""
        yield Finding(
            partner.path,
            partner,
            "items",
            f"{counted(shown, 'item')}{trimmed}",
            f"at least {rules.min_items} ({rules.label} features no smaller feed)",
        )


def item_finding(key: str, partner: Partner, size: int, room: int, limit: int) -> Finding | None:
    """What ``partner`` would say of one article's item of ``size`` bytes, if it is too big.

    Args:
        key: the article's key.
        partner: the partner.
        size: the item's size in bytes.
        room: the most an item may take for its feed to hold it alone within ``limit``.
        limit: the feed's byte limit (the partner's, else the site's ``max_feed_bytes``).
    """
    rules = partner.rules
    if rules.max_item_bytes is not None and size > rules.max_item_bytes:
        expected = f"at most {rules.max_item_bytes} per article ({rules.label})"
    elif size > room:
        whose = f"{rules.label}'s" if rules.max_bytes is not None else "max_feed_bytes,"
        expected = f"at most {room}, for a feed of it alone to fit {whose} {limit} bytes"
    else:
        return None
    return Finding(key, partner, "size", f"{size} bytes as a feed item", expected)


def site_findings(
    articles: Iterable[Article], partners: Iterable[Partner], now: datetime
) -> list[Finding]:
    """Every finding of every partner on each of ``articles``'s metadata.

    Args:
        articles: the articles partners will see (live or scheduled; no drafts).
        partners: the partners enabled.
        now: when the partners would read them.

    Returns:
        The findings, by article key, then partner order.
    """
    enabled = list(partners)
    ordered = sorted(articles, key=lambda article: article.key)
    return [
        finding
        for article in ordered
        for partner in enabled
        for finding in article_findings(article, partner, now)
    ]
