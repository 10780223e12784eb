"""The webhook and SMS channels, pausing a send, and a server that cannot be reached."""

from __future__ import annotations

import hashlib
import hmac
import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, HTTPServer
from pathlib import Path
from typing import ClassVar

import pytest
from sqlalchemy import select
from tests.domain.campaigns.builders import ACTOR, BODY_EN, add_audience
from tests.mailserver import SmtpServer, free_port

from soloist.config import Settings
from soloist.domain.campaigns import (
    SIGNATURE_HEADER,
    OutgoingMessage,
    SmtpChannel,
    campaign_results,
    create_campaign,
    get_campaign,
    pause_campaign,
    send_campaign,
)
from soloist.domain.campaigns.channels import FileSmsGateway, SmsChannel, WebhookChannel
from soloist.errors import ChannelUnavailableError
from soloist.storage.database import Database
from soloist.storage.models import ConsentRecord, Message

SECRET = b"whsec-test"


class _Hook(BaseHTTPRequestHandler):
    received: ClassVar[list[tuple[dict[str, str], bytes]]] = []
    answer = 200

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers["Content-Length"]))
        type(self).received.append((dict(self.headers), body))
        self.send_response(type(self).answer)
        self.end_headers()

    def log_message(self, *args: object) -> None:
        return None


@pytest.fixture
def hook_url() -> Iterator[str]:
    _Hook.received, _Hook.answer = [], 200
    server = HTTPServer(("127.0.0.1", 0), _Hook)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}/hook"
    server.shutdown()
    server.server_close()


def _message(i: int = 1) -> OutgoingMessage:
    return OutgoingMessage(
        message_id=f"<m{i}@coffee.example>",
        recipient="+14155550123",
        recipient_name="Ada",
        subject="Hi",
        text="Hello Ada\n",
        customer_id=i,
        campaign_id=9,
    )


def test_the_webhook_channel_posts_json_with_a_signature_the_receiver_can_check(
    hook_url: str,
) -> None:
    WebhookChannel(hook_url, SECRET).send(_message())

    headers, body = _Hook.received[0]
    stamp, signature = (part.split("=", 1)[1] for part in headers[SIGNATURE_HEADER].split(","))
    expected = hmac.new(SECRET, f"{stamp}.".encode() + body, hashlib.sha256).hexdigest()
    assert hmac.compare_digest(signature, expected)
    assert headers["Idempotency-Key"] == "<m1@coffee.example>"
    assert json.loads(body)["text"] == "Hello Ada\n"


def test_the_webhook_channel_retries_a_5xx_and_gives_up_on_a_4xx(hook_url: str) -> None:
    from soloist.domain.campaigns import PermanentDeliveryError, TemporaryDeliveryError

    channel = WebhookChannel(hook_url, SECRET)
    _Hook.answer = 503
    with pytest.raises(TemporaryDeliveryError):
        channel.send(_message())
    _Hook.answer = 410
    with pytest.raises(PermanentDeliveryError):
        channel.send(_message())


def test_the_sms_gateway_writes_one_json_line_per_message(tmp_path: Path) -> None:
    outbox = tmp_path / "sms.jsonl"
    channel = SmsChannel(FileSmsGateway(outbox))
    channel.send(_message(1))
    channel.send(_message(2))
    lines = [json.loads(line) for line in outbox.read_text(encoding="utf-8").splitlines()]
    assert [(x["to"], x["text"], x["reference"]) for x in lines] == [
        ("+14155550123", "Hello Ada", "<m1@coffee.example>"),
        ("+14155550123", "Hello Ada", "<m2@coffee.example>"),
    ]


def _create(database: Database, channel: str = "email") -> int:
    with database.session() as session:
        return create_campaign(
            session, name="c", segment="everyone", subject="Hi", body=BODY_EN, actor=ACTOR,
            channel=channel,
        ).id  # fmt: skip


class _PausingChannel:
    """Delivers to the real server; after ``after`` messages the owner pauses the campaign."""

    name = "email"

    def __init__(self, inner: SmtpChannel, database: Database, campaign_id: int, after: int):
        self.inner, self.database, self.campaign_id, self.after = (
            inner,
            database,
            campaign_id,
            after,
        )
        self.count = 0

    def send(self, message: OutgoingMessage) -> str | None:
        self.inner.send(message)
        self.count += 1
        if self.count == self.after:
            with self.database.session() as session:
                pause_campaign(session, self.campaign_id, "owner")
        return None

    def close(self) -> None:
        self.inner.close()


