"""SLA clocks: first-response and resolution targets counted in business minutes, paused while
the ticket waits on the customer.

Each ticket carries its clock (Zammad's model, without replaying the history on every read):
``sla_minutes_used`` business minutes were counted before ``sla_clock_started_at``, and the clock
runs from then on; ``sla_clock_started_at`` is None while it stands (pending, resolved, closed).
A running clock's due times are the instants at which the remaining minutes run out, counted
forward in the business calendar, so the inbox can sort and the dashboard can count breaches
with plain queries. A standing clock has no due time; whether it broke its targets is read from
the minutes it used (:func:`sla_state`).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from soloist.domain.service.business_time import (
    BusinessCalendar,
    add_business_minutes,
    business_minutes_between,
)
from soloist.domain.service.settings import sla_targets
from soloist.storage.models import Ticket

RUNNING = ("new", "open")  # the clock counts in these; it stops in every other status
DUE_SOON = dt.timedelta(hours=1)


def minutes_used(ticket: Ticket, calendar: BusinessCalendar, now: dt.datetime) -> float:
    """Business minutes the ticket's clock has counted up to ``now``."""
    used = ticket.sla_minutes_used or 0.0
    if ticket.sla_clock_started_at is not None:
        used += business_minutes_between(calendar, ticket.sla_clock_started_at, now)
    return used


def _due(
    calendar: BusinessCalendar,
    ticket: Ticket,
    target: int | None,
    recorded: dt.datetime | None,
    at: dt.datetime | None,
) -> dt.datetime | None:
    """The due time for ``target`` given the clock, ``recorded`` the one stored so far.

    The invariant the inbox and the breach counts rely on: a running clock has a due time
    (in the past once its minutes are used up); a standing clock has one only when the target
    was already missed, so no due time on a finished target means it was met in time.
    """
    if target is None:
        return None
    used = ticket.sla_minutes_used or 0.0
    started = ticket.sla_clock_started_at
    if started is not None:
        if target > used:
            return add_business_minutes(calendar, started, target - used)
        # Used up before the clock last started: it fell due when the minutes ran out, which
        # the due time recorded then says; without one, it was due by the time it started.
        return recorded if recorded is not None and recorded <= started else started
    if used < target:
        return None
    # Missed while the clock ran: the breach stays on record while it stands.
    return recorded if recorded is not None and (at is None or recorded <= at) else at or recorded


def refresh_due_times(
    ticket: Ticket, calendar: BusinessCalendar, at: dt.datetime | None = None
) -> None:
    """Work the due times out again from the clock (after any change to it, at ``at``). The
    first response's is settled once the first response is given."""
    if ticket.first_response_at is None:
        ticket.first_response_due_at = _due(
            calendar, ticket, ticket.first_response_target_minutes,
            ticket.first_response_due_at, at,
        )  # fmt: skip
    ticket.resolution_due_at = _due(
        calendar, ticket, ticket.resolution_target_minutes, ticket.resolution_due_at, at
    )


def start_clock(ticket: Ticket, calendar: BusinessCalendar, at: dt.datetime) -> None:
    if ticket.sla_clock_started_at is None:
        ticket.sla_clock_started_at = at
    refresh_due_times(ticket, calendar, at)


def stop_clock(ticket: Ticket, calendar: BusinessCalendar, at: dt.datetime) -> None:
    if ticket.sla_clock_started_at is not None:
        ticket.sla_minutes_used = minutes_used(ticket, calendar, at)
        ticket.sla_clock_started_at = None
    refresh_due_times(ticket, calendar, at)


def set_targets(
    session: Session, ticket: Ticket, calendar: BusinessCalendar, at: dt.datetime | None = None
) -> None:
    """Take the targets of the ticket's priority (none when the priority has no policy)."""
    targets = sla_targets(session).get(ticket.priority)
    ticket.first_response_target_minutes = targets.first_response_minutes if targets else None
    ticket.resolution_target_minutes = targets.resolution_minutes if targets else None
    refresh_due_times(ticket, calendar, at)


def recompute_running_tickets(
    session: Session,
    calendar: BusinessCalendar,
    now: dt.datetime,
    *,
    previous: BusinessCalendar | None = None,
    priority: str | None = None,
) -> int:
    """Carry the open tickets over to a changed calendar (``previous`` the one in force until
    now) or to changed targets: the minutes used so far are kept, counted in the calendar that
    was in force while they passed."""
    query = select(Ticket).where(Ticket.status.in_((*RUNNING, "pending")))
    if priority is not None:
        query = query.where(Ticket.priority == priority)
    tickets = list(session.scalars(query))
    targets = sla_targets(session)
    for ticket in tickets:
        if ticket.sla_clock_started_at is not None:
            # Minutes up to now were counted in the old calendar's hours; they are settled
            # before the new calendar takes over.
            ticket.sla_minutes_used = minutes_used(ticket, previous or calendar, now)
            ticket.sla_clock_started_at = now
        policy = targets.get(ticket.priority)
        ticket.first_response_target_minutes = policy.first_response_minutes if policy else None
        ticket.resolution_target_minutes = policy.resolution_minutes if policy else None
        refresh_due_times(ticket, calendar, now)
    session.flush()
    return len(tickets)


@dataclass(frozen=True)
class SlaState:
    """How a ticket stands against one target: ``met``, ``breached``, ``due`` (running, not
    yet late), ``due_soon`` (within the hour), ``paused`` or ``none`` (no target)."""

    state: str
    due_at: dt.datetime | None
    minutes_used: float
    target_minutes: int | None


def sla_state(
    ticket: Ticket, calendar: BusinessCalendar, now: dt.datetime
) -> tuple[SlaState, SlaState]:
    """The first-response and the resolution state of ``ticket`` at ``now``."""
    used = minutes_used(ticket, calendar, now)
    running = ticket.sla_clock_started_at is not None

    def judge(target: int | None, due: dt.datetime | None, done_at: dt.datetime | None) -> SlaState:
        if target is None:
            return SlaState("none", None, used, None)
        if done_at is not None:
            # Settled: without a due time it was done while the clock stood, in time.
            late = due is not None and done_at > due
            return SlaState("breached" if late else "met", due, used, target)
        if used >= target or (running and due is not None and due <= now):
            return SlaState("breached", due, used, target)
        if not running:
            return SlaState("paused", None, used, target)
        if due is not None and due - now <= DUE_SOON:
            return SlaState("due_soon", due, used, target)
        return SlaState("due", due, used, target)

    resolved = ticket.resolved_at if ticket.status in ("resolved", "closed") else None
    return (
        judge(
            ticket.first_response_target_minutes,
            ticket.first_response_due_at,
            ticket.first_response_at,
        ),
        judge(ticket.resolution_target_minutes, ticket.resolution_due_at, resolved),
    )
