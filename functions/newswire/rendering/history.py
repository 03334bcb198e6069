"""RFC 5005 archive links and WebSub hub links, shared by the RSS and Atom renderers."""

from __future__ import annotations

from newswire.domain.feeds import MAIN_FEED, Feed, FeedFormat

#: RFC 5005's namespace, for ``<fh:archive/>`` on archive documents.
FH_NS = "http://purl.org/syndication/history/1.0"

_LINK_TYPES = {
    FeedFormat.RSS: "application/rss+xml",
    FeedFormat.ATOM: "application/atom+xml",
    FeedFormat.JSON: "application/feed+json",
}


def feed_links(feed: Feed, fmt: FeedFormat) -> list[tuple[str, str, str | None]]:
    """The ``(rel, href, type)`` links a feed document carries beyond ``self`` and its home.

    WebSub hubs first, then the archive walk: ``current`` (from an archive to the
    subscription feed), ``prev-archive`` (older) and ``next-archive`` (newer).
    """
    links: list[tuple[str, str, str | None]] = [("hub", hub, None) for hub in feed.hubs]
    history = feed.history
    if history is None:
        return links
    link_type = _LINK_TYPES[fmt]
    if history.is_archive:
        links.append(("current", feed.url_of(MAIN_FEED, fmt), link_type))
    if history.prev_archive is not None:
        links.append(("prev-archive", feed.url_of(history.prev_archive, fmt), link_type))
    if history.next_archive is not None:
        links.append(("next-archive", feed.url_of(history.next_archive, fmt), link_type))
    return links
