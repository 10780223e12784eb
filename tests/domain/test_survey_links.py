"""Survey links in the domain, on SQLite, PostgreSQL and MariaDB: a token changed anywhere is
refused and writes nothing, an expired one says so, the first answer is kept against a second
and against a simultaneous one, an edit window, the dashboard's figures, the settings, and the
``survey-send`` job mailing a link once through a real SMTP server on loopback."""

from __future__ import annotations

import datetime as dt
import re
import threading
from collections.abc import Iterator
from typing import Any
from urllib.parse import urlsplit

import pytest
from sqlalchemy import func, insert, select
from tests.mailserver import SmtpServer

from soloist.config import Settings
from soloist.domain.customers import CustomerCreate, create_customer
from soloist.domain.dashboard import dashboard
from soloist.domain.jobs import JobContext, Worker
from soloist.domain.surveys import (
    SurveyAnsweredError,
    SurveyLinkExpiredError,
    SurveyLinkInvalidError,
    create_survey_link,
    make_survey_token,
    open_survey,
    queue_csat_for_resolved_ticket,
    resolve_survey_link,
    run_survey_send_job,
    save_survey_settings,
    submit_survey_answer,
    survey_key,
    survey_settings,
)
from soloist.errors import NotFoundError, SoloistError, ValidationError
from soloist.storage.crypto import Keyring, generate_master_key
from soloist.storage.database import Database
from soloist.storage.models import (
    ConsentRecord,
    Job,
    Suppression,
    SurveyLink,
    SurveyResponse,
    Ticket,
)
from soloist.storage.retry import run_in_transaction

ACTOR = "test"
PUBLIC_URL = "https://crm.coffee.example"
NOW = dt.datetime(2026, 3, 2, 9, 30, tzinfo=dt.UTC)
URL_SAFE = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"


def add_customer(
    database: Database,
    name: str = "Cleo Brown",
    email: str | None = "cleo@example.net",
    language: str | None = "en",
) -> int:
    with database.session() as session:
        data = CustomerCreate(name=name, email=email, language=language)
        return create_customer(session, data, ACTOR).id


def add_ticket(database: Database, customer_id: int, subject: str = "The grinder is loud") -> int:
    with database.session() as session:
        ticket = Ticket(customer_id=customer_id, subject=subject, status="resolved", opened_at=NOW)
        session.add(ticket)
        session.flush()
        return ticket.id


def make_link(database: Database, customer_id: int, kind: str = "csat", **options: Any) -> str:
    """A new link's token."""
    with database.session() as session:
        _, url = create_survey_link(
            session,
            database.keyring,
            PUBLIC_URL,
            customer_id=customer_id,
            kind=kind,
            actor=ACTOR,
            now=options.pop("now", NOW),
            **options,
        )
    return url.rsplit("/", 1)[1]


def submit(database: Database, token: str, score: int | str, **options: Any) -> SurveyResponse:
    options.setdefault("now", NOW + dt.timedelta(hours=1))
    return run_in_transaction(
        database, lambda s: submit_survey_answer(s, database.keyring, token, score, **options)
    )


def count_responses(database: Database) -> int:
    with database.read_session() as session:
        return int(session.scalar(select(func.count(SurveyResponse.id))) or 0)


def changed_tokens(token: str) -> Iterator[str]:
    """The token with one character changed, at each position in turn."""
    for i, char in enumerate(token):
        other = URL_SAFE[(URL_SAFE.index(char) + 1) % len(URL_SAFE)] if char in URL_SAFE else "A"
        yield token[:i] + other + token[i + 1 :]


# --- tokens and links --------------------------------------------------------------------------


def test_a_link_keeps_only_the_hash_of_its_secret_and_its_url_ends_with_the_token(
    sqlite_database: Database,
) -> None:
    customer = add_customer(sqlite_database)
    with sqlite_database.session() as session:
        link, url = create_survey_link(
            session,
            sqlite_database.keyring,
            PUBLIC_URL + "/",
            customer_id=customer,
            kind="nps",
            actor=ACTOR,
            now=NOW,
        )
        link_id, secret_hash, expires_at = link.id, link.secret_hash, link.expires_at
    parts = urlsplit(url)
    assert f"{parts.scheme}://{parts.netloc}" == PUBLIC_URL
    assert re.fullmatch(r"/s/[A-Za-z0-9_.-]+", parts.path)
    token = parts.path.removeprefix("/s/")
    number, secret, _signature = token.split(".")
    assert int(number) == link_id
    assert re.fullmatch(r"[0-9a-f]{64}", secret_hash)
    assert secret not in secret_hash
    assert secret not in url.replace(token, "")
    assert expires_at == NOW + dt.timedelta(days=30)  # the settings' default


