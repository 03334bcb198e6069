"""The browser view of the RSS and Atom feeds: one XSLT stylesheet at the feeds' root.

A person who opens a feed in a browser gets a readable page (what a feed is, the URL to copy
into a reader, the latest items) instead of raw XML: each RSS and Atom document names the
stylesheet in an ``<?xml-stylesheet?>`` instruction, and the browser applies it. Feed readers
ignore the instruction.

The stylesheet is published next to the feeds, at ``feed.xsl`` relative to ``feeds_url``; a
feed points at it with a *relative* href, so the same bytes work wherever the feeds are
served (``https://host/feeds/`` in production, ``http://127.0.0.1:8080/`` locally), and it
stays same-origin, which browsers require of an XSLT stylesheet. The URL to copy is the
address the page was opened at (an inline script reads it: XSLT 1.0 cannot), so the page
served by ``newswire serve`` gives the local feed, not the production one.
"""

from __future__ import annotations

import functools
from importlib import resources
from typing import Final

from newswire.domain.feeds import FeedFormat
from newswire.rendering.base import FeedFile

#: The stylesheet's path relative to ``feeds_url``, and its file name inside this package.
STYLESHEET_PATH: Final = "feed.xsl"
#: The one XSLT media type every browser accepts for a stylesheet named by a feed.
STYLESHEET_CONTENT_TYPE: Final = "text/xsl; charset=utf-8"


@functools.cache
def stylesheet_bytes() -> bytes:
    """The stylesheet, read once from the package data.

    Returns:
        The UTF-8 bytes of ``feed.xsl``.
    """
    return resources.files("newswire.rendering").joinpath(STYLESHEET_PATH).read_bytes()


def stylesheet_file() -> FeedFile:
    """The stylesheet with the path and Content-Type it is published with."""
    return FeedFile(STYLESHEET_PATH, STYLESHEET_CONTENT_TYPE, stylesheet_bytes())


def stylesheet_href(feed_path: str) -> str:
    """The stylesheet's URL relative to the feed at ``feed_path``.

    Args:
        feed_path: the feed's path relative to ``feeds_url`` (``rss.xml``, ``tags/x/atom.xml``).

    Returns:
        ``feed.xsl`` for a feed at the root, ``../../feed.xsl`` for one two folders down.
    """
    depth = feed_path.count("/")
    return "../" * depth + STYLESHEET_PATH


def stylesheet_instruction(feed_path: str) -> str:
    """The text of the ``xml-stylesheet`` processing instruction for the feed at ``feed_path``.

    Args:
        feed_path: the feed's path relative to ``feeds_url``.

    Returns:
        The instruction's content, without ``<?xml-stylesheet`` and ``?>``.
    """
    return f'type="text/xsl" href="{stylesheet_href(feed_path)}"'


#: Feed types browsers refuse to style: Chromium shows them as plain text, ignoring the
#: ``xml-stylesheet`` instruction. Served as ``application/xml`` the same bytes get styled.
_FEED_TYPES = (FeedFormat.RSS.media_type, FeedFormat.ATOM.media_type)
BROWSER_FEED_CONTENT_TYPE = "application/xml; charset=utf-8"


def browser_content_type(content_type: str, accept: str | None) -> str:
    """The Content-Type to answer a request with, so browsers show the styled page.

    Feed readers ask for feeds (``Accept: application/rss+xml, …``) and get the stored
    ``application/rss+xml``/``application/atom+xml``; a browser's navigation asks for
    ``text/html`` first and gets ``application/xml``, which it styles with ``feed.xsl``. The
    CloudFront function in ``infra/`` applies the same rule; responses carry ``Vary: Accept``.

    Args:
        content_type: the stored object's Content-Type.
        accept: the request's ``Accept`` header, if any.
    """
    if accept and "text/html" in accept and content_type.startswith(_FEED_TYPES):
        return BROWSER_FEED_CONTENT_TYPE
    return content_type
