"""Support tickets: opened from the web, the API, the command line or an e-mail; a thread of
messages; statuses with checked transitions; SLA clocks (:mod:`.sla`); merging of duplicates.

Statuses: ``new`` (nobody has looked yet), ``open``, ``pending`` (waiting on the customer: the
clock stops), ``resolved`` (the customer may still answer, which opens it again) and ``closed``
(final: a later message from the customer starts a new ticket).
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import false, func, or_, select, update
from sqlalchemy.orm import Session
from sqlalchemy.sql.elements import ColumnElement

from soloist.config import Settings
from soloist.domain.audit import record_audit
from soloist.domain.service import sla
from soloist.domain.service.business_time import BusinessCalendar
from soloist.domain.service.settings import service_calendar
from soloist.errors import ConflictError, NotFoundError, ValidationError
from soloist.storage.models import (
    TICKET_PRIORITIES,
    TICKET_STATUSES,
    Customer,
    Ticket,
    TicketMessage,
    TicketStatusChange,
)
from soloist.storage.search_tokens import forget_records, index_records, matching_records
from soloist.storage.types import utcnow

TRANSITIONS: dict[str, frozenset[str]] = {
    "new": frozenset({"open", "pending", "resolved", "closed"}),
    "open": frozenset({"pending", "resolved", "closed"}),
    "pending": frozenset({"open", "resolved", "closed"}),
    "resolved": frozenset({"open", "closed"}),
    "closed": frozenset(),
}
ACTIVE = ("new", "open", "pending")
SUBJECT_TAG = re.compile(r"\[#(\d{1,12})\]")


@dataclass(frozen=True)
class Desk:
    """What every ticket change needs besides the session: the calendar the clocks count in,
    and the workspace settings (whether mail can go out, for the CSAT survey on resolving)."""

    calendar: BusinessCalendar
    settings: Settings | None = None

    @classmethod
    def of(cls, session: Session, settings: Settings) -> Desk:
        return cls(service_calendar(session, settings.timezone), settings)


def _check_priority(priority: str) -> None:
    if priority not in TICKET_PRIORITIES:
        raise ValidationError(
            f"Unknown priority {priority!r}; use one of {', '.join(TICKET_PRIORITIES)}.",
            field="priority",
        )


def _log_status(session: Session, ticket: Ticket, to: str, actor: str, at: dt.datetime) -> None:
    session.add(
        TicketStatusChange(
            ticket_id=ticket.id, from_status=ticket.status if ticket.id else None,
            to_status=to, changed_at=at, actor=actor[:100],
        )
    )  # fmt: skip


def open_ticket(
    session: Session,
    desk: Desk,
    subject: str,
    body: str,
    actor: str,
    *,
    customer_id: int | None = None,
    priority: str = "normal",
    channel: str | None = "web",
    category: str | None = None,
    opened_at: dt.datetime | None = None,
    message_id: str | None = None,
) -> Ticket:
    """A new ticket with the customer's first message; its SLA clock starts at once."""
    _check_priority(priority)
    if not subject.strip():
        raise ValidationError("A ticket needs a subject.", field="subject")
    if not body.strip():
        raise ValidationError("A ticket needs a message.", field="body")
    if customer_id is not None and session.get(Customer, customer_id) is None:
        raise NotFoundError(f"No customer with id {customer_id}.", field="customer_id")
    opened = opened_at or utcnow()
    ticket = Ticket(
        customer_id=customer_id,
        subject=" ".join(subject.split())[:255],
        priority=priority,
        channel=channel,
        category=category,
        status="new",
        opened_at=opened,
        last_message_at=opened,
        sla_minutes_used=0.0,
        created_at=opened,
        updated_at=opened,
    )
    ticket.messages.append(
        TicketMessage(author_kind="customer", body=body, created_at=opened, message_id=message_id)
    )
    session.add(ticket)
    session.flush()
    index_ticket_subjects(session, {ticket.id: ticket.subject}, fresh=True)
    session.add(TicketStatusChange(ticket_id=ticket.id, from_status=None, to_status="new",
                                   changed_at=opened, actor=actor[:100]))  # fmt: skip
    sla.set_targets(session, ticket, desk.calendar, opened)
    sla.start_clock(ticket, desk.calendar, opened)
    record_audit(session, actor, "ticket.opened", "ticket", ticket.id, {"priority": priority})
    session.flush()
    return ticket


