"""Import speed: 1,000,000 retail order lines and the CDNOW master log, into SQLite, PostgreSQL
and MariaDB, against what a user would otherwise do (``pandas.read_csv`` + ``DataFrame.to_sql``).

Usage: .venv/bin/python benchmarks/bench_import.py [--lines N] [--postgres URL] [--mariadb URL]
                                                   [--skip-pandas]

The retail file is generated (seeded, Online Retail II layout: Invoice, StockCode, Description,
Quantity, InvoiceDate, Price, Customer ID, Country; 2 % cancellations, 10 % lines without a
customer). For each file and engine: a fresh workspace database (a scratch database on the
PostgreSQL or MariaDB server, dropped afterwards), ``import_file`` (full pipeline: detection,
typed cleaning, quality report, customer matching and creation with encrypted columns, bulk
insert of orders and lines, audit, one transaction), then the same file again (the idempotent
no-op), then the baseline: the raw text into one untyped table (no cleaning, no keys, no
encryption). One run each; ratio = soloist time / pandas time.
"""

from __future__ import annotations

import argparse
import csv
import datetime as dt
import random
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

import pandas as pd
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from soloist.config import load_settings
from soloist.domain.imports.pipeline import ImportOptions, import_file
from soloist.storage.crypto import generate_master_key
from soloist.storage.database import Database
from soloist.storage.migrate import upgrade_database

ROOT = Path(__file__).parents[1]
CDNOW = ROOT / "tests" / "data" / "CDNOW_master.txt"
POSTGRES = "postgresql+psycopg://postgres@127.0.0.1:5432/test"
MARIADB = "mysql+pymysql://root@127.0.0.1:3306/test"
SEED = 20261125
HEADER = ("Invoice", "StockCode", "Description", "Quantity", "InvoiceDate", "Price")
HEADER += ("Customer ID", "Country")


