"""Syndication partners: which exist, what each requires, and what each would refuse.

A partner feed (``partners/<name>/rss.xml``) carries the main feed's newest articles in the
form one aggregator reads. Each partner's rules come from its own published specification;
the table below names the source of each rule, so a rule can be checked against it again.
A rule marked *recommended* is a downgrade (the partner still takes the article); one marked
*unconfirmed* rests on no partner text that could be read, and says so in its messages.

| Partner | Rule | Source |
|---|---|---|
| msn | title more than 20 and at most 150 characters | [1] |
| msn | published within the last 365 days, else not ingested | [1] |
| msn | the abstract (``description``) in plain text | [1] |
| msn | an update is read from the updated date (``dcterms:modified``), same id | [1], [3] |
| msn | an expiration date (``dcterms:valid``) at least 2 hours ahead | [1], [3] |
| msn | only articles with an image publish automatically | [2] |
| msn | HTTPS feed sources only | [2] |
| msn | recommended: images at least 720 px in height or width | [2b] |
| msn | recommended: image width-to-height ratio from 0.5 to 1.89 | [2b] |
| google-news | at most 2 MB per feed and 1 MB per article | [4] |
| google-news | up to 60 new articles read per fetch | [4] |
| google-news | ``guid`` identifies an article; an update is read from ``pubDate`` | [4] |
| google-news | recommended: an image's shortest side at least 800 px (legacy page) | [5] |
| flipboard | full body; an image per article | [6] |
| flipboard | at least the 20 most recent items | [6b] |
| flipboard | an image's smallest dimension at least 500 px | [6b] |
| flipboard | recommended: an excerpt (``description``) of 300 characters or more | [6b] |
| smartnews | SmartFormat: RSS 2.0, UTF-8, ``snf`` namespace, ``snf:logo`` (optional) | [7] |
| smartnews | channel ``description`` of 30 characters or less | [7b] |
| smartnews | at most 1 MB per file (recommended; the checker flags more) | [7c] |
| smartnews | *unconfirmed*: ``media:thumbnail`` per item | none |
| newsbreak | full articles with images; author bylines and image credits | [8] |
| newsbreak | English content (non-English stories fail) | [8] |

Sources, with the sentence each rule rests on (read 2026-12-07):

[1] https://support.microsoft.com/msn/partner-hub/msn-feed-item-metadata-requirements:
    "Content item title must be more than 20 characters but not exceed 150-characters
    unless a short title is also provided." "The date must be in the past and less than 365
    days old otherwise it will not be ingested." Abstract: "Must be in plain text." Updated
    date: "it will be used to identify if the content in this feed item is a newer version".
    Expiration date: "Feed item will be removed ... by the specified date", and (the page's
    translations) it must be at least 2 hours in the future.
[2] https://support.microsoft.com/msn/partner-hub/feed-content-specifications-in-msn-partner-hub:
    "Articles are not required to have images, but only articles that include images can
    be auto-published." "MSN only supports HTTPS feed sources."
[2b] https://helpcenter.microsoftstart.com/kb/articles/25-feed-content-specifications:
    "It is recommended that images be at least 720px in height or width." "Images can be
    any aspect ratio, but may not display correctly if the ratio is less than .5 or greater
    than 1.89."
[3] https://support.microsoft.com/topic/msn-content-expiration-and-takedown-rules-c06e8a18-8365-43dc-a5b3-364f1a470edf:
    "For Media RSS feeds, you may also use the following tags at the item root level:
    <dcterms:valid>2024-12-31T00:00:00Z</dcterms:valid>"; "For Media RSS, update
    <dcterms:modified> to trigger re-ingestion."
[4] https://support.google.com/news/publisher-center/answer/9545420:
    "Size limit: 1 MB per article and 2 MB per feed." "Readability: Up to 60 new articles
    per fetch, without including previously read articles." "The <guid> tag in RSS ... [is]
    required to identify unique articles." "We use the <pubDate> tag to determine whether
    the article was modified."
[5] https://support.google.com/news/producer/answer/4304250 (Google News Producer's
    feed-based inclusion guidelines, from before Publisher Center): "The shortest side of an
    image should be 800px, but ideally larger for better display on tablets."
[6] https://about.flipboard.com/rss-spec/ (last updated 2016): "The entire body copy of your
    article, not just headlines and summaries." "At least one image per article". Its
    "no less than 400px" and "At least 30 items" are superseded by [6b].
[6b] https://flipboard.helpshift.com/hc/en/1-flipboard/faq/1023-resubmit-an-rss-feed/:
    "Your feed should contain at least the 20 most recent items from your website."
    "<description>: ... It should generally contain 300 or more characters". "For images, a
    high-resolution image is preferred; the smallest dimension should not be under 500px."
[7] https://publishers.smartnews.com/hc/en-us/articles/360036526213-SmartFormat-Specification-Version-2-1:
    "SmartFormat is an extension of RSS 2.0"; "SmartFormat only supports UTF-8."; the
    ``snf`` namespace ``http://www.smartnews.be/snf``; "<snf:logo> added to <channel>".
[7b] https://publishers.smartnews.com/hc/en-us/articles/56500436151065 (the current
    SmartFormat page), channel table: "<description> | ✓ | Short description(30 characters
    or less)".
[7c] https://publishers.smartnews.com/hc/ja/articles/360036526213 (SmartFormat overview):
    the file size is recommended within 1 MB in all ("全体で1MB以内を推奨"), and the checker may
    report a larger file as an error.
[8] https://support.newsbreak.com/publisher-faq: "Content must be delivered via RSS feed(s)
    containing full article text and image content." Applications fail when "Your content
    does not provide proper author bylines and/or image credits." Stories fail for
    "non-English content". Its RSS Feed Specs document is given only to partners.

SmartNews' item table (where ``media:thumbnail`` would be stated) could not be read: the
feed keeps ``media:thumbnail`` as SmartFormat feeds in the wild carry it, unconfirmed.
"""

