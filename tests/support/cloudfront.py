"""CloudFront standard log lines as CloudFront writes them, for the audience tests.

:func:`line` encodes a User-Agent by CloudFront's rules, written out here rather than taken
from the code under test; the ``VERBATIM_*`` lines are whole lines in the shape CloudFront
writes, not built by any code.
"""

from __future__ import annotations

from urllib.parse import quote

from newswire.audience.logformat import CLOUDFRONT_FIELDS

HEADER = f"#Version: 1.0\n#Fields: {' '.join(CLOUDFRONT_FIELDS)}\n"

FEEDLY = "Feedly/1.0 (+http://www.feedly.com/fetcher.html; {n} subscribers; )"
INOREADER = "Inoreader/1.0 (+http://www.inoreader.com/feed-fetcher; {n} subscribers; )"
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


def cloudfront_encoded(agent: str) -> str:
    """A User-Agent as CloudFront logs it: percent-encoded, space, ``"`` and ``\\`` twice."""
    if not agent:
        return "-"
    once = quote(agent, safe="/:;()+,=.~-_*!'@?&")
    return once.replace("%20", "%2520").replace("%22", "%2522").replace("%5C", "%255C")


#: Feedly's fetch as CloudFront logs it, its spaces encoded twice: 462 subscribers.
VERBATIM_FEEDLY = (
    "2026-12-01\t06:12:44\tIAD89-P1\t48213\t52.4.18.7\tGET\td111111abcdef8.cloudfront.net"
    "\t/rss.xml\t200\t-"
    "\tFeedly/1.0%2520(+http://www.feedly.com/fetcher.html;%2520462%2520subscribers;%2520)"
    "\t-\t-\tHit\tSOX4xwn4XV6Q4rgb7XiVGOHms_BGlTAC4KyHmureZmBNrjGdRLiNIQ==\tnews.example.org"
    "\thttps\t312\t0.001\t-\tTLSv1.3\tTLS_AES_128_GCM_SHA256\tHit\tHTTP/1.1\t-\t-\t53764"
    "\t0.001\tHit\tapplication/rss+xml\t48213\t-\t-\n"
)
#: Bingbot as CloudFront logs it, spaces encoded twice: a crawler.
VERBATIM_BINGBOT = (
    "2026-12-01\t06:13:02\tORD58-P3\t48213\t40.77.167.9\tGET\td111111abcdef8.cloudfront.net"
    "\t/rss.xml\t200\t-"
    "\tMozilla/5.0%2520(compatible;%2520bingbot/2.0;%2520+http://www.bing.com/bingbot.htm)"
    "\t-\t-\tHit\tq5jP1eG9h3bXnN0y3l3bZ8Qy7mTnq0cKxq6Jd0r3vVb2m1WZf4n6Qw==\tnews.example.org"
    "\thttps\t297\t0.002\t-\tTLSv1.3\tTLS_AES_128_GCM_SHA256\tHit\tHTTP/1.1\t-\t-\t40122"
    "\t0.002\tHit\tapplication/rss+xml\t48213\t-\t-\n"
)
#: Inoreader's fetch with its spaces encoded once (as older logs and other tools write).
VERBATIM_INOREADER = (
    "2026-12-01\t06:14:10\tFRA56-P1\t48213\t3.120.44.2\tGET\td111111abcdef8.cloudfront.net"
    "\t/rss.xml\t304\t-"
    "\tInoreader/1.0%20(+http://www.inoreader.com/feed-fetcher;%203%20subscribers;%20)"
    "\t-\t-\tRefreshHit\tb1Yk3Jm0Lr8qW2cF9xZt7Gv4Hn6Ps5Ad0Ee1Ui2Oo3Ll4Kk5Jj6A==\tnews.example.org"
    "\thttps\t305\t0.001\t-\tTLSv1.3\tTLS_AES_128_GCM_SHA256\tRefreshHit\tHTTP/2.0\t-\t-"
    "\t61022\t0.001\tRefreshHit\t-\t-\t-\t-\n"
)
#: NetNewsWire with a quote and a backslash in its User-Agent, each encoded twice.
VERBATIM_QUOTED = (
    "2026-12-01\t06:15:00\tFRA56-P1\t48213\t192.0.2.44\tGET\td111111abcdef8.cloudfront.net"
    "\t/rss.xml\t200\t-"
    "\tNetNewsWire%2520(RSS%2520Reader;%2520%2522beta%2522%255Cmac)"
    "\t-\t-\tHit\tc2Zl4Kn1Ms9rX3dG0yAu8Hw5Io7Qt6Be1Ff2Vj3Pp4Mm5Ll6Kk7B==\tnews.example.org"
    "\thttps\t280\t0.001\t-\tTLSv1.3\tTLS_AES_128_GCM_SHA256\tHit\tHTTP/1.1\t-\t-\t50110"
    "\t0.001\tHit\tapplication/rss+xml\t48213\t-\t-\n"
)


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
        "cs(User-Agent)": cloudfront_encoded(agent),
        "x-edge-result-type": "Hit",
        "x-host-header": "news.example.org",
        "cs-protocol": "https",
        "time-taken": "0.001",
    }
    return "\t".join(values.get(name, "-") for name in CLOUDFRONT_FIELDS) + "\n"
