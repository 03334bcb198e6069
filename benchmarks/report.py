"""The text of ``benchmarks/RESULTS.md``: each section from its benchmark's figures, with the
targets met or missed."""

from __future__ import annotations

import os
import platform
import shutil
import subprocess
from datetime import UTC, datetime
from importlib import metadata
from pathlib import Path
from typing import Any

from benchmarks import engine as engine_bench
from benchmarks import hostile
from benchmarks import publish as publish_bench
from benchmarks.latency import model_table

#: The corpus size the full-build targets are set for.
TARGET_SIZE = 10_000
#: The heading of RESULTS.md's hand-kept section: the figures behind choices the code makes,
#: measured once with their own setup, so a run keeps them instead of dropping them.
KEPT_HEADING = "## Measured choices"
#: The tmpfs timed builds write to, when the machine has one with room (see
#: ``benchmarks.__main__.scratch_folder``).
SHM = Path("/dev/shm")
#: The issue's targets for the engine, under the latency model.
PUBLISH_ONE_S, PUBLISH_BATCH_S, BATCH_REQUEST_RATIO = 0.30, 0.60, 2.0
REINDEX_SIZE, REINDEX_WALL_S, REINDEX_REQUESTS, INVOCATION_S, INVOCATION_MB = (
    100_000,
    300.0,
    3.0,
    300.0,
    1024.0,
)


def _met(ok: bool) -> str:
    return "**met**" if ok else "**missed**"


def _usd(value: float) -> str:
    return f"${value:,.4f}" if value < 1 else f"${value:,.2f}"


def _cost_line(costs: dict[str, float]) -> str:
    parts = ", ".join(
        f"{name.replace('_', ' ')} {_usd(v)}" for name, v in costs.items() if name != "total" and v
    )
    return f"{_usd(costs['total'])} ({parts})"


def engine_section(engine: dict[str, Any]) -> list[str]:
    """The engine's figures under the latency model, and the issue's targets met or missed."""
    if not engine:
        return []
    lines = [
        "",
        "## Engine under the AWS latency model (Lambda handlers on moto)",
        "",
        *model_table(),
        "",
        "### Publish (one SQS event)",
        "",
    ]
    lines += _engine_publish(engine["publish"])
    lines += ["", "### Reindex (Step Functions Distributed Map, simulated)", ""]
    lines += _engine_reindex(engine["reindex"], engine["sample"])
    return lines


def _engine_publish(publish: dict[str, Any] | str) -> list[str]:
    """The publish table under the latency model and its targets."""
    if isinstance(publish, str):
        return [f"Not measured: {publish}"]
    eb = engine_bench
    lines = [
        "| articles | modelled wall | runs | of which our CPU | requests | requests by "
        "operation | moto's time (left out) | cost per 1,000 articles |",
        "|---:|---:|---|---:|---:|---|---:|---:|",
    ]
    for row in (publish["one"], publish["batch"]):
        runs = ", ".join(f"{t:.2f}" for t in row["wall_all"])
        lines.append(
            f"| {row['articles']} | {row['wall_s']:.3f} s | {runs} | "
            f"{row.get('cpu_s', 0.0):.3f} s | {row['requests']} | "
            f"`{row['requests_by_op']}` | {row['moto_s']:.3f} s | "
            f"{_cost_line(row['cost_per_1000_articles'])} |"
        )
    one, batch, ratio = publish["one"], publish["batch"], publish["request_ratio"]
    lines += [
        "",
        f"Targets: one article ≤ {PUBLISH_ONE_S:.2f} s {_met(one['wall_s'] <= PUBLISH_ONE_S)}"
        f"; a batch of {batch['articles']} ≤ {PUBLISH_BATCH_S:.2f} s "
        f"{_met(batch['wall_s'] <= PUBLISH_BATCH_S)}; its requests ÷ one article's: "
        f"{ratio:.2f}× (≤ {BATCH_REQUEST_RATIO:.0f}×) {_met(ratio <= BATCH_REQUEST_RATIO)}.",
        "",
        f"Each figure is the median of {publish['runs']} runs after a warm-up, into an "
        f"index of {publish['index']:,} articles (publish time does not depend on its size: "
        "see the incremental publish above). The articles of a batch share feeds as a "
        "newsroom's burst does: one section, one author, two tags each of three, published "
        "in the last hour. Wall time is the handler's, with each request taking its "
        "modelled latency and our own CPU (serialising, parsing, rendering) what it takes "
        "on this machine, on a clock that stands still while moto answers (moto's time, "
        "left out, is shown; \"our CPU\": the process's CPU time in the handler, moto's "
        "taken out). Cost per 1,000 "
        f"articles: Lambda (at {eb.PUBLISH_MEMORY_MB:,} MB, the wall time above), S3 and "
        "DynamoDB requests, and SQS (the S3 notification's send per article, one receive "
        "and one delete per batch).",
    ]
    return lines


