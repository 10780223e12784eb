"""The loyalty programme's periodic jobs on a large workspace, as the worker or cron runs them.

On a copy of a demo workspace (``soloist demo --customers 100000``): the expiry job three
months after the demo's end (the lots earned in the following quarter expire), then the tier
review a year on (every member past their review date). Each as a whole ``soloist`` process,
timed from the outside; with ``--before-src`` the same commands run with ``PYTHONPATH`` on
another checkout's ``src`` (the code before a change), on a second copy, one after the other.

Meanwhile a writer takes SQLite's write lock every 100 ms (``BEGIN IMMEDIATE``, then
``ROLLBACK``), as a live order's transaction would, and the longest it waited is reported: how
long the job keeps the API's writes waiting (a live order gives up after 30 s).

    .venv/bin/python benchmarks/bench_loyalty_jobs.py --workspace /tmp/ws100k \\
        [--before-src /tmp/old/src] [--scratch /tmp]

The workspaces are copied: the one given is left as it was.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import shutil
import sqlite3
import subprocess
import sys
import threading
import time
from pathlib import Path


def _demo_end(workspace: Path) -> dt.date:
    with sqlite3.connect(workspace / "soloist.db") as connection:
        (newest,) = connection.execute("SELECT max(ordered_at) FROM orders").fetchone()
    return dt.date.fromisoformat(str(newest)[:10])


def _jobs(end: dt.date) -> list[tuple[str, list[str]]]:
    expire_at = (end + dt.timedelta(days=91)).isoformat()
    review_at = (end + dt.timedelta(days=366)).isoformat()
    return [
        (f"expiry job as of {expire_at}", ["loyalty", "expire", "--now", expire_at, "--json"]),
        (
            f"tier review as of {review_at}",
            ["loyalty", "tiers", "--review", "--now", review_at, "--json"],
        ),
    ]


class WriterProbe(threading.Thread):
    """Takes the database's write lock every 100 ms and keeps the longest wait for it."""

    def __init__(self, database: Path) -> None:
        super().__init__(daemon=True)
        self.database, self.longest, self.done = database, 0.0, threading.Event()

    def run(self) -> None:
        connection = sqlite3.connect(self.database, timeout=600, isolation_level=None)
        try:
            while not self.done.wait(0.1):
                started = time.perf_counter()
                connection.execute("BEGIN IMMEDIATE")
                self.longest = max(self.longest, time.perf_counter() - started)
                connection.execute("ROLLBACK")
        finally:
            connection.close()


def _run(workspace: Path, source: str | None, args: list[str]) -> tuple[float, str, float]:
    env = dict(os.environ)
    if source is not None:
        env["PYTHONPATH"] = source
    command = [sys.executable, "-m", "soloist", *args, "--workspace", str(workspace)]
    probe = WriterProbe(workspace / "soloist.db")
    probe.start()
    started = time.perf_counter()
    try:
        done = subprocess.run(command, env=env, capture_output=True, text=True, check=True)
    finally:
        probe.done.set()
        probe.join()
    return time.perf_counter() - started, done.stdout, probe.longest


def _summary(stdout: str) -> str:
    answer = json.loads(stdout)
    if "points" in answer:
        return f"{answer['entries']:,} entries, {answer['points']:,} points"
    return f"{len(answer.get('changes', [])):,} tier changes"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--workspace", type=Path, required=True)
    parser.add_argument("--before-src", help="a checkout's src folder, for the 'before' column")
    parser.add_argument("--scratch", type=Path, default=Path("/tmp"))
    options = parser.parse_args()
    end = _demo_end(options.workspace)
    sides: list[tuple[str, str | None]] = [("after", None)]
    if options.before_src:
        sides.insert(0, ("before", options.before_src))
    results: dict[str, list[tuple[float, str, float]]] = {}
    for side, source in sides:
        copy = options.scratch / f"bench-loyalty-{side}"
        shutil.rmtree(copy, ignore_errors=True)
        shutil.copytree(options.workspace, copy)
        try:
            results[side] = [
                (seconds, _summary(stdout), waited)
                for _, args in _jobs(end)
                for seconds, stdout, waited in [_run(copy, source, args)]
            ]
        finally:
            shutil.rmtree(copy, ignore_errors=True)
    heads = [f"{side} (s) | {side}: longest wait of a writer (s)" for side, _ in sides]
    print(f"| job | {' | '.join(heads)} | what it wrote |")
    print(f"| --- | {' | '.join('---: | ---:' for _ in sides)} | --- |")
    for index, (label, _) in enumerate(_jobs(end)):
        times = " | ".join(
            f"{results[side][index][0]:.2f} | {results[side][index][2]:.2f}" for side, _ in sides
        )
        wrote = {results[side][index][1] for side, _ in sides}
        print(f"| {label} | {times} | {' / '.join(sorted(wrote))} |")
    if any(len({results[s][i][1] for s, _ in sides}) > 1 for i in range(len(_jobs(end)))):
        print("\nThe two sides wrote different results: see the last column.")


if __name__ == "__main__":
    main()
