"""The SLA clock of :mod:`soloist.domain.service.sla`, on business hours summed once.

The desk's functions walk the calendar day by day on every call, a fraction of a millisecond
each; a demo of a hundred thousand customers asks them a few hundred thousand times. Here the
calendar's business intervals over the demo's years are laid out once, with the business time
before each, so that :meth:`BusinessHours.between` and :meth:`BusinessHours.add` are two
bisections. They count in the same integer microseconds and round as
:func:`~soloist.domain.service.business_time.business_minutes_between` and
:func:`~soloist.domain.service.business_time.add_business_minutes` do, and the intervals are
checked against those functions when laid out: should any differ (a range bound in a daylight
saving gap, say), or a question fall outside the span, the answer comes from the functions
themselves. :class:`Clock` is :mod:`~soloist.domain.service.sla`'s start, stop and due-time rules
on these sums; ``tests/demo/test_service_demo.py`` holds both to the originals.
"""

from __future__ import annotations

import bisect
import datetime as dt
from typing import Protocol

from soloist.domain.service import (
    BusinessCalendar,
    add_business_minutes,
    business_minutes_between,
)

US_PER_MINUTE = 60_000_000
_EPOCH = dt.datetime(1970, 1, 1, tzinfo=dt.UTC)


def _us(moment: dt.datetime) -> int:
    delta = moment - _EPOCH
    return (delta.days * 86_400 + delta.seconds) * 1_000_000 + delta.microseconds


def _moment(microseconds: int) -> dt.datetime:
    return _EPOCH + dt.timedelta(microseconds=microseconds)


