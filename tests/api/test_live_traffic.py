"""The shop's other systems over HTTP: 1,000 orders, refunds and replays at once, through the
API and the signed webhooks; afterwards the ledger, the balances and the scores agree with a
batch recomputation from scratch.

A real uvicorn server on loopback serves the app; the requests leave at once from an
``httpx.AsyncClient``, in two waves (the orders, then their refunds). The workspace has a real
fit to rescore from: the CDNOW sample imported and analysed.
"""

from __future__ import annotations

import asyncio
import json
import random
import time
from collections import Counter
from decimal import Decimal
from pathlib import Path
from typing import Any

import httpx
import pytest
from pydantic import SecretStr
from sqlalchemy import delete, func, select, update
from sqlalchemy.orm import Session

from soloist.app import create_app
from soloist.domain.imports.pipeline import ImportOptions, import_file
from soloist.domain.loyalty.order_points import sync_order_points
from soloist.domain.loyalty.rules import update_programme_settings
from soloist.domain.scoring.clv import analyze_workspace
from soloist.domain.scoring.live import rescore_customer
from soloist.storage.database import Database
from soloist.storage.models import (
    Customer,
    CustomerScore,
    LedgerEntry,
    LoyaltyAccount,
    Order,
    WebhookEvent,
)
from tests.api.conftest import bearer
from tests.api.test_loyalty_concurrency import served
from tests.api.test_webhooks import SECRETS, shopify_headers, stripe_headers

pytestmark = pytest.mark.slow

DATA = Path(__file__).parents[1] / "data"
HOOKS = DATA / "webhooks"
Request = tuple[str, str, dict[str, str], bytes]


def _fixture(name: str) -> dict[str, Any]:
    loaded: dict[str, Any] = json.loads((HOOKS / name).read_text(encoding="utf-8"))
    return loaded


def _api(method: str, path: str, body: dict[str, Any], token: str) -> Request:
    headers = bearer(token) | {"Content-Type": "application/json"}
    return (method, path, headers, json.dumps(body).encode())


def _shopify_order(number: int, email: str, cents: int) -> Request:
    payload = _fixture("shopify_orders_create.json")
    price = f"{Decimal(cents) / 100:.2f}"
    payload.update(
        id=7_000_000 + number,
        name=f"#{20_000 + number}",
        order_number=20_000 + number,
        email=email,
        contact_email=email,
        currency="USD",
        total_price=price,
        current_total_price=price,
        created_at="2026-12-01T10:00:00+00:00",
        customer={"id": 900 + number, "email": email, "first_name": "Shop", "last_name": "Per"},
        line_items=[{"id": number, "price": price, "quantity": 1, "sku": "TEA", "title": "Tea"}],
    )
    body = json.dumps(payload).encode()
    headers = shopify_headers(body, "orders/create", f"shop-delivery-{number}")
    return ("POST", "/api/v1/webhooks/shopify", headers, body)


def _stripe_checkout(number: int, email: str, cents: int) -> Request:
    payload = _fixture("stripe_checkout_session_completed.json")
    payload["id"] = f"evt_checkout_{number}"
    payload["data"]["object"].update(
        id=f"cs_live_{number}",
        amount_total=cents,
        amount_subtotal=cents,
        customer=None,
        customer_details={"email": email, "name": f"Stripe {number}"},
        payment_intent=f"pi_live_{number}",
        created=int(time.time()) - 3600,
    )
    body = json.dumps(payload).encode()
    return ("POST", "/api/v1/webhooks/stripe", stripe_headers(body), body)


def _stripe_refund(number: int, cents: int, refunded: int) -> Request:
    payload = _fixture("stripe_charge_refunded.json")
    payload["id"] = f"evt_refund_{number}"
    payload["data"]["object"].update(
        id=f"ch_live_{number}",
        amount=cents,
        amount_captured=cents,
        amount_refunded=refunded,
        refunded=refunded == cents,
        customer=None,
        payment_intent=f"pi_live_{number}",
    )
    body = json.dumps(payload).encode()
    return ("POST", "/api/v1/webhooks/stripe", stripe_headers(body), body)


