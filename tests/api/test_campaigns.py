"""/api/v1/campaigns and the links in the messages (/u, /c, /o), over a real SMTP server on
loopback, on every database: scopes, errors, the worker sending what the API queued, and the
RFC 8058 one-click unsubscribe contract."""

from __future__ import annotations

import datetime as dt
import re
import struct
from collections.abc import Iterator
from typing import Any
from urllib.parse import urlsplit

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select, update

from soloist.api.campaigns import CampaignResults
from soloist.app import create_app
from soloist.config import Settings
from soloist.domain.campaigns import (
    CLICK,
    LinkSigner,
    campaign_results,
    send_due_campaigns,
)
from soloist.domain.customers import current_consents
from soloist.storage.database import Database
from soloist.storage.models import CampaignLink, Message, MessageEvent, Suppression
from tests.api.conftest import bearer
from tests.domain.campaigns.builders import BODY_EN, BODY_ZH, add_audience
from tests.mailserver import Received, SmtpServer

BROWSER = "Mozilla/5.0 (Macintosh; Intel Mac OS X 14_4) AppleWebKit/605.1.15 Safari/605.1.15"
SCANNER = "Barracuda Sentinel (EE) link scanner"


@pytest.fixture
def smtp_server() -> Iterator[SmtpServer]:
    with SmtpServer() as server:
        yield server


@pytest.fixture
def mail_client(database: Database, smtp_server: SmtpServer) -> Iterator[TestClient]:
    """An API client over ``database`` whose settings send through the loopback server."""
    values = {k.removeprefix("SOLOIST_").lower(): v for k, v in smtp_server.environ.items()}
    database.settings = Settings(**{**database.settings.model_dump(), **values})
    with TestClient(create_app(database.settings, database)) as client:
        yield client


def _create(client: TestClient, token: str, **fields: Any) -> dict[str, Any]:
    body = {
        "name": "Spring beans",
        "segment": "everyone",
        "channel": "email",
        "subject": "{{ customer.first_name }}, new beans are in",
        "body": BODY_EN,
        **fields,
    }
    response = client.post("/api/v1/campaigns", json=body, headers=bearer(token))
    assert response.status_code == 201, response.text
    created: dict[str, Any] = response.json()
    return created


def _send(client: TestClient, database: Database, token: str, campaign_id: int) -> None:
    """Queue it through the API; the worker sends it (as `soloist serve` runs one)."""
    queued = client.post(f"/api/v1/campaigns/{campaign_id}/send", headers=bearer(token))
    assert queued.status_code == 202, queued.text
    assert queued.json()["status"] == "sending"
    send_due_campaigns(database, "test")


def _results(client: TestClient, token: str, campaign_id: int) -> dict[str, Any]:
    response = client.get(f"/api/v1/campaigns/{campaign_id}/results", headers=bearer(token))
    assert response.status_code == 200, response.text
    found: dict[str, Any] = response.json()
    return found


def _path(url: str) -> str:
    return urlsplit(url).path


def _unsubscribe_url(mail: Received) -> str:
    header = str(mail.message["List-Unsubscribe"])
    return header.split(",")[0].strip().strip("<>")


def _html(mail: Received) -> str:
    return str(mail.message.get_body(("html",)).get_content())  # type: ignore[union-attr]


def _backdate(database: Database, seconds: float = 60.0) -> None:
    """As if every message went out a while ago (a click within 2 s of the send is a
    scanner's)."""
    with database.session() as session:
        session.execute(
            update(Message)
            .where(Message.sent_at.is_not(None))
            .values(sent_at=dt.datetime.now(dt.UTC) - dt.timedelta(seconds=seconds))
        )


def _message_row(database: Database, mail: Received) -> Message:
    with database.read_session() as session:
        row = session.scalar(
            select(Message).where(Message.message_id == mail.message["Message-ID"])
        )
        assert row is not None
        session.expunge(row)
        return row


