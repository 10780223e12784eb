"""POST /api/v1/webhooks/{stripe,shopify,woocommerce}: signed deliveries, once each.

Every delivery here is signed in the test with the provider's documented algorithm, not with
the code under test.
"""

from __future__ import annotations

import base64
import datetime as dt
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
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from soloist.api.webhooks import receive_once
from soloist.app import create_app
from soloist.domain.intake import find_order
from soloist.domain.webhooks import (
    ConcurrentDeliveryError,
    Delivery,
    read_stripe_delivery,
    receive_delivery,
    receiving,
)
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


def events(database: Database) -> dict[str, str]:
    """event id → outcome of every delivery remembered (not the kept keys)."""
    with database.read_session() as session:
        rows = session.scalars(select(WebhookEvent).where(WebhookEvent.event_type != "key"))
        return {row.event_id: row.outcome for row in rows}


def post_shopify(client: TestClient, body: bytes, topic: str, webhook_id: str) -> Any:
    return client.post(
        "/api/v1/webhooks/shopify",
        content=body,
        headers=shopify_headers(body, topic, webhook_id),
    )


def post_woo(client: TestClient, body: bytes, topic: str, delivery_id: str) -> Any:
    return client.post(
        "/api/v1/webhooks/woocommerce", content=body, headers=woo_headers(body, topic, delivery_id)
    )


@pytest.mark.parametrize(
    "signature",
    [
        "t={now},v1=" + "é" * 64,
        "t=" + "9" * 400 + ",v1={mac}",
        "t=1_{rest},v1={mac}",
        "t=١٧٠٠٠٠٠٠٠٠,v1={mac}",
        "t={now},v1={mac}\u00ff",
    ],
    ids=["non-ascii-v1", "huge-t", "underscore-t", "arabic-digits-t", "trailing-non-ascii"],
)
def test_a_malformed_stripe_signature_answers_401_not_500(
    hooks: TestClient, database: Database, signature: str
) -> None:
    body = stripe_event("stripe_checkout_session_completed.json")
    now = int(time.time())
    mac = hmac.new(SECRETS["stripe"].encode(), f"{now}.".encode() + body, hashlib.sha256)
    value = signature.format(now=now, rest=str(now)[1:], mac=mac.hexdigest())
    headers = {"Stripe-Signature": value.encode("utf-8"), "Content-Type": "application/json"}
    answer = hooks.post("/api/v1/webhooks/stripe", content=body, headers=headers)
    assert answer.status_code == 401, answer.text
    assert answer.json()["error"]["code"] == "webhook_signature_invalid"
    assert set(counts(database).values()) == {0}


def test_a_body_over_one_mebibyte_is_refused_unread(hooks: TestClient, database: Database) -> None:
    body = b'{"id": "evt_big", "pad": "' + b"x" * (1024 * 1024) + b'"}'
    answer = hooks.post("/api/v1/webhooks/stripe", content=body, headers=stripe_headers(body))
    assert answer.status_code == 413
    assert answer.json()["error"]["code"] == "webhook_payload_too_large"
    assert set(counts(database).values()) == {0}


def test_a_signed_payload_with_a_value_that_cannot_be_read_is_refused_and_remembered(
    hooks: TestClient, database: Database
) -> None:
    payload = json.loads(body_of("shopify_orders_create.json"))
    payload["line_items"][0]["quantity"] = "abc"
    body = json.dumps(payload).encode()
    answer = post_shopify(hooks, body, "orders/create", "wh-bad")
    assert answer.status_code == 200, answer.text
    outcome = answer.json()["outcome"]
    assert outcome.startswith("refused: "), outcome
    assert "'abc'" in outcome
    assert counts(database) == {
        "orders": 0,
        "customers": 0,
        "webhook_events": 1,
        "subscriptions": 0,
    }
    assert events(database) == {"wh-bad": outcome}
    again = post_shopify(hooks, body, "orders/create", "wh-bad")  # Shopify's retry
    assert again.json() == {**answer.json(), "duplicate": True}


@pytest.mark.parametrize(
    ("provider", "body", "topic"),
    [
        ("shopify", body_of("shopify_orders_create.json", customer="jon"), "orders/create"),
        ("shopify", body_of("shopify_orders_create.json", total_price="1e400"), "orders/create"),
        ("woocommerce", body_of("woocommerce_order_created.json", total="abc"), "order.created"),
        (
            "woocommerce",
            body_of("woocommerce_order_created.json", line_items=[{"quantity": 10**9}]),
            "order.created",
        ),
    ],
)
def test_unreadable_values_of_every_shop_answer_200_refused(
    hooks: TestClient, database: Database, provider: str, body: bytes, topic: str
) -> None:
    if provider == "shopify":
        answer = post_shopify(hooks, body, topic, "d-1")
    else:
        answer = post_woo(hooks, body, topic, "d-1")
    assert answer.status_code == 200, answer.text
    assert answer.json()["outcome"].startswith("refused: ")
    assert counts(database)["orders"] == counts(database)["customers"] == 0