class BusinessHours:
    """A calendar's business intervals from ``first`` to ``last``, with running sums."""

    def __init__(self, calendar: BusinessCalendar, first: dt.datetime, last: dt.datetime) -> None:
        self.calendar = calendar
        self.lo: list[int] = []
        self.hi: list[int] = []
        self.before: list[int] = []  # business microseconds from the span's start to lo[i]
        self.after: list[int] = []  # ... to hi[i]
        zone, day, total = calendar.zone, first.astimezone(calendar.zone).date(), 0
        while True:
            midnight = dt.datetime.combine(day, dt.time(), tzinfo=zone)
            if midnight > last:
                break
            ranges = () if day in calendar.holidays else calendar.hours[day.weekday()]
            for start, end in ranges:
                lo = midnight.replace(hour=start // 60, minute=start % 60)
                hi = dt.datetime.combine(day, dt.time(), tzinfo=zone) + dt.timedelta(days=1)
                if end < 1440:
                    hi = midnight.replace(hour=end // 60, minute=end % 60)
                lo_us, hi_us = _us(lo.astimezone(dt.UTC)), _us(hi.astimezone(dt.UTC))
                self.lo.append(lo_us)
                self.hi.append(hi_us)
                self.before.append(total)
                total += hi_us - lo_us
                self.after.append(total)
            day += dt.timedelta(days=1)
        self.exact = bool(self.lo) and self._checked()
        self.first = self.lo[0] if self.exact else 0
        self.last = self.hi[-1] if self.exact else 0

    def _checked(self) -> bool:
        """Whether the calendar's own functions agree. On a day of one UTC offset a wall-clock
        range is plainly the instants laid out; only near a change of offset can it be
        otherwise, so those intervals are asked one by one. The intervals must be in order and
        their total the business time of the whole span: then no gap holds any either."""
        if any(lo < hi_before for lo, hi_before in zip(self.lo[1:], self.hi, strict=False)):
            return False
        span = business_minutes_between(self.calendar, _moment(self.lo[0]), _moment(self.hi[-1]))
        if round(span * US_PER_MINUTE) != self.after[-1]:
            return False
        zone, day = self.calendar.zone, dt.timedelta(days=1)
        for lo, hi in zip(self.lo, self.hi, strict=True):
            moment = _moment(lo)
            offsets = {(moment + k * day).astimezone(zone).utcoffset() for k in (-1, 0, 1)}
            if (
                len(offsets) > 1
                and round(
                    business_minutes_between(self.calendar, moment, _moment(hi)) * US_PER_MINUTE
                )
                != hi - lo
            ):
                return False
        return True

    def _sum(self, at: int) -> int:
        """Business microseconds from the span's start to ``at``."""
        i = bisect.bisect_right(self.lo, at) - 1
        if i < 0:
            return 0
        return self.before[i] + min(at, self.hi[i]) - self.lo[i]

    def between(self, start: dt.datetime, end: dt.datetime) -> float:
        """:func:`business_minutes_between`."""
        lo, hi = _us(start), _us(end)
        if not (self.exact and self.first <= lo and hi <= self.last):
            return business_minutes_between(self.calendar, start, end)
        if hi <= lo:
            return 0.0
        return (self._sum(hi) - self._sum(lo)) / US_PER_MINUTE

    def add(self, start: dt.datetime, minutes: float) -> dt.datetime:
        """:func:`add_business_minutes`."""
        at, remaining = _us(start), round(minutes * US_PER_MINUTE)
        if not self.exact or remaining < 0 or not self.first <= at <= self.last:
            return add_business_minutes(self.calendar, start, minutes)
        if remaining == 0:
            return start.astimezone(dt.UTC)
        target = self._sum(at) + remaining
        i = bisect.bisect_left(self.after, target)
        if i == len(self.after):
            return add_business_minutes(self.calendar, start, minutes)
        return _moment(self.lo[i] + target - self.before[i])

    def rewind(self, end: dt.datetime, minutes: float) -> dt.datetime:
        """The latest instant, to the second, with ``minutes`` business minutes between it and
        ``end`` (the inverse of :meth:`add`, by bisection over the last 120 days)."""
        lo, hi = end - dt.timedelta(days=120), end
        while hi - lo > dt.timedelta(seconds=1):
            middle = lo + (hi - lo) / 2
            if self.between(middle, end) >= minutes:
                lo = middle
            else:
                hi = middle
        return lo.replace(microsecond=0)


class ClockedTicket(Protocol):
    """The columns of a :class:`~soloist.storage.models.Ticket` that its clock reads and writes."""

    first_response_at: dt.datetime | None
    first_response_due_at: dt.datetime | None
    resolution_due_at: dt.datetime | None
    first_response_target_minutes: int | None
    resolution_target_minutes: int | None
    sla_minutes_used: float
    sla_clock_started_at: dt.datetime | None


class Clock:
    """:mod:`soloist.domain.service.sla`'s clock on :class:`BusinessHours`: ``start`` and
    ``stop`` are its ``start_clock`` and ``stop_clock``, due times worked out as its
    ``refresh_due_times`` does."""

    def __init__(self, hours: BusinessHours) -> None:
        self.hours = hours

    def used(self, ticket: ClockedTicket, at: dt.datetime) -> float:
        used = ticket.sla_minutes_used or 0.0
        if ticket.sla_clock_started_at is not None:
            used += self.hours.between(ticket.sla_clock_started_at, at)
        return used

    def _due(
        self,
        ticket: ClockedTicket,
        target: int | None,
        recorded: dt.datetime | None,
        at: dt.datetime,
    ) -> dt.datetime | None:
        if target is None:
            return None
        used = ticket.sla_minutes_used or 0.0
        started = ticket.sla_clock_started_at
        if started is not None:
            if target > used:
                return self.hours.add(started, target - used)
            return recorded if recorded is not None and recorded <= started else started
        if used < target:
            return None
        return recorded if recorded is not None and recorded <= at else at

    def refresh(self, ticket: ClockedTicket, at: dt.datetime) -> None:
        if ticket.first_response_at is None:
            ticket.first_response_due_at = self._due(
                ticket, ticket.first_response_target_minutes, ticket.first_response_due_at, at
            )
        ticket.resolution_due_at = self._due(
            ticket, ticket.resolution_target_minutes, ticket.resolution_due_at, at
        )

    def start(self, ticket: ClockedTicket, at: dt.datetime) -> None:
        if ticket.sla_clock_started_at is None:
            ticket.sla_clock_started_at = at
        self.refresh(ticket, at)

    def stop(self, ticket: ClockedTicket, at: dt.datetime) -> None:
        if ticket.sla_clock_started_at is not None:
            ticket.sla_minutes_used = self.used(ticket, at)
            ticket.sla_clock_started_at = None
        self.refresh(ticket, at)
