"""``python -m benchmarks`` (``make bench``): build, publish, engine and cold-start benchmarks.

Prints a table and writes ``benchmarks/RESULTS.md`` (machine, versions, date), keeping its
hand-kept "Measured choices" section as it is. The machine is
shared and noisy: every figure is the median of ``--repeat`` runs, builds are interleaved with
Hugo's, and the ratios are what we quote.

Options: ``--sizes 1000,10000`` (full builds), ``--publish-sizes 1000,10000,100000``,
``--repeat 9``, ``--quick`` (1,000 only, one run each), ``--no-hugo``, ``--no-publish``,
``--engine-sizes 1000,10000,100000`` (reindex under the latency model), ``--no-engine``,
``--only hostile``, ``--only engine`` or ``--only audience`` (that section alone: printed,
RESULTS.md left as it is; ``--quick`` applies). The audience section measures the CloudFront
log processor on a day of 1,000,000 lines, and on one with 400,000 distinct readers
(``benchmarks/audience.py``).
"""

from __future__ import annotations

import argparse
import hashlib
import importlib.util
import json
import os
import py_compile
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from benchmarks import audience as audience_bench
from benchmarks import corpus, hostile
from benchmarks.report import SHM, engine_section, hostile_section, kept_section, report

REPO = Path(__file__).resolve().parents[1]
HUGO_SITE = REPO / "benchmarks" / "hugo"
RESULTS = REPO / "benchmarks" / "RESULTS.md"
NOW = "2026-11-01T00:00:00Z"
PY = sys.executable
#: This checkout's package ahead of the one installed in the venv (maybe another checkout's):
#: the builds measured are this checkout's.
_PYTHONPATH = os.pathsep.join([str(REPO / "functions"), str(REPO)])
NEWSWIRE = str(Path(PY).with_name("newswire"))


def _run_measured(argv: list[str], cwd: Path | None = None) -> dict[str, Any]:
    """Run a build in a fresh, measured process, once the page cache holds nothing unwritten:
    writeback must not slow the build timed (a cold build writes ~0.7 GB, to the scratch
    folder if it is a tmpfs, else to the disk)."""
    os.sync()
    out = subprocess.run(
        [PY, "-m", "benchmarks.measure", *argv],
        cwd=cwd or REPO,
        capture_output=True,
        text=True,
        check=True,
        env={**os.environ, "PYTHONPATH": _PYTHONPATH},
    )
    result: dict[str, Any] = json.loads(out.stdout.strip().splitlines()[-1])
    return result


def ensure_hugo() -> str | None:
    """Hugo's path, installing Debian's package if missing; ``None`` (with a note) if it can't."""
    if found := shutil.which("hugo"):
        return found
    if os.geteuid() == 0 and shutil.which("apt-get"):
        print("benchmarks: installing hugo (apt-get update; apt-get install -y hugo)")
        subprocess.run(["apt-get", "update", "-qq"], check=False, capture_output=True)
        subprocess.run(
            ["apt-get", "install", "-y", "-qq", "hugo"], check=False, capture_output=True
        )
    return shutil.which("hugo")


def prepare_corpus(work: Path, n: int, hugo: bool) -> tuple[Path, Path]:
    """Generate (once per size and generator version) the newswire and Hugo corpora."""
    version = hashlib.sha256(Path(corpus.__file__).read_bytes()).hexdigest()
    root = work / f"corpus-{n}"
    stamp = root / ".generated"
    nw, hs = root / "newswire", root / "hugo"
    if not stamp.exists() or stamp.read_text() != version:
        shutil.rmtree(root, ignore_errors=True)
        print(f"benchmarks: generating {n:,} articles …", flush=True)
        corpus.write_newswire_corpus(nw, n)
        stamp.parent.mkdir(parents=True, exist_ok=True)
        if hugo:
            corpus.convert_to_hugo(nw, hs, n)
        stamp.write_text(version)
    if hugo and not (hs / "content").exists():
        corpus.convert_to_hugo(nw, hs, n)
    if hugo:
        shutil.copy(HUGO_SITE / "config.toml", hs / "config.toml")
        shutil.copytree(HUGO_SITE / "layouts", hs / "layouts", dirs_exist_ok=True)
    return nw, hs


def _check_rejections(stderr: str) -> None:
    """The build must report exactly the one bad article, and nothing else."""
    lines = [line for line in stderr.splitlines() if not line.startswith("newswire:")]
    if (
        len(lines) != 1
        or corpus.BAD_SLUG not in lines[0]
        or f": {corpus.BAD_FIELD}:" not in lines[0]
    ):
        raise SystemExit(f"benchmarks: the build did not report exactly the bad article:\n{stderr}")


#: What a 10,000-article build writes (newswire's output and cache, Hugo's output), with room.
SCRATCH_BYTES = 2 * 2**30