def ticket_subjects(session: Session, ids: set[int]) -> dict[int, str]:
    """The subjects of the tickets ``ids``, in one query."""
    if not ids:
        return {}
    rows = session.execute(select(Ticket.id, Ticket.subject).where(Ticket.id.in_(ids)))
    return {int(key): str(subject) for key, subject in rows}


def get_ticket(session: Session, ticket_id: int) -> Ticket:
    ticket = session.get(Ticket, ticket_id)
    if ticket is None:
        raise NotFoundError(f"No ticket with id {ticket_id}.", ticket_id=ticket_id)
    return ticket


def _lock_ticket(session: Session, ticket_id: int) -> Ticket:
    """The ticket, locked for this transaction (two changes of one ticket wait in turn)."""
    ticket = session.scalars(
        select(Ticket)
        .where(Ticket.id == ticket_id)
        .with_for_update()
        .execution_options(populate_existing=True)
    ).first()
    if ticket is None:
        raise NotFoundError(f"No ticket with id {ticket_id}.", ticket_id=ticket_id)
    return ticket


def _move(
    session: Session, desk: Desk, ticket: Ticket, status: str, actor: str, at: dt.datetime
) -> bool:
    """Change the status (checked) and the clock with it; False when it already had it."""
    if status not in TICKET_STATUSES:
        raise ValidationError(
            f"Unknown ticket status {status!r}; use one of {', '.join(TICKET_STATUSES)}.",
            field="status",
        )
    if status == ticket.status:
        return False
    if status not in TRANSITIONS[ticket.status]:
        allowed = ", ".join(sorted(TRANSITIONS[ticket.status])) or "none: it is final"
        raise ConflictError(
            f"Ticket {ticket.id} is {ticket.status} and cannot become {status} "
            f"(from {ticket.status}: {allowed}).",
            field="status",
        )
    _log_status(session, ticket, status, actor, at)
    record_audit(session, actor, "ticket.status_changed", "ticket", ticket.id,
                 {"status": [ticket.status, status]})  # fmt: skip
    previous, ticket.status = ticket.status, status
    ticket.updated_at = at
    if status in sla.RUNNING:
        if previous in ("resolved",):
            ticket.resolved_at = None  # reopened: the resolution clock goes on where it stood
        sla.start_clock(ticket, desk.calendar, at)
    else:
        sla.stop_clock(ticket, desk.calendar, at)
    if status == "resolved":
        ticket.resolved_at = at
    if status == "closed":
        ticket.closed_at = at
        if ticket.resolved_at is None:
            ticket.resolved_at = at
    return True


def set_ticket_status(
    session: Session,
    desk: Desk,
    ticket_id: int,
    status: str,
    actor: str,
    *,
    at: dt.datetime | None = None,
) -> Ticket:
    """Move a ticket to ``status`` (a transition the table above allows); resolving or closing
    it queues the CSAT survey when the survey settings ask for one (once per ticket)."""
    ticket = _lock_ticket(session, ticket_id)
    when = at or utcnow()
    if _move(session, desk, ticket, status, actor, when) and status in ("resolved", "closed"):
        _ask_for_csat(session, desk, ticket, when)
    session.flush()
    return ticket


def _ask_for_csat(session: Session, desk: Desk, ticket: Ticket, now: dt.datetime) -> None:
    from soloist.domain.surveys import queue_csat_for_resolved_ticket

    queue_csat_for_resolved_ticket(session, ticket, now, settings=desk.settings)


def set_ticket_priority(
    session: Session, desk: Desk, ticket_id: int, priority: str, actor: str
) -> Ticket:
    """A new priority brings its own targets; minutes already used still count."""
    _check_priority(priority)
    ticket = _lock_ticket(session, ticket_id)
    if ticket.status == "closed":
        raise ConflictError(f"Ticket {ticket.id} is closed; its priority stays.", field="priority")
    if priority != ticket.priority:
        record_audit(session, actor, "ticket.priority_changed", "ticket", ticket.id,
                     {"priority": [ticket.priority, priority]})  # fmt: skip
        ticket.priority = priority
        sla.set_targets(session, ticket, desk.calendar, utcnow())
    session.flush()
    return ticket


