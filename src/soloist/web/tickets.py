"""Support desk pages: the inbox (filters, sorts, pages, each ticket's SLA badge), a new ticket,
the tickets on the customer page and the navigation's count of new and late tickets. A ticket's
own page is :mod:`soloist.web.ticket_thread`; the desk's settings are
:mod:`soloist.web.service_settings`.

Each action calls one use case of :mod:`soloist.domain.service` in one transaction and
redirects (``?done=…`` says what it did); an error a person can act on is shown on the page,
next to its field.
"""

from __future__ import annotations

import datetime as dt
import time
from dataclasses import dataclass
from typing import Annotated, Any
from urllib.parse import urlencode

from fastapi import APIRouter, Form, Query, Request
from sqlalchemy.orm import Session
from starlette.responses import RedirectResponse, Response

from soloist.domain.campaigns import find_customers
from soloist.domain.customers import customer_names, get_customer
from soloist.domain.service import (
    TRANSITIONS,
    BusinessCalendar,
    Desk,
    SlaState,
    business_minutes_between,
    list_tickets,
    open_ticket,
    sla_state,
    sla_summary,
)
from soloist.errors import NotFoundError, SoloistError, ValidationError
from soloist.web.campaigns import problem_of
from soloist.web.labels import N_, TICKET_PRIORITIES
from soloist.web.rendering import render, templates, wording
from soloist.web.security import CsrfChecked, CurrentUser, WebUser, WriterUser

router = APIRouter(include_in_schema=False)

PAGE_SIZE = 50
STATUSES = tuple(TRANSITIONS)
PRIORITIES = tuple(TICKET_PRIORITIES)
STATUS_FILTERS = ("active", "all", *STATUSES)
SORTS = ("due", "newest", "updated")
# Which of a ticket's two clocks its badge shows: the more urgent, then the sooner due.
URGENCY = {"breached": 0, "due_soon": 1, "due": 2, "paused": 3, "met": 4, "none": 5}
CUSTOMER_PAGE_TICKETS = 20
BADGE_SECONDS = 30.0
DUE_SOON = dt.timedelta(hours=1)  # as soloist.domain.service.sla.DUE_SOON


@dataclass(frozen=True)
class SlaBadge:
    """One clock of a ticket as a badge: ``clock`` is first_response or resolution;
    ``minutes_used`` is None where a list does not count them."""

    clock: str
    state: str
    due_at: dt.datetime | None
    minutes_used: float | None
    target_minutes: int | None


@dataclass(frozen=True)
class TicketRow:
    ticket: Any
    customer_name: str | None
    badge: SlaBadge


def sla_badges(first: SlaState, resolution: SlaState) -> tuple[SlaBadge, SlaBadge]:
    return (
        SlaBadge("first_response", first.state, first.due_at, first.minutes_used,
                 first.target_minutes),
        SlaBadge("resolution", resolution.state, resolution.due_at, resolution.minutes_used,
                 resolution.target_minutes),
    )  # fmt: skip


def _running_badge(
    clock: str,
    target: int | None,
    due: dt.datetime | None,
    done_at: dt.datetime | None,
    used_at: Any,
    now: dt.datetime,
) -> SlaBadge:
    """One clock of a running ticket, judged as :func:`sla_state` judges it, from the due time:
    the instant the target's business minutes run out, so ``used >= target`` is ``now >= due``
    (a due time the clock has no minutes left for stays where it fell)."""
    if target is None:
        return SlaBadge(clock, "none", None, None, None)
    if done_at is not None:
        late = done_at > due if due is not None else used_at(done_at) > target
        return SlaBadge(clock, "breached" if late else "met", due, None, target)
    if due is None or now >= due:
        return SlaBadge(clock, "breached", due, None, target)
    return SlaBadge(clock, "due_soon" if due - now <= DUE_SOON else "due", due, None, target)