def scratch_folder(work: Path) -> Path:
    """A new folder for the timed builds' output and caches: on a tmpfs if there is one.

    Not on the disk holding ``work``: there, the cost of creating a file depended on what the
    disk did in the last minutes. Without a journal (as on this machine's ext4), ext4 will not
    reuse an inode freed in the last 60-360 s, and checks each one it skips. Right after the
    previous output was deleted, every file a build creates costs ~0.2 ms of CPU instead of
    ~0.01 ms (``file_creation_ms`` measures both). newswire creates ~1,550 files and folders
    at 10,000 articles, Hugo ~400, so the comparison measured the disk's recent past. ext4
    with a journal (its default) never makes this check. A tmpfs creates a file in ~0.01 ms,
    as this disk does when nothing was deleted lately (~0.02 ms), for both builds alike.
    """
    if SHM.is_dir() and os.access(SHM, os.W_OK) and shutil.disk_usage(SHM).free > SCRATCH_BYTES:
        return Path(tempfile.mkdtemp(prefix="newswire-bench-", dir=SHM))
    return Path(tempfile.mkdtemp(prefix="scratch-", dir=work))


def file_creation_ms(folder: Path, folders: int = 300, files: int = 5) -> float:
    """CPU milliseconds to create a file or folder in ``folder``, right after a tree of the
    same shape (files of 300 KB) there was written to disk and deleted, as each benchmark run
    deletes the previous run's output and builds it again: see :func:`scratch_folder`."""
    probe = Path(tempfile.mkdtemp(prefix="creation-probe-", dir=folder))
    tree = probe / "out"
    try:
        for d in range(folders):
            (tree / str(d)).mkdir(parents=True)
            for f in range(files):
                (tree / str(d) / str(f)).write_bytes(bytes(300_000))
        os.sync()
        shutil.rmtree(tree)
        os.sync()
        started = time.process_time()
        for d in range(folders):
            (tree / str(d)).mkdir(parents=True)
            for f in range(files):
                os.close(os.open(tree / str(d) / str(f), os.O_CREAT | os.O_WRONLY, 0o644))
        return 1000 * (time.process_time() - started) / (folders * (files + 1))
    finally:
        shutil.rmtree(probe, ignore_errors=True)


def _entries_under(folder: Path) -> int:
    """How many files and folders ``folder`` holds (0 if it does not exist)."""
    return sum(1 for _ in folder.rglob("*"))


def bench_build(work: Path, scratch: Path, n: int, repeat: int, hugo: str | None) -> dict[str, Any]:
    """Cold, warm and Hugo builds of ``n`` articles, interleaved; outputs go to ``scratch``."""
    nw, hs = prepare_corpus(work, n, hugo is not None)
    out, cache, hugo_out = scratch / f"out-{n}", scratch / f"cache-{n}", scratch / f"hugo-out-{n}"
    cold, warm, hugo_runs = [], [], []
    changed = n // 2
    for r in range(repeat):
        if hugo:
            shutil.rmtree(hugo_out, ignore_errors=True)
            hugo_runs.append(_run_measured([hugo, "--quiet", "-s", str(hs), "-d", str(hugo_out)]))
        shutil.rmtree(out, ignore_errors=True)
        shutil.rmtree(cache, ignore_errors=True)
        corpus.change_one_article(nw, changed, 0)  # the corpus as generated
        build = [NEWSWIRE, "build", str(nw), "--out", str(out), "--now", NOW, "--cache", str(cache)]
        result = _run_measured(build)
        _check_rejections(result["stderr"])
        cold.append(result)
        corpus.change_one_article(nw, changed, r + 1)  # one article changed since
        result = _run_measured(build)
        _check_rejections(result["stderr"])
        warm.append(result)
        print(
            f"  build {n:>7,} run {r + 1}: cold {cold[-1]['wall_s']:.2f} s, "
            f"warm {warm[-1]['wall_s']:.2f} s"
            + (f", hugo {hugo_runs[-1]['wall_s']:.2f} s" if hugo_runs else ""),
            flush=True,
        )
    corpus.change_one_article(nw, changed, 0)
    # What each build creates, for the report (see scratch_folder): the output folders.
    created = {"newswire": _entries_under(out), "hugo": _entries_under(hugo_out)}
    for folder in (out, cache, hugo_out):
        shutil.rmtree(folder, ignore_errors=True)

    def med(runs: list[dict[str, Any]], field: str) -> float | None:
        return statistics.median(r[field] for r in runs) if runs else None

    return {
        "n": n,
        "cold_s": med(cold, "wall_s"),
        "cold_rss_mb": med(cold, "maxrss_mb"),
        "cold_tree_mb": med(cold, "tree_peak_mb"),
        "cold_pss_mb": med(cold, "tree_pss_mb"),
        "warm_s": med(warm, "wall_s"),
        "warm_rss_mb": med(warm, "maxrss_mb"),
        "hugo_s": med(hugo_runs, "wall_s"),
        "hugo_rss_mb": med(hugo_runs, "maxrss_mb"),
        "warm_summary": warm[-1]["stderr"].strip().splitlines()[-1],
        # Each cold build runs right after a Hugo build: the pairs show the machine's noise.
        "cold_pairs": [c["wall_s"] / h["wall_s"] for c, h in zip(cold, hugo_runs, strict=False)],
        "created": created,
    }