def test_a_campaign_is_written_previewed_tested_and_sent_by_the_worker(
    mail_client: TestClient, database: Database, tokens: dict[str, str], smtp_server: SmtpServer
) -> None:
    add_audience(database, 6, consent_every=2, chinese_every=3)
    write, read = tokens["write"], tokens["read"]
    created = _create(mail_client, write)
    number = created["id"]
    assert (created["status"], created["languages"]) == ("draft", ["en"])
    assert created["audience"] == {"segment": 6, "reachable": 3, "no_consent": 3}
    assert "Hello {{ customer.first_name }}" in created["contents"]["en"]["html"]

    zh = mail_client.put(
        f"/api/v1/campaigns/{number}/contents/zh-CN",
        json={"subject": "{{ customer.name }}，新豆到了", "body": BODY_ZH},
        headers=bearer(write),
    )
    assert zh.status_code == 200, zh.text
    assert zh.json()["languages"] == ["en", "zh-CN"]
    renamed = mail_client.patch(
        f"/api/v1/campaigns/{number}", json={"name": "Spring beans 2027"}, headers=bearer(write)
    )
    assert renamed.json()["name"] == "Spring beans 2027"

    preview = mail_client.post(
        f"/api/v1/campaigns/{number}/preview", json={"customer": "c3@example.net"},
        headers=bearer(read),
    )  # fmt: skip
    assert preview.status_code == 200, preview.text
    assert (preview.json()["language"], preview.json()["subject"]) == ("zh-CN", "客户3，新豆到了")
    sample = mail_client.post(f"/api/v1/campaigns/{number}/preview", json={}, headers=bearer(read))
    assert sample.json()["subject"] == "Ada, new beans are in"

    test = mail_client.post(
        f"/api/v1/campaigns/{number}/test", json={"to": "owner@coffee.example"},
        headers=bearer(write),
    )  # fmt: skip
    assert test.status_code == 200, test.text
    (sent_test,) = smtp_server.handler.messages()
    assert sent_test.rcpt_tos == ["owner@coffee.example"]
    assert str(sent_test.message["Subject"]) == "[Test] Ada, new beans are in"

    refused = mail_client.post(f"/api/v1/campaigns/{number}/send", headers=bearer(read))
    assert refused.status_code == 403
    assert refused.json()["error"]["code"] == "permission_denied"
    assert len(smtp_server.handler.messages()) == 1  # nothing was sent

    _send(mail_client, database, write, number)
    received = [m.rcpt_tos[0] for m in smtp_server.handler.messages()[1:]]
    assert sorted(received) == ["c0@example.net", "c2@example.net", "c4@example.net"]
    results = _results(mail_client, read, number)
    assert {k: results[k] for k in ("status", "recipients", "sent", "failed", "suppressed")} == {
        "status": "sent", "recipients": 6, "sent": 3, "failed": 0, "suppressed": 3,
    }  # fmt: skip
    assert (results["clicked"], results["orders"], results["revenue"]) == (0, 0, "0.00")
    listed = mail_client.get("/api/v1/campaigns", headers=bearer(read)).json()["items"]
    assert [(c["id"], c["status"], c["messages"]) for c in listed] == [
        (number, "sent", {"sent": 3, "suppressed": 3})
    ]
    late = mail_client.patch(
        f"/api/v1/campaigns/{number}", json={"name": "Too late"}, headers=bearer(write)
    )
    assert late.status_code == 409
    assert late.json()["error"]["code"] == "campaign_state"


def test_errors_have_the_one_shape(client: TestClient, tokens: dict[str, str]) -> None:
    write, read = tokens["write"], tokens["read"]
    assert client.get("/api/v1/campaigns").status_code == 401
    missing = client.get("/api/v1/campaigns/999", headers=bearer(read))
    assert missing.status_code == 404
    assert missing.json()["error"]["code"] == "not_found"
    for path in ("send", "pause", "cancel", "results"):
        method = client.get if path == "results" else client.post
        assert method(f"/api/v1/campaigns/999/{path}", headers=bearer(write)).status_code == 404
    no_segment = client.post(
        "/api/v1/campaigns",
        json={"name": "x", "segment": "nobody", "subject": "Hi", "body": "Hello"},
        headers=bearer(write),
    )
    assert no_segment.status_code == 422
    assert no_segment.json()["error"]["details"]["field"] == "segment"
    add_audience_via_api = client.post(
        "/api/v1/campaigns",
        json={"name": "x", "segment": "everyone", "subject": "Hi", "body": "Hello"},
        headers=bearer(read),
    )
    assert add_audience_via_api.status_code == 403


def test_a_template_error_is_refused_with_its_part_and_line(
    client: TestClient, database: Database, tokens: dict[str, str]
) -> None:
    add_audience(database, 2)
    body = "<p>Hello {{ customer.first_name }},</p>\n<p>News.</p>\n<p>{{ customer.name }</p>"
    response = client.post(
        "/api/v1/campaigns",
        json={"name": "Broken", "segment": "everyone", "subject": "Hi", "body": body},
        headers=bearer(tokens["write"]),
    )
    assert response.status_code == 422
    error = response.json()["error"]
    assert error["code"] == "template_error"
    assert (error["details"]["part"], error["details"]["line"]) == ("html", 3)
    assert "line 3" in error["message"]


