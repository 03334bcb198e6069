"""Run one command in a fresh process; print its wall time and peak memory as JSON.

``python -m benchmarks.measure CMD...``. Peak memory is measured two ways: the largest single
process (``getrusage(RUSAGE_CHILDREN).ru_maxrss``, what the issue asks for) and, for the whole
process tree sampled every 50 ms from ``/proc`` (so a build that forks workers is charged for
all of them at once), the largest sum of RSS and of PSS. A forked worker shares its parent's
pages until either writes them: RSS counts a shared page in every process, PSS splits it
between them, so the PSS sum is the memory the tree really takes.
"""

from __future__ import annotations

import json
import resource
import subprocess
import sys
import threading
import time
from pathlib import Path


def _tree_memory_kb(root: int) -> tuple[int, int]:
    """The RSS and PSS sums (kB) of ``root`` and its descendants, now."""
    parents: dict[int, int] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        parents[int(entry.name)] = int(stat.rsplit(")", 1)[1].split()[1])
    rss = pss = 0
    todo = [root]
    while todo:
        pid = todo.pop()
        try:
            rollup = Path(f"/proc/{pid}/smaps_rollup").read_text().splitlines()
        except OSError:
            continue
        fields = {line.split(":")[0]: line.split()[1] for line in rollup[1:] if ":" in line}
        rss += int(fields.get("Rss", 0))
        pss += int(fields.get("Pss", 0))
        todo.extend(child for child, parent in parents.items() if parent == pid)
    return rss, pss


def main(argv: list[str]) -> int:
    peak_rss = peak_pss = 0
    started = time.perf_counter()
    process = subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    done = threading.Event()

    def sample() -> None:
        nonlocal peak_rss, peak_pss
        while not done.is_set():
            rss, pss = _tree_memory_kb(process.pid)
            peak_rss, peak_pss = max(peak_rss, rss), max(peak_pss, pss)
            done.wait(0.05)

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    _, stderr = process.communicate()
    wall = time.perf_counter() - started
    done.set()
    sampler.join()
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    print(
        json.dumps(
            {
                "wall_s": wall,
                "maxrss_mb": usage.ru_maxrss / 1024,
                "tree_peak_mb": peak_rss / 1024,
                "tree_pss_mb": peak_pss / 1024,
                "returncode": process.returncode,
                "stderr": stderr.decode("utf-8", "replace")[-4000:],
            }
        )
    )
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
