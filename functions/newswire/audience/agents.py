"""Who fetched a feed, from its User-Agent: a hosted service, a reader, a browser or a bot.

Hosted services fetch a feed once for all their users and say how many in the User-Agent
(the formats below are the services' own, as they appear in access logs). Some report one
URL under several of their feed ids (``Feedbin feed-id:1 - 5 subscribers`` and ``feed-id:2``):
each id is a separate group of subscribers, so counts are kept per id and summed. A service
not in the table that still says ``N subscribers`` (or ``N readers``) is counted as hosted
under its product name.

Individual readers (desktop and phone apps, and self-hosted aggregators such as FreshRSS,
Miniflux or Tiny Tiny RSS, which usually serve one person) are counted as distinct
reader/address pairs. A client that is neither a known reader, a browser nor a bot (a
script built on a feed library) is taken as a reader too: feed URLs are fetched by little else.
Browsers (someone opening the feed to look at it), crawlers, link previews and HTTP tools are
counted apart and never as subscribers.
"""

from __future__ import annotations

import enum
import re
from dataclasses import dataclass
from functools import lru_cache


class ClientKind(enum.StrEnum):
    """What fetched a feed."""

    HOSTED = "hosted"
    READER = "reader"
    BROWSER = "browser"
    BOT = "bot"


@dataclass(frozen=True, slots=True)
class Client:
    """One User-Agent classified.

    Attributes:
        kind: hosted service, individual reader, browser or bot.
        name: the service or reader ("Feedly", "NetNewsWire"), or the product token.
        subscribers: the count a hosted service reported, else 0.
        feed_id: the service's id for the feed when it gives one, else "".
    """

    kind: ClientKind
    name: str
    subscribers: int = 0
    feed_id: str = ""


@dataclass(frozen=True, slots=True)
class HostedService:
    """A hosted reader: how to recognise it and where its feed id is, if it gives one."""

    name: str
    pattern: re.Pattern[str]
    feed_id: re.Pattern[str] | None = None


#: Known hosted services, with examples of their User-Agents.
HOSTED_SERVICES: tuple[HostedService, ...] = (
    # Feedly/1.0 (+http://www.feedly.com/fetcher.html; 462 subscribers; )
    HostedService("Feedly", re.compile(r"\bFeedly\b", re.I)),
    # Inoreader/1.0 (+http://www.inoreader.com/feed-fetcher; 3 subscribers; )
    HostedService("Inoreader", re.compile(r"inoreader\.com", re.I)),
    # NewsBlur Feed Fetcher - 27 subscribers - https://www.newsblur.com/site/7704055/name (…)
    HostedService(
        "NewsBlur", re.compile(r"^NewsBlur\b", re.I), re.compile(r"newsblur\.com/site/(\d+)")
    ),
    # Feedbin feed-id:1697787 - 102 subscribers
    HostedService("Feedbin", re.compile(r"^Feedbin\b", re.I), re.compile(r"feed-id:(\d+)")),
    # Mozilla/5.0 (compatible; theoldreader.com; 1 subscribers; feed-id=cead6c3a837650eeefd8fe4a)
    HostedService(
        "The Old Reader", re.compile(r"theoldreader\.com", re.I), re.compile(r"feed-id=(\w+)")
    ),
    # Mozilla/5.0 (compatible; BazQux/2.4; +https://bazqux.com/fetcher; 1 subscribers)
    HostedService("BazQux", re.compile(r"\bBazQux\b", re.I)),
    # Feeder.co's fetcher (feeder.co)
    HostedService("Feeder", re.compile(r"feeder\.co\b", re.I)),
    # Netvibes (http://www.netvibes.com/; 12 subscribers; feedID: 3534745)
    HostedService("Netvibes", re.compile(r"\bNetvibes\b", re.I), re.compile(r"feedID: ?(\d+)")),
    # FeedHQ/1.0 (https://github.com/feedhq/feedhq; 1 subscriber; …)
    HostedService("FeedHQ", re.compile(r"^FeedHQ\b", re.I)),
    # Dreamwidth Studios (webmaster@dreamwidth.org; for https://…/; 2 readers)
    HostedService("Dreamwidth", re.compile(r"^Dreamwidth\b", re.I)),
)