def _engine_reindex(reindex: dict[Any, dict[str, Any] | str], sample: int) -> list[str]:
    """The reindex table under the latency model, its targets at the largest size, and how
    it was measured."""
    lines: list[str] = []
    measured = {n: r for n, r in reindex.items() if not isinstance(r, str)}
    for n, r in reindex.items():
        if isinstance(r, str):
            lines.append(f"Reindex of {int(n):,} not measured: {r}")
    if measured:
        lines += [
            "| articles | indexed for real | modelled wall | begin | index map | plan | "
            "render map | invocations | longest invocation | requests | per article besides "
            "feed writes | feed-write requests | peak traced memory | cost |",
            "|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
        ]
        for n, r in measured.items():
            phases = r["phases_s"]
            memory = max(r["peak_traced_mb"].values())
            lines.append(
                f"| {int(n):,} | {r['sample_articles']:,} | {r['wall_s']:.1f} s | "
                f"{phases['begin']:.2f} s | {phases['index_map']:.1f} s | "
                f"{phases['plan']:.2f} s | {phases['render_map']:.1f} s | "
                f"{r['invocations']:,} ({r['index_batches']:,} + {r['render_groups']:,}) | "
                f"{r['longest_s']:.2f} s ({r['longest_phase']}) | {r['requests']:,.0f} | "
                f"{r['requests_per_article']:.2f} | {r['feed_write_requests']:,} | "
                f"{memory:.0f} MB | {_usd(r['cost']['total'])} |"
            )
        largest_n = max(measured, key=int)
        largest = measured[largest_n]
        memory_mb = largest["baseline_rss_mb"] + max(largest["peak_traced_mb"].values())
        scale = REINDEX_SIZE / int(largest_n)
        target_note = (
            ""
            if int(largest_n) == REINDEX_SIZE
            else f" (measured at {int(largest_n):,}, not at {REINDEX_SIZE:,}: not yet a verdict)"
        )
        lines += [
            "",
            f"Targets at {int(largest_n):,} articles{target_note}: modelled wall ≤ "
            f"{REINDEX_WALL_S / 60:.0f} min {_met(largest['wall_s'] <= REINDEX_WALL_S)}; "
            f"≤ {REINDEX_REQUESTS:.0f} requests per article besides feed writes "
            f"{_met(largest['requests_per_article'] <= REINDEX_REQUESTS)}; every invocation ≤ "
            f"{INVOCATION_S / 60:.0f} min {_met(largest['longest_s'] <= INVOCATION_S)} and ≤ "
            f"1 GB {_met(memory_mb <= INVOCATION_MB)} ({memory_mb:.0f} MB: the process before "
            "the reindex, moto included, plus the largest invocation's peak traced memory).",
            "",
            f"Cost per {REINDEX_SIZE:,}-article reindex: "
            + _cost_line({k: v * scale for k, v in largest["cost"].items()})
            + ("" if scale == 1 else f", from the {int(largest_n):,}-article run × {scale:g}")
            + ".",
            "",
            _reindex_method(largest, sample),
        ]
    return lines


def _reindex_method(largest: dict[str, Any], sample: int) -> str:
    """How the reindex figures were made: what is measured, what is modelled and priced."""
    eb = engine_bench
    return (
        "Each invocation (`begin`, `index` per batch of keys, `plan`, `render` per group of "
        "feeds, `directory`, from `newswire.handlers.reindex`) runs on moto under the "
        "latency model and is timed. The Distributed Maps are simulated: their invocations run "
        f"{largest['concurrency']} at a time, each started as soon as one ends (a greedy "
        "list schedule of the measured durations), in batches of "
        f"{largest['index_batch']} keys and {largest['render_batch']} feeds. Modelled "
        f"wall = {eb.PARENT_TRANSITIONS} parent state transitions × "
        f"{eb.STATE_OVERHEAD_S:g} s + begin + the ItemReader's listing (40 ms per 1,000 "
        "keys) + index map + plan + render map + directory, each child invocation with "
        f"{eb.CHILD_OVERHEAD_S:g} s of Step Functions overhead, and {eb.COLD_START_S:g} s "
        "of cold start for begin, plan, directory and each map's first wave "
        "(`benchmarks/engine.py`). "
        f"Up to {sample * largest['index_batch']:,} articles everything is "
        "measured, the "
        "index starting empty; above, the index is filled directly with the other "
        "articles (the bucket holds an object under each of their keys, so `begin` lists "
        f"and keeps them all) and {sample} index batches of corpus articles "
        "are indexed for real at full index size: the other batches are taken to last "
        "as long and ask as much as those (their durations cycled in the schedule, their "
        "requests scaled). `begin`, `plan` and every render group run at full size. "
        "Requests besides feed writes: all of them, the ItemReaders' included, except "
        "render's S3 HeadObject and PutObject and DynamoDB Query and BatchGetItem. Cost: "
        f"Lambda at {eb.REINDEX_MEMORY_MB:,} MB for the invocations' time plus each cold "
        "start, S3 and DynamoDB requests, Step Functions: the parent's "
        f"{eb.PARENT_TRANSITIONS} transitions, {eb.CHILD_TRANSITIONS} per child, and each "
        "EXPRESS child's request and duration (at 64 MB)."
    )


