"""Writes from a shop's other systems: orders, refunds, interactions, feedback and consents."""

from __future__ import annotations

from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select

from soloist.domain.loyalty.rules import update_programme_settings
from soloist.storage.database import Database
from soloist.storage.models import AuditEntry, ConsentRecord, Interaction, LedgerEntry, Order
from tests.api.conftest import bearer


@pytest.fixture
def no_holdout(database: Database) -> None:
    """`soloist loyalty settings --set holdout_share=0`: every newcomer becomes a member."""
    with database.session() as session:
        update_programme_settings(session, {"holdout_share": 0.0}, "test")


def an_order(number: int = 1, **fields: Any) -> dict[str, Any]:
    return {
        "customer": {"email": "grace@example.com", "name": "Grace Hopper"},
        "external_id": f"shop-{number}",
        "ordered_at": "2026-12-01T10:00:00+00:00",
        "currency": "USD",
        "status": "paid",
        "lines": [{"sku": "TEA-1", "name": "Green tea", "quantity": 3, "unit_price": "12.50"}],
    } | fields


def balance(client: TestClient, token: str, customer_id: int) -> int:
    answer = client.get(f"/api/v1/customers/{customer_id}/loyalty", headers=bearer(token))
    assert answer.status_code == 200, answer.text
    return int(answer.json()["balance"])


def test_a_posted_order_earns_at_once_and_a_second_post_changes_nothing(
    client: TestClient, tokens: dict[str, str], no_holdout: None, database: Database
) -> None:
    first = client.post("/api/v1/orders", json=an_order(), headers=bearer(tokens["write"]))
    assert first.status_code == 201, first.text
    body = first.json()
    assert (body["total"], body["refunded"], body["status"]) == ("37.50", "0.00", "paid")
    assert [line["sku"] for line in body["lines"]] == ["TEA-1"]
    customer = body["customer_id"]
    assert balance(client, tokens["read"], customer) == 100 + 37  # sign-up bonus + 1 per dollar
    again = client.post(
        "/api/v1/orders", json=an_order(status="cancelled"), headers=bearer(tokens["write"])
    )
    assert again.status_code == 200
    assert again.json() == body
    assert balance(client, tokens["read"], customer) == 137
    with database.read_session() as session:
        assert session.scalar(select(func.count(Order.id))) == 1


def test_partial_then_full_refund_give_the_points_back(
    client: TestClient, tokens: dict[str, str], no_holdout: None
) -> None:
    write = bearer(tokens["write"])
    order = client.post("/api/v1/orders", json=an_order(), headers=write).json()
    customer = order["customer_id"]
    partial = client.patch(
        f"/api/v1/orders/{order['id']}", json={"refund_amount": "12.50"}, headers=write
    )
    assert partial.status_code == 200, partial.text
    assert (partial.json()["refunded"], partial.json()["status"]) == ("12.50", "paid")
    assert balance(client, tokens["read"], customer) == 100 + 37 - 12  # a third, rounded
    full = client.patch(f"/api/v1/orders/{order['id']}", json={"status": "refunded"}, headers=write)
    assert full.json()["status"] == "refunded"
    assert full.json()["refunded"] == "37.50"
    assert balance(client, tokens["read"], customer) == 100
    again = client.patch(f"/api/v1/orders/{order['id']}", json={"status": "paid"}, headers=write)
    assert again.status_code == 409
    assert again.json()["error"]["code"] == "conflict"


def test_writes_need_a_write_token_and_bad_input_gets_the_error_shape(
    client: TestClient, tokens: dict[str, str], database: Database
) -> None:
    refused = client.post("/api/v1/orders", json=an_order(), headers=bearer(tokens["read"]))
    assert refused.status_code == 403
    nobody = an_order()
    del nobody["customer"]
    invalid = client.post("/api/v1/orders", json=nobody, headers=bearer(tokens["write"]))
    assert invalid.status_code == 422
    assert invalid.json()["error"]["code"] == "validation_error"
    assert "customer_id, or customer with an email" in invalid.json()["error"]["message"]
    naive = client.post(
        "/api/v1/orders",
        json=an_order(ordered_at="2026-12-01T10:00:00"),
        headers=bearer(tokens["write"]),
    )
    assert naive.status_code == 422
    assert "ordered_at" in naive.json()["error"]["message"]
    huge = client.patch(
        f"/api/v1/orders/{2**64}", json={"status": "paid"}, headers=bearer(tokens["write"])
    )
    assert huge.status_code == 422
    unknown = client.post(
        "/api/v1/orders",
        json=an_order(customer_id=999, customer=None),
        headers=bearer(tokens["write"]),
    )
    assert unknown.status_code == 404
    too_much = client.post(
        "/api/v1/orders", json=an_order(refunded="40.00"), headers=bearer(tokens["write"])
    )
    assert too_much.status_code == 422
    with database.read_session() as session:  # nothing of the refused requests was kept
        assert session.scalar(select(func.count(Order.id))) == 0
        assert session.scalar(select(func.count(LedgerEntry.id))) == 0


