"""Hostile bodies: the CPU time one publish spends on a worst-case article of ~1 MB.

Each case is an article file just under the body size limit, built to be slow for one part of
what a publish does on our side: parse the file (``parse_article``), render its entry
(``render_entry``: Markdown, sanitiser, summary) and encode the entry the index stores, as
``Indexer._read`` (``newswire/pipeline/indexer.py``) does. Reading it from S3 and writing feeds
are not counted: they do not depend on the body's shape. The target is the issue's: published
or rejected in at most 2 s.
"""

from __future__ import annotations

import functools
import json
import statistics
import time
from collections.abc import Callable
from typing import Any
from zoneinfo import ZoneInfo

from newswire.content.articles import MAX_BODY_BYTES, parse_article
from newswire.domain.model import Person, SiteConfig
from newswire.errors import InvalidArticleError
from newswire.pipeline.ports import MAX_ENTRY_BYTES, encode_entry
from newswire.rendering.entry import render_entry
from newswire.rendering.html import MAX_NESTING

#: Seconds one publish may spend on a body, whatever its shape.
TARGET_S = 2.0
#: The bytes of body each case fills, leaving room for the front matter under the limit.
BUDGET = MAX_BODY_BYTES - 4096
SITE = SiteConfig(
    title="Hostile News",
    description="Worst-case bodies",
    base_url="https://news.example/",
    feeds_url="https://news.example/feeds/",
    language="en",
    timezone=ZoneInfo("UTC"),
    author=Person("News Desk", "desk@news.example"),
)
_FRONT = "---\ntitle: A hostile body\npublished: 2026-11-01T10:00:00Z\n---\n\n"


def _fill(unit: str) -> str:
    """``unit`` repeated to just under :data:`BUDGET` bytes."""
    return unit * (BUDGET // len(unit.encode("utf-8")))


def _nested(depth: int, inner: str = "x") -> str:
    return "<div>" * depth + inner + "</div>" * depth


def _definitions(head: str) -> str:
    """``head``, then distinct link reference definitions to just under :data:`BUDGET` bytes."""
    lines, size, i = [head], len(head.encode("utf-8")), 0
    while size + len(line := f"[a{i}]: /b\n") <= BUDGET:
        lines.append(line)
        size, i = size + len(line), i + 1
    return "".join(lines)


def _markdown(body: str) -> bytes:
    return (_FRONT + body).encode("utf-8")


def _json(**fields: Any) -> bytes:
    base = {"title": "A hostile body", "published": "2026-11-01T10:00:00Z"}
    return json.dumps(base | fields).encode("utf-8")


def cases() -> dict[str, tuple[str, bytes]]:
    """Each case's name, and its article key and file."""
    deep = BUDGET // len(_nested(1, ""))
    quotes = ("> " * (MAX_NESTING - 2)).join(["", "**quoted** [text](a) `code`\n\n"])
    return {
        f"`<div>` nested {deep:,} deep": ("articles/deep.md", _markdown(_nested(deep))),
        f"`<div>` nested {MAX_NESTING} deep, repeated": (
            "articles/at-limit.md",
            _markdown(_fill(_nested(MAX_NESTING, "a few words") + "\n\n")),
        ),
        "sibling tags, no `<p>` (HTML summary)": (
            "articles/siblings.json",
            _json(body_html=_fill("<span>w</span><b>x</b> ")),
        ),
        "Markdown list, no top-level paragraph (summary fallback)": (
            "articles/one-list.md",
            _markdown(_fill("- item *x* [y](z)\n")),
        ),
        "list whose first paragraph has `[`, then reference definitions": (
            "articles/definitions.md",
            _markdown(_definitions("- [x] y\n\n")),
        ),
        "`<b>` left open before tags that close nothing": (
            "articles/unclosed.json",
            _json(body_html=_fill("<b><option>")),
        ),
        "Markdown delimiters and brackets": (
            "articles/delimiters.md",
            _markdown(_fill("*a **b [c _d `e ")),
        ),
        f"JSON, quotes nested {MAX_NESTING - 2} deep, all lists full": (
            "articles/deep-json.json",
            _json(
                body_markdown=_fill(quotes),
                tags=[f"Tag {i}" for i in range(30)],
                authors=[{"name": f"Author {i}", "email": f"a{i}@x.example"} for i in range(10)],
            ),
        ),
    }


def publish_once(key: str, data: bytes) -> str:
    """What one publish does to the file on our side; its outcome, as the report words it."""
    try:
        entry = render_entry(parse_article(key, data, SITE))
    except InvalidArticleError as e:
        return f"rejected: {e.field}: {e.problem}"
    size = len(encode_entry(entry))
    if size > MAX_ENTRY_BYTES:
        return f"rejected: body: renders to {size} compressed bytes"
    return f"published ({size:,} bytes in the index)"


def _cpu_s(run: Callable[[], str]) -> tuple[float, str]:
    started = time.process_time()
    outcome = run()
    return time.process_time() - started, outcome


def bench_hostile(repeat: int = 3) -> list[dict[str, Any]]:
    """Median CPU seconds of ``repeat`` publishes of each case, with its outcome."""
    results = []
    for name, (key, data) in cases().items():
        runs = [_cpu_s(functools.partial(publish_once, key, data)) for _ in range(repeat)]
        seconds = statistics.median(s for s, _ in runs)
        outcome = runs[-1][1]
        results.append({"case": name, "kb": len(data) / 1024, "cpu_s": seconds, "outcome": outcome})
        print(f"  hostile: {name}: {seconds:.3f} s, {outcome}", flush=True)
    return results