def _machine() -> list[str]:
    cpu = "unknown"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    mem = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30
    hugo = shutil.which("hugo")
    hugo_version = (
        subprocess.run(
            [hugo, "version"], check=False, capture_output=True, text=True
        ).stdout.strip()
        if hugo
        else "not installed"
    )
    libs = ", ".join(
        f"{name} {metadata.version(name)}"
        for name in ("cmarkgfm", "nh3", "feedgen", "lxml", "PyYAML", "orjson", "boto3", "moto")
    )
    return [
        f"- Date: {datetime.now(UTC).strftime('%Y-%m-%d %H:%M UTC')}",
        f"- Machine: {platform.machine()}, {cpu}, {os.cpu_count()} cores, {mem:.0f} GiB RAM "
        "(shared and noisy: quote ratios)",
        f"- OS: {platform.platform()}",
        f"- Python {platform.python_version()}; {libs}",
        f"- Hugo: {hugo_version}",
    ]


_PUBLISH_NOTE = (
    f"Each figure is the median of {publish_bench.PUBLISHED} publishes after a warm-up one. "
    "Publish runs on moto with three of its O(table) or O(partition) costs removed, each che"
    "cked to change no request or response (see `benchmarks/publish.py`: TransactWriteItems d"
    "eep-copies the table; Query scans the table, then sorts the whole partition, where Dynam"
    "oDB reads `Limit` items from a B-tree; during each warm-up publish every Query is also a"
    "nswered moto's way and must agree), and the synthetic index, held in the process as moto"
    "'s objects, is frozen out of the garbage collector (`gc.freeze`: in AWS it is in DynamoDB"
    ", not in the function's memory). "
    '"Outside AWS" is handler time minus the time insi'
    "de botocore calls on the handler's clients (`before-call` to `after-call`: serialising, "
    "moto, parsing; calls under way together count once): the part that is ours whatever the"
    " backend, and the figure to hold to th"
    "e 1.3× target. The synthetic index is one article every 58 minutes (100,000 span eleven"
    " years), new articles are published now, so the month archive each publish rebuilds hol"
    'ds the same articles at every size ("articles in month"). Requests per article are the fig'
    "ure that carries over to AWS."
)


def _fmt(value: float | None, unit: str = "", digits: int = 2) -> str:
    return "n/a" if value is None else f"{value:.{digits}f}{unit}"


def _verdict(a: float | None, b: float | None, target: float) -> str:
    if a is None or not b:
        return "not measured"
    return "met" if a / b <= target else "missed"


def _ratio(a: float | None, b: float | None) -> str:
    return "n/a" if a is None or b is None or b == 0 else f"{a / b:.2f}×"


def hostile_section(cases: list[dict[str, Any]], repeat: int) -> list[str]:
    """The hostile bodies' table and verdict (see ``benchmarks/hostile.py``)."""
    if not cases:
        return []
    target = hostile.TARGET_S
    worst = max(c["cpu_s"] for c in cases)
    return [
        "",
        f"## Hostile bodies (one publish's parse and render, CPU, median of {repeat})",
        "",
        "| body | file | CPU time | outcome |",
        "|---|---:|---:|---|",
        *(
            f"| {c['case']} | {c['kb']:,.0f} KB | {_fmt(c['cpu_s'], ' s', 3)} | {c['outcome']} |"
            for c in cases
        ),
        "",
        f"Slowest: {worst:.3f} s (target: published or rejected in ≤ {target:.0f} s each: "
        f"**{'met' if worst <= target else 'missed'}**). Each body is just under the 1 MiB "
        "limit, built to be slow for one step; the time is what a publish does with the "
        "file on our side (`parse_article`, `render_entry`, the entry encoded for the index), "
        "without the S3 read or the feeds written, which do not depend on its shape.",
    ]