def list_badge(ticket: Any, calendar: BusinessCalendar, now: dt.datetime) -> SlaBadge:
    """The clock a list shows for ``ticket``: the more urgent of its two, then the sooner due.

    A running clock is read from the ticket's due times rather than by :func:`sla_state`,
    which counts the business minutes used since the clock started: a walk through every
    business day since, some 15 ms for a ticket left open a year, too slow for a page of 50.
    A standing clock has its minutes stored, and :func:`sla_state` answers at once.
    """
    started = ticket.sla_clock_started_at
    if started is None:
        badges = sla_badges(*sla_state(ticket, calendar, now))
    else:

        def used_at(at: dt.datetime) -> float:
            before = ticket.sla_minutes_used or 0.0
            return (
                before + business_minutes_between(calendar, started, at) if at > started else before
            )

        badges = (
            _running_badge("first_response", ticket.first_response_target_minutes,
                           ticket.first_response_due_at, ticket.first_response_at, used_at, now),
            _running_badge("resolution", ticket.resolution_target_minutes,
                           ticket.resolution_due_at, None, used_at, now),
        )  # fmt: skip
    latest = dt.datetime.max.replace(tzinfo=dt.UTC)
    return min(badges, key=lambda b: (URGENCY.get(b.state, 9), b.due_at or latest))


def ticket_rows(
    session: Session, tickets: list[Any], calendar: BusinessCalendar, now: dt.datetime
) -> list[TicketRow]:
    names = customer_names(session, {t.customer_id for t in tickets if t.customer_id})
    return [
        TicketRow(t, names.get(t.customer_id) if t.customer_id else None,
                  list_badge(t, calendar, now))
        for t in tickets
    ]  # fmt: skip


def customer_tickets(request: Request, session: Session, customer_id: int) -> list[TicketRow]:
    """The customer page's support block: their latest tickets, each with its SLA badge."""
    desk = Desk.of(session, request.app.state.settings)
    tickets, _total = list_tickets(
        session, customer_id=customer_id, sort="newest", limit=CUSTOMER_PAGE_TICKETS
    )
    return ticket_rows(session, tickets, desk.calendar, dt.datetime.now(dt.UTC))


def span(request: Request, minutes: float | None) -> str:
    """Business minutes as hours and minutes: ``125`` → "2 h 05 min"."""
    if minutes is None:
        return "—"
    _ = wording(request)._
    whole = int(minutes)
    hours, rest = divmod(whole, 60)
    if not hours:
        return _("%(minutes)s min") % {"minutes": rest}
    return _("%(hours)s h %(minutes)s min") % {"hours": f"{hours:,}", "minutes": f"{rest:02d}"}


def support_badge(request: Request) -> tuple[int, int]:
    """New and breached tickets, for the navigation's badges; counted at most every
    ``BADGE_SECONDS`` per app (every page shows them)."""
    state = request.app.state
    cached = getattr(state, "support_badge", None)
    now = time.monotonic()
    if cached is not None and now - cached[0] < BADGE_SECONDS:
        return (int(cached[1][0]), int(cached[1][1]))
    with state.database.read_session() as session:
        summary = sla_summary(session, dt.datetime.now(dt.UTC))
    counts = (summary.new, summary.breached)
    state.support_badge = (now, counts)
    return counts


def forget_badge(request: Request) -> None:
    request.app.state.support_badge = None


templates.env.globals["support_badge"] = support_badge  # base.html's "Tickets" link


def to_ticket(ticket_id: int, what: str) -> Response:
    """The redirect to a ticket's page after ``what`` was done to it."""
    return RedirectResponse(f"/tickets/{ticket_id}?done={what}", status_code=303)


# --- the inbox ---------------------------------------------------------------------------