def test_a_token_changed_in_any_one_character_is_refused_and_writes_nothing(
    database: Database,
) -> None:
    token = make_link(database, add_customer(database))
    for changed in changed_tokens(token):
        with pytest.raises(SurveyLinkInvalidError), database.session() as session:
            submit_survey_answer(session, database.keyring, changed, 4, now=NOW)
    assert count_responses(database) == 0
    assert submit(database, token, 4).score == 4  # the genuine token still works


def test_a_token_signed_with_another_key_or_carrying_another_secret_is_refused(
    database: Database,
) -> None:
    token = make_link(database, add_customer(database))
    number, secret, _ = token.split(".")
    strange = Keyring.from_master_key(generate_master_key())
    other_secret = ("B" if secret[0] == "A" else "A") + secret[1:]
    forged = [
        make_survey_token(strange, int(number), secret),  # another workspace's key
        # our key, but not the secret the row was made with (a leaked key alone forges nothing)
        make_survey_token(database.keyring, int(number), other_secret),
        make_survey_token(database.keyring, int(number) + 1, secret),  # no such link
        "",
        "1..",
        token + ".",
        token.upper(),
    ]
    with database.read_session() as session:
        for candidate in forged:
            with pytest.raises(SurveyLinkInvalidError):
                resolve_survey_link(session, database.keyring, candidate, NOW)


def test_an_expired_link_says_it_has_expired_and_takes_no_answer(database: Database) -> None:
    customer = add_customer(database, language="zh-CN")
    token = make_link(database, customer, expires_in=dt.timedelta(days=2))
    later = NOW + dt.timedelta(days=2)
    with database.read_session() as session, pytest.raises(SurveyLinkExpiredError) as raised:
        open_survey(session, database.keyring, token, later)
    assert raised.value.http_status == 410
    assert raised.value.details["language"] == "zh-CN"
    with pytest.raises(SurveyLinkExpiredError):
        submit(database, token, 5, now=later)
    assert count_responses(database) == 0


def test_create_refuses_an_unknown_kind_customer_or_occasion_naming_the_field(
    database: Database,
) -> None:
    cleo = add_customer(database)
    dan = add_customer(database, "Dan Ng", "dan@example.net")
    dans_ticket = add_ticket(database, dan)
    cases: list[tuple[dict[str, Any], type[SoloistError], str]] = [
        ({"customer_id": cleo, "kind": "stars"}, ValidationError, "kind"),
        ({"customer_id": 999_999, "kind": "nps"}, NotFoundError, "customer_id"),
        (
            {"customer_id": cleo, "kind": "csat", "ticket_id": dans_ticket},
            ValidationError,
            "ticket_id",
        ),
        ({"customer_id": cleo, "kind": "csat", "ticket_id": 999_999}, NotFoundError, "ticket_id"),
        ({"customer_id": cleo, "kind": "csat", "order_id": 999_999}, NotFoundError, "order_id"),
    ]
    for fields, error, field in cases:
        with pytest.raises(error) as raised, database.session() as session:
            create_survey_link(session, database.keyring, PUBLIC_URL, actor=ACTOR, **fields)
        assert raised.value.details["field"] == field
    with database.read_session() as session:
        assert session.scalar(select(func.count(SurveyLink.id))) == 0


# --- answers -----------------------------------------------------------------------------------


def test_a_second_answer_is_refused_and_the_first_is_kept(database: Database) -> None:
    customer = add_customer(database)
    ticket = add_ticket(database, customer)
    token = make_link(database, customer, ticket_id=ticket)
    first = submit(database, token, 5, comment="Quick and kind.", language="en")
    with pytest.raises(SurveyAnsweredError) as raised:
        submit(database, token, 1, comment="Changed my mind")
    assert raised.value.http_status == 409
    with database.read_session() as session:
        (kept,) = session.scalars(select(SurveyResponse)).all()
        assert (kept.id, kept.score, kept.comment) == (first.id, 5, "Quick and kind.")
        assert (kept.kind, kept.customer_id, kept.ticket_id) == ("csat", customer, ticket)
        assert kept.updated_at is None
        question = open_survey(session, database.keyring, token, NOW + dt.timedelta(hours=2))
    assert (question.answered, question.editable_until, question.score) == (True, None, 5)