def report(
    builds: list[dict[str, Any]],
    publishes: list[dict[str, Any]],
    imports: dict[str, float],
    hugo_note: str,
    repeat: int,
    scratch: Path,
    creation: dict[str, float],
    hostile_cases: list[dict[str, Any]],
    hostile_repeat: int,
    engine: dict[str, Any] | None = None,
) -> str:
    """RESULTS.md's text, but for the hand-kept section (see :func:`kept_section`) and the
    audience section (``benchmarks/audience.py``)."""
    lines = ["# newswire benchmarks", "", *_machine(), ""]
    lines += [
        "Written by `make bench` (`python -m benchmarks`). Corpus: `benchmarks/corpus.py` "
        "(~5 KB of Markdown per article, 2–4 tags of 200 Zipf-skewed, 1–2 authors of 50, "
        "11 years, plus one invalid article every build must report). Each figure is the "
        f"median of {repeat} interleaved run(s), each in a fresh process that starts with "
        "nothing unwritten in the page cache (`sync`). Memory: peak RSS of "
        "the largest process (`RUSAGE_CHILDREN`), and the peak sums of RSS and of PSS over "
        "newswire's parent and worker processes (forked workers share pages with the parent: "
        "RSS counts a shared page in each, PSS splits it, so the PSS sum is what the build "
        "really takes). Hugo is one process. newswire's modules are byte-compiled before the "
        "builds, as pip compiles an installed package: this checkout is installed in place, "
        "and where `PYTHONDONTWRITEBYTECODE` is set (as on this machine) every build would "
        "compile them again (~0.05 s). The cold-start figures below run without that bytecode, "
        "as the Lambda package ships none.",
        "",
    ]
    if creation and builds:
        lines += _scratch_note(builds[-1], scratch, creation)
    if hugo_note:
        lines += [f"**Note:** {hugo_note}", ""]
    lines += _build_section(builds)
    lines += _publish_section(publishes)
    lines += engine_section(engine or {})
    lines += _import_section(imports)
    lines += hostile_section(hostile_cases, hostile_repeat)
    return "\n".join(lines) + "\n"


def _scratch_note(last: dict[str, Any], scratch: Path, creation: dict[str, float]) -> list[str]:
    """Where the builds write, and why there: the disk's cost of creating files."""
    created = last["created"]
    return [
        f"Both builds write their output (and newswire its cache) to `{scratch.parent}`"
        + (" (a tmpfs)" if scratch.parent == SHM else "")
        + ", the corpus is read from the disk. On this machine's disk, creating a file or "
        "folder right after a tree like a build's output was deleted there took "
        f"{creation['disk']:.3f} ms of CPU, against {creation['scratch']:.3f} ms in the "
        "scratch folder (measured by this run: 300 folders of 5 files). An ext4 without a "
        "journal does not reuse an inode freed in the last minutes, and checks every one "
        "it skips. Each run deletes the previous run's output, and at "
        f"{last['n']:,} articles newswire creates {created['newswire']:,} files and "
        f"folders to Hugo's {created['hugo']:,}: on the disk, the ratio depended on what "
        "the disk had done in the last minutes (newswire's system time ranged from 0.6 s "
        "to 1.5 s on the same build, on 2026-11-26).",
        "",
    ]


