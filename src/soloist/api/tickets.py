"""/api/v1/tickets: support tickets with their SLA clocks, their threads and their changes.

Due times are UTC; a ticket that waits on the customer (pending) has none, since its clock
stands. Staff replies go out by e-mail through the worker when a mail server is configured
(``delivery`` says what became of each).
"""

from __future__ import annotations

import datetime as dt
from typing import TYPE_CHECKING, Annotated, Literal

from fastapi import APIRouter, Path, Query, status
from pydantic import BaseModel, ConfigDict, Field, model_validator
from sqlalchemy.orm import Session, object_session

from soloist.api.deps import DatabaseDep, Reader, ReadSession, Writer
from soloist.api.errors import ErrorPublic
from soloist.domain.feedback_text import score_texts
from soloist.domain.service import (
    Desk,
    get_ticket,
    list_tickets,
    merge_tickets,
    open_ticket,
    queue_reply,
    reply_to_ticket,
    set_ticket_priority,
    set_ticket_status,
    sla_state,
)
from soloist.storage.retry import run_in_transaction
from soloist.storage.types import utcnow

if TYPE_CHECKING:
    from soloist.storage.models import Ticket

router = APIRouter(prefix="/api/v1/tickets", tags=["tickets"])

TicketId = Annotated[int, Path(ge=1, le=2**63 - 1)]
Priority = Literal["low", "normal", "high", "urgent"]
Status = Literal["new", "open", "pending", "resolved", "closed"]


class TicketPublic(BaseModel):
    id: int
    customer_id: int | None
    subject: str
    status: str
    priority: str
    channel: str | None
    category: str | None
    opened_at: dt.datetime
    first_response_at: dt.datetime | None
    resolved_at: dt.datetime | None
    closed_at: dt.datetime | None
    first_response_due_at: dt.datetime | None
    resolution_due_at: dt.datetime | None
    first_response_sla: str = Field(
        description="met, breached, due, due_soon (within the hour), paused or none."
    )
    resolution_sla: str = Field(description="As first_response_sla, for the resolution.")
    sla_minutes_used: float = Field(description="Business minutes the clock has counted.")
    merged_into_id: int | None
    last_message_at: dt.datetime | None


