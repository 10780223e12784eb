"""Many writers at once: 200 concurrent writes through a real server, on each database.

For each database it makes a workspace the way a person would (``soloist init``, ``soloist user
add --password-stdin``, ``soloist token create --scope write``), starts ``soloist serve`` on a
free loopback port and fires three bursts, each of N requests sent at once with
``httpx.AsyncClient`` and ``asyncio.gather`` (one connection per request):

- ``patch``: N PATCHes of one customer, each setting a distinct ``company`` and a distinct tag;
- ``create``: N POSTs creating customers;
- ``adjust``: N ``+1`` point adjustments of one enrolled member.

It prints, per database and burst, the count of 5xx and other non-2xx answers, the wall time of
the burst, p50 / p95 / max latency, and whether an update was lost (the audit trail must hold N
``customer.updated`` entries, N customers must exist, the balance must be exactly +N)::

    python benchmarks/concurrent_writes.py                      # this checkout's src/
    python benchmarks/concurrent_writes.py --src /tmp/old/src   # another version, same bursts

``--src`` runs the server (and the CLI set-up) from another copy of the source — the baseline
in BENCHMARKS.md is ``git archive`` of the commit before the change, run this way. Server
databases come from ``SOLOIST_BENCH_POSTGRES_URL`` / ``SOLOIST_BENCH_MARIADB_URL`` (defaults:
``postgresql+psycopg://postgres@127.0.0.1:5432/test``, ``mysql+pymysql://root@127.0.0.1:3306/test``);
a scratch database is created on each and dropped at the end. Not a test: it measures.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import platform
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

ROOT = Path(__file__).resolve().parent.parent
SERVER_URLS = {
    "postgresql": os.environ.get(
        "SOLOIST_BENCH_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test"
    ),
    "mariadb": os.environ.get(
        "SOLOIST_BENCH_MARIADB_URL", "mysql+pymysql://root@127.0.0.1:3306/test"
    ),
}
PASSWORD = "a long enough benchmark password"
BURSTS = ("patch", "create", "adjust")
TIMEOUT_S = 120.0  # a request with no answer by then counts as a 5xx (599): the server hung


@dataclass
class Burst:
    engine: str
    kind: str
    codes: Counter[int]
    wall_s: float
    latencies: list[float]
    lost: int
    errors: list[str]

    def row(self) -> str:
        ordered = sorted(self.latencies)
        p95 = ordered[max(0, round(0.95 * len(ordered)) - 1)]
        server_errors = sum(n for code, n in self.codes.items() if code >= 500)
        other = sum(n for code, n in self.codes.items() if not 200 <= code < 300 and code < 500)
        return (
            f"| {self.engine} | {self.kind} | {server_errors} | {other} | {self.wall_s:.2f} | "
            f"{statistics.median(ordered) * 1000:,.0f} | {p95 * 1000:,.0f} | "
            f"{ordered[-1] * 1000:,.0f} | {self.lost} |"
        )


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _soloist(src: Path, *args: str, stdin: str | None = None) -> str:
    env = {**os.environ, "PYTHONPATH": str(src)}
    done = subprocess.run(
        [sys.executable, "-m", "soloist", *args],
        input=stdin,
        capture_output=True,
        text=True,
        env=env,
        check=False,
    )
    if done.returncode != 0:
        raise RuntimeError(f"soloist {' '.join(args)} failed: {done.stderr or done.stdout}")
    return done.stdout


@contextmanager
def scratch_database(engine: str) -> Iterator[str | None]:
    """None for SQLite (the workspace's file); a new database on the server otherwise."""
    if engine == "sqlite":
        yield None
        return
    admin_url = make_url(SERVER_URLS[engine])
    name = f"soloist_bench_{uuid.uuid4().hex[:8]}"
    admin = create_engine(admin_url, isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(text(f"CREATE DATABASE {name}"))
    try:
        yield admin_url.set(database=name).render_as_string(hide_password=False)
    finally:
        with admin.connect() as connection:
            force = " WITH (FORCE)" if admin.dialect.name == "postgresql" else ""
            connection.execute(text(f"DROP DATABASE IF EXISTS {name}{force}"))
        admin.dispose()


@contextmanager
def served(src: Path, workspace: Path, url: str | None) -> Iterator[str]:
    """``soloist serve`` on a free loopback port, stopped at the end."""
    port = _free_port()
    args = [sys.executable, "-m", "soloist", "serve", "-w", str(workspace), "--port", str(port)]
    if url:
        args += ["--db", url]
    env = {**os.environ, "PYTHONPATH": str(src)}
    # The server's log goes to a file: an unread pipe fills up and blocks the logging thread.
    log = (workspace / "serve.log").open("w")
    process = subprocess.Popen(args, env=env, stdout=log, stderr=log, text=True)
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                httpx.get(f"{base}/api/v1/status", timeout=2)
                break
            except httpx.TransportError:
                if process.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError("soloist serve did not start") from None
                time.sleep(0.1)
        yield base
    finally:
        process.terminate()
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        log.close()


async def _timed(client: httpx.AsyncClient, method: str, path: str, body: Any) -> Any:
    start = time.perf_counter()
    try:
        response = await client.request(method, path, json=body)
        return response.status_code, time.perf_counter() - start, response.text[:200]
    except httpx.HTTPError as exc:  # a dropped connection counts as a server error
        return 599, time.perf_counter() - start, repr(exc)


async def _burst(
    base: str, token: str, requests: list[tuple[str, str, Any]], timeout: float
) -> Any:
    limits = httpx.Limits(max_connections=len(requests), max_keepalive_connections=0)
    headers = {"Authorization": f"Bearer {token}"}
    async with httpx.AsyncClient(
        base_url=base, headers=headers, timeout=timeout, limits=limits
    ) as client:
        start = time.perf_counter()
        results = await asyncio.gather(*(_timed(client, *r) for r in requests))
        return results, time.perf_counter() - start


def _api(base: str, token: str, method: str, path: str, body: Any = None) -> Any:
    response = httpx.request(
        method, base + path, json=body, headers={"Authorization": f"Bearer {token}"}, timeout=60
    )
    response.raise_for_status()
    return response.json()


def _member(base: str, token: str) -> int:
    """A customer enrolled as a member (enrolment puts a share of customers in the holdout)."""
    for attempt in range(50):
        customer = _api(base, token, "POST", "/api/v1/customers", {"name": f"Member {attempt}"})
        path = f"/api/v1/customers/{customer['id']}/loyalty"
        if not _api(base, token, "GET", path)["enrolled"]:  # creating may enrol, as rules say
            _api(base, token, "POST", f"{path}/enrolment")
        if _api(base, token, "GET", path)["group"] == "member":
            return int(customer["id"])
    raise RuntimeError("no customer landed in the member group")


def _audit_updates(workspace: Path, url: str | None, customer_id: int) -> int:
    """How many ``customer.updated`` entries the audit trail has for the customer."""
    db_url = url or f"sqlite:///{workspace / 'soloist.db'}"
    engine = create_engine(db_url)
    try:
        with engine.connect() as connection:
            query = text(
                "SELECT count(*) FROM audit_log WHERE action = 'customer.updated' "
                "AND entity_id = :id"
            )
            return int(connection.execute(query, {"id": str(customer_id)}).scalar_one())
    finally:
        engine.dispose()


def run_engine(
    src: Path, engine: str, writers: int, bursts: list[str], timeout: float = TIMEOUT_S
) -> list[Burst]:
    results: list[Burst] = []
    with tempfile.TemporaryDirectory() as folder, scratch_database(engine) as url:
        workspace = Path(folder) / "ws"
        db = ["--db", url] if url else []
        _soloist(src, "init", "-w", str(workspace), *db)
        _soloist(
            src, "user", "add", "owner@example.com", "--role", "owner", "--password-stdin",
            "-w", str(workspace), *db, stdin=PASSWORD + "\n",
        )  # fmt: skip
        token = _soloist(
            src, "token", "create", "owner@example.com", "--scope", "write",
            "-w", str(workspace), *db,
        ).strip().splitlines()[-1]  # fmt: skip
        with served(src, workspace, url) as base:
            for kind in bursts:
                if kind == "patch":
                    target = _api(base, token, "POST", "/api/v1/customers", {"name": "Patched"})
                    path = f"/api/v1/customers/{target['id']}"
                    requests = [
                        ("PATCH", path, {"company": f"Company {i}", "tags": [f"tag-{i}"]})
                        for i in range(writers)
                    ]
                elif kind == "create":
                    before = _api(base, token, "GET", "/api/v1/customers?limit=1")["total"]
                    requests = [
                        ("POST", "/api/v1/customers", {"name": f"Burst customer {i}"})
                        for i in range(writers)
                    ]
                else:
                    member = _member(base, token)
                    summary = f"/api/v1/customers/{member}/loyalty"
                    before = _api(base, token, "GET", summary)["balance"]  # a welcome bonus
                    path = f"/api/v1/customers/{member}/loyalty/adjustments"
                    requests = [
                        ("POST", path, {"points": 1, "reason": f"burst {i}"})
                        for i in range(writers)
                    ]
                answers, wall = asyncio.run(_burst(base, token, requests, timeout))
                codes = Counter(code for code, _, _ in answers)
                ok = sum(n for code, n in codes.items() if 200 <= code < 300)
                if kind == "patch":
                    lost = ok - _audit_updates(workspace, url, int(target["id"]))
                elif kind == "create":
                    after = _api(base, token, "GET", "/api/v1/customers?limit=1")["total"]
                    lost = ok - (after - before)
                else:
                    balance = _api(base, token, "GET", summary)["balance"]
                    lost = ok - (int(balance) - int(before))
                errors = [body for code, _, body in answers if code >= 500][:3]
                results.append(
                    Burst(engine, kind, codes, wall, [t for _, t, _ in answers], lost, errors)
                )
    return results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--src", type=Path, default=ROOT / "src", help="Source tree to serve.")
    parser.add_argument("--writers", type=int, default=200, help="Concurrent requests per burst.")
    parser.add_argument("--engines", default="sqlite,postgresql,mariadb")
    parser.add_argument("--bursts", default=",".join(BURSTS))
    parser.add_argument("--timeout", type=float, default=TIMEOUT_S, help="Seconds per request.")
    args = parser.parse_args()
    load = os.getloadavg()[0]
    print(f"- date: {time.strftime('%Y-%m-%d')}; src: {args.src}; writers: {args.writers}")
    print(f"- machine: {platform.machine()}, {os.cpu_count()} cores, load average {load:.1f}")
    print("| database | burst | 5xx | other non-2xx | wall (s) | p50 (ms) | p95 (ms) | max (ms) "
          "| lost updates |")  # fmt: skip
    print("| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |")
    errors: list[str] = []
    for engine in args.engines.split(","):
        for burst in run_engine(
            args.src, engine, args.writers, args.bursts.split(","), args.timeout
        ):
            print(burst.row(), flush=True)
            errors += [f"{engine} {burst.kind}: {e}" for e in burst.errors]
    print(f"- load average at the end: {os.getloadavg()[0]:.1f}")
    for error in errors[:9]:
        print("  5xx:", error)


if __name__ == "__main__":
    main()
