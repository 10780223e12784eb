"""The SLA clock of a ticket, against a brute force that replays its history minute by minute.

A ticket's clock counts business minutes while it is new or open and stands while it is
pending; its resolution is due when the counted minutes reach the target. The reference below
walks every UTC minute of a random history (random business hours in zones with daylight-saving
changes, holidays, random pauses) and counts; the ticket, changed through the domain functions
and stored in each database, must agree to the minute.
"""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from tests.domain.test_business_time import business_minute_flags

from soloist.domain.service import Desk, open_ticket, set_ticket_status, sla_state
from soloist.domain.service.business_time import BusinessCalendar
from soloist.storage.database import Database
from soloist.storage.models import SlaPolicy, Ticket

pytestmark = pytest.mark.slow

# Near each zone's 2026 daylight-saving changes (and a plain week for Shanghai).
STARTS = {
    zone: [dt.datetime(2026, month, day, tzinfo=dt.UTC) for month, day in days]
    for zone, days in {
        "Europe/London": [(3, 26), (10, 22)],
        "America/New_York": [(3, 5), (10, 29)],
        "Australia/Lord_Howe": [(4, 2), (10, 1)],
        "Asia/Shanghai": [(12, 21)],
    }.items()
}
HORIZON_DAYS = 10
SEARCH_DAYS = 60


@st.composite
def calendars(draw: st.DrawFn) -> BusinessCalendar:
    zone = draw(st.sampled_from(sorted(STARTS)))
    hours = []
    for _ in range(7):
        if draw(st.booleans()) and draw(st.booleans()):
            hours.append(())
            continue
        start = draw(st.integers(0, 23)) * 60 + draw(st.sampled_from([0, 30]))
        end = draw(st.integers(start // 60 + 1, 24)) * 60
        hours.append(((start, end),))
    if not any(hours):
        hours[0] = ((9 * 60, 17 * 60),)
    first = STARTS[zone][0].date()
    holidays = draw(
        st.frozensets(st.dates(first, first + dt.timedelta(days=HORIZON_DAYS)), max_size=2)
    )
    return BusinessCalendar(timezone=zone, hours=tuple(hours), holidays=holidays)


@st.composite
def histories(draw: st.DrawFn) -> tuple[BusinessCalendar, dt.datetime, list[tuple[int, str]], int]:
    """A calendar, the opening instant, status changes (minute offset, status) and the target."""
    calendar = draw(calendars())
    base = draw(st.sampled_from(STARTS[calendar.timezone]))
    opened = base + dt.timedelta(minutes=draw(st.integers(0, 3 * 1440)))
    offsets = sorted(draw(st.sets(st.integers(1, HORIZON_DAYS * 1440), max_size=6)))
    status, changes = "new", []
    for offset in offsets:
        status = draw(st.sampled_from(["open", "pending"] if status != "pending" else ["open"]))
        changes.append((offset, status))
    target = draw(st.integers(1, 3000))
    return calendar, opened, changes, target


@settings(
    max_examples=40,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(history=histories())
def test_the_resolution_clock_agrees_with_a_minute_by_minute_replay(
    database: Database,
    history: tuple[BusinessCalendar, dt.datetime, list[tuple[int, str]], int],
) -> None:
    calendar, opened, changes, target = history
    end = changes[-1][0] if changes else 0
    flags = business_minute_flags(calendar, opened, end)
    used_reference, running = 0, True
    at = dict(changes)
    for minute in range(end):
        if minute in at:
            running = at[minute] != "pending"
        used_reference += running and flags[minute]
    running_at_end = not changes or changes[-1][1] != "pending"

    session = database.session_factory()
    try:
        session.begin()
        policy = session.query(SlaPolicy).filter_by(priority="normal").one()
        policy.first_response_minutes, policy.resolution_minutes = 1, target
        desk = Desk(calendar)
        ticket = open_ticket(session, desk, "Broken", "It broke.", "t", opened_at=opened)
        for offset, status in changes:
            set_ticket_status(
                session, desk, ticket.id, status, "t", at=opened + dt.timedelta(minutes=offset)
            )
        session.expire_all()
        stored = session.get(Ticket, ticket.id)
        assert stored is not None
        now = opened + dt.timedelta(minutes=end)
        _, resolution = sla_state(stored, calendar, now)
        assert round(resolution.minutes_used, 6) == used_reference
        if used_reference >= target:
            assert resolution.state == "breached"
        elif not running_at_end:
            assert resolution.state == "paused"
            assert stored.resolution_due_at is None
        else:
            # The due instant: run the clock on from the last change until the target is met.
            zone, remaining = ZoneInfo(calendar.timezone), target - used_reference
            minute = now
            while remaining:
                local = minute.astimezone(zone)
                in_hours = local.date() not in calendar.holidays and any(
                    s <= local.hour * 60 + local.minute < e
                    for s, e in calendar.hours[local.weekday()]
                )
                remaining -= in_hours
                minute += dt.timedelta(minutes=1)
            # A target met at the end of a business minute that is also a closing time is due
            # then; either way the due time is the end of the last counted minute.
            assert stored.resolution_due_at == minute
            assert resolution.state in ("due", "due_soon")
    finally:
        session.rollback()
        session.close()


def test_a_pending_ticket_keeps_its_minutes_and_resumes_where_it_stood(database: Database) -> None:
    london = ZoneInfo("Europe/London")
    calendar = BusinessCalendar.from_json(
        {"timezone": "Europe/London",
         "hours": {d: [["09:00", "17:00"]] for d in ("mon", "tue", "wed", "thu", "fri")},
         "holidays": ["2026-12-25", "2026-12-28"]}
    )  # fmt: skip
    opened = dt.datetime(2026, 12, 24, 15, 0, tzinfo=london)  # Thursday, 2 business hours left
    with database.session() as session:
        desk = Desk(calendar)
        ticket = open_ticket(session, desk, "Gift", "Late!", "t", priority="high", opened_at=opened)
        # high: 120 business minutes to a first response, 480 to resolve. Thursday 15:00-17:00
        # counts 120; Friday 25th and Monday 28th are holidays; the rest (360) runs Tuesday
        # 29th 09:00-15:00.
        assert ticket.first_response_due_at == dt.datetime(2026, 12, 24, 17, 0, tzinfo=london)
        assert ticket.resolution_due_at == dt.datetime(2026, 12, 29, 15, 0, tzinfo=london)
        set_ticket_status(
            session, desk, ticket.id, "pending", "t", at=opened + dt.timedelta(hours=1)
        )
        assert ticket.resolution_due_at is None
        assert ticket.first_response_due_at is None
        assert ticket.sla_minutes_used == 60
        # The customer answers on Tuesday 29th at 10:00: 420 minutes remain, to 17:00 that day.
        back = dt.datetime(2026, 12, 29, 10, 0, tzinfo=london)
        set_ticket_status(session, desk, ticket.id, "open", "t", at=back)
        assert ticket.resolution_due_at == dt.datetime(2026, 12, 29, 17, 0, tzinfo=london)
        assert ticket.first_response_due_at == dt.datetime(2026, 12, 29, 11, 0, tzinfo=london)
        first, resolution = sla_state(ticket, calendar, back)
        assert (first.state, resolution.state) == ("due_soon", "due")
        assert resolution.minutes_used == 60
