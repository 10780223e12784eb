"""An orders file of a million customers, for ``soloist analyze`` at that size without building
the million-customer demo (whose journeys alone take an hour).

Usage: .venv/bin/python benchmarks/million_customers_file.py OUT.csv [--customers N]

A seeded simulation in the spirit of Pareto/NBD (Schmittlein, Morrison & Colombo 1987): each
customer buys at a rate drawn from Gamma(0.9, 1/80) a day while alive, lives an exponential
time whose rate is drawn from Gamma(0.8, 1/350) a day, and is first seen uniformly in the two
years' first 700 days; every invoice has one or two lines, in the Online Retail II layout. With
the default million customers: about 4.0 million invoices and 6.0 million lines (426 MB).
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np
import polars as pl

DAYS = 730.0
SEED = 20261208
PRICES = [0.85, 1.25, 2.1, 2.95, 4.95, 7.95, 12.75, 19.5]
COUNTRIES = ["United Kingdom"] * 9 + ["Germany", "France", "EIRE", "Spain", "Netherlands"]


def orders_file(path: Path, customers: int, seed: int = SEED) -> tuple[int, int]:
    """Write the file; returns (invoices, lines)."""
    rng = np.random.default_rng(seed)
    rate = rng.gamma(0.9, 1 / 80.0, customers)
    dropout = rng.gamma(0.8, 1 / 350.0, customers)
    first = rng.uniform(0, DAYS - 30, customers)
    end = np.minimum(DAYS, first + rng.exponential(1 / dropout))
    counts = np.minimum(1 + rng.poisson(rate * (end - first)), 200)
    buyer = np.repeat(np.arange(customers), counts)
    day = first[buyer] + rng.uniform(0, 1, buyer.size) * (end - first)[buyer]
    day[np.concatenate([[0], np.cumsum(counts)[:-1]])] = first  # each one's first purchase
    invoice = np.repeat(np.arange(buyer.size), rng.integers(1, 3, buyer.size))
    product = rng.integers(0, 4000, invoice.size)
    price = rng.choice(PRICES, invoice.size)
    quantity = rng.choice([1, 1, 2, 3, 4, 6, 12], invoice.size)
    start = np.datetime64("2024-12-01T00:00:00")
    stamp = (start + (day[invoice] * 86400).astype("timedelta64[s]")).astype("datetime64[ms]")
    countries = np.array(COUNTRIES)
    pl.DataFrame(
        {
            "Invoice": (500_000 + invoice).astype(str),
            "StockCode": (20_000 + product).astype(str),
            "Description": pl.Series((20_000 + product).astype(str)).str.replace(r"^", "ITEM "),
            "Quantity": quantity,
            "InvoiceDate": pl.Series(stamp).dt.strftime("%Y-%m-%d %H:%M:%S"),
            "Price": price,
            "Customer ID": (100_000 + buyer[invoice]).astype(str),
            "Country": countries[buyer[invoice] % countries.size],
        }
    ).write_csv(path)
    return int(buyer.size), int(invoice.size)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("out", type=Path)
    parser.add_argument("--customers", type=int, default=1_000_000)
    args = parser.parse_args()
    invoices, lines = orders_file(args.out, args.customers)
    print(f"{args.customers:,} customers, {invoices:,} invoices, {lines:,} lines: {args.out}")


if __name__ == "__main__":
    main()
