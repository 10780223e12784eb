"""Import speed on real files, against what a user would otherwise do (pandas → SQLite).

Usage: .venv/bin/python benchmarks/bench_import.py [--retail PATH.csv.gz]

For each file: a fresh SQLite workspace, ``import_file`` (full pipeline: detection, cleaning,
quality report, customer matching, bulk insert, one transaction), then the same file again (the
idempotent no-op), and the baseline ``pandas.read_csv`` + ``DataFrame.to_sql`` of the raw rows
into a plain SQLite table (no cleaning, no keys, no encryption). One run each; the ratio is
soloist time / pandas time.
"""

from __future__ import annotations

import argparse
import sqlite3
import tempfile
import time
from pathlib import Path

import pandas as pd

from soloist.config import load_settings
from soloist.domain.imports import ImportOptions, import_file
from soloist.storage.crypto import generate_master_key
from soloist.storage.database import Database
from soloist.storage.migrate import upgrade_database

ROOT = Path(__file__).parents[1]
CDNOW = ROOT / "tests" / "data" / "CDNOW_master.txt"
RETAIL = ROOT.parent / "shared" / "data" / "online-retail" / "online_retail_2010-12.csv.gz"


def soloist_import(path: Path, currency: str | None) -> tuple[float, float, int]:
    folder = Path(tempfile.mkdtemp())
    settings = load_settings(
        workspace=folder, environ={"SOLOIST_MASTER_KEY": generate_master_key()}
    )
    database = Database(settings)
    upgrade_database(database.engine)
    times = []
    rows = 0
    for _ in range(2):
        start = time.perf_counter()
        with database.session() as session:
            report = import_file(session, "orders", path, ImportOptions(currency=currency), "bench")
        times.append(time.perf_counter() - start)
        rows = report.rows_read
    database.dispose()
    return times[0], times[1], rows


def pandas_baseline(path: Path) -> float:
    folder = Path(tempfile.mkdtemp())
    start = time.perf_counter()
    if path.name.startswith("CDNOW"):
        frame = pd.read_csv(path, sep=r"\s+", dtype={"customer_id": str})
    else:
        frame = pd.read_csv(path, dtype={"InvoiceNo": str, "StockCode": str, "CustomerID": str})
    with sqlite3.connect(folder / "pandas.db") as connection:
        frame.to_sql("orders", connection, index=False)
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--retail", type=Path, default=RETAIL)
    args = parser.parse_args()
    print(
        "| file | rows | soloist import (s) | rows/s | second import, no change (s) "
        "| pandas read_csv + to_sql (s) | ratio |"
    )
    print("| --- | ---: | ---: | ---: | ---: | ---: | ---: |")
    for path, currency in ((CDNOW, None), (args.retail, "GBP")):
        if not path.exists():
            print(f"| {path.name} | missing | | | | | |")
            continue
        first, second, rows = soloist_import(path, currency)
        baseline = pandas_baseline(path)
        print(
            f"| {path.name} | {rows:,} | {first:.2f} | {rows / first:,.0f} | {second:.2f} | "
            f"{baseline:.2f} | {first / baseline:.1f}× |"
        )


if __name__ == "__main__":
    main()
