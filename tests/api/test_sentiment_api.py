"""Sentiment fields of the feedback and ticket API, English and Chinese, on every engine."""

from __future__ import annotations

from fastapi.testclient import TestClient

from soloist.domain.customers import CustomerCreate, create_customer
from soloist.storage.database import Database
from tests.api.conftest import bearer


def test_feedback_and_ticket_messages_carry_their_sentiment(
    client: TestClient, tokens: dict[str, str], database: Database
) -> None:
    with database.session() as session:
        customer = create_customer(session, CustomerCreate(name="Bo", email="bo@example.com"), "t")
        customer_id = customer.id
    write, read = bearer(tokens["write"]), bearer(tokens["read"])
    happy = client.post(
        "/api/v1/feedback",
        json={"kind": "review", "score": 5, "customer_id": customer_id, "title": "很好喝",
              "comment": "客服态度很好，回购"},
        headers=write,
    )  # fmt: skip
    assert happy.status_code == 201, happy.text
    assert happy.json()["sentiment"] > 0
    unhappy = client.post(
        "/api/v1/feedback",
        json={"kind": "csat", "score": 1, "customer_id": customer_id,
              "comment": "It stopped working after a week."},
        headers=write,
    )  # fmt: skip
    assert unhappy.json()["sentiment"] < 0
    silent = client.post(
        "/api/v1/feedback", json={"kind": "nps", "score": 9, "customer_id": customer_id},
        headers=write,
    )  # fmt: skip
    assert silent.json()["sentiment"] is None
    listed = client.get("/api/v1/feedback", headers=read).json()["items"]
    by_id = {(i["type"], i["id"]): i["sentiment"] for i in listed}
    assert by_id[("review", happy.json()["id"])] == happy.json()["sentiment"]
    assert by_id[("survey", silent.json()["id"])] is None

    ticket = client.post(
        "/api/v1/tickets",
        json={"customer_id": customer_id, "subject": "Mug", "body": "The mug arrived broken."},
        headers=write,
    ).json()
    assert ticket["messages"][0]["sentiment"] < 0
    assert ticket["customer_sentiment"] == ticket["messages"][0]["sentiment"]
    reply = client.post(
        f"/api/v1/tickets/{ticket['id']}/messages",
        json={"body": "Sorry! A new one is on its way.", "author": "staff"},
        headers=write,
    ).json()
    assert reply["messages"][-1]["sentiment"] is None  # staff replies are not scored
    thanks = client.post(
        f"/api/v1/tickets/{ticket['id']}/messages",
        json={"body": "收到了，非常感谢！", "author": "customer"},
        headers=write,
    ).json()
    assert thanks["customer_sentiment"] > 0