def test_unreadable_stripe_values_answer_200_refused(hooks: TestClient, database: Database) -> None:
    checkout = stripe_event("stripe_checkout_session_completed.json", amount_total="45.00")
    answer = post_stripe(hooks, checkout)
    assert answer.status_code == 200, answer.text
    assert answer.json()["outcome"].startswith("refused: Not an amount in minor units")
    assert post_stripe(hooks, stripe_event("stripe_checkout_session_completed.json", "e2"))
    payload = json.loads(
        stripe_event(
            "stripe_customer_subscription_created.json", "evt_sub_bad", customer="cus_QwErTy123"
        )
    )
    payload["data"]["object"]["items"]["data"][0]["quantity"] = "two"
    answer = post_stripe(hooks, json.dumps(payload).encode())
    assert answer.status_code == 200, answer.text
    assert answer.json()["outcome"].startswith("refused: Not a whole number: 'two'")
    assert counts(database)["subscriptions"] == 0


def test_a_refund_above_the_stored_total_is_refused_and_changes_nothing(
    hooks: TestClient, database: Database
) -> None:
    created = body_of("woocommerce_order_created.json")
    assert post_woo(hooks, created, "order.created", "d-1").json()["outcome"] == (
        "order woo:727 created"
    )
    # The shop now says the order came to 100.00 and 60.00 went back: more than the 38.00 stored.
    updated = body_of(
        "woocommerce_order_created.json",
        total="100.00",
        refunds=[{"id": 9, "total": "-60.00"}],
        date_modified_gmt="2024-12-07T08:00:00",
    )
    answer = post_woo(hooks, updated, "order.updated", "d-2")
    assert answer.status_code == 200, answer.text
    assert answer.json()["outcome"].startswith("refused: Order woo:727 totals 38.00 USD")
    stored = order(database, "woo:727")
    assert (stored.status, stored.refunded, stored.refunded_at) == ("paid", Decimal(0), None)
    assert events(database)["d-2"] == answer.json()["outcome"]


def test_a_refused_delivery_leaves_no_half_of_its_changes(
    hooks: TestClient, database: Database
) -> None:
    """A Shopify refund remembers its id before refunding; when the refund is refused the id is
    not kept, so the order's later update still counts it."""
    created = body_of("shopify_orders_create.json")
    assert post_shopify(hooks, created, "orders/create", "wh-1").is_success
    refund = json.loads(body_of("shopify_refunds_create.json"))
    refund["transactions"][0]["amount"] = "12.999"  # rounds to 13.00: fine
    refund["created_at"] = "not a time"
    body = json.dumps(refund).encode()
    answer = post_shopify(hooks, body, "refunds/create", "wh-2")
    assert answer.json()["outcome"].startswith("refused: Not an ISO 8601 time"), answer.text
    with database.read_session() as session:
        keys = session.scalars(
            select(WebhookEvent.event_id).where(WebhookEvent.event_type == "key")
        ).all()
    assert sorted(keys) == ["order-id:820982911946154508"]
    assert order(database, "shopify:#9999").refunded == Decimal(0)


def _utc(moment: dt.datetime | None) -> dt.datetime | None:
    return moment.astimezone(dt.UTC) if moment is not None else None


