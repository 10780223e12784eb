"""Import speed of a customers file: 200,000 customers with e-mail, phone and birthday.

Usage: .venv/bin/python benchmarks/bench_import_customers.py [--rows N] [--profile] [--db URL]

The file is generated (seeded): name, e-mail, a phone typed the way people type them (national
or international form, spaces, dashes, brackets) in six countries, birthday, country, city. The
full pipeline runs into a fresh SQLite workspace (detection, typed cleaning, quality report,
e-mail and phone normalisation, keyed lookup hashes, AES-GCM columns, audit, one transaction),
then the same file again (the no-op). The baseline is ``pandas.read_csv`` + ``DataFrame.to_sql``
of the same file into SQLite (no cleaning, no keys, no encryption). One run each. With
``--db`` (an empty PostgreSQL or MariaDB database) both go into that database instead; pandas
writes a table of its own, ``pandas_customers``.
"""

from __future__ import annotations

import argparse
import cProfile
import csv
import os
import pstats
import random
import tempfile
import time
from pathlib import Path

import pandas as pd
from sqlalchemy import create_engine

from soloist.config import load_settings
from soloist.domain.imports.pipeline import ImportOptions, import_file
from soloist.storage.crypto import generate_master_key
from soloist.storage.database import Database
from soloist.storage.migrate import upgrade_database

SEED = 20261206
#: country, calling code, national trunk prefix, national number length, typed forms
PHONES = (
    ("GB", "44", "0", 10),
    ("US", "1", "", 10),
    ("DE", "49", "0", 10),
    ("FR", "33", "0", 9),
    ("CN", "86", "", 11),
    ("AU", "61", "0", 9),
)
FIRST = ("Ada", "Alan", "Grace", "Linus", "Ming", "Wei", "Hannah", "Jonas", "Chloe", "Li")
LAST = ("Lovelace", "Turing", "Hopper", "Torvalds", "Zhang", "Wang", "Schmidt", "Smith", "Chen")


def _phone(rng: random.Random, country: tuple[str, str, str, int]) -> str:
    _, code, trunk, length = country
    first = "1" if code == "86" else str(rng.randint(2, 9))
    number = first + "".join(str(rng.randint(0, 9)) for _ in range(length - 1))
    if code == "86":
        number = "13" + number[2:]
    style = rng.random()
    if style < 0.4:
        return f"+{code} {number[:3]} {number[3:6]} {number[6:]}"
    if style < 0.7:
        return f"{trunk}{number[:4]} {number[4:]}"
    if style < 0.85:
        return f"({trunk}{number[:3]}) {number[3:6]}-{number[6:]}"
    return f"+{code}{number}"


def generate_customers(path: Path, rows: int, seed: int = SEED) -> None:
    rng = random.Random(seed)
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(("name", "email", "phone", "birthday", "country", "city"))
        for n in range(rows):
            country = rng.choice(PHONES)
            first, last = rng.choice(FIRST), rng.choice(LAST)
            month, day = rng.randint(1, 12), rng.randint(1, 28)
            birthday = f"{rng.randint(1950, 2005)}-{month:02d}-{day:02d}"
            writer.writerow(
                (
                    f"{first} {last}",
                    f"{first.lower()}.{last.lower()}.{n}@example.com",
                    _phone(rng, country),
                    birthday,
                    country[0],
                    rng.choice(("London", "Leeds", "Berlin", "Paris", "Shanghai", "Sydney")),
                )
            )


def soloist_import(path: Path, profile: bool, url: str | None) -> tuple[float, float, int]:
    environ = {"SOLOIST_MASTER_KEY": generate_master_key()}
    if url:
        environ["SOLOIST_DATABASE_URL"] = url
    database = Database(load_settings(workspace=Path(tempfile.mkdtemp()), environ=environ))
    upgrade_database(database.engine)
    times, rows = [], 0
    profiler = cProfile.Profile() if profile else None
    for attempt in range(2):
        start = time.perf_counter()
        if profiler and attempt == 0:
            profiler.enable()
        with database.session() as session:
            report = import_file(session, "customers", path, ImportOptions(), "bench")
        if profiler and attempt == 0:
            profiler.disable()
        times.append(time.perf_counter() - start)
        rows = report.rows_read
    database.dispose()
    if profiler:
        pstats.Stats(profiler).sort_stats(os.environ.get("SORT", "cumulative")).print_stats(30)
    return times[0], times[1], rows


def pandas_baseline(path: Path, url: str | None) -> float:
    engine = create_engine(url or f"sqlite:///{Path(tempfile.mkdtemp()) / 'pandas.db'}")
    start = time.perf_counter()
    frame = pd.read_csv(path, dtype=str)
    frame.to_sql("pandas_customers", engine, index=False, if_exists="replace")
    elapsed = time.perf_counter() - start
    engine.dispose()
    return elapsed


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rows", type=int, default=200_000)
    parser.add_argument("--profile", action="store_true")
    parser.add_argument("--db", help="an empty PostgreSQL or MariaDB database's URL")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / f"customers_{args.rows}.csv"
        generate_customers(path, args.rows)
        first, second, rows = soloist_import(path, args.profile, args.db)
        baseline = pandas_baseline(path, args.db)
    print("| file | rows | soloist import (s) | rows/s | second import (s) | pandas (s) | ratio |")
    print("| --- | ---: | ---: | ---: | ---: | ---: | ---: |")
    print(
        f"| {path.name} | {rows:,} | {first:.2f} | {rows / first:,.0f} | {second:.2f} "
        f"| {baseline:.2f} | {first / baseline:.1f}× |"
    )


if __name__ == "__main__":
    main()
