"""RESULTS.md keeps the measured figures the code points to, whatever ``make bench`` rewrites;
the hostile bodies it times are the articles they claim to be."""

from __future__ import annotations

from pathlib import Path

import pytest

from benchmarks import hostile
from benchmarks.__main__ import KEPT_HEADING, RESULTS, hostile_section, kept_section
from newswire.content.articles import MAX_BODY_BYTES, parse_article
from newswire.rendering.html import MAX_NESTING


def test_a_benchmark_run_keeps_the_hand_kept_section(tmp_path: Path) -> None:
    results = tmp_path / "RESULTS.md"
    kept = f"\n{KEPT_HEADING}\n\n- **A choice**: its figure.\n"
    results.write_text("# newswire benchmarks\n\n| old | table |\n" + kept, encoding="utf-8")

    assert kept_section(results) == kept


def test_without_the_section_a_run_writes_only_its_own_figures(tmp_path: Path) -> None:
    results = tmp_path / "RESULTS.md"
    assert kept_section(results) == ""
    results.write_text("# newswire benchmarks\n", encoding="utf-8")
    assert kept_section(results) == ""


def test_the_figures_the_code_points_to_are_there() -> None:
    package = Path(__file__).parents[2] / "functions" / "newswire"
    pointing = [p for p in package.rglob("*.py") if "benchmarks/RESULTS.md" in p.read_text()]
    assert pointing, "no code points to RESULTS.md: drop this test with the section"
    assert kept_section(RESULTS).startswith(f"\n{KEPT_HEADING}\n")


@pytest.mark.parametrize("name", list(hostile.cases()))
def test_each_hostile_body_is_a_valid_article_just_under_the_size_limit(name: str) -> None:
    key, data = hostile.cases()[name]

    article = parse_article(key, data, hostile.SITE)

    assert 0.99 * MAX_BODY_BYTES < len(article.body.encode()) <= MAX_BODY_BYTES


def test_the_deepest_body_is_rejected_for_its_nesting() -> None:
    key, data = next(iter(hostile.cases().values()))

    assert hostile.publish_once(key, data) == (
        f"rejected: body: nests elements more than {MAX_NESTING} deep"
    )


def test_a_hostile_body_over_the_target_is_reported_missed() -> None:
    cases = [
        {"case": "fast", "kb": 1020.0, "cpu_s": 0.5, "outcome": "published"},
        {"case": "slow", "kb": 1020.0, "cpu_s": 2.5, "outcome": "rejected: body: why"},
    ]

    text = "\n".join(hostile_section(cases, 3))

    assert "| slow | 1,020 KB | 2.500 s | rejected: body: why |" in text
    assert "Slowest: 2.500 s" in text
    assert "**missed**" in text