def _failures(answers: list[httpx.Response]) -> list[str]:
    return [
        f"{a.request.method} {a.request.url.path} {a.status_code} {a.text[:300]}"
        for a in answers
        if a.status_code >= 300
    ]


def _fire(url: str, requests: list[Request]) -> list[httpx.Response]:
    # At most as many requests in flight as the pool has connections: httpcore scans its
    # whole queue of waiting requests on every answer, so 850 requests queued behind 200
    # connections cost the client ~50 s of CPU, more than the server's work.
    at_once = 200

    async def fire() -> list[httpx.Response]:
        limits = httpx.Limits(max_connections=at_once, max_keepalive_connections=50)
        in_flight = asyncio.Semaphore(at_once)

        async def send(client: httpx.AsyncClient, request: Request) -> httpx.Response:
            method, path, headers, body = request
            async with in_flight:
                return await client.request(method, path, headers=headers, content=body)

        async with httpx.AsyncClient(base_url=url, timeout=300, limits=limits) as client:
            return await asyncio.gather(*(send(client, request) for request in requests))

    return asyncio.run(fire())


def _prepare(database: Database) -> None:
    """A programme with a fifth held out, and a real fit to rescore from (CDNOW, analysed)."""
    with database.session() as session:
        update_programme_settings(session, {"holdout_share": 0.2, "holdout_seed": 7}, "test")
        import_file(session, "orders", DATA / "CDNOW_sample.txt", ImportOptions(), "test")
        analyze_workspace(session, "USD", "test")


def _ledger(session: Session) -> tuple[list[tuple[Any, ...]], dict[int, int]]:
    entries = session.execute(
        select(
            LedgerEntry.customer_id,
            LedgerEntry.kind,
            LedgerEntry.points,
            LedgerEntry.source_id,
            LedgerEntry.effective_at,
        )
        .where(LedgerEntry.kind.in_(("earn", "reverse")))
        .order_by(LedgerEntry.customer_id, LedgerEntry.source_id, LedgerEntry.kind)
    ).all()
    balances = dict(
        session.execute(
            select(LedgerEntry.customer_id, func.sum(LedgerEntry.points)).group_by(
                LedgerEntry.customer_id
            )
        ).all()
    )
    return [tuple(row) for row in entries], {int(k): int(v) for k, v in balances.items()}


