"""A ticket's life through the domain: transitions, replies mailed by the worker to a real SMTP
server on loopback, e-mail filed into its thread, merging, and the breach counts."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator

import pytest
from tests.mailserver import SmtpServer

from soloist.config import Settings
from soloist.domain.customers import CustomerCreate, create_customer
from soloist.domain.jobs import Worker
from soloist.domain.service import (
    BusinessCalendar,
    Desk,
    InboundMail,
    list_tickets,
    merge_tickets,
    open_ticket,
    queue_reply,
    receive_mail,
    reply_to_ticket,
    set_ticket_priority,
    set_ticket_status,
    sla_state,
    sla_summary,
)
from soloist.errors import ConflictError, ValidationError
from soloist.storage.database import Database
from soloist.storage.models import Ticket, TicketStatusChange
from soloist.storage.types import utcnow

T0 = dt.datetime(2026, 12, 7, 9, 0, tzinfo=dt.UTC)  # a Monday
ALWAYS = Desk(BusinessCalendar.always())


@pytest.fixture
def smtp_server() -> Iterator[SmtpServer]:
    with SmtpServer() as server:
        yield server


@pytest.fixture
def mail_database(database: Database, smtp_server: SmtpServer) -> Database:
    values = {k.removeprefix("SOLOIST_").lower(): v for k, v in smtp_server.environ.items()}
    database.settings = Settings(**{**database.settings.model_dump(), **values})
    return database


def _customer(database: Database, email: str = "bo@example.com") -> int:
    with database.session() as session:
        return create_customer(session, CustomerCreate(name="Bo Chen", email=email), "t").id


def test_statuses_move_only_along_the_allowed_transitions(database: Database) -> None:
    customer_id = _customer(database)
    with database.session() as session:
        ticket = open_ticket(session, ALWAYS, "Refund?", "Please.", "t", customer_id=customer_id,
                             opened_at=T0)  # fmt: skip
        assert ticket.status == "new"
        set_ticket_status(session, ALWAYS, ticket.id, "pending", "t", at=T0)
        set_ticket_status(session, ALWAYS, ticket.id, "closed", "t", at=T0)
        with pytest.raises(ConflictError, match="cannot become open"):
            set_ticket_status(session, ALWAYS, ticket.id, "open", "t")
        with pytest.raises(ValidationError, match="Unknown ticket status 'solved'"):
            set_ticket_status(session, ALWAYS, ticket.id, "solved", "t")
        history = [
            (c.from_status, c.to_status)
            for c in session.query(TicketStatusChange).order_by(TicketStatusChange.id)
        ]
        assert history == [(None, "new"), ("new", "pending"), ("pending", "closed")]


def test_a_staff_reply_is_mailed_once_by_the_worker_and_the_answer_joins_the_thread(
    mail_database: Database, smtp_server: SmtpServer
) -> None:
    customer_id = _customer(mail_database)
    with mail_database.session() as session:
        ticket = open_ticket(session, ALWAYS, "Where is my order?", "Order 12 is late.", "t",
                             customer_id=customer_id, opened_at=T0)  # fmt: skip
        reply = reply_to_ticket(session, ALWAYS, ticket.id, "It ships today.", "user:1",
                                at=T0 + dt.timedelta(minutes=30))  # fmt: skip
        assert queue_reply(session, mail_database.settings, reply, utcnow()) == "queued"
        ticket_id, reply_id = ticket.id, reply.message_id
        assert ticket.status == "pending"
        assert ticket.first_response_at is not None
    worker = Worker(mail_database, send_campaigns=False)
    while worker.run_one() is not None:
        pass
    sent = smtp_server.handler.messages()
    assert len(sent) == 1
    mail = sent[0].message
    assert mail["To"] == "Bo Chen <bo@example.com>"
    assert mail["Subject"] == f"Re: Where is my order? [#{ticket_id}]"
    assert mail["Message-ID"] == reply_id
    assert "It ships today." in mail.get_content()
    assert "List-Unsubscribe" not in mail  # service mail, not marketing
    # The customer answers the mail: the reply finds its ticket and opens it again.
    with mail_database.session() as session:
        answer = InboundMail("bo@example.com", "Bo", f"Re: Where is my order? [#{ticket_id}]",
                             "Thanks!", "<a1@example.com>", (reply_id,),
                             T0 + dt.timedelta(hours=2))  # fmt: skip
        filed, wrote = receive_mail(session, ALWAYS, answer, "mail")
        assert (filed.id, wrote, filed.status) == (ticket_id, True, "open")
        again, wrote = receive_mail(session, ALWAYS, answer, "mail")
        assert (again.id, wrote) == (ticket_id, False)
        assert [m.body for m in filed.messages] == [
            "Order 12 is late.",
            "It ships today.",
            "Thanks!",
        ]


def test_a_subject_tag_from_a_stranger_does_not_reach_someone_elses_ticket(
    database: Database,
) -> None:
    customer_id = _customer(database)
    with database.session() as session:
        ticket = open_ticket(session, ALWAYS, "Invoice", "Need it.", "t", customer_id=customer_id)
        stranger = InboundMail("eve@example.com", "Eve", f"Re: Invoice [#{ticket.id}]",
                               "Let me in", "<e1@example.com>", (), T0)  # fmt: skip
        filed, _ = receive_mail(session, ALWAYS, stranger, "mail")
        assert filed.id != ticket.id
        assert filed.subject == "Invoice"
        assert filed.customer_id != customer_id


def test_an_internal_note_is_neither_a_response_nor_mailed(mail_database: Database) -> None:
    customer_id = _customer(mail_database)
    with mail_database.session() as session:
        ticket = open_ticket(session, ALWAYS, "Broken", "Help", "t", customer_id=customer_id)
        note = reply_to_ticket(session, ALWAYS, ticket.id, "Check the batch", "u", internal=True)
        assert queue_reply(session, mail_database.settings, note, T0) == "internal"
        assert (ticket.status, ticket.first_response_at) == ("new", None)


def test_merging_moves_the_messages_and_closes_the_duplicate(database: Database) -> None:
    customer_id, other = _customer(database), _customer(database, "al@example.com")
    with database.session() as session:
        first = open_ticket(session, ALWAYS, "Login", "Cannot log in", "t", customer_id=customer_id,
                            opened_at=T0)  # fmt: skip
        later = T0 + dt.timedelta(hours=1)
        second = open_ticket(session, ALWAYS, "Login again", "Still no", "t",
                             customer_id=customer_id, opened_at=later)  # fmt: skip
        foreign = open_ticket(session, ALWAYS, "Other", "x", "t", customer_id=other)
        with pytest.raises(ConflictError, match="different customers"):
            merge_tickets(session, ALWAYS, foreign.id, first.id, "t")
        target = merge_tickets(session, ALWAYS, second.id, first.id, "t",
                               at=T0 + dt.timedelta(hours=2))  # fmt: skip
        session.expire_all()
        duplicate = session.get(Ticket, second.id)
        assert duplicate is not None
        assert (duplicate.status, duplicate.merged_into_id) == ("closed", first.id)
        assert [m.body for m in target.messages] == ["Cannot log in", "Still no"]


def test_the_dashboard_counts_breached_and_nearly_due_tickets(database: Database) -> None:
    customer_id = _customer(database)
    with database.session() as session:
        late = open_ticket(session, ALWAYS, "Late", "x", "t", customer_id=customer_id,
                           priority="urgent", opened_at=T0)  # fmt: skip
        open_ticket(session, ALWAYS, "Soon", "x", "t", customer_id=customer_id,
                    priority="urgent", opened_at=T0 + dt.timedelta(minutes=150))  # fmt: skip
        waiting = open_ticket(session, ALWAYS, "Waiting", "x", "t", customer_id=customer_id,
                              priority="urgent", opened_at=T0)  # fmt: skip
        set_ticket_status(session, ALWAYS, waiting.id, "pending", "t", at=T0)
        # urgent: a first response within 60 minutes, a resolution within 240.
        now = T0 + dt.timedelta(minutes=200)
        summary = sla_summary(session, now)
        # "Late" missed its first response (due 10:00); "Soon"'s is due 12:30, within the hour;
        # "Waiting" stands still.
        assert (summary.active, summary.new, summary.breached, summary.due_soon) == (3, 2, 1, 1)
        reply_to_ticket(session, ALWAYS, late.id, "On it", "u", at=now, status="open")
        # Answered late; its resolution is due 13:00, within the hour. "Soon" is now late.
        summary = sla_summary(session, T0 + dt.timedelta(minutes=215))
        assert (summary.breached, summary.due_soon) == (1, 1)


def test_a_breach_gives_one_task_per_rule_however_often_the_worker_looks(
    database: Database,
) -> None:
    from soloist.domain.sales import add_task_rule
    from soloist.domain.service import create_breach_tasks
    from soloist.storage.models import Task

    customer_id = _customer(database)
    with database.session() as session:
        add_task_rule(session, {"kind": "sla_breach", "title": "Answer the late ticket"}, "t",
                      now=T0 - dt.timedelta(days=1))  # fmt: skip
        ticket = open_ticket(session, ALWAYS, "Late", "x", "t", customer_id=customer_id,
                             priority="urgent", opened_at=T0)  # fmt: skip
        ticket_id = ticket.id
    assert create_breach_tasks(database, "t", T0 + dt.timedelta(minutes=59)) == 0
    assert create_breach_tasks(database, "t", T0 + dt.timedelta(minutes=61)) == 1
    assert create_breach_tasks(database, "t", T0 + dt.timedelta(minutes=90)) == 0
    # Past its resolution too: a second task, for the second target.
    assert create_breach_tasks(database, "t", T0 + dt.timedelta(hours=5)) == 1
    with database.read_session() as session:
        tasks = session.query(Task).order_by(Task.id).all()
        assert [(t.ticket_id, t.customer_id, t.title) for t in tasks] == [
            (ticket_id, customer_id, "Answer the late ticket")
        ] * 2


def test_a_ticket_that_missed_its_target_stays_counted_as_breached(database: Database) -> None:
    """Reopened after its minutes ran out, or raised to a priority whose target it has already
    used up: a running ticket past its target is in every breach count."""
    customer_id = _customer(database)
    minutes = lambda n: T0 + dt.timedelta(minutes=n)  # noqa: E731
    with database.session() as session:
        reopened = open_ticket(session, ALWAYS, "Reopened", "x", "t", customer_id=customer_id,
                               priority="urgent", opened_at=T0)  # fmt: skip
        reply_to_ticket(session, ALWAYS, reopened.id, "Try this", "u", at=minutes(10))
        set_ticket_status(session, ALWAYS, reopened.id, "open", "t", at=minutes(20))
        set_ticket_status(session, ALWAYS, reopened.id, "pending", "t", at=minutes(400))
        set_ticket_status(session, ALWAYS, reopened.id, "open", "t", at=minutes(410))
        raised = open_ticket(session, ALWAYS, "Raised", "x", "t", customer_id=customer_id,
                             priority="low", opened_at=T0)  # fmt: skip
        reply_to_ticket(session, ALWAYS, raised.id, "Looking", "u", at=minutes(5), status="open")
        set_ticket_status(session, ALWAYS, raised.id, "pending", "t", at=minutes(300))
        set_ticket_priority(session, ALWAYS, raised.id, "urgent", "t")
        set_ticket_status(session, ALWAYS, raised.id, "open", "t", at=minutes(310))
        now = minutes(420)
        late, _ = list_tickets(session, breached_at=now)
        assert {t.id for t in late} == {reopened.id, raised.id}
        assert sla_summary(session, now).breached == 2
        for ticket in (reopened, raised):
            assert sla_state(ticket, ALWAYS.calendar, now)[1].state == "breached"
            assert ticket.resolution_due_at is not None
            assert ticket.resolution_due_at <= now


def test_a_first_response_given_while_the_clock_stood_stays_met(database: Database) -> None:
    customer_id = _customer(database)
    with database.session() as session:
        ticket = open_ticket(session, ALWAYS, "Quick", "x", "t", customer_id=customer_id,
                             priority="urgent", opened_at=T0)  # fmt: skip
        set_ticket_status(
            session, ALWAYS, ticket.id, "pending", "t", at=T0 + dt.timedelta(minutes=10)
        )
        reply_to_ticket(session, ALWAYS, ticket.id, "Here", "u", at=T0 + dt.timedelta(minutes=20),
                        status="pending")  # fmt: skip
        set_ticket_status(session, ALWAYS, ticket.id, "open", "t", at=T0 + dt.timedelta(minutes=30))
        later = T0 + dt.timedelta(minutes=150)
        set_ticket_status(session, ALWAYS, ticket.id, "pending", "t", at=later)
        first, _ = sla_state(ticket, ALWAYS.calendar, later)
        assert first.state == "met"