def test_refunds_are_dated_by_the_event_not_by_its_arrival(
    hooks: TestClient, database: Database
) -> None:
    # Stripe: the event's `created`.
    assert post_stripe(hooks, stripe_event("stripe_checkout_session_completed.json")).is_success
    assert post_stripe(hooks, stripe_event("stripe_charge_refunded.json")).is_success
    stored = order(database, "stripe:pi_3QxPayment001")
    assert _utc(stored.refunded_at) == dt.datetime.fromtimestamp(1733475600, dt.UTC)
    full = json.loads(
        stripe_event("stripe_charge_refunded.json", "evt_full", amount_refunded=4500, refunded=True)
    )
    full["created"] = 1733562000
    assert post_stripe(hooks, json.dumps(full).encode()).is_success
    stored = order(database, "stripe:pi_3QxPayment001")
    assert stored.status == "refunded"
    assert _utc(stored.refunded_at) == dt.datetime.fromtimestamp(1733562000, dt.UTC)
    # Shopify: the refund's `created_at`.
    assert post_shopify(hooks, body_of("shopify_orders_create.json"), "orders/create", "w1")
    refund = body_of("shopify_refunds_create.json")
    assert post_shopify(hooks, refund, "refunds/create", "w2").json()["outcome"] == (
        "order shopify:#9999 refunded 12.90"
    )
    stored = order(database, "shopify:#9999")
    assert _utc(stored.refunded_at) == dt.datetime(2024, 12, 6, 8, 0, tzinfo=dt.UTC)
    # Shopify's cancellation: the order's `updated_at`.
    cancelled = body_of(
        "shopify_orders_create.json",
        cancelled_at="2024-12-08T12:00:00+01:00",
        financial_status="voided",
        updated_at="2024-12-08T12:00:05+01:00",
    )
    assert post_shopify(hooks, cancelled, "orders/updated", "w3").is_success
    stored = order(database, "shopify:#9999")
    assert stored.status == "cancelled"
    assert _utc(stored.refunded_at) == dt.datetime(2024, 12, 8, 11, 0, 5, tzinfo=dt.UTC)
    # WooCommerce: the order's `date_modified_gmt`.
    assert post_woo(hooks, body_of("woocommerce_order_created.json"), "order.created", "d1")
    refunded = body_of(
        "woocommerce_order_created.json",
        status="refunded",
        refunds=[{"id": 9, "total": "-38.00"}],
        date_modified_gmt="2024-12-09T10:30:00",
    )
    assert post_woo(hooks, refunded, "order.updated", "d2").json()["outcome"] == (
        "order woo:727 updated"
    )
    stored = order(database, "woo:727")
    assert _utc(stored.refunded_at) == dt.datetime(2024, 12, 9, 10, 30, tzinfo=dt.UTC)


def _subscription_event(event_id: str, kind: str, created: int, **changes: Any) -> bytes:
    payload = json.loads(
        stripe_event("stripe_customer_subscription_created.json", customer="cus_QwErTy123")
    )
    payload.update(id=event_id, type=kind, created=created)
    payload["data"]["object"].update(changes)
    return json.dumps(payload).encode()


def test_a_late_subscription_update_does_not_revive_a_cancelled_one(
    hooks: TestClient, database: Database
) -> None:
    assert post_stripe(hooks, stripe_event("stripe_checkout_session_completed.json")).is_success
    created = _subscription_event("evt_s1", "customer.subscription.created", 1733389300)
    assert post_stripe(hooks, created).json()["outcome"].endswith("created")
    deleted = _subscription_event(
        "evt_s3",
        "customer.subscription.deleted",
        1733475600,
        status="canceled",
        ended_at=1733475600,
    )
    assert post_stripe(hooks, deleted).json()["outcome"].endswith("updated")
    # The update of the day before, delivered late, with the plan it had then.
    late = _subscription_event(
        "evt_s2", "customer.subscription.updated", 1733400000, status="active"
    )
    answer = post_stripe(hooks, late)
    assert answer.status_code == 200
    assert answer.json()["outcome"] == (
        "ignored: older than the event of 2024-12-06T09:00:00+00:00 applied already"
    )
    # An update of the same second as the cancellation cannot revive it either.
    same = _subscription_event(
        "evt_s4", "customer.subscription.updated", 1733475600, status="active"
    )
    assert post_stripe(hooks, same).json()["outcome"].startswith("ignored: older than")
    with database.read_session() as session:
        (subscription,) = session.scalars(select(Subscription)).all()
        assert subscription.status == "cancelled"
    # A newer event is applied.
    newer = _subscription_event(
        "evt_s5",
        "customer.subscription.updated",
        1733562000,
        status="canceled",
        ended_at=1733475600,
    )
    assert post_stripe(hooks, newer).json()["outcome"].startswith("subscription stripe:sub_")


def test_only_a_unique_key_race_is_a_concurrent_delivery(
    database: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    delivery = Delivery("stripe", "evt_x", "checkout.session.completed", {})

    def duplicate_key(session: Session, delivery: Delivery, currency: str | None) -> str:
        session.add(WebhookEvent(provider="stripe", event_id="evt_x", event_type="t", outcome="o"))
        session.flush()
        return "never"

    def not_null(session: Session, delivery: Delivery, currency: str | None) -> str:
        session.add(WebhookEvent(provider="stripe", event_id="evt_y", event_type="t", outcome=None))
        session.flush()
        return "never"

    monkeypatch.setitem(receiving.HANDLERS, "stripe", duplicate_key)
    with pytest.raises(ConcurrentDeliveryError), database.session() as session:
        receive_delivery(session, delivery)
    monkeypatch.setitem(receiving.HANDLERS, "stripe", not_null)
    with pytest.raises(IntegrityError) as caught, database.session() as session:
        receive_delivery(session, delivery)
    assert not isinstance(caught.value, ConcurrentDeliveryError)
    assert counts(database)["webhook_events"] == 0
