"""The Reports page's report while orders arrive: is it kept, and what a view's check costs.

Usage: .venv/bin/python benchmarks/bench_report_live.py --workspace W [--orders 60]

In one process on a built workspace (``soloist demo --customers 100000 --purchase-rate 2.6``):
the page's report (``current_report``) is built once, then an order dated now is recorded
``--orders`` times, the page's report asked after each. It prints how many of those views were
marked as being updated (or got another report) and how long each view's check took. The
orders stay in the workspace (external ids ``bench-report-…``).
"""

from __future__ import annotations

import argparse
import datetime as dt
import statistics
import time
from decimal import Decimal
from pathlib import Path

from sqlalchemy import func, select

from soloist.config import load_settings
from soloist.domain.orders import OrderCreate, OrderLineCreate, record_order
from soloist.domain.reports import current_report
from soloist.storage.database import Database
from soloist.storage.models import Customer


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--workspace", type=Path, required=True)
    parser.add_argument("--orders", type=int, default=60)
    args = parser.parse_args()
    database = Database(load_settings(workspace=args.workspace))
    with database.read_session() as session:
        start = time.perf_counter()
        first, _ = current_report(session, "USD", {}, "UTC")
        built = time.perf_counter() - start
        customer = session.scalar(select(func.min(Customer.id)))
    marked, checks = 0, []
    for _ in range(args.orders):
        with database.session() as session:
            order = OrderCreate(
                external_id=f"bench-report-{time.time_ns()}",
                customer_id=customer,
                ordered_at=dt.datetime.now(dt.UTC),
                currency="USD",
                lines=[OrderLineCreate(description="tea", unit_price=Decimal("5.00"))],
            )
            record_order(session, order, "bench")
        with database.read_session() as session:
            start = time.perf_counter()
            report, stale = current_report(session, "USD", {}, "UTC")
            checks.append(1000 * (time.perf_counter() - start))
        marked += stale or report is not first
    print(f"first view (built): {built:.1f} s")
    print(
        f"{args.orders} orders posted now, a view after each: {marked} marked or another report; "
        f"a view's check: median {statistics.median(checks):.1f} ms, max {max(checks):.1f} ms"
    )
    database.dispose()


if __name__ == "__main__":
    main()
