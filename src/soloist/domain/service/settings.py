"""The service desk's settings, kept in the workspace: the business calendar the SLA clocks count
in, and the targets per priority.

The calendar is stored as JSON under ``service.calendar`` (the shape of
:meth:`BusinessCalendar.to_json`); without one, the desk keeps Monday to Friday, 09:00–17:00 in
the workspace's time zone. The targets are rows of ``sla_policies``, one per priority, in
business minutes; a change reaches the tickets still running at once (their due times are worked
out again from the minutes they have used), as Zammad recomputes escalations.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from soloist.domain.audit import record_audit
from soloist.domain.service.business_time import BusinessCalendar
from soloist.errors import ValidationError
from soloist.storage.models import TICKET_PRIORITIES, SlaPolicy, WorkspaceSetting

CALENDAR_KEY = "service.calendar"
WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
MAX_TARGET_MINUTES = 60 * 24 * 365  # a year of business minutes: anything longer is a typo


def default_calendar_json(timezone: str) -> dict[str, Any]:
    office = [["09:00", "17:00"]]
    return {
        "timezone": timezone,
        "hours": {day: office if day not in ("sat", "sun") else [] for day in WEEKDAYS},
        "holidays": [],
    }


def service_calendar(session: Session, timezone: str) -> BusinessCalendar:
    """The desk's business calendar (the default when the owner has set none)."""
    row = session.get(WorkspaceSetting, CALENDAR_KEY)
    return BusinessCalendar.from_json(
        row.value if row is not None else default_calendar_json(timezone)
    )


def save_service_calendar(
    session: Session,
    value: dict[str, Any],
    actor: str,
    now: dt.datetime,
    *,
    timezone: str | None = None,
) -> BusinessCalendar:
    """Store a new calendar (validated whole before anything is written) and move the due times
    of the running tickets to it; ``timezone`` is the workspace's, that of the default calendar
    in force until the first one is saved."""
    calendar = BusinessCalendar.from_json(value)
    previous = service_calendar(session, timezone or calendar.timezone)
    stored = calendar.to_json()
    row = session.get(WorkspaceSetting, CALENDAR_KEY)
    if row is None:
        session.add(WorkspaceSetting(key=CALENDAR_KEY, value=stored))
    else:
        row.value = stored
    record_audit(session, actor, "service.calendar_changed", "workspace_setting", CALENDAR_KEY, {})
    session.flush()
    from soloist.domain.service.sla import recompute_running_tickets

    recompute_running_tickets(session, calendar, now, previous=previous)
    return calendar


@dataclass(frozen=True)
class SlaTargets:
    priority: str
    first_response_minutes: int
    resolution_minutes: int


def sla_targets(session: Session) -> dict[str, SlaTargets]:
    """The targets per priority (a priority without a row has none)."""
    rows = session.scalars(select(SlaPolicy))
    return {
        row.priority: SlaTargets(row.priority, row.first_response_minutes, row.resolution_minutes)
        for row in rows
    }


def save_sla_targets(
    session: Session,
    priority: str,
    first_response_minutes: int,
    resolution_minutes: int,
    actor: str,
    now: dt.datetime,
    timezone: str,
) -> SlaTargets:
    """Set one priority's targets; running tickets of that priority take them at once."""
    if priority not in TICKET_PRIORITIES:
        raise ValidationError(
            f"Unknown priority {priority!r}; use one of {', '.join(TICKET_PRIORITIES)}.",
            field="priority",
        )
    for name, minutes in (
        ("first_response_minutes", first_response_minutes),
        ("resolution_minutes", resolution_minutes),
    ):
        if not 1 <= minutes <= MAX_TARGET_MINUTES:
            raise ValidationError(
                f"{name} must be between 1 and {MAX_TARGET_MINUTES} business minutes, "
                f"not {minutes}.",
                field=name,
            )
    if first_response_minutes > resolution_minutes:
        raise ValidationError(
            "The first response cannot be due after the resolution "
            f"({first_response_minutes} > {resolution_minutes} minutes).",
            field="first_response_minutes",
        )
    row = session.scalar(select(SlaPolicy).where(SlaPolicy.priority == priority))
    if row is None:
        row = SlaPolicy(priority=priority)
        session.add(row)
    row.first_response_minutes, row.resolution_minutes = first_response_minutes, resolution_minutes
    record_audit(
        session,
        actor,
        "service.sla_changed",
        "sla_policy",
        priority,
        {
            "first_response_minutes": first_response_minutes,
            "resolution_minutes": resolution_minutes,
        },
    )
    session.flush()
    from soloist.domain.service.sla import recompute_running_tickets

    recompute_running_tickets(session, service_calendar(session, timezone), now, priority=priority)
    return SlaTargets(priority, first_response_minutes, resolution_minutes)