#: A count of subscribers, as services write it: a whole number, not the tail of a
#: percent-escape left undecoded (``%20subscribers``) or of another number.
_COUNT = re.compile(
    r"(?<![\w%])(\d+)\s*(?:subscribers?|readers)\b|subscribers?(?: count)?\s*[:=]\s*(\d+)",
    re.I,
)

#: Individual readers: apps and self-hosted aggregators, by the name their User-Agent gives.
READERS: tuple[str, ...] = (
    "NetNewsWire", "newsboat", "Thunderbird", "Reeder", "NewsFlash", "Liferea", "FreshRSS",
    "Miniflux", "Tiny Tiny RSS", "QuiteRSS", "RSSOwl", "Akregator", "ReadKit", "Unread", "lire",
    "Fluent Reader", "Vienna", "Feeder", "Newsraft", "Elfeed", "rss2email", "Fiery Feeds",
    "NewsBar", "Capyreader", "Read You", "Feedbro", "RSS Guard", "Nextcloud-News", "CommaFeed",
    "selfoss", "feedparser",
)  # fmt: skip
_READER = re.compile(
    r"(?<![\w-])(" + "|".join(re.escape(name) for name in READERS) + r")(?![\w-])", re.I
)
_READER_NAMES = {name.lower(): name for name in READERS}

#: Crawlers, link previews, validators and HTTP tools.
_BOT = re.compile(
    r"bot\b|bot/|crawl|spider|slurp|facebookexternalhit|embedly|preview|whatsapp|slack|discord"
    r"|telegram|linkedin|mastodon|pleroma|akkoma|bluesky|misskey|curl/|wget/|python-requests"
    r"|python-urllib|python-httpx|aiohttp|go-http-client|okhttp|headless|lighthouse|validator"
    r"|monitor|uptime|pingdom|http\.rb|axios|node-fetch|undici|^java/|libwww|scrapy"
    r"|ia_archiver|archive\.org|feedfetcher-google|google-read-aloud|apis-google|^-?$",
    re.I,
)

#: A browser: a ``Mozilla/`` User-Agent naming an engine, when nothing above matched.
_BROWSER = re.compile(r"^Mozilla/\d.*(?:Chrome|Safari|Firefox|Gecko|Edg|OPR|Trident)/", re.I)


@lru_cache(maxsize=4096)
def classify(user_agent: str) -> Client:
    """Classify one User-Agent (decoded from the log), hosted services first.

    Cached: a log repeats a few thousand User-Agents over and over.
    """
    service = _hosted(user_agent)
    if service is not None:
        return service
    if _BOT.search(user_agent):
        return Client(ClientKind.BOT, product(user_agent))
    reader = _READER.search(user_agent)
    if reader:
        return Client(ClientKind.READER, _READER_NAMES[reader[1].lower()])
    if _BROWSER.search(user_agent):
        return Client(ClientKind.BROWSER, "browser")
    return Client(ClientKind.READER, product(user_agent))


def _hosted(user_agent: str) -> Client | None:
    count = _COUNT.search(user_agent)
    for service in HOSTED_SERVICES:
        if service.pattern.search(user_agent):
            if count is None:  # its favicon or feed-checking fetcher: no subscribers to count
                return Client(ClientKind.BOT, service.name)
            found = service.feed_id.search(user_agent) if service.feed_id else None
            return Client(
                ClientKind.HOSTED, service.name, _number(count), found[1] if found else ""
            )
    if count is None:
        return None
    return Client(ClientKind.HOSTED, product(user_agent), _number(count))


def _number(count: re.Match[str]) -> int:
    return int(count[1] or count[2])


def product(user_agent: str) -> str:
    """The product a User-Agent names first: ``NewsFetcher`` of ``NewsFetcher/2.1 (…)``.

    A ``Mozilla/5.0 (compatible; Name/1.0; …)`` names its product inside the parentheses.
    """
    compatible = re.search(r"compatible;\s*([^;/)]+)", user_agent)
    if user_agent.startswith("Mozilla/") and compatible:
        return compatible[1].strip()[:60]
    token = re.split(r"[/(;]", user_agent, maxsplit=1)[0].strip()
    return re.sub(r"\s+v?\d[\w.]*$", "", token)[:60] or "unknown"
