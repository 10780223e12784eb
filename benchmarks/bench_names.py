"""What encrypting customer names costs: adding customers (ciphertext plus the blind index of
their words), the customer list in name order (decrypted and sorted in memory, then cached),
and the name search through the keyed word tokens, beside the same work on names kept in clear
(a plain indexed column: ``ORDER BY name``, ``LIKE '%term%'``) in the same run and database.

    python benchmarks/bench_names.py --customers 100000

Prints one JSON object: the machine, the timings (ms, median of N runs; p95 for searches).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import random
import statistics
import sys
import tempfile
import time
from pathlib import Path

from sqlalchemy import text

from soloist.config import load_settings
from soloist.domain.customers import (
    CustomerCreate,
    CustomerFilters,
    add_customers_bulk,
    list_customers,
)
from soloist.storage.caches import clear_all_caches
from soloist.storage.crypto import generate_master_key
from soloist.storage.database import Database
from soloist.storage.migrate import upgrade_database

FIRST = ["Ada", "Grace", "Alan", "Edsger", "Barbara", "Donald", "Frances", "Ken", "Radia", "Tim",
         "Margaret", "John", "Sophie", "Lucas", "Mia", "Noah", "王", "李", "张", "刘"]  # fmt: skip
LAST = ["Lovelace", "Hopper", "Turing", "Dijkstra", "Liskov", "Knuth", "Allen", "Thompson",
        "Perlman", "Berners-Lee", "Hamilton", "Backus", "Wilson", "Adams", "Evans", "Clarke",
        "小明", "建国", "秀英", "伟"]  # fmt: skip


def _names(n: int, rng: random.Random) -> list[str]:
    names = []
    for i in range(n):
        first, last = rng.choice(FIRST), rng.choice(LAST)
        cjk = ord(first[0]) > 0x3000
        names.append(f"{first}{last}" if cjk else f"{first} {last}-{i % 997}")
    return names


def _timed(work, runs: int) -> list[float]:  # type: ignore[no-untyped-def]
    out = []
    for _ in range(runs):
        start = time.perf_counter()
        work()
        out.append((time.perf_counter() - start) * 1000)
    return out


def _plain_search(session, term: str) -> None:  # type: ignore[no-untyped-def]
    """What the list did with names in clear: count the matches, then their first page."""
    pattern = {"p": f"%{term}%"}
    session.execute(text("SELECT COUNT(*) FROM plain_names WHERE name LIKE :p"), pattern).one()
    session.execute(
        text("SELECT id, name FROM plain_names WHERE name LIKE :p ORDER BY lower(name) LIMIT 50"),
        pattern,
    ).all()


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--customers", type=int, default=100_000)
    parser.add_argument("--runs", type=int, default=20)
    args = parser.parse_args()
    rng = random.Random(7)
    names = _names(args.customers, rng)
    folder = Path(tempfile.mkdtemp(prefix="bench-names-"))
    database = Database(
        load_settings(workspace=folder, environ={"SOLOIST_MASTER_KEY": generate_master_key()})
    )
    upgrade_database(database.engine)
    figures: dict[str, object] = {
        "machine": f"{platform.machine()}, {os.cpu_count()} cores, Python {sys.version.split()[0]}",
        "customers": args.customers,
    }

    start = time.perf_counter()
    for part in range(0, len(names), 5000):
        with database.session() as session:
            rows = [CustomerCreate(name=name) for name in names[part : part + 5000]]
            add_customers_bulk(session, rows, "bench", "bench")
    figures["add_encrypted_indexed_s"] = round(time.perf_counter() - start, 2)
    with database.engine.begin() as connection:
        start = time.perf_counter()
        connection.execute(text("CREATE TABLE plain_names (id INTEGER PRIMARY KEY, name TEXT)"))
        connection.execute(
            text("INSERT INTO plain_names (id, name) VALUES (:id, :name)"),
            [{"id": i + 1, "name": name} for i, name in enumerate(names)],
        )
        connection.execute(text("CREATE INDEX ix_plain_names_name ON plain_names (name)"))
        figures["add_plain_s"] = round(time.perf_counter() - start, 2)
        tokens = connection.execute(text("SELECT COUNT(*) FROM search_tokens")).scalar()
    figures["search_tokens"] = tokens
    figures["database_mb"] = round(
        Path(database.engine.url.database or "").stat().st_size / 2**20, 1
    )

    with database.read_session() as session:
        clear_all_caches()
        first = _timed(lambda: list_customers(session, CustomerFilters(limit=50)), 1)[0]
        cached = _timed(
            lambda: list_customers(session, CustomerFilters(limit=50, offset=500)), args.runs
        )
        figures["list_by_name_first_ms"] = round(first, 1)
        figures["list_by_name_cached_median_ms"] = round(statistics.median(cached), 1)
        plain = _timed(
            lambda: session.execute(
                text("SELECT id, name FROM plain_names ORDER BY name LIMIT 50 OFFSET 500")
            ).all(),
            args.runs,
        )
        figures["plain_order_by_median_ms"] = round(statistics.median(plain), 1)
        terms = ["hop", "grace hop", "lovelace", "小明", "turi", "ada lov"]
        blind, clear = [], []
        for _ in range(max(1, args.runs // len(terms))):
            for term in terms:
                blind += _timed(lambda t=term: list_customers(session, CustomerFilters(q=t)), 1)
                clear += _timed(lambda t=term: _plain_search(session, t), 1)
        per_term = {}
        for term in terms:
            per_term[term] = round(
                statistics.median(
                    _timed(lambda t=term: list_customers(session, CustomerFilters(q=t)), 5)
                ),
                1,
            )
        figures["search_blind_index_median_ms_by_term"] = per_term

        def p95(values: list[float]) -> float:
            return round(sorted(values)[int(0.95 * (len(values) - 1))], 1)

        figures["search_blind_index_p95_ms"] = p95(blind)
        figures["search_plain_like_p95_ms"] = p95(clear)
    print(json.dumps(figures, ensure_ascii=False, indent=2))
    database.dispose()


if __name__ == "__main__":
    main()