def test_a_paused_send_stops_between_messages_and_resumes_where_it_stopped(
    mail_database: Database, smtp_server: SmtpServer
) -> None:
    add_audience(mail_database, 12)
    campaign_id = _create(mail_database)
    channel = _PausingChannel(
        SmtpChannel.from_settings(mail_database.settings), mail_database, campaign_id, after=5
    )

    report = send_campaign(mail_database, campaign_id, ACTOR, channel=channel)
    channel.close()
    assert (report.status, report.sent, len(smtp_server.handler.messages())) == ("paused", 5, 5)

    report = send_campaign(mail_database, campaign_id, ACTOR)  # resumes
    assert (report.status, report.sent) == ("sent", 7)
    recipients = sorted(r.rcpt_tos[0] for r in smtp_server.handler.messages())
    assert recipients == sorted(f"c{i}@example.net" for i in range(12))


def test_an_unreachable_server_stops_the_send_and_the_next_send_continues(
    mail_database: Database, smtp_server: SmtpServer
) -> None:
    add_audience(mail_database, 4)
    campaign_id = _create(mail_database)
    working = mail_database.settings
    mail_database.settings = Settings(**{**working.model_dump(), "smtp_port": free_port()})

    with pytest.raises(ChannelUnavailableError, match="cannot be reached"):
        send_campaign(mail_database, campaign_id, ACTOR)
    with mail_database.read_session() as session:
        campaign = get_campaign(session, campaign_id)
        assert campaign.status == "sending"
        assert "cannot be reached" in (campaign.last_error or "")

    mail_database.settings = working
    report = send_campaign(mail_database, campaign_id, ACTOR)
    assert (report.status, report.sent) == ("sent", 4)
    assert len(smtp_server.handler.messages()) == 4


def test_sms_campaigns_need_sms_consent_and_a_phone(database: Database, tmp_path: Path) -> None:
    from soloist.domain.campaigns import save_list_segment
    from soloist.domain.customers.records import CustomerCreate, add_customers_bulk

    with database.session() as session:
        ids = add_customers_bulk(
            session,
            [
                CustomerCreate(name="With phone", phone="+14155550123", country="US"),
                CustomerCreate(name="No phone", email="x@example.net"),
                CustomerCreate(name="No consent", phone="+14155550124", country="US"),
            ],
            ACTOR,
            "sms test",
        )
        for cid in ids[:2]:
            session.add(ConsentRecord(customer_id=cid, channel="sms", granted=True))
        save_list_segment(session, "everyone", ids, ACTOR)
    database.settings = Settings(
        **{**database.settings.model_dump(), "sms_outbox": tmp_path / "out.jsonl"}
    )
    campaign_id = _create(database, channel="sms")

    report = send_campaign(database, campaign_id, ACTOR)

    assert (report.status, report.sent) == ("sent", 1)
    lines = (tmp_path / "out.jsonl").read_text(encoding="utf-8").splitlines()
    assert [json.loads(x)["to"] for x in lines] == ["+14155550123"]
    with database.read_session() as session:
        results = campaign_results(session, campaign_id, "USD")
        reasons = dict(session.execute(select(Message.customer_id, Message.error)).all())
    assert results["suppressed_by_reason"] == {"no_address": 1, "no_consent": 1}
    assert reasons[ids[2]] == "no_consent"


def test_an_address_mail_cannot_carry_fails_that_message_only(
    mail_database: Database, smtp_server: SmtpServer
) -> None:
    from soloist.storage.models import Customer

    add_audience(mail_database, 3)
    with mail_database.session() as session:
        first = session.scalars(select(Customer).order_by(Customer.id)).first()
        assert first is not None
        first.email = "josé@example.net"  # accepted by the e-mail check, needs SMTPUTF8
    campaign_id = _create(mail_database)

    report = send_campaign(mail_database, campaign_id, ACTOR)

    assert (report.status, report.sent, report.failed) == ("sent", 2, 1)
    assert len(smtp_server.handler.messages()) == 2
