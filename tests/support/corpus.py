"""A deterministic corpus of realistic articles, for tests that need an archive, not a sample.

Every article is valid: typographic quotes, ampersands, links, lists, 1–3 tags from a pool
with accented names, 1–2 authors, dates over three years written in mixed time zones, and
some JSON articles carrying ``body_html``.
"""

from __future__ import annotations

import json
import random
from datetime import UTC, datetime, timedelta

import yaml

TAGS = (
    "world", "politics", "business", "Café Society", "Energy & Bills", "transport", "rail",
    "weather", "culture", "Éducation", "science", "health", "sport", "München", "local",
    "São Paulo", "technology", "housing", "crime", "Ökologie",
)  # fmt: skip
AUTHORS = (
    "Priya Raman", "Tom Hughes", "Zoë Brontë", "José Álvarez", "Ruth Okafor", "Li Wei",
    "Amélie Dubois", "Sean O’Neill",
)  # fmt: skip
_ZONES = ("Z", "+01:00", "-05:00", "+05:30", "+03:00", "")  # "" means site time
_WORDS = (
    "council", "budget", "harbour", "ferry", "timetable", "energy", "cafés", "market",
    "residents", "minister", "report", "weather", "warning", "festival", "bridge", "hospital",
    "school", "river", "station", "survey",
)  # fmt: skip


def _sentence(rng: random.Random) -> str:
    words = rng.choices(_WORDS, k=rng.randint(6, 14))
    text = " ".join(words).capitalize()
    return rng.choice(
        (
            f"{text}.",
            f"“{text},” said a spokesperson.",
            f"{text} & more, it’s said.",
            f"{text} — see [the report](https://example.org/r/{rng.randint(1, 999)}).",
        )
    )


def _markdown_body(rng: random.Random) -> str:
    blocks = [" ".join(_sentence(rng) for _ in range(rng.randint(1, 3))) for _ in range(3)]
    if rng.random() < 0.4:
        blocks.append("\n".join(f"- {_sentence(rng)}" for _ in range(rng.randint(2, 4))))
    if rng.random() < 0.2:
        blocks.append(f"> {_sentence(rng)}")
    return "\n\n".join(blocks) + "\n"


def _date(rng: random.Random) -> str:
    moment = datetime(2023, 1, 1, tzinfo=UTC) + timedelta(minutes=rng.randrange(3 * 365 * 1440))
    return moment.strftime("%Y-%m-%dT%H:%M:%S") + rng.choice(_ZONES)


def generate_corpus(n: int, seed: int) -> list[tuple[str, bytes]]:
    """``n`` valid article files as ``(key, bytes)``, the same for the same ``seed``.

    Args:
        n: how many articles.
        seed: the random seed.

    Returns:
        ``(articles/<slug>.md|json, bytes)`` pairs in key order.
    """
    rng = random.Random(seed)
    files = []
    for number in range(n):
        fields: dict[str, object] = {
            "title": f"{_sentence(rng).rstrip('.')} ({number})",
            "published": _date(rng),
            "tags": rng.sample(TAGS, rng.randint(1, 3)),
            "authors": rng.sample(AUTHORS, rng.randint(1, 2)),
        }
        if rng.random() < 0.5:
            fields["summary"] = _sentence(rng)
        slug = f"article-{number:04d}"
        if rng.random() < 0.15:
            paragraphs = [f"<p>{_sentence(rng).replace('&', '&amp;')}</p>" for _ in range(3)]
            fields["body_html"] = "\n".join(paragraphs)
            body = json.dumps(fields, ensure_ascii=False, indent=2).encode()
            files.append((f"articles/{slug}.json", body))
        else:
            front = yaml.safe_dump(fields, allow_unicode=True, sort_keys=False)
            files.append(
                (f"articles/{slug}.md", f"---\n{front}---\n\n{_markdown_body(rng)}".encode())
            )
    return files