def test_an_answer_can_be_changed_within_the_edit_window_only(database: Database) -> None:
    token = make_link(database, add_customer(database), kind="nps", edit_minutes=30)
    answered = NOW + dt.timedelta(hours=1)
    submit(database, token, 6, now=answered)
    changed = submit(database, token, 9, comment="Better now", now=answered.replace(minute=59))
    assert (changed.score, changed.comment) == (9, "Better now")
    assert changed.updated_at == answered.replace(minute=59)
    with pytest.raises(SurveyAnsweredError):
        submit(database, token, 2, now=answered + dt.timedelta(minutes=30))
    with database.read_session() as session:
        (kept,) = session.scalars(select(SurveyResponse)).all()
        assert (kept.score, kept.responded_at) == (9, answered)


def test_two_answers_at_the_same_moment_make_one_response(database: Database) -> None:
    token = make_link(database, add_customer(database), kind="ces")
    barrier = threading.Barrier(2)
    outcomes: list[str] = []

    def answer(score: int) -> None:
        barrier.wait()
        try:
            submit(database, token, score)
            outcomes.append("recorded")
        except SurveyAnsweredError:
            outcomes.append("refused")

    threads = [threading.Thread(target=answer, args=(score,)) for score in (2, 6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert sorted(outcomes) == ["recorded", "refused"]
    assert count_responses(database) == 1


@pytest.mark.parametrize(
    ("kind", "score"),
    [("nps", 11), ("nps", -1), ("csat", 0), ("csat", 6), ("ces", 8), ("ces", "7.5"), ("nps", "")],
)
def test_a_score_off_the_scale_is_refused(
    sqlite_database: Database, kind: str, score: int | str
) -> None:
    token = make_link(sqlite_database, add_customer(sqlite_database), kind=kind)
    with pytest.raises(ValidationError) as raised:
        submit(sqlite_database, token, score)
    assert raised.value.details["field"] == "score"
    assert count_responses(sqlite_database) == 0


def test_answers_show_on_the_dashboard_at_once(sqlite_database: Database) -> None:
    database = sqlite_database
    customer = add_customer(database)
    with database.read_session() as session:
        before = dashboard(session, "USD")
    assert (before.csat_responses, before.nps_responses, before.ces_responses) == (0, 0, 0)
    now = dt.datetime.now(dt.UTC)
    for kind, score in (("csat", 4), ("nps", 10), ("ces", 6)):
        token = make_link(database, customer, kind=kind, now=now)
        submit(database, token, score, now=now)
    with database.read_session() as session:
        after = dashboard(session, "USD")  # cached per data version: an answer is audited
    assert (after.csat, after.csat_responses) == (4.0, 1)
    assert (after.nps, after.nps_responses) == (100.0, 1)
    assert (after.ces, after.ces_responses) == (6.0, 1)


def test_survey_settings_are_validated_and_kept(database: Database) -> None:
    with database.session() as session:
        assert survey_settings(session).model_dump() == {
            "expiry_days": 30,
            "edit_minutes": 0,
            "csat_on_resolve": True,
        }
        save_survey_settings(session, ACTOR, expiry_days=7, edit_minutes=60)
    for wrong in ({"expiry_days": 0}, {"edit_minutes": -5}, {"colour": "red"}):
        with pytest.raises(ValidationError), database.session() as session:
            save_survey_settings(session, ACTOR, **wrong)
    customer = add_customer(database)
    with database.session() as session:
        assert survey_settings(session).expiry_days == 7
        link, _ = create_survey_link(
            session,
            database.keyring,
            PUBLIC_URL,
            customer_id=customer,
            kind="csat",
            actor=ACTOR,
            now=NOW,
        )
        assert (link.expires_at, link.edit_minutes) == (NOW + dt.timedelta(days=7), 60)


def test_the_survey_key_is_kept_apart_from_the_message_links_key(database: Database) -> None:
    assert survey_key(database.keyring) != database.keyring.link_key
    assert survey_key(database.keyring) == survey_key(database.keyring)


# --- sending -----------------------------------------------------------------------------------


@pytest.fixture
def smtp_server() -> Iterator[SmtpServer]:
    with SmtpServer() as server:
        yield server


@pytest.fixture
def mail_database(database: Database, smtp_server: SmtpServer) -> Database:
    """The workspace database, sending through the loopback SMTP server."""
    values = {k.removeprefix("SOLOIST_").lower(): v for k, v in smtp_server.environ.items()}
    database.settings = Settings(**{**database.settings.model_dump(), **values})
    return database


def _queue_for_resolved(database: Database, ticket_id: int) -> int | None:
    with database.session() as session:
        ticket = session.get(Ticket, ticket_id)
        assert ticket is not None
        job = queue_csat_for_resolved_ticket(session, ticket, dt.datetime.now(dt.UTC))
        return job.id if job is not None else None


def test_a_resolved_ticket_mails_one_csat_link_and_a_second_run_sends_nothing(
    mail_database: Database, smtp_server: SmtpServer
) -> None:
    database = mail_database
    customer = add_customer(database, "王小明", "xiaoming@example.cn", "zh-CN")
    ticket = add_ticket(database, customer, "磨豆机声音很大")
    job_id = _queue_for_resolved(database, ticket)
    assert job_id is not None
    assert _queue_for_resolved(database, ticket) == job_id
    outcome = Worker(database, send_campaigns=False).run_one()
    assert outcome is not None
    assert outcome.status == "done", outcome
    (received,) = smtp_server.handler.messages()
    assert received.rcpt_tos == ["xiaoming@example.cn"]
    mail = received.message
    assert mail["Subject"] == "您对我们的服务满意吗？"
    text = mail.get_content()
    assert "关于“磨豆机声音很大”" in text
    (url,) = re.findall(r"https://\S+", text)
    assert url.startswith(f"{PUBLIC_URL}/s/")
    token = url.rsplit("/", 1)[1]
    with database.read_session() as session:
        question = open_survey(session, database.keyring, token)
        (link,) = session.scalars(select(SurveyLink)).all()
        assert (question.kind, question.ticket_subject) == ("csat", "磨豆机声音很大")
        assert link.sent_at is not None
        assert link.ticket_id == ticket
        job = session.get(Job, job_id)
        assert job is not None
        assert token not in str(job.result)
    # The worker may run a job twice (at least once): the second run sends nothing.
    with database.session() as session:
        again = run_survey_send_job(
            JobContext(
                session=session,
                settings=database.settings,
                job_id=job_id,
                kind="survey-send",
                payload={"customer_id": customer, "kind": "csat", "ticket_id": ticket},
                attempt=2,
                worker_id="w2",
                now=dt.datetime.now(dt.UTC),
                database=database,
            )
        )
    assert again == {"skipped": "already_sent"}
    assert len(smtp_server.handler.messages()) == 1


def test_a_survey_skips_a_bounced_address_but_not_a_campaign_unsubscribe(
    mail_database: Database, smtp_server: SmtpServer
) -> None:
    database = mail_database
    bounced = add_customer(database, "Bo Unce", "bo@example.net")
    unsubscribed = add_customer(database, "Una Sub", "una@example.net")
    with database.session() as session:
        from soloist.domain.customers import find_customer_by_email

        bo = find_customer_by_email(session, "bo@example.net")
        assert bo is not None
        assert bo.email_hash
        session.add(
            Suppression(
                channel="email",
                address_hash=bo.email_hash,
                reason="hard_bounce",
                customer_id=bounced,
                source="test",
            )
        )
        session.execute(
            insert(ConsentRecord),
            [
                {
                    "customer_id": unsubscribed,
                    "channel": "email",
                    "granted": False,
                    "source": "unsubscribe",
                    "recorded_at": NOW,
                }
            ],
        )
    tickets = [add_ticket(database, bounced), add_ticket(database, unsubscribed)]
    for ticket in tickets:
        assert _queue_for_resolved(database, ticket) is not None
    worker = Worker(database, send_campaigns=False)
    outcomes = [worker.run_one(), worker.run_one()]
    assert [o.status for o in outcomes if o is not None] == ["done", "done"]
    assert [r.rcpt_tos for r in smtp_server.handler.messages()] == [["una@example.net"]]
    english = smtp_server.handler.messages()[0].message
    assert english["Subject"] == "How did we do?"
    assert "the help you got with “The grinder is loud”" in english.get_content()


def test_no_csat_is_queued_when_the_setting_is_off_or_there_is_no_address(
    sqlite_database: Database,
) -> None:
    database = sqlite_database
    with_address = add_ticket(database, add_customer(database))
    without = add_ticket(database, add_customer(database, "No Mail", None))
    assert _queue_for_resolved(database, without) is None
    with database.session() as session:
        save_survey_settings(session, ACTOR, csat_on_resolve=False)
    assert _queue_for_resolved(database, with_address) is None
    with database.read_session() as session:
        assert session.scalar(select(func.count(Job.id))) == 0
