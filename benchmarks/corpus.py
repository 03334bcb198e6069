"""A deterministic benchmark corpus: N news articles in newswire's format, and Hugo's.

Each article is ~5 KB of realistic Markdown (paragraphs, links, emphasis, a quote, a list,
typographic quotes and ampersands), 2–4 tags from a Zipf-skewed pool of 200, 1–2 authors from
50, published over eleven years. Article ``i`` depends only on ``(seed, i)``, so "change one
article" and "add one bad article" are exact, and the same N always gives the same bytes.

One article (``BAD_SLUG``) is invalid on purpose: every build must report exactly it.
"""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta
from pathlib import Path

SEED = 20260101
TAG_COUNT = 200
AUTHOR_COUNT = 50
#: The article every build must reject, for an impossible date.
BAD_SLUG = "zz-bad-article-impossible-date"
BAD_FIELD = "published"

_SYLLABLES = ("ka", "lo", "mi", "ra", "ten", "vo", "shi", "du", "an", "bel", "cor", "ez")
_WORDS = (
    "council", "budget", "harbour", "ferry", "timetable", "energy", "cafés", "market",
    "residents", "minister", "report", "weather", "warning", "festival", "bridge", "hospital",
    "school", "river", "station", "survey", "inflation", "talks", "court", "election",
    "parliament", "strike", "union", "housing", "rents", "tariff", "exports", "grain", "port",
    "police", "inquiry", "museum", "library", "airport", "runway", "flood", "drought",
)  # fmt: skip
_FIRST = ("Priya", "Tom", "Zoë", "José", "Ruth", "Li", "Amélie", "Sean", "Olga", "Kwame")
_LAST = ("Raman", "Hughes", "Brontë", "Álvarez", "Okafor", "Wei", "Dubois", "O’Neill", "Ivanova")
SITE_YAML = """\
title: Bench Wire
description: Benchmark corpus for newswire
base_url: https://news.example.org/
language: en
timezone: Europe/London
author:
  name: Newsroom
  email: newsroom@example.org
items_per_feed: 50
"""


def tag_pool() -> list[str]:
    """200 tag names, some with accents and ampersands, as newsrooms write them."""
    rng = random.Random(SEED)
    names: list[str] = []
    while len(names) < TAG_COUNT:
        word = "".join(rng.choices(_SYLLABLES, k=rng.randint(2, 4))).capitalize()
        if rng.random() < 0.05:
            word += " & " + "".join(rng.choices(_SYLLABLES, k=2))
        if rng.random() < 0.05:
            word = word.replace("e", "é", 1)
        if word not in names:
            names.append(word)
    return names


def author_pool() -> list[str]:
    """50 distinct author names."""
    return [f"{first} {last}" for first in _FIRST for last in _LAST][:AUTHOR_COUNT]


_TAGS = tag_pool()
_TAG_WEIGHTS = [1.0 / (rank + 1) for rank in range(TAG_COUNT)]  # Zipf: a few tags dominate
_AUTHORS = author_pool()


def _sentence(rng: random.Random) -> str:
    words = rng.choices(_WORDS, k=rng.randint(7, 16))
    if rng.random() < 0.3:
        i = rng.randrange(len(words))
        words[i] = f"*{words[i]}*"
    if rng.random() < 0.15:
        i = rng.randrange(len(words))
        words[i] = f"**{words[i]}**"
    text = " ".join(words)
    text = text[0].upper() + text[1:]
    form = rng.randrange(6)
    if form == 0:
        return f"“{text},” said a spokesperson."
    if form == 1:
        return f"{text} & more, it’s said."
    if form == 2:
        n = rng.randint(1, 9999)
        return f"{text} — see [the report](https://example.org/reports/{n}?a=1&b=2)."
    if form == 3:
        return f"{text} ([background](/background/{rng.randint(1, 500)}/))."
    return f"{text}."


def _paragraph(rng: random.Random) -> str:
    return " ".join(_sentence(rng) for _ in range(rng.randint(3, 5)))


def markdown_body(rng: random.Random) -> str:
    """About 5 KB of Markdown: paragraphs, a quote, a list, links, emphasis, typography."""
    blocks = [_paragraph(rng) for _ in range(5)]
    blocks.append("> " + _paragraph(rng))
    blocks.extend(_paragraph(rng) for _ in range(2))
    blocks.append("\n".join(f"- {_sentence(rng)}" for _ in range(rng.randint(3, 5))))
    blocks.extend(_paragraph(rng) for _ in range(2))
    return "\n\n".join(blocks) + "\n"