@router.get("/tickets")
def inbox(
    request: Request,
    user: CurrentUser,
    status: str = "active",
    priority: str = "",
    breached: str = "",
    q: str = "",
    sort: str = "due",
    page: Annotated[int, Query(ge=1, le=1_000_000)] = 1,
) -> Response:
    status = status if status in STATUS_FILTERS else "active"
    priority = priority if priority in PRIORITIES else ""
    sort = sort if sort in SORTS else "due"
    search = q.strip()[:200]
    now = dt.datetime.now(dt.UTC)
    with request.app.state.database.read_session() as session:
        desk = Desk.of(session, request.app.state.settings)
        tickets, total = list_tickets(
            session,
            status=None if status == "all" else status,
            priority=priority or None,
            search=search or None,
            breached_at=now if breached else None,
            sort=sort,
            limit=PAGE_SIZE,
            offset=(page - 1) * PAGE_SIZE,
        )
        rows = ticket_rows(session, tickets, desk.calendar, now)
    params = {
        key: value
        for key, value in {
            "status": status,
            "priority": priority,
            "breached": "1" if breached else "",
            "q": search,
            "sort": sort,
        }.items()
        if value
    }
    context = {
        "rows": rows,
        "total": total,
        "page": page,
        "pages": max(1, -(-total // PAGE_SIZE)),
        "filters": params,
        "status_filters": STATUS_FILTERS,
        "priorities": PRIORITIES,
        "sorts": SORTS,
        "query_for": lambda p: urlencode({**params, "page": p}),
    }
    return render(request, "tickets/inbox.html", context, user=user)


# --- a new ticket ------------------------------------------------------------------------


@dataclass
class NewTicket:
    customer: str = ""
    subject: str = ""
    body: str = ""
    priority: str = "normal"


def _new_form(
    request: Request,
    user: WebUser,
    draft: NewTicket,
    problem: dict[str, Any] | None = None,
) -> Response:
    """The form of a new ticket, naming the customer chosen (from their page, say)."""
    with request.app.state.database.read_session() as session:
        chosen = None
        if draft.customer.strip():
            try:
                (customer_id,) = find_customers(session, [draft.customer.strip()])
                chosen = get_customer(session, customer_id)
            except (SoloistError, ValueError):
                chosen = None
        context = {"draft": draft, "chosen": chosen, "priorities": PRIORITIES, "problem": problem}
        status_code = problem["http_status"] if problem else 200
        return render(request, "tickets/new.html", context, user=user, status_code=status_code)


@router.get("/tickets/new")
def new_ticket(request: Request, user: WriterUser, customer: str = "") -> Response:
    return _new_form(request, user, NewTicket(customer=customer))


@router.post("/tickets/new", dependencies=[CsrfChecked])
def create_ticket(
    request: Request,
    user: WriterUser,
    customer: Annotated[str, Form()] = "",
    subject: Annotated[str, Form()] = "",
    body: Annotated[str, Form()] = "",
    priority: Annotated[str, Form()] = "normal",
) -> Response:
    draft = NewTicket(customer=customer.strip(), subject=subject, body=body, priority=priority)
    try:
        if not draft.customer:
            raise ValidationError(
                N_("Choose the customer by id or e-mail address."), field="customer"
            )
        if not subject.strip():
            raise ValidationError(N_("Give the ticket a subject."), field="subject")
        if not body.strip():
            raise ValidationError(N_("Write what the customer asked."), field="body")
        if priority not in PRIORITIES:
            raise ValidationError(N_("Choose a priority from the list."), field="priority")
        with request.app.state.database.session() as session:
            try:
                (customer_id,) = find_customers(session, [draft.customer])
            except (NotFoundError, ValueError):
                raise NotFoundError(
                    N_("No customer with this id or e-mail address."), field="customer"
                ) from None
            desk = Desk.of(session, request.app.state.settings)
            ticket = open_ticket(
                session, desk, subject, body, user.actor, customer_id=customer_id,
                priority=priority, channel="web",
            )  # fmt: skip
            ticket_id = ticket.id
    except SoloistError as exc:
        return _new_form(request, user, draft, problem_of(request, exc))
    forget_badge(request)
    return to_ticket(ticket_id, "created")
