"""/api/v1/tickets: the contract names, the checked transitions, the thread and the merge, on
every engine."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient

from soloist.domain.customers import CustomerCreate, create_customer
from soloist.storage.database import Database
from soloist.storage.models import Ticket
from tests.api.conftest import bearer


@pytest.fixture
def customer_id(database: Database) -> int:
    with database.session() as session:
        return create_customer(session, CustomerCreate(name="Bo", email="bo@example.com"), "t").id


def test_a_ticket_opens_with_its_due_times(
    client: TestClient, tokens: dict[str, str], customer_id: int
) -> None:
    answer = client.post(
        "/api/v1/tickets",
        json={
            "customer_id": customer_id,
            "subject": "Broken mug",
            "body": "It arrived broken.",
            "priority": "high",
        },
        headers=bearer(tokens["write"]),
    )
    assert answer.status_code == 201
    body = answer.json()
    assert body["status"] == "new"
    assert body["first_response_due_at"] is not None
    assert body["resolution_due_at"] > body["first_response_due_at"]
    assert body["messages"][0]["body"] == "It arrived broken."
    listed = client.get("/api/v1/tickets?status=active", headers=bearer(tokens["read"])).json()
    assert [t["id"] for t in listed["items"]] == [body["id"]]


def test_writes_need_a_write_token_and_bad_input_names_the_field(
    client: TestClient, tokens: dict[str, str], customer_id: int
) -> None:
    payload = {"customer_id": customer_id, "subject": "Hi", "body": "x"}
    assert (
        client.post("/api/v1/tickets", json=payload, headers=bearer(tokens["read"])).status_code
        == 403
    )
    unknown = client.post(
        "/api/v1/tickets", json={**payload, "customer_id": 999}, headers=bearer(tokens["write"])
    )
    assert unknown.status_code == 404
    huge = client.post(
        "/api/v1/tickets", json={**payload, "customer_id": 2**64}, headers=bearer(tokens["write"])
    )
    assert huge.status_code == 422
    bad = client.post(
        "/api/v1/tickets", json={**payload, "priority": "asap"}, headers=bearer(tokens["write"])
    )
    assert bad.status_code == 422
    assert "priority" in bad.text


def test_a_reply_then_statuses_along_the_allowed_transitions_only(
    client: TestClient, tokens: dict[str, str], customer_id: int, database: Database
) -> None:
    write = bearer(tokens["write"])
    ticket = client.post(
        "/api/v1/tickets",
        json={"customer_id": customer_id, "subject": "Late", "body": "Where?"},
        headers=write,
    ).json()
    url = f"/api/v1/tickets/{ticket['id']}"
    replied = client.post(f"{url}/messages", json={"body": "Tomorrow."}, headers=write)
    assert replied.status_code == 201
    body = replied.json()
    assert body["status"] == "pending"
    assert body["resolution_sla"] == "paused"
    assert body["resolution_due_at"] is None
    assert body["messages"][-1]["delivery"] == "recorded"  # no mail server in these tests
    assert client.patch(url, json={"status": "closed"}, headers=write).json()["status"] == "closed"
    refused = client.patch(url, json={"status": "open"}, headers=write)
    assert refused.status_code == 409
    assert "closed" in refused.json()["error"]["message"]
    with database.read_session() as session:
        stored = session.get(Ticket, ticket["id"])
        assert stored is not None
        assert stored.status == "closed"


def test_a_customer_message_reopens_a_pending_ticket_and_a_duplicate_merges(
    client: TestClient, tokens: dict[str, str], customer_id: int
) -> None:
    write = bearer(tokens["write"])
    first = client.post(
        "/api/v1/tickets",
        json={"customer_id": customer_id, "subject": "Login", "body": "Locked out"},
        headers=write,
    ).json()
    second = client.post(
        "/api/v1/tickets",
        json={"customer_id": customer_id, "subject": "Login?", "body": "Still"},
        headers=write,
    ).json()
    client.post(
        f"/api/v1/tickets/{first['id']}/messages", json={"body": "Reset sent"}, headers=write
    )
    again = client.post(
        f"/api/v1/tickets/{first['id']}/messages",
        json={"body": "Did not arrive", "author": "customer"},
        headers=write,
    )
    assert again.json()["status"] == "open"
    merged = client.post(
        f"/api/v1/tickets/{second['id']}/merge", json={"into": first["id"]}, headers=write
    )
    assert merged.status_code == 200
    assert [m["body"] for m in merged.json()["messages"]] == [
        "Locked out",
        "Still",
        "Reset sent",
        "Did not arrive",
    ]
    duplicate = client.get(f"/api/v1/tickets/{second['id']}", headers=write).json()
    assert (duplicate["status"], duplicate["merged_into_id"]) == ("closed", first["id"])
    assert client.get("/api/v1/tickets/999", headers=write).status_code == 404