def bench_publish(n: int) -> dict[str, Any] | None:
    """One size in a fresh process; ``None`` (reported) if it failed."""
    print(f"  publish into an index of {n:,} …", flush=True)
    out = subprocess.run(
        [PY, "-m", "benchmarks.publish", str(n)],
        cwd=REPO,
        capture_output=True,
        text=True,
        check=False,
        env={**os.environ, "PYTHONPATH": _PYTHONPATH},
    )
    lines = [line for line in out.stdout.splitlines() if line.startswith('{"n"')]
    if out.returncode or not lines:
        print(f"  publish at {n:,} failed:\n{out.stderr[-2000:]}", flush=True)
        return None
    result: dict[str, Any] = json.loads(lines[-1])
    print(
        f"  publish at {n:,}: {result['handler_s']:.3f} s per article, "
        f"{result['outside_aws_s']:.3f} s outside AWS calls",
        flush=True,
    )
    return result


#: Index batches measured for real at each reindex size; above that, sampled (see
#: ``benchmarks/engine.py``).
ENGINE_SAMPLE = 4


def _engine_run(argv: list[str], label: str) -> dict[str, Any] | str:
    """One ``benchmarks.engine`` run in a fresh process: its JSON, or why it failed."""
    print(f"  engine: {label} …", flush=True)
    out = subprocess.run(
        [PY, "-m", "benchmarks.engine", *argv],
        cwd=REPO,
        capture_output=True,
        text=True,
        check=False,
        env={**os.environ, "PYTHONPATH": _PYTHONPATH},
    )
    lines = [line for line in out.stdout.splitlines() if line.startswith('{"kind"')]
    if out.returncode or not lines:
        print(f"  engine: {label} failed:\n{out.stderr[-2000:]}", flush=True)
        last = (out.stderr.strip().splitlines() or ["no output"])[-1]
        return f"failed: {last}"
    result: dict[str, Any] = json.loads(lines[-1])
    return result


def bench_engine(sizes: list[int], runs: int, sample: int) -> dict[str, Any]:
    """Publish (1 and a batch) and reindex at ``sizes`` under the latency model."""
    publish = _engine_run(["publish", str(runs)], f"publish, {runs} runs")
    reindex = {n: _engine_run(["reindex", str(n), str(sample)], f"reindex of {n:,}") for n in sizes}
    return {"publish": publish, "reindex": reindex, "sample": sample}


#: What the Lambda runtime sets before it imports a handler. The X-Ray SDK reads
#: ``LAMBDA_TASK_ROOT``: outside Lambda it builds a sampler with its own botocore client at
#: import (~0.15 s here) that a function never builds, so that is measured separately.
LAMBDA_ENV = {
    "LAMBDA_TASK_ROOT": "/var/task",
    "AWS_LAMBDA_FUNCTION_NAME": "newswire-publish",
    "AWS_REGION": "eu-west-1",
    "AWS_EXECUTION_ENV": "AWS_Lambda_python3.12",
}


def byte_compile(package: Path) -> list[Path]:
    """Byte-compile ``package`` as pip does on install; return the bytecode files, for the
    caller to remove (the cold-start figures must go without them, as Lambda does)."""
    written = []
    for source in sorted(package.rglob("*.py")):
        cached = Path(importlib.util.cache_from_source(str(source)))
        py_compile.compile(str(source), cfile=str(cached), doraise=True)
        written.append(cached)
    return written


def bench_import(repeat: int = 7) -> dict[str, float]:
    """Median wall time of fresh interpreters importing the handler, boto3, or nothing."""
    lambda_env = {**os.environ, **LAMBDA_ENV}
    outside = {k: v for k, v in os.environ.items() if k not in LAMBDA_ENV}
    runs = {
        "python": ("pass", outside),
        "boto3": ("import boto3", outside),
        "handler": ("import newswire.handlers.publish", lambda_env),
        "handler_outside_lambda": ("import newswire.handlers.publish", outside),
    }
    times: dict[str, list[float]] = {k: [] for k in runs}
    for _ in range(repeat):
        for name, (code, env) in runs.items():  # interleaved: noise hits all alike
            t0 = time.perf_counter()
            subprocess.run([PY, "-c", code], check=True, cwd=REPO, env=env)
            times[name].append(time.perf_counter() - t0)
    return {k: statistics.median(v) for k, v in times.items()}


