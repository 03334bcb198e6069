"""The feeds built from ``content/`` match the golden tree under ``tests/data/golden/``.

The golden files make every change to the output visible in review: a renderer change that
moves a byte shows up as a diff of these files. The build uses a fixed ``now``
(2026-11-01T00:00:00Z), so the scheduled article stays out and nothing depends on the clock.

To accept an intended change, rewrite the tree and review the diff before committing::

    UPDATE_GOLDEN=1 .venv/bin/pytest tests/integration/test_golden.py
    git diff tests/data/golden/
"""

from __future__ import annotations

import os
import shutil
from datetime import UTC, datetime

import pytest

from newswire.build import build_site
from tests.support.factories import REPO, content_site, content_sources

GOLDEN = REPO / "tests" / "data" / "golden"
NOW = datetime(2026, 11, 1, tzinfo=UTC)


def build_content() -> dict[str, bytes]:
    """Every feed file built from the repository's ``content/``, by relative path."""
    report = build_site(content_sources(), content_site(), NOW)
    assert not report.rejected, report.rejected
    return {f.path: f.body for f in report.files}


def golden_tree() -> dict[str, bytes]:
    return {
        path.relative_to(GOLDEN).as_posix(): path.read_bytes()
        for path in sorted(GOLDEN.rglob("*"))
        if path.is_file()
    }


def write_golden(files: dict[str, bytes]) -> None:
    if GOLDEN.exists():
        shutil.rmtree(GOLDEN)
    for path, body in files.items():
        target = GOLDEN / path
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(body)


def test_build_of_content_matches_the_golden_tree() -> None:
    built = build_content()
    if os.environ.get("UPDATE_GOLDEN") == "1":
        write_golden(built)
        pytest.skip(f"rewrote {len(built)} golden files under {GOLDEN}; review the git diff")
    golden = golden_tree()
    assert sorted(built) == sorted(golden), "the set of feed files changed"
    differing = [path for path in sorted(built) if built[path] != golden[path]]
    for path in differing:  # the first difference, as text, for a readable failure
        assert built[path].decode() == golden[path].decode(), path
    assert not differing


def test_golden_tree_covers_main_tag_and_author_feeds() -> None:
    """The golden tree is not trivially small: every family of feed is pinned."""
    paths = set(golden_tree())
    for folder in ("", "tags/cafe-society/", "tags/russia/"):
        for name in ("rss.xml", "atom.xml", "feed.json"):
            assert folder + name in paths
    assert any(p.startswith("authors/") for p in paths)
