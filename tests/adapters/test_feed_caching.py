"""How long a written feed may be cached: CloudFront always asks S3, readers briefly keep it."""

from __future__ import annotations

from newswire.adapters.s3 import S3FeedStore
from tests.support.aws import Stack


def cache_directives(stack: Stack, path: str) -> dict[str, str]:
    header = stack.s3.head_object(Bucket=stack.feeds_bucket, Key=path)["CacheControl"]
    directives = {}
    for directive in header.split(","):
        name, _, value = directive.strip().partition("=")
        directives[name] = value
    return directives


def test_cloudfront_revalidates_every_feed_and_readers_keep_it_a_minute(stack: Stack) -> None:
    feeds = S3FeedStore(stack.s3, stack.feeds_bucket)
    feeds.put("rss.xml", b"<rss/>", "application/rss+xml; charset=utf-8", expected=None)
    directives = cache_directives(stack, "rss.xml")
    # s-maxage=0: the CDN asks S3 (a 304 when unchanged) on every request, so a WebSub hub
    # fetching right after the ping gets the feed just written.
    assert directives["s-maxage"] == "0"
    # Browsers and feed readers may keep their copy, but not longer than the README says.
    assert directives["public"] == ""
    assert int(directives["max-age"]) <= 60
