"""Journeys: what the worker's minute costs. One ``run_journeys`` pass (enter the occasions
learnt since the last scan, act on the due entries under the frequency cap and quiet hours,
writing message rows for the campaigns' sender) timed in the situations a workspace meets.

Usage: .venv/bin/python benchmarks/journeys_run.py [--customers 10000 100000] [--postgres URL]
       [--profile]

For each engine (SQLite in a temporary workspace; PostgreSQL in a scratch database on the
server, dropped afterwards) and each size N, the workspace holds (not timed; its time is shown
apart):

- N customers added with ``add_customers_bulk`` (an e-mail address, English, a birthday spread
  over the year), each with e-mail consent; 30% have a ``timezone`` of their own, in three
  equal groups whose local time at the start of the run is 23:00 (inside the default quiet
  hours 21-8), 10:00 and 15:00; the workspace's zone is one where it is 13:00. The zones are
  fixed UTC offsets (``Etc/GMT-8``) chosen at the start, so the shares held by quiet hours do
  not depend on the time of day the benchmark runs;
- one paid order per customer in the last year (inserted in bulk: history, found by no
  journey since it predates their start);
- a finished churn model run with a score for every customer, 10% of them at risk 0.7 (the
  others below the journey's threshold 0.6).

Then, with the workspace's defaults (frequency cap 3 a week, quiet hours 21-8, a 10% holdout
per journey) and a clock that never runs behind the wall clock:

1. **birthday, first pass**: a birthday journey started; the pass reads every customer's
   birthday (decrypted) and enters those due in the next 7 days (about N·7/365). A dated
   journey is first scanned an hour after its start (``DATED_RESCAN``), so the dated journeys
   here are started 61 minutes before the clock: this is the pass that scans;
2. **first pass of the other three**: a welcome journey, an order journey (a review request 14
   days after a paid order) and a churn-risk journey started; the pass enters the at-risk
   customers (N/10) and queues their messages, in batches of 500;
3. **idle minute**: all four running, nothing new; the median of 5 passes in a row (what the
   worker does each minute). The dated triggers (birthday, points expiring, churn risk) are
   not rescanned (at most hourly); entries held back by quiet hours are looked at again;
4. **burst**: 1,000 new customers (``add_customers_bulk``, with consent and the same share of
   zones) and 1,000 new paid orders of existing customers (``record_order``, one by one) arrive,
   then one pass: 1,000 welcomes entered and queued (less the holdout and those at local night),
   1,000 review requests entered, due in 14 days;
5. **idle minute after the burst** (median of 5), then **the hourly pass**: the clock moved 61
   minutes past the dated journeys' last scan, so the birthday and churn-risk journeys read
   every customer again (and find nothing new to enter: the entries exist already);
6. **journey_results** of the churn-risk journey (N/10 entries: the results page), median of 3.

Columns: the pass's seconds, the entries it wrote, the message rows it queued, the entries
held back after it (waiting, with a reason: quiet hours here), entries and messages per
second; the note says how many due entries the pass left without looking at them (the next
minute's work), if any.

Messages are queued, not sent: sending is the campaigns' sender's work
(``benchmarks/campaign_send.py``). ``--profile`` runs every timed pass under cProfile and prints
the top functions by cumulative time. Not a test: it measures.
"""

from __future__ import annotations

import argparse
import cProfile
import datetime as dt
import os
import platform
import pstats
import random
import sqlite3
import statistics
import tempfile
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import Any

from sqlalchemy import create_engine, func, insert, select, text, update
from sqlalchemy.engine import make_url

from soloist.config import load_settings
from soloist.domain.customers.records import CustomerCreate, add_customers_bulk
from soloist.domain.journeys import (
    JourneyRunReport,
    create_journey,
    journey_results,
    run_journeys,
    start_journey,
)
from soloist.domain.orders import OrderCreate, record_order
from soloist.storage.crypto import generate_master_key
from soloist.storage.database import Database
from soloist.storage.migrate import upgrade_database
from soloist.storage.models import (
    ConsentRecord,
    Customer,
    CustomerScore,
    Journey,
    JourneyEntry,
    Message,
    ModelRun,
    Order,
)
from soloist.storage.types import utcnow