def slug_for(i: int) -> str:
    return f"article-{i:06d}"


class Article:
    """One generated article's fields (shared by the newswire and Hugo writers)."""

    __slots__ = ("authors", "body", "published", "slug", "summary", "tags", "title")

    def __init__(self, i: int, revision: int = 0) -> None:
        rng = random.Random(f"{SEED}:{i}:{revision}")
        self.slug = slug_for(i)
        words = rng.choices(_WORDS, k=rng.randint(4, 8))
        self.title = " ".join(words).capitalize() + rng.choice(("", " & beyond", ": “why now”"))
        start = datetime(2015, 1, 1, tzinfo=UTC)
        self.published = start + timedelta(minutes=rng.randrange(11 * 365 * 1440))
        tags: list[str] = []
        for _ in range(rng.randint(2, 4)):
            tag = rng.choices(_TAGS, weights=_TAG_WEIGHTS)[0]
            if tag not in tags:
                tags.append(tag)
        self.tags = tags
        self.authors = rng.sample(_AUTHORS, rng.randint(1, 2))
        self.summary = _sentence(rng) if rng.random() < 0.3 else None
        self.body = markdown_body(rng)
        if revision:
            self.body = f"Updated (revision {revision}).\n\n" + self.body


def _yaml_text(value: str) -> str:
    return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'


def newswire_article(article: Article) -> bytes:
    """The article as ``articles/<slug>.md``."""
    lines = [
        "---",
        f"title: {_yaml_text(article.title)}",
        f"published: {article.published.strftime('%Y-%m-%dT%H:%M:%SZ')}",
        "tags: [" + ", ".join(_yaml_text(t) for t in article.tags) + "]",
        "authors:",
        *(f"  - {_yaml_text(a)}" for a in article.authors),
    ]
    if article.summary:
        lines.append(f"summary: {_yaml_text(article.summary)}")
    lines += ["---", "", article.body]
    return "\n".join(lines).encode("utf-8")


def hugo_article(article: Article) -> bytes:
    """The article as Hugo content: YAML front matter Hugo understands, never rendered as a page."""
    lines = [
        "---",
        f"title: {_yaml_text(article.title)}",
        f"date: {article.published.strftime('%Y-%m-%dT%H:%M:%SZ')}",
        "tags: [" + ", ".join(_yaml_text(t) for t in article.tags) + "]",
        "authors: [" + ", ".join(_yaml_text(a) for a in article.authors) + "]",
    ]
    if article.summary:
        lines.append(f"summary: {_yaml_text(article.summary)}")
    lines += ["_build:", "  render: never", "---", "", article.body]
    return "\n".join(lines).encode("utf-8")


BAD_ARTICLE = (
    b"---\ntitle: An article with an impossible date\npublished: 2023-02-30T10:00:00Z\n"
    b"tags: [Kalo]\n---\n\nThis one must be reported by every build.\n"
)


def write_newswire_corpus(root: Path, n: int) -> Path:
    """Write ``site.yaml`` and ``articles/`` for ``n`` articles (plus the bad one) under root."""
    articles = root / "articles"
    articles.mkdir(parents=True, exist_ok=True)
    (root / "site.yaml").write_text(SITE_YAML, encoding="utf-8")
    for i in range(n):
        (articles / f"{slug_for(i)}.md").write_bytes(newswire_article(Article(i)))
    (articles / f"{BAD_SLUG}.md").write_bytes(BAD_ARTICLE)
    return root


def convert_to_hugo(newswire_root: Path, hugo_root: Path, n: int) -> Path:
    """The same ``n`` articles as a Hugo site's ``content/posts/`` (the bad one left out)."""
    posts = hugo_root / "content" / "posts"
    posts.mkdir(parents=True, exist_ok=True)
    del newswire_root  # regenerated from (seed, i): identical fields, Hugo's front matter
    for i in range(n):
        (posts / f"{slug_for(i)}.md").write_bytes(hugo_article(Article(i)))
    return hugo_root


def change_one_article(root: Path, i: int, revision: int) -> Path:
    """Rewrite article ``i`` with new text (a warm build then has exactly one change)."""
    path = root / "articles" / f"{slug_for(i)}.md"
    path.write_bytes(newswire_article(Article(i, revision)))
    return path