def test_a_thousand_live_writes_agree_with_a_batch_recomputation(
    database: Database, tokens: dict[str, str]
) -> None:
    _prepare(database)
    write = tokens["write"]
    rng = random.Random(2026)
    amounts: dict[str, int] = {}
    first: list[Request] = []
    # 500 orders through the API, for 150 customers known by e-mail (at most 4 each, so no
    # customer reaches the Silver tier: its multiplier would depend on arrival order).
    api_customers = [f"api{n}@example.com" for n in range(150)]
    slots = Counter[str]()
    for n in range(500):
        email = rng.choice([c for c in api_customers if slots[c] < 4])
        slots[email] += 1
        cents = rng.randrange(1000, 4500)
        amounts[f"api-{n}"] = cents
        order = {
            "customer": {"email": email, "name": f"Api {email[3:-12]}"},
            "external_id": f"api-{n}",
            "ordered_at": "2026-12-01T09:00:00+00:00",
            "currency": "USD",
            "lines": [{"sku": "TEA", "name": "Tea", "quantity": 1,
                       "unit_price": f"{Decimal(cents) / 100:.2f}"}],
        }  # fmt: skip
        first.append(_api("POST", "/api/v1/orders", order, write))
    # 150 Shopify orders and 150 Stripe checkouts, for 50 customers each.
    for n in range(150):
        cents = rng.randrange(1000, 4500)
        first.append(_shopify_order(n, f"shop{n % 50}@example.com", cents))
        amounts[f"stripe-{n}"] = cents
        first.append(_stripe_checkout(n, f"stripe{n % 50}@example.com", cents))
    # 50 replays of deliveries and posts already in the wave.
    first += [first[i] for i in rng.sample(range(len(first)), 50)]
    rng.shuffle(first)
    assert len(first) == 850

    settings = database.settings.model_copy(
        update={f"{name}_webhook_secret": SecretStr(value) for name, value in SECRETS.items()}
    )
    with served(create_app(settings, database)) as url:
        answers = _fire(url, first)
        assert _failures(answers) == []
        api_orders = {
            a.json()["external_id"]: a.json()["id"]
            for a in answers
            if a.request.url.path == "/api/v1/orders"
        }
        assert len(api_orders) == 500
        # The second wave: 150 refunds and cancellations of the orders just made.
        second: list[Request] = []
        picked = rng.sample(sorted(api_orders), 120)
        for external_id in picked[:80]:
            cents = amounts[external_id]
            refund = f"{Decimal(rng.randrange(100, cents)) / 100:.2f}"
            path = f"/api/v1/orders/{api_orders[external_id]}"
            second.append(_api("PATCH", path, {"refund_amount": refund}, write))
        for external_id in picked[80:]:
            status = rng.choice(["refunded", "cancelled"])
            path = f"/api/v1/orders/{api_orders[external_id]}"
            second.append(_api("PATCH", path, {"status": status}, write))
        for n in rng.sample(range(150), 30):
            cents = amounts[f"stripe-{n}"]
            second.append(_stripe_refund(n, cents, rng.choice([cents // 3, cents])))
        rng.shuffle(second)
        assert len(first) + len(second) == 1000
        answers = _fire(url, second)
        assert _failures(answers) == []

    with database.session() as session:
        counted = session.scalar(
            select(func.count(Order.id)).where(
                Order.external_id.like("api-%")
                | Order.external_id.like("shopify:%")
                | Order.external_id.like("stripe:%")
            )
        )
        assert counted == 800
        assert session.scalar(select(func.count(WebhookEvent.id))) >= 330
        # The holdout applied: about a fifth of the 250 newcomers collect nothing.
        newcomers = select(Customer.id).where(Customer.source == "api")
        groups = Counter(
            session.scalars(
                select(LoyaltyAccount.group).where(LoyaltyAccount.customer_id.in_(newcomers))
            )
        )
        assert groups["member"] + groups["holdout"] == 250
        assert 25 <= groups["holdout"] <= 80
        # The repair tool finds nothing to do after live traffic.
        result = sync_order_points(session)
        assert (result.earned, result.reversed) == (0, 0)
        live_entries, live_balances = _ledger(session)
        assert all(balance >= 0 for balance in live_balances.values())
        assert sum(1 for entry in live_entries if entry[1] == "reverse") >= 100

        # Scores: every live customer's score is the one the stored fit gives from scratch.
        scores = session.scalars(
            select(CustomerScore).where(CustomerScore.rescored_at.is_not(None))
        ).all()
        assert len(scores) >= 200
        stored = {
            s.customer_id: (s.p_alive, s.expected_purchases_90d, s.clv_12m_minor, s.rescored_at)
            for s in scores
        }
        for customer_id, (p_alive, expected, clv, at) in stored.items():
            again = rescore_customer(session, customer_id, now=at)
            assert again is not None
            # MariaDB's FLOAT keeps 24 bits: six significant digits.
            assert again.p_alive == pytest.approx(p_alive, rel=1e-6)
            assert again.expected_purchases_90d == pytest.approx(expected, rel=1e-6)
            assert again.clv_12m_minor == clv

        # The ledger from scratch: no points for orders, every member back to no tier, then
        # the batch tool settles every order.
        session.execute(delete(LedgerEntry).where(LedgerEntry.kind.in_(("earn", "reverse"))))
        session.execute(update(LoyaltyAccount).values(tier_id=None, tier_review_at=None))
        session.expire_all()
        sync_order_points(session)
        batch_entries, batch_balances = _ledger(session)
        assert batch_balances == live_balances
        assert batch_entries == live_entries
        session.rollback()
