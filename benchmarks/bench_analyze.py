"""``soloist analyze`` on a workspace, as a whole process: the churn model side by side with the
other analyses (the default) and all in one process, in interleaved runs.

Usage: .venv/bin/python benchmarks/bench_analyze.py WORKSPACE [--pairs N] [--only side|one]

Build the workspace first, e.g. ``soloist demo --customers 1000000 --purchase-rate 2.6``. Each
run is timed from start to exit; memory is the resident set of the command and of the churn
process beside it, sampled every 0.2 s from ``/proc`` (the peak of their sum, and of the
larger). The runs add model runs and scores to the workspace, as ``soloist analyze`` does.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

SOLOIST = Path(sys.executable).with_name("soloist")
MODES = {"side": "true", "one": "false"}


def _rss_bytes(pid: int) -> int:
    try:
        with open(f"/proc/{pid}/status", encoding="ascii") as status:
            for line in status:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1]) * 1024
    except (FileNotFoundError, ProcessLookupError):
        pass
    return 0


def _children(pid: int) -> list[int]:
    found: list[int] = []
    try:
        tasks = os.listdir(f"/proc/{pid}/task")
    except FileNotFoundError:
        return found
    for task in tasks:
        try:
            with open(f"/proc/{pid}/task/{task}/children", encoding="ascii") as listed:
                found += [int(child) for child in listed.read().split()]
        except FileNotFoundError:
            continue
    return found


def _tree(pid: int) -> list[int]:
    pids, todo = [], [pid]
    while todo:
        current = todo.pop()
        pids.append(current)
        todo += _children(current)
    return pids


def run_once(workspace: Path, mode: str) -> dict[str, float | str]:
    environ = {**os.environ, "SOLOIST_ANALYSES_SIDE_BY_SIDE": MODES[mode]}
    command = [str(SOLOIST), "analyze", "--workspace", str(workspace), "--json"]
    start = time.perf_counter()
    process = subprocess.Popen(
        command, env=environ, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )
    peak_sum = peak_one = 0
    while process.poll() is None:
        sizes = [_rss_bytes(pid) for pid in _tree(process.pid)]
        peak_sum, peak_one = max(peak_sum, sum(sizes)), max(peak_one, max(sizes, default=0))
        time.sleep(0.2)
    stdout, stderr = process.communicate()
    elapsed = time.perf_counter() - start
    if process.returncode != 0:
        raise SystemExit(f"soloist analyze failed ({process.returncode}):\n{stderr[-3000:]}")
    result = json.loads(stdout)
    kinds = ", ".join(f"{f['kind']} {f['status']}" for f in result["followed_by"])
    return {
        "mode": mode,
        "seconds": elapsed,
        "peak_gb": peak_sum / 1e9,
        "largest_gb": peak_one / 1e9,
        "customers": result["metrics"]["customers"],
        "runs": f"clv {result['status']}, {kinds}",
    }


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("workspace", type=Path)
    parser.add_argument("--pairs", type=int, default=1)
    parser.add_argument("--only", choices=sorted(MODES))
    args = parser.parse_args()
    modes = [args.only] if args.only else ["one", "side"]
    results = [run_once(args.workspace, mode) for _ in range(args.pairs) for mode in modes]
    print(f"workspace {args.workspace}, {time.strftime('%Y-%m-%d %H:%M')}, {os.cpu_count()} cores")
    print("| run | analyses | customers | wall (s) | peak memory, both processes (GB) |")
    print("| --- | --- | ---: | ---: | ---: |")
    for number, result in enumerate(results, 1):
        label = "side by side" if result["mode"] == "side" else "one process"
        print(
            f"| {number} | {label} | {result['customers']:,} | {result['seconds']:.1f} "
            f"| {result['peak_gb']:.2f} (largest {result['largest_gb']:.2f}) |"
        )
    for mode in modes:
        times = [float(r["seconds"]) for r in results if r["mode"] == mode]
        print(f"median {mode}: {statistics.median(times):.1f} s")
    print("outcomes:", "; ".join(sorted({str(r["runs"]) for r in results})))


if __name__ == "__main__":
    main()
