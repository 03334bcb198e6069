"""Audience: log lines per second and peak memory of the log processor, and a day's cost.

A day of CloudFront log lines is generated (gzip, as CloudFront delivers it): individual
readers polling their feeds, hosted services, browsers and bots, over 60 feeds. The Lambda's
counting path runs on it in a fresh process: the gzip streamed a line at a time, each line
parsed and classified, readers hashed under the key of every window they count for, and the
per-day partials serialised as the processor writes them (the S3 reads and writes left out:
they are a few requests per log object, not per line). Peak RSS is the process's, baseline
(resident after imports) shown apart; a case with 400,000 distinct readers shows memory
following them.

Lambda bills GB-seconds; below 1,769 MB a function gets that share of one vCPU, so a second
of CPU costs 1,769/1,024 GB-s whatever the memory. The cost of a day at 10 million requests
takes this machine's CPU time per line as Graviton's (arm64) and AWS's list prices.
"""

from __future__ import annotations

import gzip
import json
import random
import resource
import subprocess
import sys
import time
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

#: Lines of the day measured, and a smaller one to show memory does not follow lines.
DAY_LINES = 1_000_000
SMALL_LINES = 100_000
#: Individual readers of a log: one for every 30 lines, or many more in the high-cardinality
#: case, where memory follows the distinct readers.
LINES_PER_READER = 30
MANY_READERS = 400_000
#: The logs measured: (lines, distinct readers polling them).
CASES = (
    (SMALL_LINES, SMALL_LINES // LINES_PER_READER),
    (DAY_LINES, DAY_LINES // LINES_PER_READER),
    (DAY_LINES, MANY_READERS),
)
#: The day of requests the issue prices.
PRICED_REQUESTS = 10_000_000
#: Lambda arm64, us-east-1, first tier: per GB-second and per million requests.
GB_SECOND_USD = 0.0000133334
REQUEST_USD = 0.20 / 1_000_000
#: A vCPU's worth of memory: below it, a function's CPU share is memory / 1,769 MB.
FULL_VCPU_MB = 1769
PROCESSOR_MB = 1024
PROCESSOR_TIMEOUT_S = 300
#: Log objects CloudFront delivers in a day (several an hour per edge that served requests).
LOG_OBJECTS_PER_DAY = 2_000
#: S3 requests per log object: GET the log, GET the window keys (eight), PUT one partial,
#: then HEAD the windows' closed markers (eight), priced as GETs.
S3_GETS_PER_LOG = 1 + 8 + 8
S3_GET_USD = 0.0004 / 1000
S3_PUT_USD = 0.005 / 1000
#: CloudWatch: a custom metric a month.
METRIC_MONTH_USD = 0.30

FEEDS = [
    f"/{prefix}{name}"
    for prefix in ("", *(f"tags/topic-{n}/" for n in range(12)), "authors/desk/", "authors/ed/")
    for name in ("rss.xml", "atom.xml", "feed.json")
][:60]
#: The rollup sends 3 for each feed with readers (every one of this day's, under the default
#: cap) and for the total.
METRICS = 3 * (len(FEEDS) + 1)
READER_AGENTS = [
    "NetNewsWire (RSS Reader; https://netnewswire.com/)",
    "Newsboat/2.36.0 (Linux x86_64)",
    "Mozilla/5.0 (X11; Linux x86_64; rv:128.0) Gecko/20100101 Thunderbird/128.5.0",
    "Reeder/5050.01.53 CFNetwork/1496.0.7 Darwin/23.5.0",
    "FreshRSS/1.24.3 (Linux; https://freshrss.org)",
    "Miniflux/2.2.1 (+https://miniflux.app)",
]
HOSTED_AGENTS = [
    "Feedly/1.0 (+http://www.feedly.com/fetcher.html; {n} subscribers; )",
    "Inoreader/1.0 (+http://www.inoreader.com/feed-fetcher; {n} subscribers; )",
    "Feedbin feed-id:{i} - {n} subscribers",
    "NewsBlur Feed Fetcher - {n} subscribers - https://www.newsblur.com/site/{i}/news",
]
OTHER_AGENTS = [
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/131.0.0.0 Safari/537.36",
    "Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)",
    "Slackbot 1.0 (+https://api.slack.com/robots)",
    "curl/8.5.0",
]
DAY = date(2026, 12, 6)


def generate(path: Path, lines: int, seed: int = 19, readers: int | None = None) -> None:
    """Write a gzipped CloudFront log of ``lines`` requests spread over :data:`DAY`, by
    ``readers`` individual readers (default: one for every 30 lines) and services and bots."""
    from urllib.parse import quote

    from newswire.audience.logformat import CLOUDFRONT_FIELDS, header

    rng = random.Random(seed)
    readers = [
        (f"10.{n >> 16}.{n >> 8 & 255}.{n & 255}", rng.choice(READER_AGENTS), rng.choice(FEEDS))
        for n in range(readers or max(1, lines // LINES_PER_READER))
    ]
    index = {name: position for position, name in enumerate(CLOUDFRONT_FIELDS)}
    template = ["-"] * len(CLOUDFRONT_FIELDS)
    start = datetime.combine(DAY, datetime.min.time(), tzinfo=UTC)
    with gzip.open(path, "wt", encoding="utf-8", compresslevel=6) as out:
        out.write(header())
        for n in range(lines):
            roll = rng.random()
            if roll < 0.85:
                address, agent, feed = rng.choice(readers)
            elif roll < 0.90:
                agent = rng.choice(HOSTED_AGENTS).format(
                    n=rng.randint(1, 5000), i=rng.randint(1, 3)
                )
                address, feed = f"54.{rng.randint(0, 255)}.0.1", rng.choice(FEEDS)
            else:
                agent = rng.choice(OTHER_AGENTS)
                address, feed = (
                    f"66.249.{rng.randint(0, 255)}.{rng.randint(0, 255)}",
                    rng.choice(FEEDS),
                )
            when = start + timedelta(seconds=n * 86400 // lines)
            values = list(template)
            values[index["date"]], values[index["time"]] = when.strftime(
                "%Y-%m-%d %H:%M:%S"
            ).split()
            values[index["c-ip"]], values[index["cs-method"]] = address, "GET"
            values[index["cs-uri-stem"]] = feed
            values[index["sc-status"]] = "304" if rng.random() < 0.7 else "200"
            values[index["cs(User-Agent)"]] = quote(agent, safe="/:;()+,=.~-_*!'@?&")
            out.write("\t".join(values) + "\n")


def measure(path: Path) -> dict[str, Any]:
    """The Lambda's counting path on ``path``, in this process: CPU, wall and memory."""
    from newswire.adapters.audience import partial_key
    from newswire.audience.counting import Tally
    from newswire.audience.hashing import WindowKeys, new_key
    from newswire.audience.logformat import Malformed, read_log

    baseline = _memory_mb("VmRSS:")
    keys: dict[date, bytes] = {}
    cpu, wall = time.process_time(), time.perf_counter()
    tally = Tally(WindowKeys(lambda end: keys.setdefault(end, new_key())))
    lines = counted = 0
    with gzip.open(path, "rb") as stream:
        for item in read_log(stream, str(path)):
            lines += 1
            if not isinstance(item, Malformed) and tally.add(item):
                counted += 1
    partial = {path_: a.to_json() for (path_, _day), a in tally.aggregates.items()}
    written = len(gzip.compress(json.dumps(partial, separators=(",", ":")).encode()))
    partial_key(DAY, str(path))
    return {
        "lines": lines,
        "counted": counted,
        "cpu_s": time.process_time() - cpu,
        "wall_s": time.perf_counter() - wall,
        "baseline_mb": baseline,
        "peak_mb": _memory_mb("VmHWM:"),
        "partial_kb": written / 1024,
        "log_mb": path.stat().st_size / 2**20,
    }


def _memory_mb(field: str) -> float:
    """This process's resident memory (``VmRSS:``) or its peak (``VmHWM:``), in MB.

    Read from ``/proc/self/status``: getrusage's ``ru_maxrss`` survives ``exec``, so in a child
    it would report the parent's peak.
    """
    status = Path("/proc/self/status")
    if status.exists():
        for text in status.read_text().splitlines():
            if text.startswith(field):
                return int(text.split()[1]) / 1024
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def bench_audience(work: Path, cases: tuple[tuple[int, int], ...] | None = None) -> dict[str, Any]:
    """Generate each case once (kept in ``work``) and measure it in a fresh process.

    Args:
        work: where the generated logs are kept between runs.
        cases: (lines, distinct readers) of each log (default: :data:`CASES`).
    """
    runs = []
    for lines, readers in cases or CASES:
        log = work / f"audience-{lines}-{readers}.log.gz"
        if not log.exists():
            print(
                f"benchmarks: generating a CloudFront log of {lines:,} lines, {readers:,} readers",
                flush=True,
            )
            generate(log, lines, readers=readers)
        out = subprocess.run(
            [sys.executable, "-m", "benchmarks.audience", "--measure", str(log)],
            capture_output=True, text=True, check=True,
        )  # fmt: skip
        runs.append({**json.loads(out.stdout.strip().splitlines()[-1]), "readers": readers})
        print(
            f"  audience {lines:>9,} lines, {readers:>7,} readers: {runs[-1]['cpu_s']:.1f} s CPU, "
            f"{runs[-1]['peak_mb']:.0f} MB",
            flush=True,
        )
    return {"runs": runs}


def section(result: dict[str, Any]) -> list[str]:
    """The RESULTS.md section: throughput, memory, and a day's cost at 10 million requests."""
    runs = result.get("runs") or []
    if not runs:
        return []
    most = max(run["lines"] for run in runs)
    day = next(run for run in runs if run["lines"] == most)  # the ordinary day prices it
    per_line = day["cpu_s"] / day["lines"]
    cpu_day = per_line * PRICED_REQUESTS
    gb_s = cpu_day * FULL_VCPU_MB / 1024
    lambda_usd = gb_s * GB_SECOND_USD + LOG_OBJECTS_PER_DAY * REQUEST_USD
    s3_usd = LOG_OBJECTS_PER_DAY * (S3_GETS_PER_LOG * S3_GET_USD + S3_PUT_USD)
    metrics_usd = METRICS * METRIC_MONTH_USD * 12 / 365
    busiest_file = PRICED_REQUESTS / 24 * per_line * FULL_VCPU_MB / PROCESSOR_MB
    return [
        "",
        "## Audience (CloudFront log processor)",
        "",
        "| log lines | readers | gzip | CPU | lines/s (CPU) | peak RSS | after imports "
        "| partials (gzip) |",
        "|---:|---:|---:|---:|---:|---:|---:|---:|",
        *(
            f"| {r['lines']:,} | {r.get('readers', 0):,} | {r['log_mb']:.1f} MB | "
            f"{r['cpu_s']:.1f} s | "
            f"{r['lines'] / r['cpu_s']:,.0f} | {r['peak_mb']:.0f} MB | {r['baseline_mb']:.0f} MB | "
            f"{r['partial_kb']:,.0f} KB |"
            for r in runs
        ),
        "",
        f"The processor's path (`benchmarks/audience.py`): stream, parse, classify, hash under "
        f"each window key, serialise the partials. Memory follows the distinct readers "
        f"(up to {max(r.get('readers', 0) for r in runs):,} in one log), not the lines: "
        f"the processor has {PROCESSOR_MB} MB. A day of "
        f"{PRICED_REQUESTS:,} feed requests: {cpu_day / 60:,.1f} min of CPU, "
        f"{gb_s:,.0f} GB-s, **${lambda_usd:.3f}** of Lambda a day (arm64 list price, "
        f"{LOG_OBJECTS_PER_DAY:,} invocations), ${s3_usd:.3f} of S3 requests; the rollup's "
        f"{METRICS} custom metrics add ${metrics_usd:.2f} a day (${METRIC_MONTH_USD} each a "
        f"month, the largest part). An hour's log of that day in one object would take "
        f"{busiest_file:.0f} s at {PROCESSOR_MB} MB (timeout {PROCESSOR_TIMEOUT_S} s): the "
        "day is processed as it lands.",
    ]


def main(argv: list[str]) -> int:
    if argv[:1] == ["--measure"]:
        print(json.dumps(measure(Path(argv[1]))))
        return 0
    work = Path("/tmp/newswire-bench")
    work.mkdir(parents=True, exist_ok=True)
    cases = (
        tuple((int(n), int(n) // LINES_PER_READER) for n in argv[0].split(",")) if argv else None
    )
    print("\n".join(section(bench_audience(work, cases))))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
