"""Support tickets: open, reply, change status; first response and resolution are timed."""

from __future__ import annotations

import datetime as dt

from sqlalchemy.orm import Session

from soloist.domain.audit import record_audit
from soloist.errors import NotFoundError, ValidationError
from soloist.storage.models import TICKET_PRIORITIES, TICKET_STATUSES, Ticket, TicketMessage

SLA_HOURS = {"urgent": 4, "high": 8, "normal": 24, "low": 72}


def open_ticket(
    session: Session,
    subject: str,
    body: str,
    actor: str,
    *,
    customer_id: int | None = None,
    priority: str = "normal",
    channel: str | None = "email",
    category: str | None = None,
    opened_at: dt.datetime | None = None,
) -> Ticket:
    if priority not in TICKET_PRIORITIES:
        raise ValidationError(
            f"Unknown priority {priority!r}; use one of {', '.join(TICKET_PRIORITIES)}.",
            field="priority",
        )
    if not subject.strip():
        raise ValidationError("A ticket needs a subject.", field="subject")
    opened = opened_at or dt.datetime.now(dt.UTC)
    ticket = Ticket(
        customer_id=customer_id,
        subject=subject.strip()[:255],
        priority=priority,
        channel=channel,
        category=category,
        status="open",
        opened_at=opened,
        resolution_due_at=opened + dt.timedelta(hours=SLA_HOURS[priority]),
        created_at=opened,
        updated_at=opened,
    )
    ticket.messages.append(TicketMessage(author_kind="customer", body=body, created_at=opened))
    session.add(ticket)
    session.flush()
    record_audit(session, actor, "ticket.opened", "ticket", ticket.id, {"priority": priority})
    return ticket


def _get_ticket(session: Session, ticket_id: int) -> Ticket:
    ticket = session.get(Ticket, ticket_id)
    if ticket is None:
        raise NotFoundError(f"No ticket with id {ticket_id}.", ticket_id=ticket_id)
    return ticket


def reply_to_ticket(
    session: Session,
    ticket_id: int,
    body: str,
    actor: str,
    *,
    user_id: int | None = None,
    at: dt.datetime | None = None,
) -> TicketMessage:
    ticket = _get_ticket(session, ticket_id)
    when = at or dt.datetime.now(dt.UTC)
    message = TicketMessage(author_kind="staff", user_id=user_id, body=body, created_at=when)
    ticket.messages.append(message)
    if ticket.first_response_at is None:
        ticket.first_response_at = when
    if ticket.status == "open":
        ticket.status = "pending"
    session.flush()
    record_audit(session, actor, "ticket.replied", "ticket", ticket.id, {})
    return message


def set_ticket_status(
    session: Session, ticket_id: int, status: str, actor: str, at: dt.datetime | None = None
) -> Ticket:
    if status not in TICKET_STATUSES:
        raise ValidationError(
            f"Unknown ticket status {status!r}; use one of {', '.join(TICKET_STATUSES)}.",
            field="status",
        )
    ticket = _get_ticket(session, ticket_id)
    if status != ticket.status:
        record_audit(
            session,
            actor,
            "ticket.status_changed",
            "ticket",
            ticket.id,
            {"status": [ticket.status, status]},
        )
        ticket.status = status
        if status in ("resolved", "closed") and ticket.resolved_at is None:
            ticket.resolved_at = at or dt.datetime.now(dt.UTC)
    return ticket


def list_tickets(
    session: Session,
    *,
    customer_id: int | None = None,
    status: str | None = None,
    priority: str | None = None,
    limit: int = 50,
    offset: int = 0,
) -> tuple[list[Ticket], int]:
    """Tickets, newest first, with optional filters; one page and the total count."""
    from sqlalchemy import func, select

    if status is not None and status not in TICKET_STATUSES:
        raise ValidationError(
            f"Unknown ticket status {status!r}; use one of {', '.join(TICKET_STATUSES)}.",
            field="status",
        )
    where = []
    if customer_id is not None:
        where.append(Ticket.customer_id == customer_id)
    if status is not None:
        where.append(Ticket.status == status)
    if priority is not None:
        where.append(Ticket.priority == priority)
    total = int(session.scalar(select(func.count(Ticket.id)).where(*where)) or 0)
    items = session.scalars(
        select(Ticket)
        .where(*where)
        .order_by(Ticket.opened_at.desc(), Ticket.id.desc())
        .limit(limit)
        .offset(offset)
    )
    return list(items), total
