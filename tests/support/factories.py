"""Helpers shared by tests: the repository's content and a small, fixed site."""

from __future__ import annotations

from pathlib import Path
from zoneinfo import ZoneInfo

from newswire.domain.model import Person, SiteConfig

REPO = Path(__file__).resolve().parents[2]
CONTENT = REPO / "content"
SEED = REPO / "tests" / "data" / "english-news-putin-appeal.txt"  # copy of shared/seeds
SEED_KEY = "articles/putin-urges-ukraine-military-to-take-power.md"


def make_site(**overrides: object) -> SiteConfig:
    """A small site in London time, the way ``site.yaml`` would give it."""
    values: dict[str, object] = {
        "title": "Test News",
        "description": "News for tests",
        "base_url": "https://news.example/",
        "feeds_url": "https://news.example/feeds/",
        "language": "en",
        "timezone": ZoneInfo("Europe/London"),
        "author": Person("News Desk", "desk@news.example"),
    }
    values.update(overrides)
    return SiteConfig(**values)  # type: ignore[arg-type]
