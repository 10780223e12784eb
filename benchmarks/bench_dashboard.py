"""The dashboard from nothing, and kept up to date while orders arrive one by one.

Usage: .venv/bin/python benchmarks/bench_dashboard.py --workspace W [--orders 30] [--repeat 3]

On a workspace such as the 100,000-customer demo (``soloist demo --customers 100000
--purchase-rate 2.6``, then ``soloist analyze``), in process, one run:

- from nothing: ``build_dashboard`` reading every paid order again (3 times; the median), and
  where the time goes (the read, the order figures, the rest);
- kept up to date: an order is recorded (as the API does) and the dashboard worked out again
  from the kept columns brought up to date, ``--orders`` times (p50 and p95);
- the anchor: the same order figures (revenue by month, 12 months' revenue, the customers'
  activity, the cohort table) in pandas over ``read_sql`` of the paid orders, as a user would
  write them without Soloist.

It writes ``--orders`` orders into the workspace (external ids ``BENCH-DASH-...``).
"""

from __future__ import annotations

import argparse
import datetime as dt
import statistics
import time
from collections.abc import Callable
from decimal import Decimal
from pathlib import Path

import numpy as np
import pandas as pd
from sqlalchemy import func, select

from soloist.config import load_settings
from soloist.domain.dashboard import build_dashboard
from soloist.domain.order_columns import paid_order_columns, read_paid_order_columns
from soloist.domain.orders import OrderCreate, record_order
from soloist.domain.workspace import open_workspace
from soloist.storage.models import Customer, Order


def seconds(action: Callable[[], object]) -> float:
    start = time.perf_counter()
    action()
    return time.perf_counter() - start


def pandas_figures(url: str) -> None:
    """The order figures the way a pandas user would work them out."""
    orders = pd.read_sql(
        "SELECT customer_id, ordered_at, total_minor - refunded_minor AS net, currency "
        "FROM orders WHERE status = 'paid'",
        url,
        parse_dates=["ordered_at"],
    )
    as_of = orders["ordered_at"].max()
    month = orders["ordered_at"].dt.to_period("M")
    orders.groupby([month, "currency"])["net"].sum()
    recent = orders[orders["ordered_at"] > as_of - pd.Timedelta(days=365)]
    recent.groupby("currency")["net"].agg(["sum", "count"])
    per_customer = orders.groupby("customer_id")["ordered_at"].agg(["min", "max", "count"])
    (per_customer["count"] >= 2).mean()
    cohort = per_customer["min"].dt.to_period("M").rename("cohort")
    pairs = pd.DataFrame({"customer_id": orders["customer_id"], "month": month})
    pairs = pairs.drop_duplicates().join(cohort, on="customer_id")
    pairs.groupby(["cohort", "month"]).size().unstack()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--workspace", type=Path, required=True)
    parser.add_argument("--orders", type=int, default=30)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    database = open_workspace(load_settings(workspace=args.workspace))
    currency, rates = database.settings.currency, database.settings.rates
    with database.read_session() as session:
        count = session.scalar(select(func.count(Order.id)))
        customers = session.scalar(select(func.count(Customer.id)))
    print(f"workspace: {customers:,} customers, {count:,} orders")

    def from_nothing() -> None:
        with database.read_session() as session:
            build_dashboard(session, currency, rates)

    whole = [seconds(from_nothing) for _ in range(args.repeat)]
    with database.read_session() as session:
        read = seconds(lambda: read_paid_order_columns(session))
        columns = read_paid_order_columns(session)
        compute = seconds(lambda: build_dashboard(session, currency, rates, columns))
        paid_order_columns(session)  # kept from here on
        customer_ids = session.scalars(select(Customer.id).limit(args.orders)).all()
    print(f"from nothing: median {statistics.median(whole):.3f} s of {args.repeat}")
    print(
        f"  reading the paid orders as columns {read:.3f} s, every figure from them {compute:.3f} s"
    )

    kept: list[float] = []
    folds: list[float] = []
    stamp = int(time.time())
    for n, customer_id in enumerate(customer_ids):
        with database.session() as session:
            record_order(
                session,
                OrderCreate(
                    external_id=f"BENCH-DASH-{stamp}-{n}",
                    customer_id=customer_id,
                    ordered_at=dt.datetime.now(dt.UTC),
                    currency=currency,
                    total=Decimal("25.00"),
                ),
                "bench",
            )
        with database.read_session() as session:
            start = time.perf_counter()
            columns = paid_order_columns(session)
            folds.append(time.perf_counter() - start)
            build_dashboard(session, currency, rates, columns)
            kept.append(time.perf_counter() - start)
    p95 = float(np.percentile(kept, 95))
    print(
        f"kept up to date after each of {len(kept)} orders: p50 {statistics.median(kept):.3f} s, "
        f"p95 {p95:.3f} s (bringing the columns up to date p50 "
        f"{statistics.median(folds) * 1000:.1f} ms)"
    )
    url = database.engine.url.render_as_string(hide_password=False)
    anchor = seconds(lambda: pandas_figures(url))
    print(f"anchor: the order figures in pandas over read_sql {anchor:.3f} s")
    database.dispose()


if __name__ == "__main__":
    main()