def add_customer_message(
    session: Session,
    desk: Desk,
    ticket_id: int,
    body: str,
    actor: str,
    *,
    at: dt.datetime | None = None,
    message_id: str | None = None,
) -> TicketMessage:
    """The customer writes again: a pending or resolved ticket opens again (its clock runs);
    on a closed ticket the message starts a new ticket with the same subject."""
    if not body.strip():
        raise ValidationError("The message is empty.", field="body")
    ticket = _lock_ticket(session, ticket_id)
    when = at or utcnow()
    if ticket.status == "closed":
        follow_up = open_ticket(
            session, desk, ticket.subject, body, actor, customer_id=ticket.customer_id,
            priority=ticket.priority, channel=ticket.channel, category=ticket.category,
            opened_at=when, message_id=message_id,
        )  # fmt: skip
        return follow_up.messages[0]
    message = TicketMessage(
        author_kind="customer", body=body, created_at=when, message_id=message_id
    )
    ticket.messages.append(message)
    ticket.last_message_at = max(ticket.last_message_at or when, when)
    if ticket.status in ("pending", "resolved"):
        _move(session, desk, ticket, "open", actor, when)
    session.flush()
    return message


def reply_to_ticket(
    session: Session,
    desk: Desk,
    ticket_id: int,
    body: str,
    actor: str,
    *,
    user_id: int | None = None,
    at: dt.datetime | None = None,
    internal: bool = False,
    status: str | None = None,
    message_id: str | None = None,
) -> TicketMessage:
    """A staff reply (or, with ``internal``, a note only staff see), then the ticket moves to
    ``status`` (default: pending, waiting on the customer; a note leaves it as it is). The
    reply's e-mail, if any, is the caller's to queue (:func:`.mail.queue_reply`)."""
    if not body.strip():
        raise ValidationError("The reply is empty.", field="body")
    ticket = _lock_ticket(session, ticket_id)
    if ticket.status == "closed":
        raise ConflictError(
            f"Ticket {ticket.id} is closed; open a new ticket to write to the customer again.",
            field="status",
        )
    when = at or utcnow()
    message = TicketMessage(
        author_kind="staff", user_id=user_id, body=body, created_at=when, internal=internal,
        message_id=None if internal else message_id,
    )  # fmt: skip
    ticket.messages.append(message)
    record_audit(session, actor, "ticket.noted" if internal else "ticket.replied", "ticket",
                 ticket.id, {})  # fmt: skip
    if not internal:
        ticket.last_message_at = max(ticket.last_message_at or when, when)
        if ticket.first_response_at is None:
            ticket.first_response_at = when
        target = status or ("pending" if ticket.status in ("new", "open") else ticket.status)
        if ticket.status == "new" and target != "new":
            # Answering is looking at it: new -> open is implied, and logged.
            _move(session, desk, ticket, "open", actor, when)
        if target != ticket.status:
            _move(session, desk, ticket, target, actor, when)
            if target in ("resolved", "closed"):
                _ask_for_csat(session, desk, ticket, when)
    elif status is not None:
        _move(session, desk, ticket, status, actor, when)
    session.flush()
    return message