from __future__ import annotations

import enum
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Final

from newswire.domain.text import counted

if TYPE_CHECKING:  # the model imports this module for SiteConfig.partners
    from newswire.domain.model import Article, SiteConfig


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
class ImageRules:
    """What a partner asks of a lead image, in pixels (see the module table).

    Attributes:
        required: it refuses, or does not publish by itself, an article with no image.
        note: what it does with an article without one, for messages.
        min_long_side: the smallest longer side it recommends (a downgrade).
        min_short_side: the smallest shortest side it takes.
        short_side_recommended: ``min_short_side`` is a recommendation (a downgrade).
        ratio: the width-to-height ratios it displays correctly (a downgrade outside).
        credit_required: it wants every image credited.
    """

    required: bool = False
    note: str = "requires one"
    min_long_side: int | None = None
    min_short_side: int | None = None
    short_side_recommended: bool = False
    ratio: tuple[float, float] | None = None
    credit_required: bool = False


@dataclass(frozen=True, slots=True)
class PartnerRules:
    """One partner's requirements, as its specification states them (see the module table).

    Attributes:
        label: the partner's name as people write it, for messages.
        max_bytes: the largest feed it reads, if it says (else the site's ``max_feed_bytes``).
        max_item_bytes: the largest article it reads, if it says.
        min_items: the fewest items it takes a feed with, if it says.
        max_new_items: the most new items it reads in one fetch, if it says.
        title_chars: the shortest and longest title it takes, if it says.
        min_summary_chars: the shortest excerpt (``description``) it recommends.
        image: what it asks of the lead image.
        max_age: the oldest article it ingests.
        min_expiry_lead: how far after publication an expiration date must be.
        max_description_chars: the longest channel ``description`` (the site's) it takes.
        https_only: it reads feeds over HTTPS only.
        english_only: it fails stories not in English.
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
    max_new_items: int | None = None
    title_chars: tuple[int, int] | None = None
    min_summary_chars: int | None = None
    image: ImageRules = ImageRules()
    max_age: timedelta | None = None
    min_expiry_lead: timedelta | None = None
    max_description_chars: int | None = None
    https_only: bool = False
    english_only: bool = False
    updated_by_pub_date: bool = False
    modified_element: bool = False
    valid_element: bool = False
    settings: frozenset[str] = frozenset()


RULES: Final[dict[Partner, PartnerRules]] = {
    Partner.MSN: PartnerRules(
        "MSN",
        title_chars=(21, 150),
        image=ImageRules(
            required=True,
            note="publishes only articles with one by itself",
            min_long_side=720,
            ratio=(0.5, 1.89),
        ),
        max_age=timedelta(days=365),
        min_expiry_lead=timedelta(hours=2),
        https_only=True,
        modified_element=True,
        valid_element=True,
    ),
    Partner.GOOGLE_NEWS: PartnerRules(
        "Google News",
        max_bytes=2_000_000,
        max_item_bytes=1_000_000,
        max_new_items=60,
        image=ImageRules(min_short_side=800, short_side_recommended=True),
        updated_by_pub_date=True,
    ),
    Partner.FLIPBOARD: PartnerRules(
        "Flipboard",
        min_items=20,
        min_summary_chars=300,
        image=ImageRules(required=True, min_short_side=500),
    ),
    Partner.SMARTNEWS: PartnerRules(
        "SmartNews", max_bytes=1_000_000, max_description_chars=30, settings=frozenset({"logo"})
    ),
    Partner.NEWSBREAK: PartnerRules(
        "NewsBreak", image=ImageRules(required=True, credit_required=True), english_only=True
    ),
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
    lead = rules.min_expiry_lead
    if lead is not None and article.expires is not None:
        ahead = article.expires - article.published
        if ahead < lead:
            minutes = max(0, int(ahead.total_seconds() // 60))
            yield finding(
                "expires",
                f"{counted(minutes, 'minute')} after published",
                f"at least {counted(int(lead.total_seconds() // 3600), 'hour')} after "
                f"({rules.label} takes no nearer expiration date)",
            )
    yield from _image_findings(article, partner, finding)


def _image_findings(
    article: Article, partner: Partner, finding: Callable[[str, str, str], Finding]
) -> Iterator[Finding]:
    """What ``partner`` would say of ``article``'s lead image: judged on the sides it gives."""
    rules = partner.rules
    wanted = rules.image
    image = article.image
    if image is None:
        if wanted.required:
            yield finding("image", "missing", f"a lead image ({rules.label} {wanted.note})")
        return
    size = _image_size(image.width, image.height)
    known = [side for side in (image.width, image.height) if side is not None]
    if wanted.min_long_side is not None and known and max(known) < wanted.min_long_side:
        yield finding(
            "image",
            size,
            f"at least {wanted.min_long_side} px in height or width ({rules.label} recommends it)",
        )
    if image.width is not None and image.height is not None:
        short = min(image.width, image.height)
        if wanted.min_short_side is not None and short < wanted.min_short_side:
            whose = f"{rules.label} recommends it" if wanted.short_side_recommended else rules.label
            yield finding(
                "image", size, f"at least {wanted.min_short_side} px on the shortest side ({whose})"
            )
        if wanted.ratio is not None and image.height > 0:
            low, high = wanted.ratio
            if not low <= image.width / image.height <= high:
                yield finding(
                    "image",
                    f"{size}, a ratio of {image.width / image.height:.2f}",
                    f"a width-to-height ratio of {low}–{high} "
                    f"({rules.label} may not display it correctly)",
                )
    if wanted.credit_required and not image.credit:
        yield finding("image.credit", "missing", f"who took the image ({rules.label} asks)")


