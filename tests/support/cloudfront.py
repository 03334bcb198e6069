"""CloudFront standard log lines as CloudFront writes them, for the audience tests."""

from __future__ import annotations

from urllib.parse import quote

from newswire.audience.logformat import CLOUDFRONT_FIELDS

HEADER = f"#Version: 1.0\n#Fields: {' '.join(CLOUDFRONT_FIELDS)}\n"

FEEDLY = "Feedly/1.0 (+http://www.feedly.com/fetcher.html; {n} subscribers; )"
INOREADER = "Mozilla/5.0 (compatible; inoreader.com; {n} subscribers)"
NEWSBLUR = (
    "NewsBlur Feed Fetcher - {n} subscribers - https://www.newsblur.com/site/{id}/news "
    '("Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 (KHTML, like '
    'Gecko) Version/14.0.1 Safari/605.1.15")'
)
FEEDBIN = "Feedbin feed-id:{id} - {n} subscribers"
OLD_READER = "Mozilla/5.0 (compatible; theoldreader.com; {n} subscribers; feed-id={id})"
BAZQUX = "Mozilla/5.0 (compatible; BazQux/2.4; +https://bazqux.com/fetcher; {n} subscribers)"
NETNEWSWIRE = "NetNewsWire (RSS Reader; https://netnewswire.com/)"
NEWSBOAT = "Newsboat/2.36.0 (Linux x86_64)"
THUNDERBIRD = "Mozilla/5.0 (X11; Linux x86_64; rv:128.0) Gecko/20100101 Thunderbird/128.5.0"
CHROME = (
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/131.0.0.0 Safari/537.36"
)
GOOGLEBOT = "Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)"
SLACKBOT = "Slackbot 1.0 (+https://api.slack.com/robots)"


def line(
    when: str,
    path: str,
    agent: str,
    address: str = "203.0.113.7",
    *,
    status: int = 200,
    method: str = "GET",
) -> str:
    """One log line: ``when`` is ``YYYY-MM-DD HH:MM:SS``, UTC."""
    day, time = when.split()
    values = {
        "date": day,
        "time": time,
        "x-edge-location": "FRA56-P1",
        "sc-bytes": "2039",
        "c-ip": address,
        "cs-method": method,
        "cs(Host)": "d111111abcdef8.cloudfront.net",
        "cs-uri-stem": path,
        "sc-status": str(status),
        "cs(User-Agent)": quote(agent, safe="/:;()+,=.~-_*!'@?&") if agent else "-",
        "x-edge-result-type": "Hit",
        "x-host-header": "news.example.org",
        "cs-protocol": "https",
        "time-taken": "0.001",
    }
    return "\t".join(values.get(name, "-") for name in CLOUDFRONT_FIELDS) + "\n"