def merge_tickets(
    session: Session,
    desk: Desk,
    duplicate_id: int,
    into_id: int,
    actor: str,
    *,
    at: dt.datetime | None = None,
) -> Ticket:
    """Fold a duplicate into another ticket of the same customer: its messages move over (in
    time order), and the duplicate is closed, pointing at the ticket it went into."""
    if duplicate_id == into_id:
        raise ValidationError("A ticket cannot be merged into itself.", field="into")
    first, second = sorted((duplicate_id, into_id))  # lock in id order: no deadlock
    locked = {first: _lock_ticket(session, first), second: _lock_ticket(session, second)}
    duplicate, target = locked[duplicate_id], locked[into_id]
    if duplicate.customer_id != target.customer_id:
        raise ConflictError(
            f"Tickets {duplicate_id} and {into_id} belong to different customers; only a "
            "customer's own duplicates can be merged.",
            field="into",
        )
    if target.status == "closed":
        raise ConflictError(f"Ticket {into_id} is closed; merge into an open ticket.", field="into")
    if duplicate.status == "closed":
        raise ConflictError(f"Ticket {duplicate_id} is already closed.", field="ticket")
    when = at or utcnow()
    session.execute(
        update(TicketMessage)
        .where(TicketMessage.ticket_id == duplicate.id)
        .values(ticket_id=target.id)
        .execution_options(synchronize_session=False)
    )
    session.expire(duplicate, ["messages"])
    session.expire(target, ["messages"])
    if duplicate.last_message_at and (
        target.last_message_at is None or duplicate.last_message_at > target.last_message_at
    ):
        target.last_message_at = duplicate.last_message_at
    if duplicate.opened_at < target.opened_at:
        # The customer has waited since the earlier ticket: its clock is the one that counts.
        target.sla_minutes_used = max(
            sla.minutes_used(target, desk.calendar, when),
            sla.minutes_used(duplicate, desk.calendar, when),
        )
        if target.sla_clock_started_at is not None:
            target.sla_clock_started_at = when
        sla.refresh_due_times(target, desk.calendar, when)
    duplicate_was = duplicate.status
    duplicate.merged_into_id = target.id
    _move(session, desk, duplicate, "closed", actor, when)
    if target.status == "resolved" and duplicate_was != "resolved":
        # The duplicate still waited for an answer: the ticket it joins is not done either.
        _move(session, desk, target, "open", actor, when)
    record_audit(session, actor, "ticket.merged", "ticket", duplicate.id, {"into": target.id})
    session.flush()
    return target


def list_tickets(
    session: Session,
    *,
    customer_id: int | None = None,
    status: str | None = None,
    priority: str | None = None,
    search: str | None = None,
    breached_at: dt.datetime | None = None,
    sort: str = "newest",
    limit: int = 50,
    offset: int = 0,
) -> tuple[list[Ticket], int]:
    """One page of tickets and the total. ``status`` may be ``active`` (new, open, pending);
    ``breached_at``: only running tickets past a due time at that instant; ``sort``: ``newest``
    (opened), ``updated`` (last message) or ``due`` (soonest due first)."""
    where: list[ColumnElement[bool]] = []
    if status == "active":
        where.append(Ticket.status.in_(ACTIVE))
    elif status is not None:
        if status not in TICKET_STATUSES:
            raise ValidationError(
                f"Unknown ticket status {status!r}; use active or one of "
                f"{', '.join(TICKET_STATUSES)}.",
                field="status",
            )
        where.append(Ticket.status == status)
    if priority is not None:
        _check_priority(priority)
        where.append(Ticket.priority == priority)
    if customer_id is not None:
        where.append(Ticket.customer_id == customer_id)
    if search:
        where.append(_subject_matches(session, search))
    if breached_at is not None:
        where.append(Ticket.status.in_(sla.RUNNING))
        where.append(
            or_(
                (Ticket.first_response_at.is_(None)) & (Ticket.first_response_due_at < breached_at),
                Ticket.resolution_due_at < breached_at,
            )
        )
    orders: dict[str, tuple[Any, ...]] = {
        "newest": (Ticket.opened_at.desc(), Ticket.id.desc()),
        "updated": (Ticket.last_message_at.desc(), Ticket.id.desc()),
        # Soonest first; tickets with no due time (paused, done) after those with one.
        "due": (Ticket.resolution_due_at.is_(None), Ticket.resolution_due_at, Ticket.id),
    }
    if sort not in orders:
        raise ValidationError(f"Unknown sort {sort!r}; use {', '.join(orders)}.", field="sort")
    total = int(session.scalar(select(func.count(Ticket.id)).where(*where)) or 0)
    items = session.scalars(
        select(Ticket).where(*where).order_by(*orders[sort]).limit(limit).offset(offset)
    )
    return list(items), total