def _image_size(width: int | None, height: int | None) -> str:
    """An image's size as far as known, for messages: ``640×360 px``, ``640 px wide``."""
    if width is not None and height is not None:
        return f"{width}×{height} px"
    return f"{width} px wide" if width is not None else f"{height} px high"


def site_rule_findings(partner: Partner, site: SiteConfig) -> Iterator[Finding]:
    """What ``partner`` would say of its feed's channel, which ``site.yaml`` gives.

    Args:
        partner: the partner.
        site: the site configuration.
    """
    rules = partner.rules

    def finding(field: str, problem: str, expected: str) -> Finding:
        return Finding(partner.path, partner, field, problem, expected)

    longest = rules.max_description_chars
    if longest is not None and len(site.description) > longest:
        yield finding(
            "description",
            f"{len(site.description)} characters (site.yaml)",
            f"at most {longest} ({rules.label})",
        )
    if rules.https_only and not site.feeds_url.startswith("https://"):
        yield finding(
            "feeds_url",
            f"{site.feeds_url} (site.yaml)",
            f"an https:// address ({rules.label} reads HTTPS feeds only)",
        )
    language = site.language.lower()
    if rules.english_only and language != "en" and not language.startswith("en-"):
        yield finding(
            "language", f"{site.language} (site.yaml)", f"English ({rules.label} fails the rest)"
        )


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
            f"at least {rules.min_items} ({rules.label} asks for a site's most recent ones)",
        )
    if rules.max_new_items is not None and shown > rules.max_new_items:
        yield Finding(
            partner.path,
            partner,
            "items",
            counted(shown, "item"),
            f"at most {rules.max_new_items} new ones at a time "
            f"({rules.label} reads no more per fetch; the rest wait for the next)",
        )


def excerpt_finding(key: str, partner: Partner, excerpt: str) -> Finding | None:
    """What ``partner`` would say of the excerpt (``description``) an article's item carries.

    Judged on the item as rendered, since a summary the writer did not give is taken from the
    body. One that newswire cut at its summary length (ending in "…") is as long as a taken
    summary gets: only giving a ``summary`` makes it longer, so it is not listed.

    Args:
        key: the article's key.
        partner: the partner.
        excerpt: the item's ``description``.
    """
    rules = partner.rules
    shortest = rules.min_summary_chars
    if shortest is None or len(excerpt) >= shortest or excerpt.endswith("…"):
        return None
    return Finding(
        key,
        partner,
        "summary",
        f"{len(excerpt)} characters in the item",
        f"at least {shortest} ({rules.label} recommends it for the excerpt it shows)",
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