POSTGRES = "postgresql+psycopg://postgres@127.0.0.1:5432/test"
ACTOR = "bench"
BURST = 1_000
IDLE_PASSES = 5
BODY = """<html><body><p>Hello {{ customer.first_name }},</p>
<p>You have {{ customer.points }} points.</p>
<p><a href="{{ unsubscribe_url }}">Unsubscribe</a></p></body></html>"""
# Local hours of the three groups of customers with a zone of their own, and the workspace's.
ZONE_HOURS = (23, 10, 15)
WORKSPACE_HOUR = 13


# --- the workspace ------------------------------------------------------------------------


def _scratch(admin_url: str) -> str:
    name = f"soloist_bench_{uuid.uuid4().hex[:8]}"
    admin = create_engine(admin_url, isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(text(f"CREATE DATABASE {name}"))
    admin.dispose()
    return make_url(admin_url).set(database=name).render_as_string(hide_password=False)


def _drop(admin_url: str, url: str) -> None:
    admin = create_engine(admin_url, isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        name = make_url(url).database
        connection.execute(text(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
    admin.dispose()


def zone_at(local_hour: int, now: dt.datetime) -> str:
    """A fixed-offset zone where it is ``local_hour`` o'clock at ``now``."""
    offset = (local_hour - now.hour) % 24
    offset = offset - 24 if offset > 14 else offset
    return f"Etc/GMT{-offset:+d}"  # the Etc names count the other way: Etc/GMT-8 is UTC+8


def workspace(url: str | None, zone: str) -> Database:
    environ = {
        "SOLOIST_MASTER_KEY": generate_master_key(),
        "SOLOIST_MAIL_FROM": "Ada's Coffee <ada@coffee.example>",
        "SOLOIST_PUBLIC_URL": "https://crm.coffee.example",
        "SOLOIST_TIMEZONE": zone,
    }
    if url:
        environ["SOLOIST_DATABASE_URL"] = url
    database = Database(load_settings(workspace=Path(tempfile.mkdtemp()), environ=environ))
    upgrade_database(database.engine)
    return database


def add_customers(database: Database, first: int, count: int, zones: list[str]) -> list[int]:
    """``count`` customers numbered from ``first``, with e-mail consent, a birthday and, for 3
    in 10, a zone of their own."""
    rows = [
        CustomerCreate(
            name=f"Cleo Number{i}",
            email=f"c{i}@example.net",
            language="en",
            birthday=dt.date(1960 + i % 45, 1, 1) + dt.timedelta(days=(i * 7919) % 365),
        )
        for i in range(first, first + count)
    ]
    at = dt.datetime(2026, 1, 1, tzinfo=dt.UTC)
    with database.session() as session:
        ids = add_customers_bulk(session, rows, ACTOR, "benchmark customers")
        session.execute(
            insert(ConsentRecord),
            [{"customer_id": c, "channel": "email", "granted": True, "source": "checkout",
              "recorded_at": at} for c in ids],
        )  # fmt: skip
        zoned = [
            {"id": c, "timezone": zones[i % 10]}
            for i, c in enumerate(ids, start=first)
            if i % 10 < len(zones)
        ]
        session.execute(update(Customer), zoned)
    return ids


def history(database: Database, ids: list[int], now: dt.datetime) -> None:
    """One paid order per customer in the last year, and a churn run scoring everyone."""
    rng = random.Random(7)
    with database.session() as session:
        orders = []
        for n, customer in enumerate(ids):
            at = now - dt.timedelta(days=rng.uniform(1, 365))
            orders.append(
                {"external_id": f"h{n}", "customer_id": customer, "status": "paid",
                 "currency": "USD", "total_minor": rng.randrange(1000, 9000),
                 "discount_minor": 0, "refunded_minor": 0, "ordered_at": at, "created_at": at}
            )  # fmt: skip
        for start in range(0, len(orders), 20_000):
            session.execute(insert(Order), orders[start : start + 20_000])
        run = ModelRun(kind="churn", status="done", started_at=now, finished_at=now)
        session.add(run)
        session.flush()
        scores = [
            {"model_run_id": run.id, "customer_id": c, "clv_12m_minor": 5000,
             "churn_risk": 0.7 if (n // 10) % 10 == 3 else 0.1 + (n % 7) * 0.05, "reasons": {}}
            for n, c in enumerate(ids)
        ]  # fmt: skip
        for start in range(0, len(scores), 20_000):
            session.execute(insert(CustomerScore), scores[start : start + 20_000])


def journey(database: Database, trigger: str, now: dt.datetime, **options: Any) -> int:
    with database.session() as session:
        created = create_journey(
            session, name=f"{trigger} journey", trigger=trigger, actor=ACTOR,
            subject="Hello {{ customer.first_name }}", body=BODY, **options,
        )  # fmt: skip
        start_journey(session, created.id, ACTOR, now)
        return created.id


def burst(database: Database, first: int, zones: list[str], existing: list[int]) -> None:
    """``BURST`` new customers and ``BURST`` new paid orders of existing customers."""
    add_customers(database, first, BURST, zones)
    rng = random.Random(11)
    with database.session() as session:
        for n in range(BURST):
            record_order(session, OrderCreate(
                external_id=f"b{n}", customer_id=rng.choice(existing), ordered_at=utcnow(),
                currency="USD", total=Decimal("25.00"),
            ), ACTOR)  # fmt: skip


# --- the passes ---------------------------------------------------------------------------


class Clock:
    """The passes' ``now``: the wall clock (the welcome and order triggers find rows by the
    time they were written, so a pass cannot run ahead of it), except for the hourly pass,
    which moves it an hour on; it never goes back."""

    def __init__(self) -> None:
        self.now = utcnow()

    def advance(self) -> dt.datetime:
        self.now = max(utcnow(), self.now)
        return self.now


@dataclass
class Step:
    engine: str
    customers: int
    name: str
    seconds: float
    entered: int = 0
    queued: int = 0
    held: int = 0
    note: str = ""

    def row(self) -> str:
        per_s = (
            f"{self.entered / self.seconds:,.0f} | {self.queued / self.seconds:,.0f}"
            if self.entered or self.queued
            else "– | –"
        )
        return (
            f"| {self.engine} | {self.customers:,} | {self.name} | **{self.seconds:.3f}** "
            f"| {self.entered:,} | {self.queued:,} | {self.held:,} | {per_s} | {self.note} |"
        )


def timed(function: Callable[[], Any], profile: bool, label: str) -> tuple[float, Any]:
    profiler = cProfile.Profile() if profile else None
    start = time.perf_counter()
    if profiler is not None:
        profiler.enable()
    result = function()
    if profiler is not None:
        profiler.disable()
    elapsed = time.perf_counter() - start
    if profiler is not None:
        print(f"--- {label}: {elapsed:.3f} s")
        pstats.Stats(profiler).sort_stats("cumulative").print_stats(25)
    return elapsed, result


def one_pass(database: Database, now: dt.datetime, profile: bool, label: str) -> tuple[float, Any]:
    return timed(lambda: run_journeys(database, ACTOR, now), profile, label)


def due_untouched(database: Database, now: dt.datetime) -> int:
    with database.read_session() as session:
        return int(
            session.scalar(
                select(func.count()).where(
                    JourneyEntry.state == "waiting",
                    JourneyEntry.reason.is_(None),
                    JourneyEntry.due_at <= now,
                )
            )
            or 0
        )


def held(database: Database) -> int:
    """Entries held back by the cap or quiet hours, waiting for room or the morning."""
    with database.read_session() as session:
        return int(
            session.scalar(
                select(func.count()).where(
                    JourneyEntry.state == "waiting", JourneyEntry.reason.is_not(None)
                )
            )
            or 0
        )


def measure(engine: str, url: str | None, customers: int, profile: bool) -> list[Step]:
    start_at = utcnow()
    zones = [zone_at(hour, start_at) for hour in ZONE_HOURS]
    database = workspace(url, zone_at(WORKSPACE_HOUR, start_at))
    steps: list[Step] = []

    def step(name: str, seconds: float, report: JourneyRunReport | None, note: str = "") -> None:
        entered = report.entered if report else 0
        queued = report.sent if report else 0
        left, waiting = due_untouched(database, clock.now), held(database)
        if left:  # due, never looked at: this pass stopped before them
            note = "; ".join(filter(None, [note, f"{left:,} due entries left for later passes"]))
        steps.append(Step(engine, customers, name, seconds, entered, queued, waiting, note))
        print(steps[-1].row(), flush=True)

    try:
        began = time.perf_counter()
        ids = add_customers(database, 0, customers, zones)
        history(database, ids, start_at)
        setup = time.perf_counter() - began
        clock = Clock()

        # A dated journey is first scanned an hour after its start (``DATED_RESCAN``): started
        # 61 minutes ago, its first pass is the one that reads everyone.
        an_hour_ago = clock.advance() - dt.timedelta(minutes=61)
        birthday = journey(database, "birthday", an_hour_ago)
        seconds, report = one_pass(database, clock.advance(), profile, "birthday first pass")
        step("birthday journey: first pass", seconds, report, f"setup {setup:.0f} s")
        for trigger, options in (("welcome", {}), ("order", {"trigger_days": 14})):
            journey(database, trigger, clock.advance(), **options)
        churn = journey(database, "churn_risk", an_hour_ago)
        seconds, report = one_pass(database, clock.advance(), profile, "churn first pass")
        step("welcome, order, churn risk started: first pass", seconds, report)

        idle = [one_pass(database, clock.advance(), profile, "idle") for _ in range(IDLE_PASSES)]
        seconds = statistics.median(s for s, _ in idle)
        step(f"idle minute (median of {IDLE_PASSES})", seconds, idle[-1][1])

        began = time.perf_counter()
        burst(database, customers, zones, ids)
        arrive = time.perf_counter() - began
        seconds, report = one_pass(database, clock.advance(), profile, "burst")
        step(
            f"burst: {BURST:,} customers + {BURST:,} orders", seconds, report,
            f"adding them: {arrive:.1f} s",
        )  # fmt: skip

        idle = [one_pass(database, clock.advance(), profile, "idle") for _ in range(IDLE_PASSES)]
        seconds = statistics.median(s for s, _ in idle)
        step(f"idle minute after the burst (median of {IDLE_PASSES})", seconds, idle[-1][1])

        with database.read_session() as session:
            last_scan = session.scalar(
                select(func.max(Journey.scanned_at)).where(Journey.id.in_((birthday, churn)))
            )
        assert last_scan is not None
        clock.now = max(clock.now, _aware(last_scan) + dt.timedelta(minutes=61))
        seconds, report = one_pass(database, clock.now, profile, "hourly")
        step("hourly pass (birthdays and churn risk read again)", seconds, report)

        with database.read_session() as session:
            entries = session.scalar(select(func.count()).where(JourneyEntry.journey_id == churn))
            messages = session.scalar(select(func.count()).select_from(Message))
        runs = []
        for _ in range(3):
            with database.read_session() as session:
                runs.append(
                    timed(lambda s=session: journey_results(s, churn, "USD", clock.now),
                          profile, "results")[0]
                )  # fmt: skip
        steps.append(
            Step(engine, customers, "journey_results, churn-risk journey (median of 3)",
                 statistics.median(runs), note=f"{entries:,} entries; {messages:,} messages "
                 "in the workspace")
        )  # fmt: skip
        print(steps[-1].row(), flush=True)
    finally:
        database.dispose()
    return steps


def _aware(value: dt.datetime) -> dt.datetime:
    return value.astimezone(dt.UTC) if value.tzinfo else value.replace(tzinfo=dt.UTC)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--customers", type=int, nargs="+", default=[10_000, 100_000])
    parser.add_argument("--postgres", default=POSTGRES, help="admin URL; '' to skip PostgreSQL")
    parser.add_argument("--profile", action="store_true", help="cProfile every timed pass")
    args = parser.parse_args()
    print(
        f"Python {platform.python_version()}, SQLite {sqlite3.sqlite_version}, "
        f"{os.cpu_count()} CPUs, load average {os.getloadavg()[0]:.1f}"
    )
    print(
        "| engine | customers | pass | seconds | entered | messages queued | held back "
        "| entries/s | messages/s | note |"
    )
    print("| --- | ---: | --- | ---: | ---: | ---: | ---: | ---: | ---: | --- |")
    began = time.perf_counter()
    engines = ["sqlite"] + (["postgresql"] if args.postgres else [])
    for engine in engines:
        for customers in args.customers:
            url = _scratch(args.postgres) if engine == "postgresql" else None
            try:
                measure(engine, url, customers, args.profile)
            finally:
                if url:
                    _drop(args.postgres, url)
    print(
        f"{time.perf_counter() - began:.0f} s in all; "
        f"load average at the end {os.getloadavg()[0]:.1f}"
    )


if __name__ == "__main__":
    main()
