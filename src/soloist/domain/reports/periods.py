"""The periods a report covers: the last complete month or week, the one before it, and the
run of periods its trend charts show, as UTC instants of the workspace's own calendar."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from zoneinfo import ZoneInfo

from soloist.errors import ValidationError

PERIOD_KINDS = ("month", "week")


@dataclass(frozen=True)
class Period:
    """``[start, end)`` in UTC; ``label`` as ``2026-11`` or ``2026-W47``."""

    kind: str
    start: dt.datetime
    end: dt.datetime
    label: str

    def contains(self, moment: dt.datetime) -> bool:
        return self.start <= moment < self.end

    @property
    def last_moment(self) -> dt.datetime:
        """The period's last instant (its last day, shown as a date)."""
        return self.end - dt.timedelta(microseconds=1)


def _local_start(kind: str, local: dt.datetime) -> dt.datetime:
    midnight = local.replace(hour=0, minute=0, second=0, microsecond=0)
    if kind == "month":
        return midnight.replace(day=1)
    return midnight - dt.timedelta(days=midnight.weekday())  # ISO weeks start on Monday


def _step(kind: str, local_start: dt.datetime, steps: int) -> dt.datetime:
    if kind == "week":
        return local_start + dt.timedelta(weeks=steps)
    month = local_start.month - 1 + steps
    return local_start.replace(year=local_start.year + month // 12, month=month % 12 + 1)


def _period(kind: str, local_start: dt.datetime, zone: ZoneInfo) -> Period:
    local_end = _step(kind, local_start, 1)
    if kind == "month":
        label = f"{local_start:%Y-%m}"
    else:
        year, week, _ = local_start.isocalendar()
        label = f"{year}-W{week:02d}"
    # Built as wall-clock times of the zone, so a period spanning a DST change is still whole.
    start = local_start.replace(tzinfo=zone).astimezone(dt.UTC)
    end = local_end.replace(tzinfo=zone).astimezone(dt.UTC)
    return Period(kind, start, end, label)


def report_periods(kind: str, as_of: dt.datetime, timezone: str, count: int) -> list[Period]:
    """The ``count`` complete periods of ``kind`` that end at or before ``as_of``, oldest first:
    the last is the report's period, the one before it the comparison."""
    if kind not in PERIOD_KINDS:
        raise ValidationError(
            f"Unknown period {kind!r}; use {' or '.join(PERIOD_KINDS)}.", field="period"
        )
    zone = ZoneInfo(timezone)
    local = as_of.astimezone(zone).replace(tzinfo=None)
    current_start = _local_start(kind, local)
    return [_period(kind, _step(kind, current_start, -n), zone) for n in range(count, 0, -1)]
