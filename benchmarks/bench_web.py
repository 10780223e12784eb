"""Latency of the web app's heaviest pages on a big SQLite workspace, through a real server.

Build the workspace once (about 5 minutes for 100,000 customers / 1,000,000 orders), then run::

    soloist demo --workspace /tmp/ws100k --customers 100000 --purchase-rate 2.6 \\
        --owner-password bench-password-123
    soloist analyze --workspace /tmp/ws100k
    python benchmarks/bench_web.py --workspace /tmp/ws100k --password bench-password-123

It starts ``soloist serve`` on a free loopback port, signs in through the login form like a
browser, and times N requests of each kind with an HTTP client (p50 / p95 / max in ms):

- the dashboard (the first view computes; later views hit the per-data-version cache, so the
  uncached computation is also timed in-process),
- the customer list: a name search sorted by CLV, a page deep in the list sorted by churn risk,
  a segment filter, and the JSON API search,
- the customer 360 of random customers.

The baseline column does the same work the "plain" way: pandas reads the tables with
``read_sql`` and filters / groups / sorts in memory, as a notebook or a small Flask app would.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import random
import re
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
import pandas as pd
from sqlalchemy import text

from soloist.config import load_settings
from soloist.domain.dashboard import build_dashboard
from soloist.domain.workspace import open_workspace

NAME_FRAGMENTS = ["smi", "li", "wang", "emma", "noah", "chen", "tay", "ol", "zh", "jack"]


def percentiles(samples: list[float]) -> dict[str, float]:
    ordered = sorted(samples)
    p95_index = max(0, round(0.95 * len(ordered)) - 1)
    return {
        "n": len(ordered),
        "p50_ms": round(statistics.median(ordered) * 1000, 1),
        "p95_ms": round(ordered[p95_index] * 1000, 1),
        "max_ms": round(ordered[-1] * 1000, 1),
    }


def timed(call: Callable[[], Any], repeat: int) -> list[float]:
    samples = []
    for _ in range(repeat):
        start = time.perf_counter()
        call()
        samples.append(time.perf_counter() - start)
    return samples


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def start_server(workspace: Path) -> tuple[subprocess.Popen[bytes], str]:
    port = free_port()
    env = {**os.environ, "SOLOIST_WORKSPACE": str(workspace)}
    log = Path(tempfile.gettempdir()) / f"soloist-bench-serve-{port}.log"
    process = subprocess.Popen(
        [sys.executable, "-m", "soloist", "serve", "--port", str(port)],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=log.open("wb"),  # the server's errors, for when a figure cannot be taken
    )
    print(f"soloist serve on port {port}; its log: {log}", file=sys.stderr)
    url = f"http://127.0.0.1:{port}"
    for _ in range(150):
        try:
            if httpx.get(f"{url}/healthz", timeout=1).status_code == 200:
                return process, url
        except httpx.HTTPError:
            time.sleep(0.2)
    process.kill()
    raise SystemExit("soloist serve did not start")


def sign_in(client: httpx.Client, email: str, password: str) -> None:
    page = client.get("/login").text
    match = re.search(r'name="csrf_token" value="([^"]+)"', page)
    assert match, "no CSRF token on the login page"
    response = client.post(
        "/login",
        data={
            "email": email,
            "password": password,
            "csrf_token": match.group(1),
            "next": "/settings",  # so the dashboard's first view is measured below
        },
    )
    response.raise_for_status()
    assert "API tokens" in response.text, "sign-in failed"


def get(client: httpx.Client, path: str) -> Callable[[], None]:
    def call() -> None:
        client.get(path).raise_for_status()

    return call


def web_figures(
    url: str, email: str, password: str, n: int, ids: list[int], rng: random.Random
) -> dict[str, Any]:
    figures: dict[str, Any] = {}
    headers = {"Accept-Language": "en"}
    with httpx.Client(base_url=url, timeout=60, headers=headers, follow_redirects=True) as client:
        sign_in(client, email, password)
        figures["dashboard, first view (waits for the start-up computation)"] = percentiles(
            timed(get(client, "/"), 1)
        )
        figures["dashboard, later views (cached)"] = percentiles(timed(get(client, "/"), n))

        def search() -> None:
            q = rng.choice(NAME_FRAGMENTS)
            client.get("/customers", params={"q": q, "sort": "clv"}).raise_for_status()

        figures["customer list: search + sort by CLV"] = percentiles(timed(search, n))

        def deep_page() -> None:
            page = rng.randint(1, 400)
            client.get("/customers", params={"sort": "risk", "page": page}).raise_for_status()

        figures["customer list: sort by risk, random page ≤ 400"] = percentiles(timed(deep_page, n))

        def by_clv() -> None:
            client.get("/customers", params={"sort": "clv", "min_clv": "50"}).raise_for_status()

        figures["customer list: min CLV filter, sort by CLV"] = percentiles(timed(by_clv, n))

        def htmx_search() -> None:
            q = rng.choice(NAME_FRAGMENTS)
            client.get(
                "/customers", params={"q": q}, headers={"HX-Request": "true"}
            ).raise_for_status()

        figures["customer list: HTMX search fragment"] = percentiles(timed(htmx_search, n))

        def api_search() -> None:
            q = rng.choice(NAME_FRAGMENTS)
            client.get("/api/v1/customers", params={"q": q}).raise_for_status()

        figures["API: GET /api/v1/customers?q="] = percentiles(timed(api_search, n))

        def customer_360() -> None:
            client.get(f"/customers/{rng.choice(ids)}").raise_for_status()

        figures["customer 360"] = percentiles(timed(customer_360, n))

        def api_orders() -> None:
            client.get("/api/v1/orders", params={"customer_id": rng.choice(ids)}).raise_for_status()

        figures["API: GET /api/v1/orders?customer_id="] = percentiles(timed(api_orders, n))
    return figures


def baseline_figures(workspace: Path, n: int, ids: list[int], rng: random.Random) -> dict:
    """The same questions answered by pandas over read_sql, per request."""
    database = open_workspace(load_settings(workspace=workspace))
    engine = database.engine
    figures: dict[str, Any] = {}

    def dashboard_pandas() -> None:
        orders = pd.read_sql(
            text("SELECT customer_id, total_minor, ordered_at FROM orders WHERE status = 'paid'"),
            engine,
        )
        orders["month"] = pd.to_datetime(orders["ordered_at"]).dt.strftime("%Y-%m")
        orders.groupby("month")["total_minor"].sum()
        counts = orders.groupby("customer_id").size()
        _ = (counts >= 2).mean()

    figures["dashboard (revenue trend + repeat rate only)"] = percentiles(
        timed(dashboard_pandas, max(3, n // 10))
    )

    def list_pandas() -> None:
        q = rng.choice(NAME_FRAGMENTS)
        customers = pd.read_sql(
            text("SELECT id, name, company, country FROM customers WHERE status = 'active'"),
            engine,
        )
        scores = pd.read_sql(
            text(
                "SELECT customer_id, clv_12m_minor FROM customer_scores WHERE model_run_id = "
                "(SELECT max(id) FROM model_runs WHERE status = 'succeeded')"
            ),
            engine,
        )
        hits = customers[customers["name"].str.contains(q, case=False, na=False)]
        hits.merge(scores, left_on="id", right_on="customer_id", how="left").sort_values(
            "clv_12m_minor", ascending=False
        ).head(50)

    figures["customer list: search + sort by CLV"] = percentiles(timed(list_pandas, n))

    def one_customer_pandas() -> None:
        cid = rng.choice(ids)
        pd.read_sql(text("SELECT * FROM orders WHERE customer_id = :c"), engine, params={"c": cid})
        pd.read_sql(
            text("SELECT * FROM interactions WHERE customer_id = :c"), engine, params={"c": cid}
        )

    figures["customer 360 (orders + interactions only)"] = percentiles(
        timed(one_customer_pandas, n)
    )
    database.dispose()
    return figures


def uncached_dashboard(workspace: Path, repeat: int) -> dict[str, float]:
    database = open_workspace(load_settings(workspace=workspace))
    settings = database.settings

    def compute() -> None:
        with database.read_session() as session:
            build_dashboard(session, settings.currency)

    result = percentiles(timed(compute, repeat))
    database.dispose()
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--workspace", type=Path, required=True)
    parser.add_argument("--email", default="owner@example.com")
    parser.add_argument("--password", required=True)
    parser.add_argument("-n", type=int, default=60, help="Requests per measurement.")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--json", type=Path, help="Also write the figures here.")
    args = parser.parse_args()
    rng = random.Random(args.seed)

    database = open_workspace(load_settings(workspace=args.workspace))
    with database.engine.connect() as connection:
        sizes = {
            table: connection.execute(text(f"SELECT count(*) FROM {table}")).scalar_one()
            for table in ("customers", "orders", "order_lines", "customer_scores")
        }
        ids = list(connection.execute(text("SELECT id FROM customers")).scalars())
    database.dispose()
    sample_ids = rng.sample(ids, min(len(ids), 1000))

    process, url = start_server(args.workspace)
    try:
        web = web_figures(url, args.email, args.password, args.n, sample_ids, rng)
    finally:
        process.terminate()
        process.wait(timeout=10)
    result = {
        "machine": f"{platform.machine()}, {os.cpu_count()} CPUs, {platform.system()}",
        "python": platform.python_version(),
        "sqlite": __import__("sqlite3").sqlite_version,
        "date": time.strftime("%Y-%m-%d"),
        "sizes": sizes,
        "web": web,
        "dashboard_uncached_in_process": uncached_dashboard(args.workspace, 3),
        "baseline_pandas": baseline_figures(args.workspace, args.n // 3, sample_ids, rng),
    }
    text_out = json.dumps(result, indent=2, ensure_ascii=False)
    print(text_out)
    if args.json:
        args.json.write_text(text_out + "\n", encoding="utf-8")


if __name__ == "__main__":
    main()
