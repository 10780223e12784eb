"""POST /api/v1/webhooks/{stripe,shopify,woocommerce}: signed deliveries, once each.

Every delivery here is signed in the test with the provider's documented algorithm, not with
the code under test.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import threading
import time
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from pydantic import SecretStr
from sqlalchemy import func, select

from soloist.api.webhooks import receive_once
from soloist.app import create_app
from soloist.domain.intake import find_order
from soloist.domain.webhooks import read_stripe_delivery, receive_delivery
from soloist.storage.database import Database
from soloist.storage.models import Customer, Order, Subscription, WebhookEvent

DATA = Path(__file__).parents[1] / "data" / "webhooks"
SECRETS = {
    "stripe": "whsec_test_5f3a1c",
    "shopify": "shpss_test_9b2e7d",
    "woocommerce": "woo secret with spaces",
}


def body_of(name: str, **changes: Any) -> bytes:
    payload: dict[str, Any] = json.loads((DATA / name).read_text(encoding="utf-8"))
    payload.update(changes)
    return json.dumps(payload).encode()


def stripe_event(name: str, event_id: str | None = None, **changes: Any) -> bytes:
    """A Stripe event fixture, with another event id and fields of data.object changed."""
    payload: dict[str, Any] = json.loads((DATA / name).read_text(encoding="utf-8"))
    if event_id:
        payload["id"] = event_id
    payload["data"]["object"].update(changes)
    return json.dumps(payload).encode()


def stripe_headers(body: bytes, secret: str = SECRETS["stripe"], at: int | None = None) -> dict:
    stamp = int(time.time()) if at is None else at
    signed = f"{stamp}.".encode() + body
    mac = hmac.new(secret.encode(), signed, hashlib.sha256).hexdigest()
    return {"Stripe-Signature": f"t={stamp},v1={mac}", "Content-Type": "application/json"}


def b64_hmac(body: bytes, secret: str) -> str:
    return base64.b64encode(hmac.new(secret.encode(), body, hashlib.sha256).digest()).decode()


def shopify_headers(body: bytes, topic: str, webhook_id: str, secret: str | None = None) -> dict:
    return {
        "X-Shopify-Hmac-Sha256": b64_hmac(body, secret or SECRETS["shopify"]),
        "X-Shopify-Topic": topic,
        "X-Shopify-Webhook-Id": webhook_id,
        "X-Shopify-Shop-Domain": "example.myshopify.com",
        "Content-Type": "application/json",
    }


def woo_headers(body: bytes, topic: str, delivery_id: str) -> dict:
    return {
        "X-WC-Webhook-Signature": b64_hmac(body, SECRETS["woocommerce"]),
        "X-WC-Webhook-Topic": topic,
        "X-WC-Webhook-Resource": "order",
        "X-WC-Webhook-Delivery-ID": delivery_id,
        "X-WC-Webhook-Source": "https://shop.example.com/",
        "Content-Type": "application/json",
    }


@pytest.fixture
def hooks(database: Database) -> Iterator[TestClient]:
    """An API client whose app has the three webhook secrets set."""
    settings = database.settings.model_copy(
        update={f"{name}_webhook_secret": SecretStr(value) for name, value in SECRETS.items()}
    )
    with TestClient(create_app(settings, database)) as test_client:
        yield test_client


def counts(database: Database) -> dict[str, int]:
    with database.read_session() as session:
        return {
            model.__tablename__: session.scalar(select(func.count()).select_from(model)) or 0
            for model in (Order, Customer, WebhookEvent, Subscription)
        }


def order(database: Database, external_id: str) -> Order:
    with database.read_session() as session:
        found = find_order(session, external_id)
        assert found is not None
        return found


def post_stripe(client: TestClient, body: bytes, **kwargs: Any) -> Any:
    return client.post(
        "/api/v1/webhooks/stripe", content=body, headers=stripe_headers(body, **kwargs)
    )


def test_stripe_checkout_records_the_order_once_however_often_it_is_delivered(
    hooks: TestClient, database: Database
) -> None:
    body = stripe_event("stripe_checkout_session_completed.json")
    first = post_stripe(hooks, body)
    assert first.status_code == 200, first.text
    assert first.json() == {
        "provider": "stripe",
        "event_id": "evt_1QxCheckout001",
        "event_type": "checkout.session.completed",
        "outcome": "order stripe:pi_3QxPayment001 created",
        "duplicate": False,
    }
    stored = order(database, "stripe:pi_3QxPayment001")
    assert (stored.total, stored.status, stored.currency) == (Decimal("45.00"), "paid", "USD")
    before = counts(database)
    again = post_stripe(hooks, body)  # a replay, freshly signed
    assert again.status_code == 200
    assert again.json()["duplicate"] is True
    assert again.json()["outcome"] == first.json()["outcome"]
    assert (
        counts(database)
        == before
        == {
            "orders": 1,
            "customers": 1,
            "webhook_events": 1,
            "subscriptions": 0,
        }
    )


@pytest.mark.parametrize(
    "signature",
    [
        None,
        "t=1733389200,v1=deadbeef",
        "v1=deadbeef",
        "wrong secret",
        "stale",
    ],
)
def test_a_bad_stripe_signature_answers_401_and_writes_nothing(
    hooks: TestClient, database: Database, signature: str | None
) -> None:
    body = stripe_event("stripe_checkout_session_completed.json")
    headers = {"Content-Type": "application/json"}
    if signature == "wrong secret":
        headers = stripe_headers(body, secret="whsec_someone_else")
    elif signature == "stale":
        headers = stripe_headers(body, at=int(time.time()) - 301)
    elif signature is not None:
        headers["Stripe-Signature"] = signature
    answer = hooks.post("/api/v1/webhooks/stripe", content=body, headers=headers)
    assert answer.status_code == 401
    assert answer.json()["error"]["code"] == "webhook_signature_invalid"
    assert set(counts(database).values()) == {0}


def test_a_stripe_refund_partly_then_in_full(hooks: TestClient, database: Database) -> None:
    assert post_stripe(hooks, stripe_event("stripe_checkout_session_completed.json")).is_success
    partial = post_stripe(hooks, stripe_event("stripe_charge_refunded.json"))
    assert partial.status_code == 200, partial.text
    stored = order(database, "stripe:pi_3QxPayment001")
    assert (stored.refunded, stored.status) == (Decimal("15.00"), "paid")
    full = stripe_event(
        "stripe_charge_refunded.json", "evt_3QxRefund002", amount_refunded=4500, refunded=True
    )
    assert post_stripe(hooks, full).json()["outcome"].startswith("order stripe:pi_3QxPayment001")
    stored = order(database, "stripe:pi_3QxPayment001")
    assert (stored.refunded, stored.status) == (Decimal("45.00"), "refunded")
    # The partial refund's event again, late: nothing is lowered or doubled.
    late = post_stripe(hooks, stripe_event("stripe_charge_refunded.json"))
    assert late.json()["duplicate"] is True
    assert order(database, "stripe:pi_3QxPayment001").refunded == Decimal("45.00")
    assert counts(database)["webhook_events"] == 3


def test_stripe_subscriptions_follow_a_known_customer_and_ignore_strangers(
    hooks: TestClient, database: Database
) -> None:
    created = stripe_event("stripe_customer_subscription_created.json")
    assert post_stripe(hooks, created).json()["outcome"] == "ignored: unknown customer"
    # A Checkout by Stripe customer cus_QwErTy123 makes them known.
    assert post_stripe(hooks, stripe_event("stripe_checkout_session_completed.json")).is_success
    mine = stripe_event(
        "stripe_customer_subscription_created.json", "evt_sub_2", customer="cus_QwErTy123"
    )
    assert post_stripe(hooks, mine).json()["outcome"] == "subscription stripe:sub_1QxSub001 created"
    payload = json.loads(mine)
    payload.update(id="evt_sub_3", type="customer.subscription.deleted")
    payload["data"]["object"].update(status="canceled", ended_at=1733475600)
    payload["data"]["object"]["cancellation_details"]["feedback"] = "too_expensive"
    deleted = json.dumps(payload).encode()
    answer = post_stripe(hooks, deleted)
    assert answer.json()["outcome"] == "subscription stripe:sub_1QxSub001 updated", answer.text
    with database.read_session() as session:
        (subscription,) = session.scalars(select(Subscription)).all()
        assert (subscription.status, subscription.cancel_reason) == ("cancelled", "too_expensive")
        assert (subscription.plan, subscription.price_minor) == ("Pro monthly", 2900)


def test_an_event_of_another_kind_is_answered_and_ignored(
    hooks: TestClient, database: Database
) -> None:
    payload = json.loads(stripe_event("stripe_charge_refunded.json"))
    payload.update(id="evt_other", type="invoice.paid")
    answer = post_stripe(hooks, json.dumps(payload).encode())
    assert answer.status_code == 200
    assert answer.json()["outcome"] == "ignored: event type not handled"
    assert counts(database)["orders"] == 0


def test_shopify_order_created_then_cancelled(hooks: TestClient, database: Database) -> None:
    body = body_of("shopify_orders_create.json")
    headers = shopify_headers(body, "orders/create", "wh-1")
    answer = hooks.post("/api/v1/webhooks/shopify", content=body, headers=headers)
    assert answer.json()["outcome"] == "order shopify:#9999 created", answer.text
    assert hooks.post("/api/v1/webhooks/shopify", content=body, headers=headers).json()["duplicate"]
    cancelled = body_of(
        "shopify_orders_create.json",
        cancelled_at="2024-12-05T12:00:00+01:00",
        cancel_reason="customer",
        financial_status="voided",
    )
    answer = hooks.post(
        "/api/v1/webhooks/shopify",
        content=cancelled,
        headers=shopify_headers(cancelled, "orders/updated", "wh-2"),
    )
    assert answer.json()["outcome"] == "order shopify:#9999 updated", answer.text
    assert order(database, "shopify:#9999").status == "cancelled"
    assert counts(database)["orders"] == 1


def test_a_shopify_refund_counts_once_whichever_event_tells_it(
    hooks: TestClient, database: Database
) -> None:
    created = body_of("shopify_orders_create.json")
    hooks.post(
        "/api/v1/webhooks/shopify",
        content=created,
        headers=shopify_headers(created, "orders/create", "wh-1"),
    )
    refund = body_of("shopify_refunds_create.json")
    answer = hooks.post(
        "/api/v1/webhooks/shopify",
        content=refund,
        headers=shopify_headers(refund, "refunds/create", "wh-2"),
    )
    assert answer.json()["outcome"] == "order shopify:#9999 refunded 12.90", answer.text
    refund_payload = json.loads(refund)
    updated = body_of(
        "shopify_orders_create.json",
        financial_status="partially_refunded",
        refunds=[refund_payload],
    )
    answer = hooks.post(
        "/api/v1/webhooks/shopify",
        content=updated,
        headers=shopify_headers(updated, "orders/updated", "wh-3"),
    )
    assert answer.json()["outcome"] == "order shopify:#9999 unchanged", answer.text
    stored = order(database, "shopify:#9999")
    assert (stored.refunded, stored.status) == (Decimal("12.90"), "paid")


def test_a_shopify_delivery_signed_with_another_secret_writes_nothing(
    hooks: TestClient, database: Database
) -> None:
    body = body_of("shopify_orders_create.json")
    headers = shopify_headers(body, "orders/create", "wh-1", secret="not the shop's")
    answer = hooks.post("/api/v1/webhooks/shopify", content=body, headers=headers)
    assert answer.status_code == 401
    assert set(counts(database).values()) == {0}


def test_woocommerce_order_created_then_refunded(hooks: TestClient, database: Database) -> None:
    body = body_of("woocommerce_order_created.json")
    answer = hooks.post(
        "/api/v1/webhooks/woocommerce",
        content=body,
        headers=woo_headers(body, "order.created", "d-1"),
    )
    assert answer.json()["outcome"] == "order woo:727 created", answer.text
    refunded = body_of(
        "woocommerce_order_created.json", status="refunded", refunds=[{"id": 9, "total": "-38.00"}]
    )
    answer = hooks.post(
        "/api/v1/webhooks/woocommerce",
        content=refunded,
        headers=woo_headers(refunded, "order.updated", "d-2"),
    )
    assert answer.json()["outcome"] == "order woo:727 updated", answer.text
    stored = order(database, "woo:727")
    assert (stored.status, stored.refunded) == ("refunded", Decimal("38.00"))
    # Putting it on hold again is refused, remembered, and answered 200 (Woo retries a 409).
    again = body_of("woocommerce_order_created.json", status="on-hold")
    answer = hooks.post(
        "/api/v1/webhooks/woocommerce",
        content=again,
        headers=woo_headers(again, "order.updated", "d-3"),
    )
    assert answer.status_code == 200
    assert answer.json()["outcome"].startswith("refused: ")
    assert order(database, "woo:727").status == "refunded"


def test_the_woocommerce_ping_is_answered_and_writes_nothing(
    hooks: TestClient, database: Database
) -> None:
    answer = hooks.post(
        "/api/v1/webhooks/woocommerce",
        content=b"webhook_id=15",
        headers={"Content-Type": "application/x-www-form-urlencoded"},
    )
    assert answer.status_code == 200
    assert answer.json()["event_type"] == "ping"
    assert set(counts(database).values()) == {0}


def test_a_webhook_without_its_secret_answers_503(client: TestClient, database: Database) -> None:
    body = stripe_event("stripe_checkout_session_completed.json")
    answer = client.post("/api/v1/webhooks/stripe", content=body, headers=stripe_headers(body))
    assert answer.status_code == 503
    assert answer.json()["error"]["code"] == "webhook_not_configured"
    assert "SOLOIST_STRIPE_WEBHOOK_SECRET" in answer.json()["error"]["message"]
    assert set(counts(database).values()) == {0}


def test_a_concurrent_duplicate_waits_and_answers_what_the_first_did(database: Database) -> None:
    body = stripe_event("stripe_checkout_session_completed.json")
    delivery = read_stripe_delivery(body, stripe_headers(body), SECRETS["stripe"])
    received = threading.Event()
    release = threading.Event()
    answers: dict[str, Any] = {}

    def first() -> None:
        with database.session() as session:
            answers["first"] = receive_delivery(session, delivery)
            received.set()
            release.wait(10)

    def second() -> None:
        answers["second"] = receive_once(database, delivery, "USD")

    one = threading.Thread(target=first)
    one.start()
    assert received.wait(10)
    two = threading.Thread(target=second)
    two.start()
    time.sleep(0.5)  # the second is now waiting on the first's lock
    release.set()
    one.join(10)
    two.join(30)
    assert answers["first"].duplicate is False
    assert answers["second"].duplicate is True
    assert answers["second"].outcome == answers["first"].outcome
    assert counts(database)["orders"] == 1
    assert counts(database)["webhook_events"] == 1
