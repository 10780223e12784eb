"""Redemption can never overspend: 200 concurrent requests through a real HTTP server.

The TestClient runs requests one after another; here uvicorn serves the app on 127.0.0.1 from a
background thread (its thread pool runs the routes in parallel) and a pool of client threads
fires the requests at once, on SQLite, PostgreSQL and MariaDB.
"""

from __future__ import annotations

import socket
import threading
import time
from collections import Counter
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from typing import Any

import httpx
import uvicorn
from fastapi import FastAPI
from sqlalchemy import func, select

from soloist.app import create_app
from soloist.domain.customers.records import CustomerCreate, create_customer
from soloist.domain.loyalty.ledger import points_balance
from soloist.domain.loyalty.programme import adjust_points, enrol_customers
from soloist.domain.loyalty.rules import update_programme_settings
from soloist.storage.database import Database
from soloist.storage.models import LedgerEntry, LoyaltyRedemption
from tests.api.conftest import bearer

REQUESTS, COVERED, POINTS = 200, 50, 10


@contextmanager
def served(app: FastAPI) -> Iterator[str]:
    """The app on a free loopback port, served by uvicorn in a background thread."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    config = uvicorn.Config(
        app, host="127.0.0.1", port=port, log_level="warning", lifespan="off", ws="none"
    )
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 15
    while not server.started:
        if time.monotonic() > deadline or not thread.is_alive():
            raise RuntimeError("uvicorn did not start")
        time.sleep(0.02)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=15)


def _member_with_balance(database: Database, balance: int) -> int:
    with database.session() as session:
        update_programme_settings(session, {"holdout_share": 0.0}, "test")
        customer = create_customer(session, CustomerCreate(name="Busy Bee"), "test")
        enrol_customers(session, "test", customer_ids=[customer.id])
        top_up = balance - points_balance(session, customer.id)
        adjust_points(session, customer.id, top_up, "test balance", "test")
        return customer.id


def _fire(url: str, token: str, bodies: list[dict[str, Any]]) -> list[httpx.Response]:
    limits = httpx.Limits(max_connections=64, max_keepalive_connections=64)
    with (
        httpx.Client(base_url=url, headers=bearer(token), timeout=60, limits=limits) as client,
        ThreadPoolExecutor(max_workers=48) as pool,
    ):
        barrier = threading.Barrier(min(48, len(bodies)))

        def send(index_body: tuple[int, dict[str, Any]]) -> httpx.Response:
            index, body = index_body
            if index < barrier.parties:
                barrier.wait()  # the first wave leaves together
            return client.post(body.pop("_path"), json=body)

        return list(pool.map(send, enumerate(bodies)))


def test_concurrent_redemptions_never_overspend(database: Database, tokens: dict[str, str]) -> None:
    customer_id = _member_with_balance(database, COVERED * POINTS)
    path = f"/api/v1/customers/{customer_id}/loyalty/redemptions"
    bodies = [
        {"_path": path, "points": POINTS, "idempotency_key": f"checkout-{i}"}
        for i in range(REQUESTS)
    ]
    app = create_app(database.settings, database)
    with served(app) as url:
        responses = _fire(url, tokens["write"], bodies)
        codes = Counter(r.status_code for r in responses)
        assert codes == {201: COVERED, 409: REQUESTS - COVERED}, [
            r.text for r in responses if r.status_code not in (201, 409)
        ][:3]
        refused = next(r for r in responses if r.status_code == 409).json()["error"]
        assert refused["code"] == "insufficient_points"
        with httpx.Client(base_url=url, headers=bearer(tokens["read"])) as client:
            summary = client.get(f"/api/v1/customers/{customer_id}/loyalty").json()
        assert summary["balance"] == 0

        # Retrying every request with its key returns the first answer, body and all.
        retry = [
            {"_path": path, "points": POINTS, "idempotency_key": f"checkout-{i}"}
            for i in range(REQUESTS)
        ]
        again = _fire(url, tokens["write"], retry)
        assert [r.status_code for r in again] == [r.status_code for r in responses]
        assert [r.json() for r in again] == [r.json() for r in responses]
        assert all(r.headers.get("Idempotent-Replayed") == "true" for r in again)

    with database.read_session() as session:
        entries = session.execute(
            select(LedgerEntry.kind, func.count(), func.sum(LedgerEntry.points))
            .where(LedgerEntry.customer_id == customer_id)
            .group_by(LedgerEntry.kind)
        ).all()
        by_kind = {kind: (int(count), int(total)) for kind, count, total in entries}
        assert by_kind["redeem"] == (COVERED, -COVERED * POINTS)
        assert (
            sum(total for _, total in by_kind.values()) == 0 == points_balance(session, customer_id)
        )
        outcomes = dict(
            session.execute(
                select(LoyaltyRedemption.status, func.count())
                .where(LoyaltyRedemption.customer_id == customer_id)
                .group_by(LoyaltyRedemption.status)
            ).all()
        )
        assert outcomes == {"redeemed": COVERED, "refused": REQUESTS - COVERED}
        redeemed_ids = {r.json()["ledger_entry_id"] for r in responses if r.status_code == 201}
        assert len(redeemed_ids) == COVERED


def test_concurrent_retries_of_one_key_redeem_once(
    database: Database, tokens: dict[str, str]
) -> None:
    customer_id = _member_with_balance(database, 1000)
    path = f"/api/v1/customers/{customer_id}/loyalty/redemptions"
    bodies = [{"_path": path, "points": 300, "idempotency_key": "same-key"} for _ in range(24)]
    with served(create_app(database.settings, database)) as url:
        responses = _fire(url, tokens["write"], bodies)
    assert {r.status_code for r in responses} == {201}
    assert len({r.json()["redemption_id"] for r in responses}) == 1
    assert sum(r.headers.get("Idempotent-Replayed") == "true" for r in responses) == 23
    with database.read_session() as session:
        assert points_balance(session, customer_id) == 700