def _build_section(builds: list[dict[str, Any]]) -> list[str]:
    """The full builds' table, run-by-run ratios and the targets at :data:`TARGET_SIZE`."""
    lines = [
        "## Full build (`newswire build`)",
        "",
        "| articles | cold | warm (1 changed) | Hugo | cold ÷ Hugo | warm ÷ Hugo | peak RSS "
        "| tree RSS | tree PSS | Hugo RSS | RSS ÷ Hugo | tree PSS ÷ Hugo |",
        "|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for b in builds:
        lines.append(
            f"| {b['n']:,} | {_fmt(b['cold_s'], ' s')} | {_fmt(b['warm_s'], ' s')} | "
            f"{_fmt(b['hugo_s'], ' s')} | {_ratio(b['cold_s'], b['hugo_s'])} | "
            f"{_ratio(b['warm_s'], b['hugo_s'])} | {_fmt(b['cold_rss_mb'], ' MB', 0)} | "
            f"{_fmt(b['cold_tree_mb'], ' MB', 0)} | {_fmt(b['cold_pss_mb'], ' MB', 0)} | "
            f"{_fmt(b['hugo_rss_mb'], ' MB', 0)} | {_ratio(b['cold_rss_mb'], b['hugo_rss_mb'])} | "
            f"{_ratio(b['cold_pss_mb'], b['hugo_rss_mb'])} |"
        )
    for b in builds:
        if b["hugo_s"] is None:
            continue
        pairs = ", ".join(f"{r:.2f}×" for r in b["cold_pairs"])
        line = f"{b['n']:,} articles, cold ÷ Hugo run by run: {pairs}."
        if b["n"] == TARGET_SIZE:  # the targets are set for this size
            cold = _verdict(b["cold_s"], b["hugo_s"], 1.0)
            warm = _verdict(b["warm_s"], b["hugo_s"], 0.25)
            memory = _verdict(b["cold_pss_mb"], b["hugo_rss_mb"], 0.25)
            line += (
                f" Targets (on the medians): cold ≤ 1.0× **{cold}**, warm ≤ 0.25× **{warm}**, "
                f"tree PSS ≤ 0.25× **{memory}**."
            )
        lines += ["", line]
    if builds:
        lines += ["", f"Last warm build said: `{builds[-1]['warm_summary']}`"]
    return lines


def _publish_section(publishes: list[dict[str, Any]]) -> list[str]:
    """The incremental publish at each index size: time outside AWS must not grow with it."""
    if not publishes:
        return []
    base = publishes[0]
    lines = [
        "",
        "## Incremental publish (Lambda handler on moto)",
        "",
        "| index size | articles in month | AWS requests per article | handler time | "
        "× at smallest | outside AWS | × at smallest | peak traced memory | "
        "process RSS (incl. moto) |",
        "|---:|---:|---|---:|---:|---:|---:|---:|---:|",
    ]
    for p in publishes:
        lines.append(
            f"| {p['n']:,} | {p['month_articles']:,} | {p['requests_all']} | "
            f"{_fmt(p['handler_s'], ' s', 3)} | {_ratio(p['handler_s'], base['handler_s'])} | "
            f"{_fmt(p['outside_aws_s'], ' s', 3)} | "
            f"{_ratio(p['outside_aws_s'], base['outside_aws_s'])} | "
            f"{_fmt(p['tracemalloc_peak_mb'], ' MB', 1)} | {_fmt(p['maxrss_mb'], ' MB', 0)} |"
        )
    same = len({tuple(p["requests_all"]) for p in publishes}) == 1
    last = publishes[-1]
    outside = _ratio(last["outside_aws_s"], base["outside_aws_s"])
    met = last["outside_aws_s"] <= 1.3 * base["outside_aws_s"]
    lines += [
        "",
        f"Time outside AWS calls at {last['n']:,} ÷ at {base['n']:,}: **{outside}** "
        f"(target ≤ 1.30×: **{'met' if met else 'missed'}**); whole handler time on moto: "
        f"{_ratio(last['handler_s'], base['handler_s'])}.",
        "",
        _PUBLISH_NOTE,
        "",
        f"Requests per article identical at every size: **{'yes' if same else 'NO'}** "
        f"(per operation, first article: `{base['requests_by_op']}`).",
    ]
    return lines


def _import_section(imports: dict[str, float]) -> list[str]:
    """Cold start: the handler's import against boto3's."""
    if not imports:
        return []
    net = {k: v - imports["python"] for k, v in imports.items()}
    return [
        "",
        "## Cold start (fresh interpreter, median of 7)",
        "",
        "| import | wall | minus bare `python -c pass` |",
        "|---|---:|---:|",
        *(
            f"| {name} | {_fmt(imports[name], ' s', 3)} | {_fmt(net[name], ' s', 3)} |"
            for name in ("python", "boto3", "handler", "handler_outside_lambda")
        ),
        "",
        f"Handler ÷ boto3 (net of interpreter start): {_ratio(net['handler'], net['boto3'])}"
        f" (target ≤ 2×: **{'met' if net['handler'] <= 2 * net['boto3'] else 'missed'}**)."
        " `handler` is imported with the variables the Lambda runtime sets (tracing on, as"
        " deployed); `handler_outside_lambda` without them, where the X-Ray SDK also builds"
        " a sampling client a function never builds.",
    ]


def kept_section(results: Path) -> str:
    """The "Measured choices" section of ``results`` and all after it, or nothing."""
    try:
        text = results.read_text(encoding="utf-8")
    except FileNotFoundError:
        return ""
    at = text.find("\n" + KEPT_HEADING + "\n")
    return text[at:] if at >= 0 else ""