def test_sending_without_mail_settings_answers_503_and_changes_nothing(
    client: TestClient, database: Database, tokens: dict[str, str]
) -> None:
    add_audience(database, 2)
    number = _create(client, tokens["write"])["id"]
    response = client.post(f"/api/v1/campaigns/{number}/send", headers=bearer(tokens["write"]))
    assert response.status_code == 503
    assert response.json()["error"]["code"] == "channel_not_configured"
    assert "SOLOIST_SMTP_HOST" in response.json()["error"]["message"]
    detail = client.get(f"/api/v1/campaigns/{number}", headers=bearer(tokens["read"])).json()
    assert (detail["status"], detail["messages"]) == ("draft", {})


def test_one_click_unsubscribe_follows_rfc_8058(
    mail_client: TestClient, database: Database, tokens: dict[str, str], smtp_server: SmtpServer
) -> None:
    ids = add_audience(database, 3)
    write = tokens["write"]
    first = _create(mail_client, write)["id"]
    _send(mail_client, database, write, first)
    mails = smtp_server.handler.messages()
    assert len(mails) == 3
    for mail in mails:
        assert _unsubscribe_url(mail).startswith("https://crm.coffee.example/u/")
        assert mail.message["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    leaving = next(m for m in mails if m.rcpt_tos == ["c1@example.net"])
    path = _path(_unsubscribe_url(leaving))

    mail_client.cookies.clear()
    page = mail_client.get(path)  # what a link scanner does: nothing changes
    assert page.status_code == 200
    assert 'method="post"' in page.text
    assert "c•••@example.net" in page.text
    assert current_consents_of(database, ids[1]) is True

    one_click = mail_client.post(
        path, data={"List-Unsubscribe": "One-Click"}, follow_redirects=False
    )
    assert one_click.status_code == 200
    assert "You are unsubscribed" in one_click.text
    assert "set-cookie" not in one_click.headers
    assert current_consents_of(database, ids[1]) is False
    again = mail_client.post(
        path, files={"List-Unsubscribe": (None, "One-Click")}, follow_redirects=False
    )  # multipart, as some clients send it
    assert again.status_code == 200
    assert _results(mail_client, write, first)["unsubscribed"] == 1
    with database.read_session() as session:
        events = session.scalars(
            select(MessageEvent.detail).where(MessageEvent.kind == "unsubscribe")
        )
        assert list(events) == ["one-click"]

    tampered = path[:-3] + ("A" if path[-3] != "A" else "B") + path[-2:]
    assert mail_client.post(tampered, data={"List-Unsubscribe": "One-Click"}).status_code == 404
    assert mail_client.get(tampered).status_code == 404
    assert mail_client.get("/u/not-a-token").status_code == 404

    second = _create(mail_client, write, name="Summer beans")["id"]
    _send(mail_client, database, write, second)
    results = _results(mail_client, write, second)
    assert (results["sent"], results["suppressed_by_reason"]) == (2, {"unsubscribed": 1})
    later = [m.rcpt_tos[0] for m in smtp_server.handler.messages()[3:]]
    assert sorted(later) == ["c0@example.net", "c2@example.net"]


def current_consents_of(database: Database, customer_id: int) -> bool | None:
    with database.read_session() as session:
        return current_consents(session, customer_id).get("email")


def test_the_page_button_unsubscribes_and_a_test_message_changes_nothing(
    mail_client: TestClient, database: Database, tokens: dict[str, str], smtp_server: SmtpServer
) -> None:
    ids = add_audience(database, 1, chinese_every=1)
    write = tokens["write"]
    number = _create(mail_client, write)["id"]
    mail_client.put(
        f"/api/v1/campaigns/{number}/contents/zh-CN",
        json={"subject": "新豆到了", "body": BODY_ZH},
        headers=bearer(write),
    )
    mail_client.post(
        f"/api/v1/campaigns/{number}/test", json={"to": "me@coffee.example"}, headers=bearer(write)
    )
    _send(mail_client, database, write, number)
    test_mail, real_mail = smtp_server.handler.messages()

    test_path = _path(_unsubscribe_url(test_mail))
    for answer in (
        mail_client.get(test_path),
        mail_client.post(test_path, data={"confirm": "yes"}),
    ):
        assert answer.status_code == 200
        assert "This was a test" in answer.text
    assert current_consents_of(database, ids[0]) is True

    path = _path(_unsubscribe_url(real_mail))
    page = mail_client.get(path, headers={"Accept-Language": "en"})
    assert page.headers["content-language"] == "zh-Hans"  # the recipient's language
    assert '<html lang="zh-Hans">' in page.text
    assert page.headers["cache-control"] == "no-store"
    done = mail_client.post(path, data={"confirm": "yes"}, follow_redirects=False)
    assert done.status_code == 200
    assert current_consents_of(database, ids[0]) is False
    with database.read_session() as session:
        reasons = session.scalars(select(Suppression.reason)).all()
        how = session.scalars(select(MessageEvent.detail)).all()
    assert (list(reasons), list(how)) == (["unsubscribed"], ["page"])
    revisit = mail_client.get(path)
    assert revisit.status_code == 200
    assert 'method="post"' not in revisit.text


def test_a_click_redirects_only_to_the_stored_link_and_counts_once_per_person(
    mail_client: TestClient, database: Database, tokens: dict[str, str], smtp_server: SmtpServer
) -> None:
    add_audience(database, 2)
    write = tokens["write"]
    first = _create(mail_client, write)["id"]
    _send(mail_client, database, write, first)
    _backdate(database)
    mail = smtp_server.handler.messages()[0]
    clicks = re.findall(r'href="https://crm\.coffee\.example(/c/[^"]+)"', _html(mail))
    assert len(clicks) == 1

    mail_client.get(clicks[0], headers={"User-Agent": SCANNER}, follow_redirects=False)
    for _ in range(2):
        answer = mail_client.get(clicks[0], headers={"User-Agent": BROWSER}, follow_redirects=False)
        assert answer.status_code == 302
        assert answer.headers["location"] == "https://coffee.example/beans?utm=mail"
    results = _results(mail_client, write, first)
    assert results["clicked"] == 1
    with database.read_session() as session:
        machine = session.scalars(select(MessageEvent.machine).where(MessageEvent.kind == "click"))
        assert sorted(machine) == [False, False, True]

    tampered = clicks[0][:-2] + ("x" if clicks[0][-2] != "x" else "y") + clicks[0][-1]
    assert mail_client.get(tampered, follow_redirects=False).status_code == 404
    # A signed token that pairs this message with another campaign's link is no redirect either.
    second = _create(mail_client, write, name="Other", body='<a href="https://evil.example/">x</a>')
    _send(mail_client, database, write, second["id"])
    with database.read_session() as session:
        other_link = session.scalar(
            select(CampaignLink.id).where(CampaignLink.campaign_id == second["id"])
        )
    assert other_link is not None
    signer = LinkSigner(database.keyring.link_key, "https://crm.coffee.example")
    forged = _path(signer.url(CLICK, _message_row(database, mail).id, other_link))
    assert mail_client.get(forged, follow_redirects=False).status_code == 404


def test_the_open_pixel_is_a_transparent_png_and_marks_scanners_as_machines(
    mail_client: TestClient, database: Database, tokens: dict[str, str], smtp_server: SmtpServer
) -> None:
    add_audience(database, 1)
    write = tokens["write"]
    number = _create(mail_client, write)["id"]
    _send(mail_client, database, write, number)
    (mail,) = smtp_server.handler.messages()
    pixel = _path(re.findall(r'src="(https://crm\.coffee\.example/o/[^"]+\.png)"', _html(mail))[0])

    _backdate(database, seconds=1.0)  # within 2 s of the send, as a scanner fetches it
    image = mail_client.get(pixel, headers={"User-Agent": SCANNER})
    assert image.status_code == 200
    assert image.headers["content-type"] == "image/png"
    assert image.headers["cache-control"] == "no-store"
    assert image.content.startswith(b"\x89PNG\r\n\x1a\n")
    assert struct.unpack(">II", image.content[16:24]) == (1, 1)
    results = _results(mail_client, write, number)
    assert (results["opened"], results["machine_opens"]) == (0, 1)

    _backdate(database)
    mail_client.get(pixel, headers={"User-Agent": BROWSER})
    assert _results(mail_client, write, number)["opened"] == 1
    bad = mail_client.get("/o/forged-token.png")
    assert (bad.status_code, bad.content) == (200, image.content)
    with database.read_session() as session:
        agents = session.scalars(select(MessageEvent.user_agent).order_by(MessageEvent.id)).all()
    assert list(agents) == [SCANNER, BROWSER]


def test_provider_feedback_suppresses_complainers_and_bounces(
    mail_client: TestClient, database: Database, tokens: dict[str, str], smtp_server: SmtpServer
) -> None:
    add_audience(database, 3)
    write = tokens["write"]
    number = _create(mail_client, write)["id"]
    _send(mail_client, database, write, number)
    by_address = {m.rcpt_tos[0]: m for m in smtp_server.handler.messages()}

    def feedback(token: str, **body: Any) -> Any:
        return mail_client.post("/api/v1/campaigns/feedback", json=body, headers=bearer(token))

    complaint_id = str(by_address["c0@example.net"].message["Message-ID"])
    assert feedback(tokens["read"], message_id=complaint_id, kind="complaint").status_code == 403
    complaint = feedback(write, message_id=complaint_id, kind="complaint")
    assert complaint.status_code == 200, complaint.text
    assert complaint.json() == {
        "message_id": complaint_id, "kind": "complaint", "campaign_id": number, "status": "sent",
    }  # fmt: skip
    bounce_id = str(by_address["c1@example.net"].message["Message-ID"]).strip("<>")
    bounce = feedback(write, message_id=bounce_id, kind="bounce", detail="550 5.1.1 no such user")
    assert bounce.json()["status"] == "bounced"
    unknown = feedback(write, message_id="<nobody@coffee.example>", kind="bounce")
    assert unknown.status_code == 404
    assert unknown.json()["error"]["code"] == "not_found"

    results = _results(mail_client, write, number)
    assert (results["sent"], results["bounced"], results["complained"]) == (2, 1, 1)
    with database.read_session() as session:
        reasons = sorted(session.scalars(select(Suppression.reason)))
    assert reasons == ["complaint", "hard_bounce"]
    second = _create(mail_client, write, name="Again")["id"]
    _send(mail_client, database, write, second)
    left_out = _results(mail_client, write, second)["suppressed_by_reason"]
    assert left_out == {"complaint": 1, "hard_bounce": 1}


def test_schedule_pause_and_cancel(
    client: TestClient, database: Database, tokens: dict[str, str]
) -> None:
    add_audience(database, 1)
    write = tokens["write"]
    number = _create(client, write)["id"]
    at = (dt.datetime.now(dt.UTC) + dt.timedelta(days=2)).isoformat()
    scheduled = client.post(
        f"/api/v1/campaigns/{number}/schedule", json={"at": at}, headers=bearer(write)
    )
    assert scheduled.status_code == 200, scheduled.text
    assert scheduled.json()["status"] == "scheduled"
    naive = client.post(
        f"/api/v1/campaigns/{number}/schedule", json={"at": "2099-01-01T09:00"},
        headers=bearer(write),
    )  # fmt: skip
    assert naive.status_code == 422
    back = client.delete(f"/api/v1/campaigns/{number}/schedule", headers=bearer(write))
    assert back.json()["status"] == "draft"
    pause = client.post(f"/api/v1/campaigns/{number}/pause", headers=bearer(write))
    assert (pause.status_code, pause.json()["error"]["code"]) == (409, "campaign_state")
    cancelled = client.post(f"/api/v1/campaigns/{number}/cancel", headers=bearer(write))
    assert cancelled.json()["status"] == "cancelled"


def test_the_results_schema_names_every_figure_of_the_results(
    database: Database, tokens: dict[str, str], client: TestClient
) -> None:
    add_audience(database, 1)
    number = _create(client, tokens["write"])["id"]
    with database.read_session() as session:
        figures = campaign_results(session, number, "USD")
    assert set(CampaignResults.model_fields) == set(figures)


def test_a_test_send_the_server_refuses_is_a_clear_error(
    mail_client: TestClient, database: Database, tokens: dict[str, str], smtp_server: SmtpServer
) -> None:
    add_audience(database, 1)
    number = _create(mail_client, tokens["write"])["id"]
    smtp_server.handler.refuse["gone@coffee.example"] = "550 5.1.1 no such user"
    smtp_server.handler.refuse["busy@coffee.example"] = "451 4.7.1 try again later"
    answers = {
        to: mail_client.post(
            f"/api/v1/campaigns/{number}/test", json={"to": to}, headers=bearer(tokens["write"])
        )
        for to in ("gone@coffee.example", "busy@coffee.example")
    }
    refused, busy = answers["gone@coffee.example"], answers["busy@coffee.example"]
    assert (refused.status_code, refused.json()["error"]["code"]) == (422, "validation_error")
    assert "550 5.1.1 no such user" in refused.json()["error"]["message"]
    assert (busy.status_code, busy.json()["error"]["code"]) == (503, "channel_unavailable")
