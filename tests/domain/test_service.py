"""Feedback, tickets, interactions and subscriptions through the domain layer."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest

from soloist.domain.audit import audit_trail
from soloist.domain.customers.records import CustomerCreate, create_customer
from soloist.domain.feedback import add_review, record_survey_response
from soloist.domain.interactions import log_interaction
from soloist.domain.service import (
    Desk,
    open_ticket,
    reply_to_ticket,
    set_ticket_status,
)
from soloist.domain.subscriptions import cancel_subscription, start_subscription
from soloist.errors import ConflictError, ValidationError
from soloist.storage.database import Database
from soloist.storage.models import Ticket


def test_survey_scores_must_be_on_the_scale(database: Database) -> None:
    with database.session() as session:
        customer_id = create_customer(session, CustomerCreate(name="Ada"), "t").id
        record_survey_response(session, "nps", 10, "t", customer_id=customer_id, comment="很好")
        record_survey_response(session, "csat", 1, "t", customer_id=customer_id)
        for kind, score in [("nps", 11), ("csat", 0), ("ces", 8)]:
            with pytest.raises(ValidationError, match=kind.upper()):
                record_survey_response(session, kind, score, "t")
        with pytest.raises(ValidationError, match="Unknown survey"):
            record_survey_response(session, "stars", 3, "t")
        with pytest.raises(ValidationError, match="rating"):
            add_review(session, 6, "t")


def test_ticket_times_first_response_and_resolution(database: Database) -> None:
    opened = dt.datetime(2025, 5, 1, 9, tzinfo=dt.UTC)
    with database.session() as session:
        desk = Desk.of(session, database.settings)
        ticket = open_ticket(
            session,
            desk,
            "Where is my order?",
            "It has been a week",
            "t",
            priority="high",
            opened_at=opened,
        )
        ticket_id = ticket.id
        # 2025-05-01 is a Thursday: the high priority's 8 business hours (09:00-17:00) end at
        # 17:00 the same day, the first response's 2 at 11:00.
        assert ticket.resolution_due_at == opened + dt.timedelta(hours=8)
        assert ticket.first_response_due_at == opened + dt.timedelta(hours=2)
        reply_to_ticket(
            session, desk, ticket_id, "On its way!", "user:1", at=opened + dt.timedelta(hours=2),
            status="open",
        )  # fmt: skip
        set_ticket_status(
            session, desk, ticket_id, "resolved", "user:1", at=opened + dt.timedelta(hours=5)
        )
    with database.session() as session:
        loaded = session.get(Ticket, ticket_id)
        assert loaded is not None
        assert loaded.first_response_at == opened + dt.timedelta(hours=2)
        assert loaded.resolved_at == opened + dt.timedelta(hours=5)
        assert [m.body for m in loaded.messages] == ["It has been a week", "On its way!"]
        actions = [e.action for e in audit_trail(session, "ticket", ticket_id)]
        assert actions == [
            "ticket.status_changed",  # open -> resolved
            "ticket.status_changed",  # new -> open, by answering
            "ticket.replied",
            "ticket.opened",
        ]


def test_interactions_need_a_known_channel(database: Database) -> None:
    with database.session() as session:
        customer_id = create_customer(session, CustomerCreate(name="Ada"), "t").id
        interaction = log_interaction(session, customer_id, "call", "t", body="Asked about decaf")
        assert interaction.body == "Asked about decaf"
        with pytest.raises(ValidationError, match="channel"):
            log_interaction(session, customer_id, "fax", "t")


def test_subscription_cancel_keeps_reason_and_refuses_twice(database: Database) -> None:
    with database.session() as session:
        customer_id = create_customer(session, CustomerCreate(name="Ada"), "t").id
        sub = start_subscription(
            session, customer_id, "Beans monthly", Decimal("19.00"), "usd", "t"
        )
        cancel_subscription(session, sub.id, "t", reason="too expensive")
        assert (sub.status, sub.cancel_reason, sub.price_minor) == (
            "cancelled",
            "too expensive",
            1900,
        )
        with pytest.raises(ConflictError):
            cancel_subscription(session, sub.id, "t")
