"""The audience benchmark measures what it says: a valid CloudFront day, all of it counted."""

from __future__ import annotations

from pathlib import Path

from benchmarks import audience


def test_the_generated_day_is_counted_whole_and_priced(tmp_path: Path) -> None:
    log = tmp_path / "day.log.gz"
    audience.generate(log, 3000)
    run = audience.measure(log)
    assert run["lines"] == run["counted"] == 3000  # no malformed line, every line a feed fetch
    assert run["peak_mb"] >= run["baseline_mb"] > 0
    text = "\n".join(audience.section({"runs": [run]}))
    assert "| 3,000 |" in text
    assert "10,000,000 feed requests" in text and "of Lambda a day" in text