def _bench_builds(
    work: Path, scratch: Path, sizes: list[int], repeat: int, hugo: str | None
) -> tuple[list[dict[str, Any]], dict[str, float]]:
    """The full builds at each size, and the cost of creating files on the disk and in
    ``scratch`` (removed afterwards), with newswire byte-compiled as an install would be."""
    builds = []
    creation: dict[str, float] = {}
    compiled = byte_compile(REPO / "functions" / "newswire")
    try:
        if sizes:
            creation = {"disk": file_creation_ms(work), "scratch": file_creation_ms(scratch)}
        for n in sizes:
            print(f"benchmarks: full build of {n:,} articles into {scratch}", flush=True)
            builds.append(bench_build(work, scratch, n, repeat, hugo))
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
        for path in compiled:
            path.unlink(missing_ok=True)
    return builds, creation


def _arguments(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m benchmarks", description=__doc__)
    parser.add_argument("--sizes", default="1000,10000", help="full-build corpus sizes")
    parser.add_argument("--publish-sizes", default="1000,10000,100000")
    parser.add_argument("--repeat", type=int, default=9)
    parser.add_argument("--quick", action="store_true", help="1,000 articles, one run each")
    parser.add_argument("--no-hugo", action="store_true")
    parser.add_argument("--no-publish", action="store_true")
    parser.add_argument("--engine-sizes", default="1000,10000,100000", help="reindex sizes")
    parser.add_argument("--no-engine", action="store_true")
    parser.add_argument(
        "--only",
        choices=["hostile", "engine", "audience"],
        help="run this section alone; print, write nothing",
    )
    parser.add_argument("--work", type=Path, default=Path("/tmp/newswire-bench"))
    parser.add_argument("--results", type=Path, default=RESULTS)
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = _arguments(argv)
    sizes = [int(s) for s in args.sizes.split(",") if s]
    publish_sizes = [int(s) for s in args.publish_sizes.split(",") if s]
    repeat = args.repeat
    hostile_repeat = 1 if args.quick else 3
    engine_sizes = [int(s) for s in args.engine_sizes.split(",") if s]
    engine_runs, engine_sample = 5, ENGINE_SAMPLE
    if args.quick:
        sizes, publish_sizes, repeat = [1000], [1000], 1
        engine_sizes, engine_runs = [1000, 10000], 3
    if args.only == "hostile":
        print("benchmarks: hostile bodies", flush=True)
        print("\n".join(hostile_section(hostile.bench_hostile(hostile_repeat), hostile_repeat)))
        return 0
    audience_sizes = (audience_bench.CASES[0],) if args.quick else None
    if args.only == "audience":
        args.work.mkdir(parents=True, exist_ok=True)
        result = audience_bench.bench_audience(args.work, audience_sizes)
        print("\n".join(audience_bench.section(result)))
        return 0
    if args.only == "engine":
        print("benchmarks: engine under the latency model", flush=True)
        print("\n".join(engine_section(bench_engine(engine_sizes, engine_runs, engine_sample))))
        return 0
    if args.no_publish:
        publish_sizes = []
    if args.no_engine:
        engine_sizes = []
    args.work.mkdir(parents=True, exist_ok=True)
    hugo = None if args.no_hugo else ensure_hugo()
    note = ""
    if hugo is None:
        note = "Hugo columns are empty: Hugo was " + (
            "not requested (--no-hugo)." if args.no_hugo else "not installed and could not be."
        )
    scratch = scratch_folder(args.work)
    builds, creation = _bench_builds(args.work, scratch, sizes, repeat, hugo)
    publishes = [p for p in (bench_publish(n) for n in publish_sizes) if p is not None]
    engine: dict[str, Any] = {}
    if not args.no_engine:
        print("benchmarks: engine under the latency model", flush=True)
        engine = bench_engine(engine_sizes, engine_runs, engine_sample)
    print("benchmarks: cold start", flush=True)
    imports = bench_import()
    print("benchmarks: hostile bodies", flush=True)
    hostile_cases = hostile.bench_hostile(hostile_repeat)
    text = report(
        builds,
        publishes,
        imports,
        note,
        repeat,
        scratch,
        creation,
        hostile_cases,
        hostile_repeat,
        engine,
    )
    print("benchmarks: audience (CloudFront log processor)", flush=True)
    audience = audience_bench.bench_audience(args.work, audience_sizes)
    text += "\n".join(audience_bench.section(audience)) + "\n"
    print(text)
    args.results.write_text(text + kept_section(args.results), encoding="utf-8")
    print(f"benchmarks: wrote {args.results}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
