"""The audience benchmark measures what it says: a valid CloudFront day, all of it counted."""

from __future__ import annotations

from pathlib import Path

from benchmarks import audience


def test_the_generated_day_is_counted_whole_and_priced(tmp_path: Path) -> None:
    log = tmp_path / "day.log.gz"
    audience.generate(log, 3000)
    run = audience.measure(log)
    assert run["lines"] == run["counted"] == 3000  # no malformed line, every line a feed fetch
    text = "\n".join(audience.section({"runs": [run]}))
    assert "| 3,000 |" in text
    assert "10,000,000 feed requests" in text and "of Lambda a day" in text


def test_peak_memory_is_measured_and_follows_the_distinct_readers(tmp_path: Path) -> None:
    runs = audience.bench_audience(tmp_path, ((40_000, 1_000), (40_000, 30_000)))["runs"]
    few, many = runs
    assert few["baseline_mb"] > 0
    assert many["peak_mb"] - many["baseline_mb"] > few["peak_mb"] - few["baseline_mb"] + 5
    text = "\n".join(audience.section({"runs": runs}))
    assert "| 40,000 | 30,000 |" in text and "up to 30,000 in one log" in text
