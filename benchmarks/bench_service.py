"""Latency of every page on the 100,000-customer workspace, through a real server, while a
writer posts an order through the API every 100 ms.

Build the workspace as for ``bench_web.py`` (``soloist demo --customers 100000 --purchase-rate
2.6``, then ``soloist analyze``), then::

    python benchmarks/bench_service.py --workspace /tmp/ws100k --password bench-password-123

It starts ``soloist serve`` on a free loopback port, signs in through the login form, times
each overview page's first view (before the writer: what the start-up computations leave a user
to wait for; with figures kept from an earlier run, they are shown at once), waits until every
overview page has been shown unmarked once (the start-up recomputations done; the seconds are
reported), then until the server reports no start-up work left in the background (``computing``
of ``GET /api/v1/status`` empty; ``--no-settle`` skips this), starts the writer (a write token
made for the run posts ``POST /api/v1/orders`` every 100 ms), and times N requests of each page
(p50 / p95 / max in ms): the ticket inbox (active tickets by due time; the breached filter; a
subject search), random ticket threads, the customer list (name search sorted by CLV, deep
pages sorted by risk), random customer and customer-loyalty pages, segments, loyalty,
campaigns, journeys, feedback, reports, models, jobs, the pipeline board and list, the tasks
list, the dashboard, and ``GET /api/v1/tickets`` / ``GET /api/v1/deals/forecast``.

The baseline does the same work the "plain" way, per request: pandas ``read_sql`` of the tables
and the filter / sort / group in memory (the inbox: active tickets joined to customer names,
sorted by due time, first 50; the board: open deals grouped by stage with weighted sums).
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import platform
import random
import sys
import threading
import time
from pathlib import Path
from typing import Any

import httpx
import pandas as pd
from sqlalchemy import text

sys.path.insert(0, str(Path(__file__).parent))

from bench_web import NAME_FRAGMENTS, percentiles, sign_in, start_server, timed

from soloist.config import load_settings
from soloist.domain.workspace import open_workspace

#: The other pages, each as a first view with no filter: label, path.
OTHER_PAGES = (
    ("segments", "/segments"),
    ("loyalty", "/loyalty"),
    ("campaigns", "/campaigns"),
    ("journeys", "/journeys"),
    ("feedback", "/feedback"),
    ("reports", "/reports"),
    ("models", "/models"),
    ("jobs", "/jobs"),
    ("pipeline list", "/deals/list"),
)
SUBJECT_WORDS = ["order", "refund", "late", "broken", "订单", "coffee", "invoice", "delivery"]


def write_token(workspace: Path, email: str) -> str:
    from soloist.domain.users import create_token

    database = open_workspace(load_settings(workspace=workspace))
    with database.session() as session:
        _, token = create_token(session, email, "write", "bench")
    database.dispose()
    return str(token)


class OrderWriter(threading.Thread):
    """Posts one order every ``every_s`` through the API until stopped; counts the answers."""

    def __init__(self, url: str, token: str, every_s: float = 0.1) -> None:
        super().__init__(daemon=True)
        self.url, self.token, self.every_s = url, token, every_s
        self.stop = threading.Event()
        self.posted = self.failed = 0
        self.last_error: str | None = None
        self.seconds: list[float] = []  # how long each POST took
        self.started = self.ended = 0.0

    def run(self) -> None:
        headers = {"Authorization": f"Bearer {self.token}"}
        self.started = time.perf_counter()
        with httpx.Client(base_url=self.url, timeout=30, headers=headers) as client:
            n = 0
            while not self.stop.is_set():
                started = time.perf_counter()
                n += 1
                body = {
                    "external_id": f"bench-service-{os.getpid()}-{n}",
                    "customer": {"email": f"bench{n % 500}@example.com", "name": "Bench Buyer"},
                    "ordered_at": dt.datetime.now(dt.UTC).isoformat(),
                    "currency": "USD",
                    "status": "paid",
                    "lines": [{"sku": "BENCH", "name": "Beans", "quantity": 1,
                               "unit_price": "12.50"}],
                }  # fmt: skip
                answer = client.post("/api/v1/orders", json=body)
                self.seconds.append(time.perf_counter() - started)
                if answer.status_code in (200, 201):
                    self.posted += 1
                else:
                    self.failed += 1
                    self.last_error = f"{answer.status_code} {answer.text[:200]}"
                self.stop.wait(max(0.0, self.every_s - (time.perf_counter() - started)))
        self.ended = time.perf_counter()

    def figures(self) -> dict[str, Any]:
        """Orders posted, for how long, and the POSTs' p50 / p95 / max in ms."""
        ms = sorted(1000 * s for s in self.seconds) or [0.0]
        return {
            "orders_posted": self.posted,
            "failed": self.failed,
            "last_error": self.last_error,
            "seconds": round(self.ended - self.started, 1),
            "post_p50_ms": round(ms[len(ms) // 2], 1),
            "post_p95_ms": round(ms[min(len(ms) - 1, int(0.95 * len(ms)))], 1),
            "post_max_ms": round(ms[-1], 1),
        }


def customer_pages(
    client: httpx.Client, n: int, customer_ids: list[int], rng: random.Random
) -> dict[str, Any]:
    """The customer list (name search sorted by CLV, a deep page sorted by risk), the customer
    page and its loyalty page, at random customers."""

    def get(path: str, **params: Any) -> None:
        client.get(path, params=params).raise_for_status()

    return {
        "customer list: name search, sorted by CLV": percentiles(
            timed(lambda: get("/customers", q=rng.choice(NAME_FRAGMENTS), sort="clv"), n)
        ),
        "customer list: sorted by risk, random page ≤ 400": percentiles(
            timed(lambda: get("/customers", sort="risk", page=rng.randint(1, 400)), n)
        ),
        "customer page (random customers)": percentiles(
            timed(lambda: get(f"/customers/{rng.choice(customer_ids)}"), n)
        ),
        "customer loyalty page (random customers)": percentiles(
            timed(lambda: get(f"/customers/{rng.choice(customer_ids)}/loyalty"), n)
        ),
    }


def not_current(page: str) -> bool:
    """Whether a page shows earlier figures (marked as being updated) or none yet (the page
    that says its first figures are being worked out)."""
    return 'id="stale"' in page or 'id="pending"' in page


def first_views(client: httpx.Client) -> dict[str, Any]:
    """Each overview page's first view right after the server started (ms), before the
    writer: what the server's start-up computations leave a user to wait for, and which
    pages said their first figures were still being worked out."""
    views: dict[str, Any] = {}
    pending = []
    for label, path in (("dashboard", "/"), ("customer list", "/customers"), *OTHER_PAGES):
        started = time.perf_counter()
        answer = client.get(path).raise_for_status()
        views[label] = round(1000 * (time.perf_counter() - started), 1)
        if 'id="pending"' in answer.text:
            pending.append(label)
    views["pages still working out their first figures"] = pending
    return views


OVERVIEWS = ("/", "/loyalty", "/campaigns", "/journeys", "/reports")


def until_current(client: httpx.Client, limit_s: float = 600) -> float | None:
    """Seconds from now until every overview page has been shown unmarked (not as being
    updated) at least once: the server's start-up recomputations are then done, and the pages
    are measured as in a running server. None when that did not happen within ``limit_s``."""
    started = time.perf_counter()
    waiting = set(OVERVIEWS)
    while time.perf_counter() - started < limit_s:
        waiting = {path for path in waiting if not_current(client.get(path).text)}
        if not waiting:
            return round(time.perf_counter() - started, 1)
        time.sleep(2)
    return None


def until_settled(url: str, token: str, limit_s: float = 900) -> float | None:
    """Seconds from now until the server reports no figure being worked out in the
    background (``computing`` of ``GET /api/v1/status`` empty on two reads 2 s apart): the
    start-up work (the recommender, the rating model, the feedback analysis after the
    overviews) is then done. None when that did not happen within ``limit_s``."""
    started = time.perf_counter()
    quiet = 0
    headers = {"Authorization": f"Bearer {token}"}
    with httpx.Client(base_url=url, timeout=60, headers=headers) as client:
        while time.perf_counter() - started < limit_s:
            computing = client.get("/api/v1/status").raise_for_status().json()["computing"]
            quiet = 0 if computing else quiet + 1
            if quiet == 2:
                return round(time.perf_counter() - started, 1)
            time.sleep(2)
    return None


def web_figures(url: str, email: str, password: str, n: int, ticket_ids: list[int],
                customer_ids: list[int], rng: random.Random,
                writer: OrderWriter, token: str, settle: bool) -> dict[str, Any]:  # fmt: skip
    figures: dict[str, Any] = {}
    with httpx.Client(base_url=url, timeout=300, headers={"Accept-Language": "en"},
                      follow_redirects=True) as client:  # fmt: skip
        sign_in(client, email, password)
        figures["first views after start (no writer yet)"] = first_views(client)
        figures["seconds until every overview is current"] = until_current(client)
        if settle:
            figures["seconds more until no start-up work is left"] = until_settled(url, token)
        writer.start()

        def page(path: str, **params: Any) -> Any:
            return lambda: client.get(path, params=params).raise_for_status()

        figures["ticket inbox: active, by due time"] = percentiles(
            timed(page("/tickets", sort="due"), n)
        )
        figures["ticket inbox: breached only"] = percentiles(
            timed(page("/tickets", breached="1"), n)
        )
        figures["ticket inbox: subject search, active"] = percentiles(
            timed(lambda: client.get("/tickets", params={"q": rng.choice(SUBJECT_WORDS),
                                                         "status": "active"}).raise_for_status(), n)
        )  # fmt: skip
        figures["ticket inbox: subject search, every status, newest"] = percentiles(
            timed(lambda: client.get("/tickets", params={"q": rng.choice(SUBJECT_WORDS),
                  "status": "all", "sort": "newest"}).raise_for_status(), n)
        )  # fmt: skip
        figures["ticket inbox: every status, page 100"] = percentiles(
            timed(page("/tickets", status="all", sort="newest", page=100), n)
        )
        figures["ticket thread (random tickets)"] = percentiles(
            timed(lambda: client.get(f"/tickets/{rng.choice(ticket_ids)}").raise_for_status(), n)
        )
        figures.update(customer_pages(client, n, customer_ids, rng))
        for label, path in OTHER_PAGES:
            marked: list[bool] = []

            def view(path: str = path, marked: list[bool] = marked) -> None:
                answer = client.get(path).raise_for_status()
                marked.append(not_current(answer.text))

            figures[label] = percentiles(timed(view, n))
            figures[label]["views_with_stale_figures"] = sum(marked)
        figures["pipeline board"] = percentiles(timed(page("/deals"), n))
        figures["tasks"] = percentiles(timed(page("/tasks"), n))
        stale: list[bool] = []

        def dashboard() -> None:
            answer = client.get("/").raise_for_status()
            stale.append(not_current(answer.text))

        figures["dashboard"] = percentiles(timed(dashboard, n))
        figures["dashboard"]["views_with_stale_figures"] = sum(stale)
        figures["API: GET /api/v1/tickets?status=active&sort=due"] = percentiles(
            timed(page("/api/v1/tickets", status="active", sort="due"), n)
        )
        figures["API: GET /api/v1/deals/forecast"] = percentiles(
            timed(page("/api/v1/deals/forecast"), n)
        )
    return figures


def baseline_figures(workspace: Path, n: int) -> dict[str, Any]:
    database = open_workspace(load_settings(workspace=workspace))
    engine = database.engine
    figures: dict[str, Any] = {}

    def inbox() -> None:
        tickets = pd.read_sql(
            text("SELECT id, customer_id, subject, status, priority, resolution_due_at, "
                 "last_message_at FROM tickets"), engine)  # fmt: skip
        customers = pd.read_sql(text("SELECT id, name FROM customers"), engine)
        active = tickets[tickets["status"].isin(["new", "open", "pending"])]
        active.merge(customers, left_on="customer_id", right_on="id", how="left").sort_values(
            "resolution_due_at", na_position="last"
        ).head(50)

    figures["ticket inbox: active, by due time"] = percentiles(timed(inbox, n))

    def board() -> None:
        deals = pd.read_sql(text("SELECT stage, value_minor, probability_percent FROM deals"),
                            engine)  # fmt: skip
        deals["weighted"] = deals["value_minor"] * deals["probability_percent"] / 100
        deals.groupby("stage")[["value_minor", "weighted"]].sum()

    figures["pipeline board (sums by stage only)"] = percentiles(timed(board, n))
    database.dispose()
    return figures


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--workspace", type=Path, required=True)
    parser.add_argument("--email", default="owner@example.com")
    parser.add_argument("--password", required=True)
    parser.add_argument("-n", type=int, default=60, help="Requests per measurement.")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--json", type=Path, help="Also write the figures here.")
    parser.add_argument(
        "--no-settle",
        action="store_true",
        help="Start the writer as soon as the overviews are current, with the start-up "
        "work (recommender, feedback analysis) possibly still running beside the pages.",
    )
    args = parser.parse_args()
    rng = random.Random(args.seed)
    database = open_workspace(load_settings(workspace=args.workspace))
    with database.engine.connect() as connection:
        sizes = {
            table: connection.execute(text(f"SELECT count(*) FROM {table}")).scalar_one()
            for table in ("customers", "orders", "tickets", "ticket_messages", "deals", "tasks")
        }
        ticket_ids = list(connection.execute(text("SELECT id FROM tickets")).scalars())
        customer_ids = list(
            connection.execute(text("SELECT id FROM customers WHERE status = 'active'")).scalars()
        )
    database.dispose()
    token = write_token(args.workspace, args.email)
    process, url = start_server(args.workspace)
    writer = OrderWriter(url, token)
    try:
        web = web_figures(url, args.email, args.password, args.n,
                          rng.sample(ticket_ids, min(len(ticket_ids), 1000)),
                          rng.sample(customer_ids, min(len(customer_ids), 1000)), rng,
                          writer, token, not args.no_settle)  # fmt: skip
    finally:
        writer.stop.set()
        if writer.ident is not None:  # started
            writer.join(timeout=30)
        process.terminate()
        process.wait(timeout=60)  # it saves the kept figures as it stops
    result = {
        "machine": f"{platform.machine()}, {os.cpu_count()} CPUs, {platform.system()}",
        "python": platform.python_version(),
        "sqlite": __import__("sqlite3").sqlite_version,
        "date": time.strftime("%Y-%m-%d"),
        "sizes": sizes,
        "writer": writer.figures(),
        "web": web,
        "baseline_pandas": baseline_figures(args.workspace, max(5, args.n // 3)),
    }
    out = json.dumps(result, indent=2, ensure_ascii=False)
    print(out)
    if args.json:
        args.json.write_text(out + "\n", encoding="utf-8")


if __name__ == "__main__":
    main()