def generate_retail(path: Path, lines: int, seed: int = SEED) -> None:
    """A retail line-item log of ``lines`` lines, the same for the same seed."""
    rng = random.Random(seed)
    words = "WHITE RED HEART LANTERN MUG VINTAGE CAKE STAND BAG JUMBO CANDLE HOLDER SET OF 3 TIN"
    vocabulary = [*words.split(), "BOX", "GLASS", "PINK", "BLUE", "PAPER", "CHAIN"]
    prices = (0.29, 0.42, 0.55, 0.85, 1.25, 1.65, 2.1, 2.55, 2.95, 3.39, 4.95, 7.95, 12.75)
    products = [
        (
            f"{20000 + n}" + ("" if rng.random() < 0.8 else rng.choice("ABCDEFG")),
            " ".join(rng.choice(vocabulary) for _ in range(rng.randint(2, 5))),
            f"{rng.choice(prices):.2f}",
        )
        for n in range(4000)
    ]
    countries = ["United Kingdom"] * 9 + ["Germany", "France", "EIRE", "Spain", "Netherlands"]
    customers = [(f"{12346 + n}.0", rng.choice(countries)) for n in range(20000)]
    moment = dt.datetime(2009, 12, 1, 7, 45)
    written, invoice = 0, 489434
    with path.open("w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(HEADER)
        while written < lines:
            invoice += 1
            moment += dt.timedelta(minutes=rng.randint(0, 25))
            cancelled = rng.random() < 0.02
            number = f"C{invoice}" if cancelled else str(invoice)
            customer = rng.choice(customers) if rng.random() > 0.1 else ("", "United Kingdom")
            stamp = moment.strftime("%Y-%m-%d %H:%M:%S")
            for _ in range(min(rng.randint(1, 40), lines - written)):
                code, name, price = rng.choice(products)
                quantity = rng.choice((1, 1, 2, 3, 4, 6, 12, 24)) * (-1 if cancelled else 1)
                writer.writerow([number, code, name, quantity, stamp, price, *customer])
                written += 1


def _scratch(admin_url: str) -> str:
    name = f"soloist_bench_{uuid.uuid4().hex[:8]}"
    admin = create_engine(admin_url, isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(text(f"CREATE DATABASE {name}"))
    admin.dispose()
    return make_url(admin_url).set(database=name).render_as_string(hide_password=False)


def _drop(admin_url: str, url: str) -> None:
    admin = create_engine(admin_url, isolation_level="AUTOCOMMIT")
    force = " WITH (FORCE)" if admin.dialect.name == "postgresql" else ""
    with admin.connect() as connection:
        name = make_url(url).database
        connection.execute(text(f"DROP DATABASE IF EXISTS {name}{force}"))
    admin.dispose()


def soloist_import(path: Path, currency: str | None, url: str | None) -> tuple[float, float, int]:
    environ = {"SOLOIST_MASTER_KEY": generate_master_key()}
    if url:
        environ["SOLOIST_DATABASE_URL"] = url
    database = Database(load_settings(workspace=Path(tempfile.mkdtemp()), environ=environ))
    upgrade_database(database.engine)
    times, rows = [], 0
    for _ in range(2):
        start = time.perf_counter()
        with database.session() as session:
            report = import_file(session, "orders", path, ImportOptions(currency=currency), "bench")
        times.append(time.perf_counter() - start)
        rows = report.rows_read
    database.dispose()
    return times[0], times[1], rows


def whole_process(path: Path, currency: str | None) -> float:
    """``soloist import orders FILE`` as a whole process (start-up included) into a new SQLite
    workspace, as a user runs it."""
    workspace = Path(tempfile.mkdtemp()) / "workspace"
    soloist = [sys.executable, "-m", "soloist"]
    init = [*soloist, "init", "--workspace", str(workspace), "--currency", currency or "USD"]
    subprocess.run(init, check=True, capture_output=True)
    command = [*soloist, "import", "orders", str(path), "--workspace", str(workspace), "--json"]
    start = time.perf_counter()
    subprocess.run(command, check=True, capture_output=True)
    return time.perf_counter() - start


_PANDAS_SCRIPT = """
import sys
import pandas as pd
from sqlalchemy import create_engine
frame = pd.read_csv(sys.argv[1], dtype={"Invoice": str, "StockCode": str, "Customer ID": str})
frame.to_sql("orders", create_engine(f"sqlite:///{sys.argv[2]}"), index=False)
"""


def pandas_whole_process(path: Path) -> float:
    """The pandas baseline as a whole process too (interpreter and pandas start included)."""
    target = Path(tempfile.mkdtemp()) / "pandas.db"
    start = time.perf_counter()
    subprocess.run([sys.executable, "-c", _PANDAS_SCRIPT, str(path), str(target)], check=True)
    return time.perf_counter() - start


def pandas_baseline(path: Path, url: str | None) -> float:
    engine = create_engine(url or f"sqlite:///{Path(tempfile.mkdtemp()) / 'pandas.db'}")
    start = time.perf_counter()
    if path.name.startswith("CDNOW"):
        frame = pd.read_csv(path, sep=r"\s+", header=None, dtype={0: str})
    else:
        frame = pd.read_csv(path, dtype={"Invoice": str, "StockCode": str, "Customer ID": str})
    frame.to_sql("orders", engine, index=False)
    elapsed = time.perf_counter() - start
    engine.dispose()
    return elapsed


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--lines", type=int, default=1_000_000)
    parser.add_argument("--postgres", default=POSTGRES, help="admin URL; '' to skip PostgreSQL")
    parser.add_argument("--mariadb", default=MARIADB, help="admin URL; '' to skip MariaDB")
    parser.add_argument("--skip-pandas", action="store_true")
    parser.add_argument("--pairs", type=int, default=5, help="whole-process pairs, interleaved")
    parser.add_argument("--whole-only", action="store_true", help="only the whole processes")
    args = parser.parse_args()
    folder = Path(tempfile.mkdtemp())
    retail = folder / f"retail_{args.lines}.csv"
    generate_retail(retail, args.lines)
    print(
        "| file | engine | rows | soloist import (s) | rows/s | second import, no change (s) "
        "| pandas read_csv + to_sql (s) | ratio |"
    )
    print("| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: |")
    servers = {"postgresql": args.postgres, "mariadb": args.mariadb}
    engines = ["sqlite", *(name for name, admin in servers.items() if admin)]
    for path, currency in () if args.whole_only else ((retail, "GBP"), (CDNOW, None)):
        for engine in engines:
            soloist_url = pandas_url = None
            admin = servers.get(engine)
            if admin:
                soloist_url, pandas_url = _scratch(admin), _scratch(admin)
            try:
                first, second, rows = soloist_import(path, currency, soloist_url)
                baseline = None if args.skip_pandas else pandas_baseline(path, pandas_url)
            finally:
                for url in (soloist_url, pandas_url):
                    if url and admin:
                        _drop(admin, url)
            base = f"{baseline:.2f} | {first / baseline:.1f}×" if baseline else "– | –"
            print(
                f"| {path.name} | {engine} | {rows:,} | {first:.2f} | {rows / first:,.0f} | "
                f"{second:.2f} | {base} |",
                flush=True,
            )
    compile_bytecode()
    pairs = [
        (whole_process(retail, "GBP"), pandas_whole_process(retail)) for _ in range(args.pairs)
    ]
    print(f"\nWhole processes, SQLite, {args.pairs} pairs one after the other "
          f"(`soloist import orders {retail.name}` / pandas read_csv + to_sql, s): "
          + ", ".join(f"{ours:.2f} / {theirs:.2f}" for ours, theirs in pairs)
          + f"; medians {statistics.median(p[0] for p in pairs):.2f} / "
          f"{statistics.median(p[1] for p in pairs):.2f}")  # fmt: skip
    retail.unlink()


def compile_bytecode() -> None:
    """Write Soloist's bytecode once, as ``pip install`` does: with ``PYTHONDONTWRITEBYTECODE``
    set (as on this machine) every process would otherwise compile the modules it imports
    again, which pandas, installed with its bytecode, never does."""
    import soloist

    package = Path(soloist.__file__).parent
    subprocess.run([sys.executable, "-m", "compileall", "-q", str(package)], check=True)


if __name__ == "__main__":
    main()