def test_a_customer_created_through_the_api_can_be_adjusted_at_once(
    client: TestClient, tokens: dict[str, str], no_holdout: None
) -> None:
    write = bearer(tokens["write"])
    created = client.post(
        "/api/v1/customers", json={"name": "Ada", "email": "ada@example.com"}, headers=write
    )
    assert created.status_code == 201
    customer = created.json()["id"]
    adjusted = client.post(
        f"/api/v1/customers/{customer}/loyalty/adjustments",
        json={"points": 25, "reason": "welcome call"},
        headers=write,
    )
    assert adjusted.status_code == 201, adjusted.text
    assert balance(client, tokens["read"], customer) == 125


def test_interactions_feedback_and_consents_are_recorded(
    client: TestClient, tokens: dict[str, str], no_holdout: None, database: Database
) -> None:
    write = bearer(tokens["write"])
    customer = client.post(
        "/api/v1/customers", json={"name": "Lin", "email": "lin@example.com"}, headers=write
    ).json()["id"]
    call = client.post(
        "/api/v1/interactions",
        json={
            "customer_id": customer,
            "channel": "call",
            "direction": "inbound",
            "subject": "Asked about refills",
            "body": "Wants a subscription",
            "occurred_at": "2026-12-02T09:30:00+08:00",
        },
        headers=write,
    )
    assert call.status_code == 201, call.text
    assert call.json()["occurred_at"].startswith("2026-12-02T01:30:00")
    wrong = client.post(
        "/api/v1/interactions", json={"customer_id": customer, "channel": "pigeon"}, headers=write
    )
    assert wrong.status_code == 422
    assert wrong.json()["error"]["details"]["field"] == "channel"
    nps = client.post(
        "/api/v1/feedback", json={"kind": "nps", "score": 9, "customer_id": customer}, headers=write
    )
    assert nps.status_code == 201
    assert (nps.json()["type"], nps.json()["score"]) == ("survey", 9)
    off_scale = client.post(
        "/api/v1/feedback",
        json={"kind": "csat", "score": 7, "customer_id": customer},
        headers=write,
    )
    assert off_scale.status_code == 422
    review = client.post(
        "/api/v1/feedback",
        json={
            "kind": "review",
            "score": 5,
            "customer_id": customer,
            "title": "很好喝",
            "comment": "回购",
        },
        headers=write,
    )
    assert review.status_code == 201
    assert balance(client, tokens["read"], customer) == 100 + 50  # sign-up + review bonus
    consent = client.post(
        f"/api/v1/customers/{customer}/consents",
        json={"channel": "email", "granted": True, "source": "checkout"},
        headers=write,
    )
    assert consent.status_code == 201
    withdrawn = client.post(
        f"/api/v1/customers/{customer}/consents",
        json={"channel": "email", "granted": False},
        headers=write,
    )
    assert withdrawn.json()["granted"] is False
    with database.read_session() as session:
        assert session.scalar(select(func.count(Interaction.id))) == 1
        assert session.scalar(select(func.count(ConsentRecord.id))) == 2
        actions = set(session.scalars(select(AuditEntry.action)))
        assert {"consent.granted", "consent.withdrawn", "review.added"} <= actions


def test_refunds_of_one_order_at_once_all_count(
    database: Database, tokens: dict[str, str], no_holdout: None
) -> None:
    """Nine refunds of 10.00 of one 90.00 order, sent at once: 90.00 refunded, no points left."""
    import asyncio

    import httpx

    from soloist.app import create_app
    from tests.api.test_loyalty_concurrency import served

    with served(create_app(database.settings, database)) as url:
        headers = bearer(tokens["write"])
        with httpx.Client(base_url=url, headers=headers, timeout=60) as client:
            order = client.post(
                "/api/v1/orders",
                json=an_order(lines=[{"sku": "A", "quantity": 1, "unit_price": "90.00"}]),
            ).json()

        async def refund_nine() -> list[httpx.Response]:
            async with httpx.AsyncClient(base_url=url, headers=headers, timeout=60) as client:
                path = f"/api/v1/orders/{order['id']}"
                return await asyncio.gather(
                    *(client.patch(path, json={"refund_amount": "10.00"}) for _ in range(9))
                )

        answers = asyncio.run(refund_nine())
        assert [a.status_code for a in answers] == [200] * 9
        with httpx.Client(base_url=url, headers=headers, timeout=60) as client:
            final = client.get(f"/api/v1/orders/{order['id']}").json()
            points = client.get(f"/api/v1/customers/{order['customer_id']}/loyalty").json()
    assert (final["refunded"], final["status"]) == ("90.00", "refunded")
    assert points["balance"] == 100  # the sign-up bonus; all 90 points of the order went back


@pytest.mark.parametrize(
    ("change", "complaint"),
    [
        ({"ordered_at": "9999-12-31T00:00:00+00:00"}, "between 1970 and tomorrow"),
        ({"ordered_at": "0001-01-01T00:00:00+00:00"}, "between 1970 and tomorrow"),
        ({"status": "pending", "refunded": "5.00"}, "pending order has not been paid"),
        (
            {"lines": [{"sku": "A", "quantity": 1_000_000, "unit_price": "999999999999"}] * 3},
            "add up to more than",
        ),
    ],
)
def test_an_order_out_of_bounds_is_refused_with_its_reason(
    client: TestClient, tokens: dict[str, str], change: dict[str, Any], complaint: str
) -> None:
    answer = client.post("/api/v1/orders", json=an_order(**change), headers=bearer(tokens["write"]))
    assert answer.status_code == 422, answer.text
    assert complaint in answer.json()["error"]["message"]
