"""/api/v1/journeys on every database: a journey created and started through the API, run by the
worker's pass and sent to a real SMTP server on loopback once per customer and occasion; its
results, one customer's timeline, pausing, and the errors."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from typing import Any

import pytest
from fastapi.testclient import TestClient

from soloist.app import create_app
from soloist.config import Settings
from soloist.domain.campaigns import send_due_campaigns
from soloist.domain.journeys import run_journeys
from soloist.storage.database import Database
from soloist.storage.types import utcnow
from tests.api.conftest import bearer
from tests.domain.campaigns.builders import BODY_EN, BODY_ZH, add_audience
from tests.mailserver import SmtpServer

WELCOME = {
    "name": "Welcome",
    "trigger": "welcome",
    "subject": "Welcome, {{ customer.first_name }}",
    "body": BODY_EN,
    "holdout_share": 0,
}


@pytest.fixture
def smtp_server() -> Iterator[SmtpServer]:
    with SmtpServer() as server:
        yield server


@pytest.fixture
def mail_client(database: Database, smtp_server: SmtpServer) -> Iterator[TestClient]:
    """An API client whose settings send through the loopback server, without quiet hours
    (the tests run at any hour)."""
    values = {k.removeprefix("SOLOIST_").lower(): v for k, v in smtp_server.environ.items()}
    values["quiet_hours"] = ""
    database.settings = Settings(**{**database.settings.model_dump(), **values})
    with TestClient(create_app(database.settings, database)) as client:
        yield client


def _run(database: Database) -> dict[str, Any]:
    """One pass of the worker: the journeys, then the sender."""
    now = utcnow() + dt.timedelta(seconds=1)
    report = run_journeys(database, "test", now)
    sends = send_due_campaigns(database, "test", clock=lambda: now)
    return {"entered": report.entered, "queued": report.sent, "tasks": report.tasks,
            "sent": sum(s.sent for s in sends)}  # fmt: skip


def test_a_welcome_journey_sends_once_to_each_new_customer(
    mail_client: TestClient, database: Database, tokens: dict[str, str], smtp_server: SmtpServer
) -> None:
    write, read = tokens["write"], tokens["read"]
    old = add_audience(database, 2)  # customers before the start are not welcomed
    assert mail_client.post("/api/v1/journeys", json=WELCOME,
                            headers=bearer(read)).status_code == 403  # fmt: skip
    created = mail_client.post("/api/v1/journeys", json=WELCOME, headers=bearer(write))
    assert created.status_code == 201, created.text
    journey = created.json()
    number = journey["id"]
    assert (journey["status"], journey["trigger"], journey["entries"]) == ("draft", "welcome", 0)
    assert journey["contents"]["en"]["subject"] == WELCOME["subject"]
    assert journey["messages"]["sent"] == 0
    assert _run(database)["entered"] == 0  # a draft does nothing

    started = mail_client.post(f"/api/v1/journeys/{number}/start", headers=bearer(write))
    assert started.status_code == 200, started.text
    assert started.json()["status"] == "active"
    new = add_audience(database, 3, segment="new", domain="new.example")

    first = _run(database)
    assert (first["entered"], first["queued"], first["sent"]) == (3, 3, 3)
    mails = smtp_server.handler.messages()
    assert sorted(m.rcpt_tos[0] for m in mails) == [f"c{i}@new.example" for i in range(3)]
    assert {str(m.message["Subject"]) for m in mails} == {"Welcome, Cleo"}
    assert _run(database) == {"entered": 0, "queued": 0, "tasks": 0, "sent": 0}
    assert len(smtp_server.handler.messages()) == 3

    results = mail_client.get(f"/api/v1/journeys/{number}", headers=bearer(read)).json()
    assert (results["entries"], results["by_state"]) == (3, {"sent": 3})
    assert (results["messages"]["sent"], results["effect"]) == (3, None)
    (listed,) = mail_client.get("/api/v1/journeys", headers=bearer(read)).json()["items"]
    assert (listed["id"], listed["sent"], listed["holdout"]) == (number, 3, 0)

    def timeline(customer_id: int) -> Any:
        return mail_client.get(
            f"/api/v1/journeys/{number}/timeline",
            params={"customer_id": customer_id},
            headers=bearer(read),
        )

    found = timeline(new[0])
    assert found.status_code == 200, found.text
    (item,) = found.json()["items"]
    assert (item["occasion"], item["state"]) == ("welcome", "sent")
    assert item["subject"] == "Welcome, Cleo"
    assert [i["state"] for i in timeline(old[0]).json()["items"]] == ["before_start"]
    nobody = timeline(9999)
    assert (nobody.status_code, nobody.json()["error"]["code"]) == (404, "not_found")

    zh = mail_client.put(f"/api/v1/journeys/{number}/contents/zh-CN",
                         json={"subject": "欢迎", "body": BODY_ZH},
                         headers=bearer(write))  # fmt: skip
    assert zh.status_code == 200, zh.text
    assert sorted(zh.json()["contents"]) == ["en", "zh-CN"]
    paused = mail_client.post(f"/api/v1/journeys/{number}/pause", headers=bearer(write))
    assert paused.json()["status"] == "paused"
    add_audience(database, 1, segment="later", domain="later.example")
    assert _run(database)["sent"] == 0
    again = mail_client.post(f"/api/v1/journeys/{number}/pause", headers=bearer(write))
    assert (again.status_code, again.json()["error"]["code"]) == (409, "conflict")


def test_a_task_journey_and_the_errors(
    mail_client: TestClient, database: Database, tokens: dict[str, str], smtp_server: SmtpServer
) -> None:
    write, read = tokens["write"], tokens["read"]
    path = "/api/v1/journeys"
    task = {"name": "Call new customers", "trigger": "welcome", "action": "task",
            "task_title": "Call to say hello", "holdout_share": 0}  # fmt: skip
    created = mail_client.post(path, json=task, headers=bearer(write))
    assert created.status_code == 201, created.text
    number = created.json()["id"]
    assert (created.json()["messages"], created.json()["contents"]) == (None, {})
    start = mail_client.post(f"{path}/{number}/start", json={"backfill_days": 1},
                             headers=bearer(write))  # fmt: skip
    assert start.status_code == 200, start.text
    add_audience(database, 2)
    assert _run(database)["tasks"] == 2
    assert smtp_server.handler.messages() == []
    results = mail_client.get(f"{path}/{number}", headers=bearer(read)).json()
    assert results["by_state"] == {"task": 2}

    renamed = mail_client.patch(f"{path}/{number}", json={"name": "Call them", "wait_hours": 2,
                                "segment": "everyone"}, headers=bearer(write))  # fmt: skip
    assert renamed.status_code == 200, renamed.text
    assert (renamed.json()["name"], renamed.json()["wait_hours"]) == ("Call them", 2)
    assert renamed.json()["segment"] == "everyone"
    cleared = mail_client.patch(f"{path}/{number}", json={"segment": ""}, headers=bearer(write))
    assert cleared.json()["segment"] is None

    def error(response: Any) -> tuple[int, str]:
        return response.status_code, response.json()["error"]["code"]

    assert error(mail_client.patch(f"{path}/{number}", json={"holdout_share": 0.7},
                                   headers=bearer(write))) == (422, "validation_error")  # fmt: skip
    no_segment = mail_client.patch(f"{path}/{number}", json={"segment": "nobody"},
                                   headers=bearer(write))  # fmt: skip
    assert error(no_segment) == (422, "validation_error")
    assert no_segment.json()["error"]["details"]["field"] == "segment"
    assert error(mail_client.post(path, json={**task, "name": "Call them"},
                                  headers=bearer(write))) == (409, "conflict")  # fmt: skip
    assert error(mail_client.post(path, json={**task, "name": "x", "trigger": "moon"},
                                  headers=bearer(write))) == (422, "validation_error")  # fmt: skip
    no_body = {"name": "y", "trigger": "order", "subject": "Hi"}
    assert error(mail_client.post(path, json=no_body, headers=bearer(write)))[0] == 422
    broken = {**no_body, "body": "{{ customer.name }"}
    assert error(mail_client.post(path, json=broken, headers=bearer(write))) == (
        422, "template_error",
    )  # fmt: skip
    assert error(mail_client.get(f"{path}/999", headers=bearer(read))) == (404, "not_found")
    assert error(mail_client.post(f"{path}/999/start", headers=bearer(write))) == (
        404, "not_found",
    )  # fmt: skip
    assert mail_client.post(f"{path}/{number}/pause", headers=bearer(read)).status_code == 403
    assert mail_client.get(path).status_code == 401
