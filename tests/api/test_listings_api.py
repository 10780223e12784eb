"""Orders, feedback, tickets, segments and scores over the JSON API, on every engine."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from fastapi.testclient import TestClient

from soloist.domain.customers.records import CustomerCreate, create_customer
from soloist.domain.feedback import add_review, record_survey_response
from soloist.domain.orders import OrderCreate, OrderLineCreate, record_order
from soloist.domain.service import Desk, open_ticket
from soloist.storage.database import Database
from soloist.storage.models import CustomerScore, ModelRun, Segment, SegmentMember
from tests.api.conftest import bearer

T0 = dt.datetime(2025, 3, 1, 12, 0, tzinfo=dt.UTC)


@pytest.fixture
def shop(database: Database) -> dict[str, int]:
    """Two customers with orders, feedback, a ticket, a finished analysis and a saved segment."""
    with database.session() as session:
        ada = create_customer(session, CustomerCreate(name="Ada", email="ada@example.com"), "t")
        bob = create_customer(session, CustomerCreate(name="Bob"), "t")
        for n in range(3):
            record_order(
                session,
                OrderCreate(
                    external_id=f"A-{n}",
                    customer_id=ada.id,
                    ordered_at=T0 + dt.timedelta(days=n),
                    currency="USD",
                    status="refunded" if n == 2 else "paid",
                    lines=[OrderLineCreate(sku="BEANS", unit_price=Decimal("12.50"), quantity=2)],
                ),
                "t",
            )
        record_order(
            session,
            OrderCreate(
                external_id="B-0",
                customer_id=bob.id,
                ordered_at=T0,
                currency="USD",
                total=Decimal("7.00"),
            ),
            "t",
        )
        record_survey_response(session, "nps", 9, "t", customer_id=ada.id, responded_at=T0)
        record_survey_response(session, "csat", 2, "t", customer_id=bob.id, comment="slow")
        add_review(session, 5, "t", customer_id=ada.id, body="Lovely", published_at=T0)
        desk = Desk.of(session, database.settings)
        open_ticket(session, desk, "Where is my parcel?", "It is late.", "t", customer_id=bob.id)
        run = ModelRun(kind="clv", status="succeeded", finished_at=T0, params={}, metrics={})
        session.add(run)
        session.flush()
        session.add_all(
            [
                CustomerScore(
                    model_run_id=run.id,
                    customer_id=ada.id,
                    p_alive=0.9,
                    clv_12m_minor=12345,
                    segment="champions",
                    reasons={"segment": [{"feature": "rfm", "text": "RFM 555: 3 orders"}]},
                ),
                CustomerScore(
                    model_run_id=run.id,
                    customer_id=bob.id,
                    p_alive=0.2,
                    clv_12m_minor=100,
                    segment="at risk",
                    reasons={},
                ),
            ]
        )
        vip = Segment(name="VIP", kind="rule", rule="clv > 100")
        session.add(vip)
        session.flush()
        session.add(SegmentMember(segment_id=vip.id, customer_id=ada.id))
        return {"ada": ada.id, "bob": bob.id}


def test_orders_are_paginated_and_filtered(
    client: TestClient, tokens: dict[str, str], shop: dict[str, int]
) -> None:
    page = client.get("/api/v1/orders?limit=2", headers=bearer(tokens["read"])).json()
    assert page["total"] == 4
    assert len(page["items"]) == 2
    assert page["limit"] == 2
    ada = client.get(
        f"/api/v1/orders?customer_id={shop['ada']}&status=paid", headers=bearer(tokens["read"])
    ).json()
    assert ada["total"] == 2
    assert {o["total"] for o in ada["items"]} == {"25.00"}
    one = client.get(f"/api/v1/orders/{ada['items'][0]['id']}", headers=bearer(tokens["read"]))
    assert one.json()["lines"][0]["amount"] == "25.00"


def test_orders_refuse_an_unknown_status_with_the_error_shape(
    client: TestClient, tokens: dict[str, str], shop: dict[str, int]
) -> None:
    response = client.get("/api/v1/orders?status=lost", headers=bearer(tokens["read"]))
    assert response.status_code == 422
    assert response.json()["error"]["code"] == "validation_error"


def test_feedback_lists_surveys_and_reviews_together(
    client: TestClient, tokens: dict[str, str], shop: dict[str, int]
) -> None:
    everything = client.get("/api/v1/feedback", headers=bearer(tokens["read"])).json()
    assert everything["total"] == 3
    assert {i["kind"] for i in everything["items"]} == {"nps", "csat", "review"}
    reviews = client.get("/api/v1/feedback?kind=review", headers=bearer(tokens["read"])).json()
    assert [i["comment"] for i in reviews["items"]] == ["Lovely"]
    csat = client.get(
        f"/api/v1/feedback?kind=csat&customer_id={shop['bob']}", headers=bearer(tokens["read"])
    ).json()
    assert csat["items"][0]["comment"] == "slow"


def test_tickets_filter_by_status(
    client: TestClient, tokens: dict[str, str], shop: dict[str, int]
) -> None:
    new = client.get("/api/v1/tickets?status=new", headers=bearer(tokens["read"])).json()
    assert new["total"] == 1
    assert new["items"][0]["subject"] == "Where is my parcel?"
    resolved = client.get("/api/v1/tickets?status=resolved", headers=bearer(tokens["read"]))
    assert resolved.json()["total"] == 0
    unknown = client.get("/api/v1/tickets?status=solved", headers=bearer(tokens["read"]))
    assert unknown.status_code == 422


def test_segments_list_scored_and_saved_segments(
    client: TestClient, tokens: dict[str, str], shop: dict[str, int]
) -> None:
    body = client.get("/api/v1/segments", headers=bearer(tokens["read"])).json()
    by_name = {s["name"]: s for s in body["items"]}
    assert by_name["champions"] == {
        "name": "champions",
        "kind": "scored",
        "customers": 1,
        "predicted_clv": "123.45",
    }
    assert by_name["VIP"]["kind"] == "rule"
    assert by_name["VIP"]["customers"] == 1


def test_scores_come_with_their_reasons_and_run(
    client: TestClient, tokens: dict[str, str], shop: dict[str, int]
) -> None:
    body = client.get(
        f"/api/v1/customers/{shop['ada']}/scores", headers=bearer(tokens["read"])
    ).json()
    assert body["scores"]["clv_12m_minor"] == 12345
    assert body["scores"]["clv_12m"] == "123.45"
    assert body["reasons"] == {  # every reason has all five keys; no comparison: nulls
        "segment": [
            {
                "feature": "rfm",
                "text": "RFM 555: 3 orders",
                "effect": 0.0,
                "value": None,
                "typical": None,
            }
        ]
    }
    assert body["runs"]["p_alive"]["kind"] == "clv"
    missing = client.get("/api/v1/customers/999999/scores", headers=bearer(tokens["read"]))
    assert missing.status_code == 404
    assert missing.json()["error"]["code"] == "not_found"


def test_scores_are_empty_before_any_analysis(client: TestClient, tokens: dict[str, str]) -> None:
    created = client.post(
        "/api/v1/customers", json={"name": "Cy"}, headers=bearer(tokens["write"])
    ).json()
    body = client.get(
        f"/api/v1/customers/{created['id']}/scores", headers=bearer(tokens["read"])
    ).json()
    assert body["scores"] == {}
    assert body["runs"] == {}


@pytest.mark.parametrize(
    "path",
    [
        "/api/v1/orders",
        "/api/v1/feedback",
        "/api/v1/tickets",
        "/api/v1/segments",
        "/api/v1/customers/1/scores",
    ],
)
def test_every_new_endpoint_refuses_anonymous_callers(client: TestClient, path: str) -> None:
    response = client.get(path)
    assert response.status_code == 401
    assert response.json()["error"]["code"] == "authentication_failed"


def test_openapi_describes_the_new_endpoints(client: TestClient) -> None:
    paths = client.get("/openapi.json").json()["paths"]
    for path in (
        "/api/v1/orders",
        "/api/v1/orders/{order_id}",
        "/api/v1/feedback",
        "/api/v1/tickets",
        "/api/v1/segments",
        "/api/v1/customers/{customer_id}/scores",
    ):
        assert path in paths
    assert not any(p in paths for p in ("/login", "/customers", "/"))
