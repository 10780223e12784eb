"""Repeated ``soloist analyze`` runs on one SQLite workspace, every run's scores kept against
only the newest two runs' (``score_runs_kept``): the time of each run, the score rows and the
database's size after it.

Usage: .venv/bin/python benchmarks/bench_kept_scores.py WORKSPACE [--runs N]

The workspace is copied twice (its database checkpointed first), one copy for each setting, and
the copies are analysed in turn (keep all, keep two, keep all …) so that both see the same load.
Each run is a whole process, timed from start to exit.
"""

from __future__ import annotations

import argparse
import os
import shutil
import sqlite3
import subprocess
import sys
import tempfile
import time
from pathlib import Path

SOLOIST = Path(sys.executable).with_name("soloist")
SETTINGS = {"every run": "0", "newest 2": "2"}


def _checkpointed(database: Path) -> None:
    with sqlite3.connect(database) as connection:
        connection.execute("PRAGMA wal_checkpoint(TRUNCATE)")


def _copy(workspace: Path, into: Path) -> Path:
    _checkpointed(workspace / "soloist.db")
    shutil.copytree(workspace, into, ignore=shutil.ignore_patterns("*-wal", "*-shm"))
    return into


def _rows_and_size(workspace: Path) -> tuple[int, int]:
    database = workspace / "soloist.db"
    _checkpointed(database)
    with sqlite3.connect(database) as connection:
        (rows,) = connection.execute("SELECT count(*) FROM customer_scores").fetchone()
    return int(rows), database.stat().st_size


def _analyse(workspace: Path, keep: str) -> float:
    environ = {**os.environ, "SOLOIST_SCORE_RUNS_KEPT": keep}
    command = [str(SOLOIST), "analyze", "--workspace", str(workspace), "--json"]
    start = time.perf_counter()
    done = subprocess.run(command, env=environ, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        raise SystemExit(f"soloist analyze failed ({done.returncode}):\n{done.stderr[-3000:]}")
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("workspace", type=Path)
    parser.add_argument("--runs", type=int, default=4)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(dir=args.workspace.parent) as scratch:
        copies = {
            label: _copy(args.workspace, Path(scratch) / label.replace(" ", "-"))
            for label in SETTINGS
        }
        print(f"workspace {args.workspace}, {time.strftime('%Y-%m-%d %H:%M')}")
        print("| run | scores kept | wall (s) | score rows after | database after (MB) |")
        print("| ---: | --- | ---: | ---: | ---: |")
        for number in range(1, args.runs + 1):
            for label, keep in SETTINGS.items():
                seconds = _analyse(copies[label], keep)
                rows, size = _rows_and_size(copies[label])
                print(f"| {number} | {label} | {seconds:.1f} | {rows:,} | {size / 1e6:,.0f} |")


if __name__ == "__main__":
    main()