class MessagePublic(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    author_kind: str
    user_id: int | None
    body: str
    internal: bool
    created_at: dt.datetime
    delivery: str | None = Field(
        description="For a staff reply: queued, sent, failed, recorded (no mail server) or "
        "no_address."
    )
    sentiment: float | None = Field(
        default=None,
        description="For the customer's messages: sentiment in [−1, 1], above 0 positive "
        "(English or Chinese, told per message); None for staff replies and notes.",
    )


class TicketDetail(TicketPublic):
    messages: list[MessagePublic]
    customer_sentiment: float | None = Field(
        default=None, description="The sentiment of the customer's latest message."
    )


class TicketPage(BaseModel):
    items: list[TicketPublic]
    total: int
    limit: int
    offset: int


class TicketIn(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    customer_id: int | None = Field(default=None, ge=1, le=2**63 - 1)
    subject: str = Field(min_length=1, max_length=255)
    body: str = Field(min_length=1, max_length=100_000)
    priority: Priority = "normal"
    channel: Literal["web", "email", "phone", "chat", "api"] = "api"
    category: str | None = Field(default=None, max_length=64)


class TicketUpdate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    status: Status | None = None
    priority: Priority | None = None

    @model_validator(mode="after")
    def _something(self) -> TicketUpdate:
        if self.status is None and self.priority is None:
            raise ValueError("give status or priority")
        return self


class MessageIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    body: str = Field(min_length=1, max_length=100_000)
    author: Literal["staff", "customer"] = Field(
        default="staff", description="staff: a reply (e-mailed); customer: the customer's words."
    )
    internal: bool = Field(default=False, description="A note only staff see (staff only).")
    status: Status | None = Field(
        default=None, description="The status after a staff reply (default pending)."
    )


class MergeIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    into: int = Field(ge=1, le=2**63 - 1, description="The ticket the duplicate goes into.")


def _public(ticket: Ticket, desk: Desk) -> TicketPublic:
    first, resolution = sla_state(ticket, desk.calendar, utcnow())
    return TicketPublic(
        id=ticket.id,
        customer_id=ticket.customer_id,
        subject=ticket.subject,
        status=ticket.status,
        priority=ticket.priority,
        channel=ticket.channel,
        category=ticket.category,
        opened_at=ticket.opened_at,
        first_response_at=ticket.first_response_at,
        resolved_at=ticket.resolved_at,
        closed_at=ticket.closed_at,
        first_response_due_at=ticket.first_response_due_at,
        resolution_due_at=ticket.resolution_due_at,
        first_response_sla=first.state,
        resolution_sla=resolution.state,
        sla_minutes_used=round(first.minutes_used, 2),
        merged_into_id=ticket.merged_into_id,
        last_message_at=ticket.last_message_at,
    )


def _detail(ticket: Ticket, desk: Desk) -> TicketDetail:
    messages = [MessagePublic.model_validate(m) for m in ticket.messages]
    session = object_session(ticket)
    from_customer = [m for m in messages if m.author_kind == "customer"]
    if session is not None and from_customer:
        scores = score_texts(session, [m.body for m in from_customer])
        scored = {m.id: s for m, s in zip(from_customer, scores, strict=True)}
        messages = [m.model_copy(update={"sentiment": scored.get(m.id)}) for m in messages]
    latest = [m for m in messages if m.author_kind == "customer"]
    return TicketDetail(
        **_public(ticket, desk).model_dump(),
        messages=messages,
        customer_sentiment=latest[-1].sentiment if latest else None,
    )


@router.get("", response_model=TicketPage)
def read_tickets(
    session: ReadSession,
    database: DatabaseDep,
    _: Reader,
    status: Annotated[
        str | None, Query(description="active (new, open, pending) or one status.")
    ] = None,
    priority: Annotated[Priority | None, Query()] = None,
    customer_id: Annotated[int | None, Query(ge=1, le=2**63 - 1)] = None,
    q: Annotated[str | None, Query(max_length=200, description="Words in the subject.")] = None,
    breached: Annotated[bool, Query(description="Only running tickets past a due time.")] = False,
    sort: Annotated[Literal["newest", "updated", "due"], Query()] = "newest",
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
    offset: Annotated[int, Query(ge=0, le=2**31)] = 0,
) -> TicketPage:
    """Tickets, newest first (or by last message, or soonest due)."""
    desk = Desk.of(session, database.settings)
    items, total = list_tickets(
        session,
        customer_id=customer_id,
        status=status,
        priority=priority,
        search=q,
        breached_at=utcnow() if breached else None,
        sort=sort,
        limit=limit,
        offset=offset,
    )
    return TicketPage(
        items=[_public(t, desk) for t in items], total=total, limit=limit, offset=offset
    )


@router.post(
    "",
    response_model=TicketDetail,
    status_code=status.HTTP_201_CREATED,
    responses={404: {"model": ErrorPublic}},
)
def post_ticket(data: TicketIn, database: DatabaseDep, who: Writer) -> TicketDetail:
    """Open a ticket with the customer's first message; its SLA clock starts now."""

    def work(session: Session) -> TicketDetail:
        desk = Desk.of(session, database.settings)
        ticket = open_ticket(
            session, desk, data.subject, data.body, who.actor, customer_id=data.customer_id,
            priority=data.priority, channel=data.channel, category=data.category,
        )  # fmt: skip
        return _detail(ticket, desk)

    return run_in_transaction(database, work)


@router.get("/{ticket_id}", response_model=TicketDetail, responses={404: {"model": ErrorPublic}})
def read_ticket(
    ticket_id: TicketId, session: ReadSession, database: DatabaseDep, _: Reader
) -> TicketDetail:
    """One ticket with its thread (internal notes included)."""
    return _detail(get_ticket(session, ticket_id), Desk.of(session, database.settings))


@router.patch(
    "/{ticket_id}",
    response_model=TicketDetail,
    responses={404: {"model": ErrorPublic}, 409: {"model": ErrorPublic}},
)
def patch_ticket(
    ticket_id: TicketId, data: TicketUpdate, database: DatabaseDep, who: Writer
) -> TicketDetail:
    """Change the status (only the transitions a desk allows: 409 otherwise; closed is final)
    or the priority (its targets apply at once, minutes already used still count)."""

    def work(session: Session) -> TicketDetail:
        desk = Desk.of(session, database.settings)
        if data.priority is not None:
            set_ticket_priority(session, desk, ticket_id, data.priority, who.actor)
        if data.status is not None:
            set_ticket_status(session, desk, ticket_id, data.status, who.actor)
        return _detail(get_ticket(session, ticket_id), desk)

    return run_in_transaction(database, work)


@router.post(
    "/{ticket_id}/messages",
    response_model=TicketDetail,
    status_code=status.HTTP_201_CREATED,
    responses={404: {"model": ErrorPublic}, 409: {"model": ErrorPublic}},
)
def post_message(
    ticket_id: TicketId, data: MessageIn, database: DatabaseDep, who: Writer
) -> TicketDetail:
    """Add to the thread: a staff reply (mailed to the customer by the worker, the ticket then
    pending unless `status` says otherwise), an internal note, or the customer's own message
    (which opens a pending or resolved ticket again)."""
    from soloist.domain.service import add_customer_message

    def work(session: Session) -> TicketDetail:
        desk = Desk.of(session, database.settings)
        if data.author == "customer":
            message = add_customer_message(session, desk, ticket_id, data.body, who.actor)
        else:
            message = reply_to_ticket(
                session, desk, ticket_id, data.body, who.actor, user_id=who.user_id,
                internal=data.internal, status=data.status,
            )  # fmt: skip
            queue_reply(session, database.settings, message, utcnow())
        return _detail(message.ticket, desk)

    return run_in_transaction(database, work)


@router.post(
    "/{ticket_id}/merge",
    response_model=TicketDetail,
    responses={404: {"model": ErrorPublic}, 409: {"model": ErrorPublic}},
)
def post_merge(
    ticket_id: TicketId, data: MergeIn, database: DatabaseDep, who: Writer
) -> TicketDetail:
    """Merge this ticket (a duplicate) into `into`: the messages move, this one closes."""

    def work(session: Session) -> TicketDetail:
        desk = Desk.of(session, database.settings)
        return _detail(merge_tickets(session, desk, ticket_id, data.into, who.actor), desk)

    return run_in_transaction(database, work)
