"""/api/v1/surveys and the page its links lead to, as PRODUCT.md's contract names them, on
SQLite, PostgreSQL and MariaDB: a link made with a write token answers 201 with a `url` ending
in its token; the page needs no login; a POST of `score` records the answer once (a second is
409); a token changed in any one character is 404 and writes nothing; an expired one is 410."""

from __future__ import annotations

import datetime as dt
from typing import Any
from urllib.parse import urlsplit

from fastapi.testclient import TestClient
from sqlalchemy import func, select, update

from soloist.config import Settings
from soloist.domain.customers import CustomerCreate, create_customer
from soloist.storage.database import Database
from soloist.storage.models import SurveyLink, SurveyResponse, Ticket
from tests.api.conftest import bearer
from tests.mailserver import SmtpServer

URL_SAFE = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"


def _customer(database: Database, email: str = "cleo@example.net") -> int:
    with database.session() as session:
        return create_customer(session, CustomerCreate(name="Cleo", email=email), "test").id


def _ticket(database: Database, customer_id: int) -> int:
    with database.session() as session:
        ticket = Ticket(customer_id=customer_id, subject="Late parcel", status="resolved")
        session.add(ticket)
        session.flush()
        return ticket.id


def _link(client: TestClient, tokens: dict[str, str], **body: Any) -> dict[str, Any]:
    response = client.post("/api/v1/surveys/links", json=body, headers=bearer(tokens["write"]))
    assert response.status_code == 201, response.text
    answer: dict[str, Any] = response.json()
    return answer


def _path(url: str) -> str:
    return urlsplit(url).path


def _responses(database: Database) -> int:
    with database.read_session() as session:
        return int(session.scalar(select(func.count(SurveyResponse.id))) or 0)


def test_a_link_is_201_with_a_url_that_ends_with_its_token(
    client: TestClient, tokens: dict[str, str], database: Database
) -> None:
    customer = _customer(database)
    ticket = _ticket(database, customer)
    made = _link(client, tokens, customer_id=customer, kind="csat", ticket_id=ticket)
    assert {"id", "url", "kind", "customer_id", "ticket_id", "expires_at"} <= set(made)
    assert (made["kind"], made["customer_id"], made["ticket_id"]) == ("csat", customer, ticket)
    assert made["url"].startswith(database.settings.public_url + "/s/")
    token = made["url"].rsplit("/", 1)[1]
    assert made["url"].endswith(token)
    assert str(made["id"]) in token
    expires = dt.datetime.fromisoformat(made["expires_at"])
    assert dt.timedelta(days=29) < expires - dt.datetime.now(dt.UTC) <= dt.timedelta(days=30)


def test_the_page_needs_no_login_and_takes_one_answer(
    client: TestClient, tokens: dict[str, str], database: Database
) -> None:
    made = _link(client, tokens, customer_id=_customer(database), kind="nps")
    path = _path(made["url"])
    page = client.get(path)  # no credentials at all
    assert page.status_code == 200
    assert 'name="score"' in page.text
    first = client.post(path, data={"score": "9", "comment": "Lovely beans"})
    assert first.status_code == 200
    second = client.post(path, data={"score": "3"})
    assert second.status_code == 409
    with database.read_session() as session:
        (answer,) = session.scalars(select(SurveyResponse)).all()
        assert (answer.kind, answer.score, answer.comment) == ("nps", 9, "Lovely beans")
        assert answer.survey_link_id == made["id"]
    listed = client.get("/api/v1/surveys/responses?kind=nps", headers=bearer(tokens["read"]))
    assert listed.status_code == 200
    body = listed.json()
    assert body["total"] == 1
    assert body["items"][0]["score"] == 9
    assert body["items"][0]["comment"] == "Lovely beans"
    assert body["items"][0]["survey_link_id"] == made["id"]


def test_a_token_changed_in_any_one_character_is_404_and_writes_nothing(
    client: TestClient, tokens: dict[str, str], database: Database
) -> None:
    made = _link(client, tokens, customer_id=_customer(database), kind="csat")
    token = made["url"].rsplit("/", 1)[1]
    for i, char in enumerate(token):
        other = URL_SAFE[(URL_SAFE.index(char) + 1) % len(URL_SAFE)] if char in URL_SAFE else "A"
        changed = token[:i] + other + token[i + 1 :]
        assert client.get(f"/s/{changed}").status_code == 404, changed
        answer = client.post(f"/s/{changed}", data={"score": "5"})
        assert answer.status_code == 404, changed
        assert "This survey link is not valid." in answer.text
    assert _responses(database) == 0
    with database.read_session() as session:
        assert session.scalar(select(SurveyLink.submitted_at)) is None


def test_an_expired_link_is_410(
    client: TestClient, tokens: dict[str, str], database: Database
) -> None:
    made = _link(client, tokens, customer_id=_customer(database), kind="ces", expires_in_days=1)
    with database.session() as session:
        past = dt.datetime.now(dt.UTC) - dt.timedelta(minutes=1)
        session.execute(update(SurveyLink).values(expires_at=past))
    path = _path(made["url"])
    assert client.get(path).status_code == 410
    answer = client.post(path, data={"score": "7"})
    assert answer.status_code == 410
    assert "This survey link has expired." in answer.text
    assert _responses(database) == 0


def test_making_a_link_needs_a_write_token_and_names_the_wrong_field(
    client: TestClient, tokens: dict[str, str], database: Database
) -> None:
    cleo = _customer(database)
    dans_ticket = _ticket(database, _customer(database, "dan@example.net"))
    body = {"customer_id": cleo, "kind": "nps"}
    assert client.post("/api/v1/surveys/links", json=body).status_code == 401
    read_only = client.post("/api/v1/surveys/links", json=body, headers=bearer(tokens["read"]))
    assert read_only.status_code == 403
    write = bearer(tokens["write"])
    for wrong, status, field in (
        ({"customer_id": cleo, "kind": "stars"}, 422, "kind"),
        ({"customer_id": 987_654, "kind": "nps"}, 404, "customer_id"),
        ({"customer_id": cleo, "kind": "csat", "ticket_id": dans_ticket}, 422, "ticket_id"),
    ):
        answer = client.post("/api/v1/surveys/links", json=wrong, headers=write)
        assert answer.status_code == status, answer.text
        error = answer.json()["error"]
        assert field in error["message"] or error["details"].get("field") == field
    with database.read_session() as session:
        assert session.scalar(select(func.count(SurveyLink.id))) == 0


def test_send_mails_the_link_and_refuses_a_customer_without_an_address(
    client: TestClient, tokens: dict[str, str], database: Database
) -> None:
    with SmtpServer() as smtp:
        values = {k.removeprefix("SOLOIST_").lower(): v for k, v in smtp.environ.items()}
        database.settings = Settings(**{**database.settings.model_dump(), **values})
        cleo = _customer(database)
        made = _link(client, tokens, customer_id=cleo, kind="ces", send=True)
        (received,) = smtp.handler.messages()
    assert made["sent_at"] is not None
    assert received.rcpt_tos == ["cleo@example.net"]
    assert made["url"] in received.message.get_content()
    with database.session() as session:
        silent = create_customer(session, CustomerCreate(name="No Mail"), "test").id
    refused = client.post(
        "/api/v1/surveys/links",
        json={"customer_id": silent, "kind": "nps", "send": True},
        headers=bearer(tokens["write"]),
    )
    assert refused.status_code == 422
    assert refused.json()["error"]["details"]["field"] == "customer_id"
    with database.read_session() as session:
        assert session.scalar(select(func.count(SurveyLink.id))) == 1
