"""Campaign sending speed: messages per second out of one sender to an SMTP server on loopback,
against what a user would otherwise write (a plain ``smtplib`` loop over one connection).

Usage: .venv/bin/python benchmarks/campaign_send.py [--recipients N] [--postgres URL] [--profile]

For each engine (SQLite in a temporary workspace; PostgreSQL in a scratch database on the
server, dropped afterwards): N customers with e-mail consent in a saved list, one campaign (the
English body of the tests: a greeting with the customer's name and points, a link, the
unsubscribe link). Then, timed separately:

- **soloist**: ``start_sending`` (the frozen list: one message row per customer), then
  ``send_campaign`` in this process with ``SOLOIST_MAIL_RATE=0`` (no ceiling): per message one
  transaction that records the previous message ``sent`` and this one ``sending``, the render
  (personal fields, tracked links, open pixel, unsubscribe headers) and the SMTP exchange;
- **baseline**: the same N messages rendered beforehand by the same composer (not timed; its
  time is shown apart) into bytes, then ``smtplib.SMTP.sendmail`` in a loop over one
  connection: no database, no ledger, nothing to resume from after a crash. It runs three
  times; the median counts.

The server is aiosmtpd in a process of its own (so that it takes no time from the sender's
interpreter), with a handler that only counts what it accepts; each run checks that the server
got exactly N messages. ``--profile`` runs the soloist send under cProfile and prints the top
functions by cumulative and by own time. Not a test: it measures.
"""

from __future__ import annotations

import argparse
import cProfile
import datetime as dt
import multiprocessing
import os
import platform
import pstats
import smtplib
import socket
import sqlite3
import statistics
import tempfile
import time
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sqlalchemy import create_engine, insert, select, text
from sqlalchemy.engine import make_url

from soloist.config import load_settings
from soloist.domain.campaigns import (
    create_campaign,
    get_campaign,
    save_list_segment,
    send_campaign,
    start_sending,
)
from soloist.domain.campaigns.compose import Composer
from soloist.domain.campaigns.smtp import build_email, mail_domain
from soloist.domain.customers.records import CustomerCreate, add_customers_bulk
from soloist.storage.crypto import generate_master_key
from soloist.storage.database import Database
from soloist.storage.migrate import upgrade_database
from soloist.storage.models import ConsentRecord, Message

POSTGRES = "postgresql+psycopg://postgres@127.0.0.1:5432/test"
MAIL_FROM = "Ada's Coffee <ada@coffee.example>"
BODY = """<html><body><p>Hello {{ customer.first_name }},</p>
<p>You have {{ customer.points }} points.
See <a href="https://coffee.example/beans?utm=mail">our new beans</a>.</p>
<p><a href="{{ unsubscribe_url }}">Unsubscribe</a></p></body></html>"""


# --- the SMTP server, in a process of its own ----------------------------------------------


class _CountingHandler:
    def __init__(self, count: Any) -> None:
        self.count = count

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:  # noqa: N802
        with self.count.get_lock():
            self.count.value += 1
        return "250 2.0.0 Accepted"


def _serve(port: int, count: Any, ready: Any, stop: Any) -> None:
    from aiosmtpd.controller import Controller

    controller = Controller(_CountingHandler(count), hostname="127.0.0.1", port=port)
    controller.start()
    ready.set()
    stop.wait()
    controller.stop()


class SmtpServerProcess:
    def __init__(self) -> None:
        with socket.socket() as sock:
            sock.bind(("127.0.0.1", 0))
            self.port = int(sock.getsockname()[1])
        context = multiprocessing.get_context("spawn")
        self.count = context.Value("i", 0)
        self.ready, self.stop = context.Event(), context.Event()
        self.process = context.Process(
            target=_serve, args=(self.port, self.count, self.ready, self.stop), daemon=True
        )

    def __enter__(self) -> SmtpServerProcess:
        self.process.start()
        if not self.ready.wait(30):
            raise RuntimeError("the SMTP server did not start")
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop.set()
        self.process.join(10)

    def received(self) -> int:
        with self.count.get_lock():
            return int(self.count.value)

    @property
    def environ(self) -> dict[str, str]:
        return {
            "SOLOIST_SMTP_HOST": "127.0.0.1",
            "SOLOIST_SMTP_PORT": str(self.port),
            "SOLOIST_SMTP_SECURITY": "none",
            "SOLOIST_MAIL_FROM": MAIL_FROM,
            "SOLOIST_MAIL_RATE": "0",
            "SOLOIST_PUBLIC_URL": "https://crm.coffee.example",
        }


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


def workspace(url: str | None, server: SmtpServerProcess) -> Database:
    environ = {"SOLOIST_MASTER_KEY": generate_master_key(), **server.environ}
    if url:
        environ["SOLOIST_DATABASE_URL"] = url
    database = Database(load_settings(workspace=Path(tempfile.mkdtemp()), environ=environ))
    upgrade_database(database.engine)
    return database


def campaign_for(database: Database, recipients: int, name: str) -> int:
    """``recipients`` consenting customers in the saved list ``name``, and a campaign to it."""
    rows = [
        CustomerCreate(name=f"Cleo Number{i}", email=f"{name}{i}@example.net", language="en")
        for i in range(recipients)
    ]
    at = dt.datetime(2026, 1, 1, tzinfo=dt.UTC)
    with database.session() as session:
        ids = add_customers_bulk(session, rows, "bench", "benchmark customers")
        session.execute(
            insert(ConsentRecord),
            [{"customer_id": i, "channel": "email", "granted": True, "source": "checkout",
              "recorded_at": at} for i in ids],
        )  # fmt: skip
        save_list_segment(session, name, ids, "bench")
        campaign = create_campaign(
            session,
            name=f"Spring beans ({name})",
            segment=name,
            subject="{{ customer.first_name }}, new beans are in",
            body=BODY,
            actor="bench",
        )
        return campaign.id


