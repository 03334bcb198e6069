"""``index.html``: the feed directory a person lands on at the root of ``feeds_url``.

One self-contained page: no script, no external stylesheet, font or image, no tracking (a
Content-Security-Policy forbids them all), so it loads as fast on a phone as on a desk and
tells nobody who read it. Every text is escaped. Links to the feeds are relative, so a local
or staging copy links its own feeds; the address to copy into a reader is the published
one, shown as selectable text.
"""

from __future__ import annotations

import html
from collections.abc import Sequence
from datetime import UTC, datetime
from urllib.parse import quote

from newswire.domain.directory import ListedFeed, grouped
from newswire.domain.feeds import FeedFormat, feed_head
from newswire.domain.model import SiteConfig
from newswire.rendering.sitemap import SITEMAP_INDEX_PATH

#: Each format as the page names it.
FORMAT_NAMES = {FeedFormat.RSS: "RSS", FeedFormat.ATOM: "Atom", FeedFormat.JSON: "JSON Feed"}
_MONTHS: tuple[str, ...] = ("January", "February", "March", "April", "May", "June")
_MONTHS += ("July", "August", "September", "October", "November", "December")
#: Nothing but the inline stylesheet may load or run.
_POLICY = "default-src 'none'; style-src 'unsafe-inline'; base-uri 'none'; form-action 'none'"
_STYLE = """
:root{color-scheme:light dark;--muted:#5a5a5a;--line:#d8d8d8;--accent:#0b57d0}
@media (prefers-color-scheme:dark){:root{--muted:#b0b0b0;--line:#444;--accent:#8ab4f8}}
*{box-sizing:border-box}
body{margin:0 auto;max-width:46rem;padding:1rem;font:1rem/1.5 system-ui,sans-serif}
a{color:var(--accent)}
h1{font-size:1.6rem;margin:.5rem 0}
h2{font-size:1.25rem;margin:2rem 0 .5rem;border-bottom:1px solid var(--line)}
h3{font-size:1.05rem;margin:0}
nav a{margin-right:.75rem;white-space:nowrap}
ul.feeds{list-style:none;margin:0;padding:0}
li.feed{padding:.75rem 0;border-bottom:1px solid var(--line)}
li.feed p{margin:.25rem 0}
.what,.carries{color:var(--muted)}
.url code{display:block;overflow-wrap:anywhere;user-select:all;padding:.4rem .5rem;
border:1px solid var(--line);border-radius:.3rem;font-size:.9rem}
.formats a{display:inline-block;margin-right:.5rem;padding:.2rem .6rem;
border:1px solid var(--line);border-radius:1rem;text-decoration:none}
""".strip()


def render_directory_page(listings: Sequence[ListedFeed], site: SiteConfig) -> bytes:
    """The directory page of ``listings`` (in directory order), UTF-8 HTML."""
    esc = html.escape
    groups = grouped(listings)
    parts = [
        "<!DOCTYPE html>",
        f'<html lang="{esc(site.language)}">',
        "<head>",
        '<meta charset="utf-8">',
        '<meta name="viewport" content="width=device-width, initial-scale=1">',
        f'<meta http-equiv="Content-Security-Policy" content="{_POLICY}">',
        '<meta name="referrer" content="no-referrer">',
        f"<title>{esc(site.title)}: feeds</title>",
        f'<meta name="description" content="{esc(site.description)}">',
        f'<link rel="alternate" type="{FeedFormat.RSS.media_type}" title="{esc(site.title)}"'
        f' href="{FeedFormat.RSS.filename}">',
        f"<style>\n{_STYLE}\n</style>",
        "</head>",
        "<body>",
        "<header>",
        f'<h1><a href="{esc(site.base_url)}">{esc(site.title)}</a></h1>',
        f"<p>{esc(site.description)}</p>",
        "<p>Follow the news in a feed reader: copy a feed’s address into it. "
        '<a href="feeds.opml" type="text/x-opml">feeds.opml</a> lists every feed, for a '
        "reader to import at once. For search engines: the "
        f'<a href="{SITEMAP_INDEX_PATH}">sitemap</a>.</p>',
        "<nav>" + "".join(f'<a href="#{_anchor(name)}">{name}</a>' for name, _ in groups),
        "</nav>",
        "</header>",
        "<main>",
    ]
    for name, members in groups:
        parts.append(f'<section id="{_anchor(name)}">')
        parts.append(f"<h2>{name}</h2>")
        parts.append('<ul class="feeds">')
        parts.extend(_feed_item(listing, site) for listing in members)
        parts.append("</ul>")
        parts.append("</section>")
    parts += ["</main>", "</body>", "</html>", ""]
    return "\n".join(parts).encode("utf-8")


def feed_url(listing: ListedFeed, site: SiteConfig, fmt: FeedFormat) -> str:
    """The absolute URL of ``listing``'s feed in ``fmt``, as the feed names itself."""
    return site.feeds_url + quote(listing.key.path(fmt))


def _feed_item(listing: ListedFeed, site: SiteConfig) -> str:
    """One feed: its name, what it is and carries, the address to copy, its formats."""
    esc = html.escape
    head = feed_head(listing.key, site)
    formats = " ".join(
        f'<a href="{esc(quote(listing.key.path(fmt)))}" type="{fmt.media_type}">'
        f"{FORMAT_NAMES[fmt]}</a>"
        for fmt in FeedFormat
    )
    rss = feed_url(listing, site, FeedFormat.RSS)
    return "\n".join(
        [
            f'<li class="feed" id="feed-{esc(listing.key.id.replace(":", "-"))}">',
            f"<h3>{esc(head.title)}</h3>",
            f'<p class="what">{esc(head.description)}</p>',
            f'<p class="carries">{_carries(listing)}</p>',
            f'<p class="url"><code>{esc(rss)}</code></p>',
            f'<p class="formats">{formats}</p>',
            "</li>",
        ]
    )


def _carries(listing: ListedFeed) -> str:
    """How many articles the feed shows, and its newest one (escaped HTML)."""
    if listing.updated is None:
        return "No articles yet."
    count = f"{listing.articles} article{'' if listing.articles == 1 else 's'}"
    title = html.escape(listing.latest_title)
    url = listing.latest_url
    if url.startswith(("https://", "http://")):
        title = f'<a href="{html.escape(url)}">{title}</a>'
    when = listing.updated.astimezone(UTC)
    return (
        f"{count}. Latest: {title}; updated "
        f'<time datetime="{when.isoformat()}">{_day(when)}</time>.'
    )


def _day(moment: datetime) -> str:
    """``7 December 2026``: in English whatever the process's locale."""
    return f"{moment.day} {_MONTHS[moment.month - 1]} {moment.year}"


def _anchor(group: str) -> str:
    return group.lower()