@dataclass(frozen=True)
class SlaSummary:
    active: int
    new: int
    breached: int
    due_soon: int


def sla_summary(session: Session, now: dt.datetime) -> SlaSummary:
    """What the dashboard warns about: running tickets past a due time, or due within the hour."""
    soon = now + sla.DUE_SOON
    running = Ticket.status.in_(sla.RUNNING)
    first_due = Ticket.first_response_at.is_(None) & Ticket.first_response_due_at.is_not(None)

    def count(*where: object) -> int:
        return int(session.scalar(select(func.count(Ticket.id)).where(*where)) or 0)  # type: ignore[arg-type]

    late = or_(first_due & (Ticket.first_response_due_at < now), Ticket.resolution_due_at < now)
    near = or_(first_due & (Ticket.first_response_due_at < soon), Ticket.resolution_due_at < soon)
    return SlaSummary(
        active=count(Ticket.status.in_(ACTIVE)),
        new=count(Ticket.status == "new"),
        breached=count(running, late),
        due_soon=count(running, near, ~late),
    )


def find_thread(
    session: Session, references: Sequence[str], subject: str, customer_id: int | None
) -> Ticket | None:
    """The ticket an incoming e-mail continues: by the Message-IDs it answers (In-Reply-To,
    References), else by the ``[#id]`` tag in its subject when the sender is that ticket's
    customer (a tag alone, from anyone, would let a stranger write into a ticket)."""
    ids = [ref.strip() for ref in references if ref.strip()]
    if ids:
        found = session.scalar(
            select(TicketMessage.ticket_id)
            .where(TicketMessage.message_id.in_(ids))
            .order_by(TicketMessage.id.desc())
            .limit(1)
        )
        if found is not None:
            return session.get(Ticket, found)
    match = SUBJECT_TAG.search(subject or "")
    if match and customer_id is not None:
        ticket = session.get(Ticket, int(match.group(1)))
        if ticket is not None and ticket.customer_id == customer_id:
            return ticket
    return None


def message_exists(session: Session, message_id: str) -> Ticket | None:
    """The ticket that already holds the e-mail ``message_id`` (mail read twice is one)."""
    found = session.scalar(
        select(TicketMessage.ticket_id).where(TicketMessage.message_id == message_id)
    )
    return None if found is None else session.get(Ticket, found)


def clean_subject(subject: str) -> str:
    """A subject without reply prefixes and our ``[#id]`` tag."""
    text = SUBJECT_TAG.sub("", subject or "")
    text = re.sub(r"^\s*((re|fw|fwd|aw|sv|回复|答复|转发)\s*[:：]\s*)+", "", text, flags=re.I)
    return " ".join(text.split()) or "(no subject)"


TICKET_SCOPE = "ticket"  # the blind index of ticket subjects (soloist.storage.search_tokens)


def index_ticket_subjects(
    session: Session, subjects: Mapping[int, str | None], *, fresh: bool = False
) -> None:
    """Index the words of the subjects of the tickets (id → subject)."""
    index_records(session, TICKET_SCOPE, {key: [value] for key, value in subjects.items()},
                  fresh=fresh)  # fmt: skip


def reindex_ticket_subjects(session: Session) -> int:
    """Rebuild the index of every ticket's subject from the stored ones; how many."""
    subjects = {row.id: row.subject for row in session.execute(select(Ticket.id, Ticket.subject))}
    index_ticket_subjects(session, subjects)
    return len(subjects)


def forget_ticket_subjects(session: Session, ids: Sequence[int]) -> None:
    forget_records(session, TICKET_SCOPE, ids)


def _subject_matches(session: Session, search: str) -> ColumnElement[bool]:
    """Tickets whose subject has every word of ``search`` (each as the start of one of its
    words), or whose number it is (``123`` or ``#123``)."""
    options: list[ColumnElement[bool]] = []
    number = search.strip().lstrip("#")
    if number.isdigit() and len(number) < 12:
        options.append(Ticket.id == int(number))
    named = matching_records(session, TICKET_SCOPE, search)
    if named is not None:
        options.append(Ticket.id.in_(named))
    return or_(*options) if options else false()