# --- the two senders ----------------------------------------------------------------------


@dataclass
class Run:
    engine: str
    recipients: int
    freeze_s: float
    soloist_s: float
    render_s: float
    baseline_s: float

    def row(self) -> str:
        soloist_rate = self.recipients / self.soloist_s
        baseline_rate = self.recipients / self.baseline_s
        return (
            f"| {self.engine} | {self.recipients:,} | {self.freeze_s:.2f} | {self.soloist_s:.2f} "
            f"| **{soloist_rate:,.0f}** | {self.render_s:.2f} | {self.baseline_s:.2f} "
            f"| **{baseline_rate:,.0f}** | {soloist_rate / baseline_rate:.2f}× |"
        )


def soloist_send(
    database: Database, campaign_id: int, server: SmtpServerProcess, profile: bool
) -> tuple[float, float]:
    """(seconds to freeze the list, seconds to send it)."""
    start = time.perf_counter()
    with database.session() as session:
        start_sending(session, campaign_id, "bench", "USD", mail_domain(MAIL_FROM), _now())
    freeze = time.perf_counter() - start
    before = server.received()
    profiler = cProfile.Profile() if profile else None
    start = time.perf_counter()
    if profiler is not None:
        profiler.enable()
    report = send_campaign(database, campaign_id, "bench")
    if profiler is not None:
        profiler.disable()
    elapsed = time.perf_counter() - start
    got = server.received() - before
    if report.status != "sent" or report.sent != got:
        raise RuntimeError(f"soloist: {report}; the server got {got}")
    if profiler is not None:
        stats = pstats.Stats(profiler)
        stats.sort_stats("cumulative").print_stats(30)
        stats.sort_stats("tottime").print_stats(25)
    return freeze, elapsed


def prerendered(database: Database, campaign_id: int) -> tuple[list[tuple[str, bytes]], float]:
    """The campaign's messages, rendered by Soloist's composer into bytes, and how long that
    took (outside the baseline's time: a user's script would have them ready)."""
    start = time.perf_counter()
    settings = database.settings
    with database.session() as session:
        campaign = get_campaign(session, campaign_id)
        composer = Composer(session, campaign, settings, database.keyring, _now())
        rows = session.execute(
            select(Message.id, Message.customer_id, Message.message_id, Message.recipient)
            .where(Message.campaign_id == campaign_id)
            .order_by(Message.id)
        ).all()
        fields = composer.fields.for_customers(session, [r.customer_id for r in rows])
        messages = []
        for row in rows:
            outgoing = composer.compose(
                fields[row.customer_id],
                message_row=row.id,
                message_id=row.message_id,
                recipient=row.recipient,
                language="en",
            )
            mail = build_email(outgoing, MAIL_FROM, None)
            messages.append((row.recipient, mail.as_bytes()))
    return messages, time.perf_counter() - start


def baseline_send(messages: list[tuple[str, bytes]], server: SmtpServerProcess) -> float:
    before = server.received()
    start = time.perf_counter()
    with smtplib.SMTP("127.0.0.1", server.port, timeout=30) as smtp:
        for recipient, data in messages:
            smtp.sendmail("ada@coffee.example", [recipient], data)
    elapsed = time.perf_counter() - start
    got = server.received() - before
    if got != len(messages):
        raise RuntimeError(f"baseline: sent {len(messages)}, the server got {got}")
    return elapsed


def _now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def measure(engine: str, url: str | None, recipients: int, profile: bool) -> Run:
    with SmtpServerProcess() as server:
        database = workspace(url, server)
        try:
            soloist_campaign = campaign_for(database, recipients, "soloist")
            freeze, soloist_s = soloist_send(database, soloist_campaign, server, profile)
            # The baseline sends the very messages of the soloist run (same rows, same links).
            messages, render_s = prerendered(database, soloist_campaign)
            # The loop takes a few seconds and varies more from run to run: the median of 3.
            baseline_s = statistics.median(baseline_send(messages, server) for _ in range(3))
        finally:
            database.dispose()
    return Run(engine, recipients, freeze, soloist_s, render_s, baseline_s)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--recipients", type=int, default=10_000)
    parser.add_argument("--postgres", default=POSTGRES, help="admin URL; '' to skip PostgreSQL")
    parser.add_argument("--profile", action="store_true", help="cProfile the soloist send")
    args = parser.parse_args()
    print(
        f"Python {platform.python_version()}, SQLite {sqlite3.sqlite_version}, "
        f"{os.cpu_count()} CPUs, load average {os.getloadavg()[0]:.1f}"
    )
    print(
        "| engine | recipients | freeze the list (s) | soloist send (s) | soloist msg/s "
        "| render beforehand (s) | smtplib loop (s) | smtplib msg/s | ratio |"
    )
    print("| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |")
    engines = ["sqlite"] + (["postgresql"] if args.postgres else [])
    for engine in engines:
        url = _scratch(args.postgres) if engine == "postgresql" else None
        try:
            run = measure(engine, url, args.recipients, args.profile)
        finally:
            if url:
                _drop(args.postgres, url)
        print(run.row(), flush=True)
    print(f"load average at the end {os.getloadavg()[0]:.1f}")


if __name__ == "__main__":
    main()
