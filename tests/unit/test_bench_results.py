"""RESULTS.md keeps the measured figures the code points to, whatever ``make bench`` rewrites."""

from __future__ import annotations

from pathlib import Path

from benchmarks.__main__ import KEPT_HEADING, RESULTS, kept_section


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
