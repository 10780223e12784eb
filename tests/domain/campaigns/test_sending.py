"""Sending a campaign over a real SMTP server on loopback, on every database."""

from __future__ import annotations

import datetime as dt
import sqlite3

from sqlalchemy import select
from tests.domain.campaigns.builders import ACTOR, BODY_EN, BODY_ZH, add_audience
from tests.mailserver import SmtpServer

from soloist.domain.campaigns import (
    campaign_results,
    create_campaign,
    send_campaign,
    set_content,
)
from soloist.storage.database import Database
from soloist.storage.models import CustomerScore, Message, ModelRun, Suppression


def _campaign(database: Database, segment: str = "everyone") -> int:
    with database.session() as session:
        campaign = create_campaign(
            session,
            name="Spring beans",
            segment=segment,
            subject="{{ customer.first_name }}, new beans are in",
            body=BODY_EN,
            actor=ACTOR,
        )
        set_content(session, campaign.id, "zh-CN", "{{ customer.name }}，新豆到了", BODY_ZH, ACTOR)
        return campaign.id


def test_each_consenting_customer_gets_one_message_in_their_language(
    mail_database: Database, smtp_server: SmtpServer
) -> None:
    add_audience(mail_database, 30, consent_every=3, chinese_every=2)
    campaign_id = _campaign(mail_database)

    report = send_campaign(mail_database, campaign_id, ACTOR)

    received = smtp_server.handler.messages()
    consenting = {f"c{i}@example.net" for i in range(30) if i % 3 == 0}
    assert report.status == "sent"
    assert sorted(r.rcpt_tos[0] for r in received) == sorted(consenting)
    with mail_database.read_session() as session:
        rows = {m.recipient: m for m in session.scalars(select(Message))}
    for item in received:
        mail = item.message
        row = rows[item.rcpt_tos[0]]
        assert mail["Message-ID"] == row.message_id
        unsubscribe = mail["List-Unsubscribe"]
        assert unsubscribe.startswith("<https://crm.coffee.example/u/")
        assert mail["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
        index = int(item.rcpt_tos[0].split("@")[0][1:])
        html = mail.get_body(("html",)).get_content()
        text = mail.get_body(("plain",)).get_content()
        if index % 2 == 0:
            assert mail["Subject"] == f"客户{index}，新豆到了"
            assert "您有 0 积分" in html
        else:
            assert mail["Subject"] == "Cleo, new beans are in"
            assert "Hello Cleo," in text
        # links go through the click counter; the unsubscribe link stays as it is
        assert "https://coffee.example/beans" not in html
        assert "https://crm.coffee.example/c/" in html
        assert unsubscribe.strip("<>") in html
        assert "https://crm.coffee.example/o/" in html  # the open pixel
    results = _results(mail_database, campaign_id)
    assert results["recipients"] == 30
    assert results["sent"] == len(consenting)
    assert results["suppressed"] == 30 - len(consenting)
    assert results["suppressed_by_reason"] == {"no_consent": 30 - len(consenting)}


def test_a_refused_address_is_a_hard_bounce_and_a_busy_one_is_tried_again_later(
    mail_database: Database, smtp_server: SmtpServer
) -> None:
    add_audience(mail_database, 5)
    smtp_server.handler.refuse["c1@example.net"] = "550 5.1.1 <c1@example.net>: no such user"
    smtp_server.handler.refuse["c2@example.net"] = "451 4.7.1 try again later"
    campaign_id = _campaign(mail_database)
    start = dt.datetime(2026, 12, 5, 12, tzinfo=dt.UTC)

    report = send_campaign(mail_database, campaign_id, ACTOR, clock=lambda: start)

    assert (report.sent, report.bounced, report.retry_later) == (3, 1, 1)
    assert report.status == "sending"  # one message still waits for its retry
    assert report.next_retry_at == start + dt.timedelta(minutes=1)
    del smtp_server.handler.refuse["c2@example.net"]
    later = start + dt.timedelta(minutes=2)
    report = send_campaign(mail_database, campaign_id, ACTOR, clock=lambda: later)
    assert (report.sent, report.status) == (1, "sent")
    with mail_database.read_session() as session:
        suppressed = session.scalars(select(Suppression)).all()
        assert [(s.reason, s.source) for s in suppressed] == [("hard_bounce", "smtp")]

    # The bounced address is left out of the next campaign.
    second = _campaign(mail_database)
    send_campaign(mail_database, second, ACTOR, clock=lambda: later)
    results = _results(mail_database, second)
    assert results["suppressed_by_reason"] == {"hard_bounce": 1}
    assert results["sent"] == 4
    recipients = [r.rcpt_tos[0] for r in smtp_server.handler.messages()]
    assert recipients.count("c1@example.net") == 0
    assert recipients.count("c2@example.net") == 2


def _results(database: Database, campaign_id: int) -> dict:
    with database.read_session() as session:
        return campaign_results(session, campaign_id, "USD")


def test_results_by_segment_count_each_recipient_in_their_current_segment(
    mail_database: Database, smtp_server: SmtpServer
) -> None:
    """The recipients' segments are joined in the database (a list of every recipient's id in
    one statement failed past SQLite's 250,000 values); an older segment run does not count."""
    ids = add_audience(mail_database, 30)
    campaign_id = _campaign(mail_database)
    send_campaign(mail_database, campaign_id, ACTOR)
    with mail_database.session() as session:
        for _ in range(2):  # the second run is the current one
            run = ModelRun(
                kind="segments",
                status="succeeded",
                finished_at=dt.datetime.now(dt.UTC),
                params={},
                metrics={},
            )
            session.add(run)
            session.flush()
            label = "champions" if run.id % 2 else "new"
            session.add_all(
                CustomerScore(
                    model_run_id=run.id,
                    customer_id=cid,
                    reasons={},
                    segment=label if n < 20 else "at risk",
                )
                for n, cid in enumerate(ids[:25])
            )
        current = label

    with mail_database.read_session() as session:
        raw = session.connection().connection.driver_connection
        if isinstance(raw, sqlite3.Connection):
            raw.setlimit(sqlite3.SQLITE_LIMIT_VARIABLE_NUMBER, 20)  # fewer than the recipients
        try:
            by_segment = campaign_results(session, campaign_id, "USD")["by_segment"]
        finally:
            if isinstance(raw, sqlite3.Connection):
                raw.setlimit(sqlite3.SQLITE_LIMIT_VARIABLE_NUMBER, 250_000)

    assert {name: group["sent"] for name, group in by_segment.items()} == {
        current: 20,
        "at risk": 5,
        "unscored": 5,
    }
