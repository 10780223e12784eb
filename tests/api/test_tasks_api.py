"""/api/v1/tasks on every database: a task posted with the contract's names, listed as overdue,
today or upcoming, completed, re-reminded, deleted, and the error answers."""

from __future__ import annotations

import datetime as dt

from fastapi.testclient import TestClient

from soloist.domain.customers.records import CustomerCreate, create_customer
from soloist.domain.sales import create_deal
from soloist.storage.database import Database
from soloist.storage.models import Task
from soloist.storage.types import utcnow
from tests.api.conftest import bearer


def _customer(database: Database) -> int:
    with database.session() as session:
        return create_customer(session, CustomerCreate(name="Ada"), "test").id


def _iso(moment: dt.datetime) -> str:
    return moment.isoformat()


def test_a_task_is_posted_listed_completed_and_deleted(
    client: TestClient, database: Database, tokens: dict[str, str]
) -> None:
    customer = _customer(database)
    write, read = bearer(tokens["write"]), bearer(tokens["read"])
    now = utcnow()
    posted = client.post(
        "/api/v1/tasks",
        json={
            "title": "Call Ada",
            "customer_id": customer,
            "due_at": _iso(now - dt.timedelta(hours=2)),
            "priority": "high",
            "notes": "About the grinder",
        },
        headers=write,
    )
    assert posted.status_code == 201, posted.text
    task = posted.json()
    assert (task["title"], task["customer_id"], task["priority"]) == ("Call Ada", customer, "high")
    assert (task["state"], task["overdue"], task["done"]) == ("overdue", True, False)
    assert task["notes"] == "About the grinder"
    later = client.post(
        "/api/v1/tasks",
        json={"title": "Send samples", "due_at": _iso(now + dt.timedelta(days=10))},
        headers=write,
    ).json()
    assert later["state"] == "upcoming"

    def titles(query: str) -> list[str]:
        answer = client.get(f"/api/v1/tasks{query}", headers=read)
        assert answer.status_code == 200, answer.text
        return [t["title"] for t in answer.json()["items"]]

    assert titles("?due=overdue") == ["Call Ada"]
    assert titles("?due=today") == ["Call Ada"]  # the overdue ones are in today's list
    assert titles("?due=upcoming") == ["Send samples"]
    assert titles(f"?customer_id={customer}") == ["Call Ada"]
    done = client.patch(f"/api/v1/tasks/{task['id']}", json={"done": True}, headers=write).json()
    assert (done["done"], done["state"]) == (True, "done")
    assert titles("?done=true") == ["Call Ada"]
    assert titles("?due=today") == []
    deleted = client.delete(f"/api/v1/tasks/{later['id']}", headers=write)
    assert deleted.json() == {"id": later["id"], "deleted": True}
    assert client.get(f"/api/v1/tasks/{later['id']}", headers=read).status_code == 404


def test_a_task_on_a_deal_takes_its_customer_and_a_new_reminder_time_reminds_again(
    client: TestClient, database: Database, tokens: dict[str, str]
) -> None:
    customer = _customer(database)
    with database.session() as session:
        deal = create_deal(session, "t", name="d", customer_id=customer, value=1, currency="USD")
        deal_id = deal.id
    write = bearer(tokens["write"])
    task = client.post(
        "/api/v1/tasks",
        json={"title": "Quote", "deal_id": deal_id, "remind_at": "2026-12-08T09:00:00"},
        headers=write,
    ).json()
    assert (task["customer_id"], task["deal_id"]) == (customer, deal_id)
    assert task["remind_at"].startswith("2026-12-08T09:00:00")  # read as UTC
    with database.session() as session:  # as the worker marks a reminder sent
        row = session.get(Task, task["id"])
        assert row is not None
        row.reminded_at = utcnow()
    moved = client.patch(
        f"/api/v1/tasks/{task['id']}", json={"remind_at": "2026-12-09T09:00:00Z"}, headers=write
    ).json()
    assert moved["reminded_at"] is None
    assert client.get(f"/api/v1/tasks?deal_id={deal_id}", headers=write).json()["total"] == 1


def test_task_errors_name_the_field(
    client: TestClient, database: Database, tokens: dict[str, str]
) -> None:
    write = bearer(tokens["write"])
    missing = client.post("/api/v1/tasks", json={"title": "x", "deal_id": 4242}, headers=write)
    assert missing.status_code == 404
    assert missing.json()["error"]["details"]["field"] == "deal_id"
    priority = client.post(
        "/api/v1/tasks", json={"title": "x", "priority": "urgent"}, headers=write
    )
    assert priority.status_code == 422
    assert priority.json()["error"]["code"] == "validation_error"
    task = client.post("/api/v1/tasks", json={"title": "x"}, headers=write).json()
    blank = client.patch(f"/api/v1/tasks/{task['id']}", json={"title": None}, headers=write)
    assert blank.status_code == 422
    assert blank.json()["error"]["details"]["field"] == "title"
    assert client.get("/api/v1/tasks?due=someday", headers=write).status_code == 422
    viewer = client.post("/api/v1/tasks", json={"title": "x"}, headers=bearer(tokens["viewer"]))
    assert viewer.status_code == 403
    assert client.patch("/api/v1/tasks/4242", json={"done": True}, headers=write).status_code == 404
