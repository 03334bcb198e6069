"""RESULTS.md keeps the measured figures the code points to, whatever ``make bench`` rewrites;
the hostile bodies it times are the articles they claim to be; the engine section says which
targets are met, and the latency model schedules and prices work as AWS would."""

from __future__ import annotations

from collections import Counter
from pathlib import Path
from typing import Any

import pytest

from benchmarks import hostile
from benchmarks.__main__ import RESULTS
from benchmarks.engine import makespan
from benchmarks.latency import Usage, capacity, cost
from benchmarks.report import KEPT_HEADING, engine_section, hostile_section, kept_section
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


def _publish(seconds: float, articles: int, requests: int) -> dict[str, Any]:
    return {
        "articles": articles,
        "wall_s": seconds,
        "wall_all": [seconds],
        "requests": requests,
        "requests_by_op": {"s3.PutObject": requests},
        "moto_s": 0.0,
        "cost_per_1000_articles": {"lambda": 0.01, "s3": 0.1, "total": 0.11},
    }


def _reindex(n: int, wall_s: float, per_article: float, longest_s: float) -> dict[str, Any]:
    return {
        "sample_articles": 1000,
        "wall_s": wall_s,
        "phases_s": {"begin": 1.0, "index_map": 60.0, "plan": 1.0, "render_map": 5.0},
        "invocations": 412,
        "index_batches": 400,
        "render_groups": 10,
        "longest_s": longest_s,
        "longest_phase": "index",
        "requests": 250_000,
        "requests_per_article": per_article,
        "feed_write_requests": 1600,
        "peak_traced_mb": {"index": 90.0, "render": 40.0},
        "baseline_rss_mb": 150.0,
        "cost": {"lambda": 1.5, "s3": 0.05, "total": 1.55},
        "concurrency": 40,
        "index_batch": 250,
        "render_batch": 40,
    }


def test_the_engine_section_says_which_targets_are_met() -> None:
    engine = {
        "publish": {
            "one": _publish(0.25, 1, 30),
            "batch": _publish(0.9, 10, 45),
            "request_ratio": 1.5,
            "runs": 5,
            "index": 1000,
        },
        "reindex": {"100000": _reindex(100_000, 290.0, 3.5, 20.0)},
        "sample": 4,
    }

    text = "\n".join(engine_section(engine))

    assert "one article ≤ 0.30 s **met**; a batch of 10 ≤ 0.60 s **missed**" in text
    assert "1.50× (≤ 2×) **met**" in text
    assert "Targets at 100,000 articles: modelled wall ≤ 5 min **met**" in text
    assert "≤ 3 requests per article besides feed writes **missed**" in text
    assert "every invocation ≤ 5 min **met** and ≤ 1 GB **met** (240 MB" in text
    assert "Cost per 100,000-article reindex: $1.55 (lambda $1.50, s3 $0.0500)." in text


def test_a_reindex_below_the_target_size_is_no_verdict_and_its_cost_is_scaled() -> None:
    engine = {
        "publish": "failed: ModuleNotFoundError: No module named 'newswire.pipeline.reindex'",
        "reindex": {"10000": _reindex(10_000, 30.0, 2.0, 2.0), "100000": "failed: MemoryError"},
        "sample": 2,
    }

    text = "\n".join(engine_section(engine))

    assert "Not measured: failed: ModuleNotFoundError" in text
    assert "Reindex of 100,000 not measured: failed: MemoryError" in text
    assert "(measured at 10,000, not at 100,000: not yet a verdict)" in text
    assert "$15.50 (lambda $15.00, s3 $0.5000), from the 10,000-article run × 10." in text


def test_a_distributed_map_is_scheduled_as_slots_free_up() -> None:
    assert makespan([3.0, 3.0, 3.0, 1.0], slots=2) == 6.0
    assert makespan([1.0] * 80, slots=40) == 2.0
    assert makespan([], slots=40) == 0.0


def test_a_transaction_costs_two_write_units_per_kilobyte_of_each_item() -> None:
    put = {"Put": {"TableName": "t", "Item": {"pk": {"S": "a"}, "entry": {"B": b"x" * 2500}}}}
    check = {"ConditionCheck": {"TableName": "t", "Key": {"pk": {"S": "b"}}}}

    units = capacity("TransactWriteItems", {"TransactItems": [put, check]}, {})

    assert units == Counter(wru=2 * 3 + 2 * 1)


def test_a_batch_read_costs_each_item_by_its_size_and_consistency() -> None:
    item = {"pk": {"S": "a"}, "entry": {"B": b"x" * 5000}}  # two 4 KB units
    params = {"RequestItems": {"t": {"Keys": [], "ConsistentRead": True}}}

    strong = capacity("BatchGetItem", params, {"Responses": {"t": [item, item]}})
    eventual = capacity("BatchGetItem", {"RequestItems": {"t": {}}}, {"Responses": {"t": [item]}})

    assert strong == Counter(rru=4)
    assert eventual == Counter(rru=1)


def test_requests_are_priced_by_their_class() -> None:
    usage = Usage(Counter({"s3.GetObject": 1000, "s3.PutObject": 1000, "s3.DeleteObject": 9}))

    priced = cost(usage, lambda_gb_s=1.0, invocations=1_000_000, sqs_requests=1_000_000)

    assert priced.s3_usd == pytest.approx(0.0004 + 0.005)
    assert priced.lambda_usd == pytest.approx(0.0000133334 + 0.20)
    assert priced.sqs_usd == pytest.approx(0.40)
