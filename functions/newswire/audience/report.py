"""``newswire stats`` output: a table, the JSON document, or a page with a chart per feed."""

from __future__ import annotations

import html
import json
from collections.abc import Mapping, Sequence
from datetime import date

from newswire.audience.counting import FeedCounts

_COLUMNS = ("subscribers", "hosted", "individual", "browsers", "bots", "requests")


def as_json(counts: Mapping[str, FeedCounts]) -> str:
    """The ``--json`` document: ``{"feeds": {path: counts}}``."""
    return json.dumps({"feeds": {path: feed.to_json() for path, feed in counts.items()}}, indent=2)


def as_table(counts: Mapping[str, FeedCounts], first: date, last: date) -> str:
    """A table, a row per feed and under it the services' counts."""
    if not counts:
        return f"no feed requests from {first} to {last}\n"
    width = max(len("feed"), *(len(path) for path in counts))
    lines = [
        f"feeds from {first} to {last} (UTC)",
        f"{'feed':<{width}}  " + "  ".join(f"{name:>11}" for name in _COLUMNS),
    ]
    for path, feed in counts.items():
        values = (
            feed.subscribers,
            sum(feed.hosted.values()),
            feed.individual,
            feed.browsers,
            feed.bots,
            feed.requests,
        )
        lines.append(f"{path:<{width}}  " + "  ".join(f"{value:>11,}" for value in values))
        if feed.hosted:
            services = sorted(feed.hosted.items(), key=lambda item: (-item[1], item[0]))
            lines.append("    " + ", ".join(f"{name} {count:,}" for name, count in services))
    return "\n".join(lines) + "\n"


def as_html(
    counts: Mapping[str, FeedCounts],
    series: Mapping[str, Sequence[tuple[date, FeedCounts | None]]],
    first: date,
    last: date,
) -> str:
    """A page with, per feed, its counts and a bar chart of its subscribers each day.

    Self-contained (inline CSS and SVG): it can be mailed or opened from disk.

    Args:
        counts: each feed's counts over the window.
        series: per feed, each day of the window and the counts of the seven days ending then.
        first: the window's first day.
        last: its last day.
    """
    sections = []
    for path, feed in counts.items():
        services = ", ".join(f"{html.escape(n)} {c:,}" for n, c in sorted(feed.hosted.items()))
        sections.append(
            f"<section><h2>{html.escape(path)}</h2>"
            f"<p><strong>{feed.subscribers:,}</strong> subscribers: "
            f"{sum(feed.hosted.values()):,} through services ({services or 'none'}) and "
            f"{feed.individual:,} individual readers; {feed.browsers:,} browsers, "
            f"{feed.bots:,} bots, {feed.requests:,} requests.</p>"
            f"{_chart(series.get(path, ()))}</section>"
        )
    body = "".join(sections) or "<p>No feed requests in this window.</p>"
    return (
        '<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">'
        f"<title>Feed subscribers, {first} to {last}</title>"
        "<style>body{font:15px/1.4 system-ui,sans-serif;max-width:56rem;margin:2rem auto;"
        "padding:0 1rem;color:#222}h2{font-size:1.1rem;margin-top:2rem}"
        "svg text{font:11px system-ui,sans-serif;fill:#444}"
        ".hosted{fill:#2b6cb0}.individual{fill:#68d391}</style></head><body>"
        f"<h1>Feed subscribers, {first} to {last} (UTC)</h1>"
        "<p>Each bar is the subscribers of the seven days ending that day: the counts hosted "
        "services reported (dark) and distinct individual readers (light).</p>"
        f"{body}</body></html>\n"
    )


def _chart(points: Sequence[tuple[date, FeedCounts | None]]) -> str:
    """An inline SVG bar chart, one stacked bar (hosted, individual) per day."""
    if not points:
        return ""
    bar, gap, height, top, bottom = 28, 8, 160, 16, 20
    peak = max((c.subscribers for _, c in points if c is not None), default=0) or 1
    width = len(points) * (bar + gap) + gap
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" '
        f'height="{height + top + bottom}" role="img" aria-label="subscribers per day">'
    ]
    for index, (day, feed) in enumerate(points):
        x = gap + index * (bar + gap)
        hosted = sum(feed.hosted.values()) if feed else 0
        individual = feed.individual if feed else 0
        y = top + height
        for value, css in ((hosted, "hosted"), (individual, "individual")):
            size = round(value / peak * height)
            y -= size
            parts.append(
                f'<rect class="{css}" x="{x}" y="{y}" width="{bar}" height="{size}">'
                f"<title>{day}: {value:,} {css}</title></rect>"
            )
        parts.append(
            f'<text x="{x + bar / 2}" y="{y - 3}" text-anchor="middle">{hosted + individual:,}'
            f'</text><text x="{x + bar / 2}" y="{top + height + 14}" text-anchor="middle">'
            f"{day:%d}</text>"
        )
    parts.append("</svg>")
    return "".join(parts)
