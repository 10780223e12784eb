"""Business-time arithmetic for service-level timers: pure, no storage.

A :class:`BusinessCalendar` names a time zone, the opening hours of each weekday as local
wall-clock ranges, and holidays (local dates with no hours). All arithmetic runs on UTC
instants (integer microseconds internally) and returns aware UTC datetimes.

The rule, daylight saving included: **an instant is business time when the local wall clock
at that instant reads a time inside one of the day's ranges, on a local date that is not a
holiday.** Real time is what is counted, so

* on a spring-forward day a range that spans the skipped hour is shorter (00:00–05:00 on the
  day London goes 01:00 → 02:00 lasts 4 hours); a range bound that falls in the gap resolves to
  the instant the clock jumps (found from the zone's offsets, not datetime's naive ``fold``
  arithmetic, which would land an hour off);
* on a fall-back day a range that spans the repeated hour is longer (00:00–05:00 on the day
  London goes 02:00 → 01:00 lasts 6 hours): a start bound is the first occurrence of its wall
  time (``fold=0``), an end bound the second (``fold=1``), so both passes count;
* a bound *inside* the repeated hour keeps the wall-clock rule for each pass: 01:30–05:00 on
  that London day covers the first 01:30–02:00 and the second 01:30–05:00 (4 hours), not the
  second 01:00–01:30, when the clock reads a time before the range. Resolving such a start to
  ``fold=0`` and counting straight through would also count that half hour; an end bound of
  exactly 01:00 resolved to ``fold=1`` would make 00:00–01:00 last two hours.

``add_business_minutes(calendar, start, 0)`` returns ``start`` (in UTC) even outside business
hours: a zero target is due at once. For a positive target the result is the earliest instant
at which the target is met, so it never lies inside a closed period: a target met exactly at a
closing time returns that closing time. Resolution is one microsecond.
"""

from __future__ import annotations

import datetime as dt
import functools
import heapq
import math
import re
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from soloist.errors import ValidationError

__all__ = [
    "BusinessCalendar",
    "add_business_minutes",
    "business_minutes_between",
    "is_business_time",
]

DAY_KEYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
DAY_NAMES = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")
MINUTES_PER_DAY = 1440
MAX_WALK_DAYS = 3653  # ten years: a target not met by then is refused, not looped over

_US_PER_MINUTE = 60_000_000
_US_PER_DAY = 86_400_000_000
_EPOCH = dt.datetime(1970, 1, 1, tzinfo=dt.UTC)
_EPOCH_ORDINAL = _EPOCH.date().toordinal()
_NEG_INF = -(2**62)
_TIME = re.compile(r"(\d{1,2}):(\d{2})")

Range = tuple[int, int]
Interval = tuple[int, int]  # [lo, hi) in UTC microseconds since the epoch


@dataclass(frozen=True)
class BusinessCalendar:
    """Opening hours in one time zone.

    ``hours`` holds seven entries, Monday to Sunday, each a sorted tuple of non-overlapping
    ``(start_minute, end_minute)`` ranges of local wall-clock minutes since midnight,
    ``0 <= start < end <= 1440``. ``holidays`` are local dates without business hours.
    """

    timezone: str
    hours: tuple[tuple[Range, ...], ...]
    holidays: frozenset[dt.date] = frozenset()
    zone: ZoneInfo = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "zone", _zone(self.timezone))
        object.__setattr__(self, "hours", _checked_hours(self.hours))
        object.__setattr__(self, "holidays", _checked_holidays(self.holidays))

    @classmethod
    def always(cls) -> BusinessCalendar:
        """Every minute counts: 24/7 in UTC, no holidays."""
        return cls("UTC", (((0, MINUTES_PER_DAY),),) * 7)

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> BusinessCalendar:
        """Build from ``{"timezone": ..., "hours": {"mon": [["09:00", "17:30"]], ...},
        "holidays": ["2026-12-25"]}``. A day left out of ``hours`` is closed; ranges may be
        given in any order; ``"24:00"`` may end a range."""
        if not isinstance(data, Mapping):
            raise ValidationError("A business calendar must be a JSON object.", field="calendar")
        unknown = sorted(set(data) - {"timezone", "hours", "holidays"})
        if unknown:
            raise ValidationError(
                f"Unknown key {unknown[0]!r} in business calendar; "
                "expected timezone, hours and holidays.",
                field=str(unknown[0]),
            )
        if "timezone" not in data:
            raise ValidationError(
                "A business calendar needs a timezone, such as 'Europe/London'.", field="timezone"
            )
        hours_data = data.get("hours", {})
        if not isinstance(hours_data, Mapping):
            raise ValidationError(
                "hours must map days (mon … sun) to lists of ranges.", field="hours"
            )
        bad_days = sorted(str(key) for key in hours_data if key not in DAY_KEYS)
        if bad_days:
            raise ValidationError(
                f"Unknown day {bad_days[0]!r} in hours; use {', '.join(DAY_KEYS)}.", field="hours"
            )
        hours = tuple(
            _parse_day(index, hours_data.get(key, [])) for index, key in enumerate(DAY_KEYS)
        )
        holidays_data = data.get("holidays", [])
        if isinstance(holidays_data, str) or not isinstance(holidays_data, Sequence):
            raise ValidationError(
                "holidays must be a list of dates like '2026-12-25'.", field="holidays"
            )
        holidays = frozenset(_parse_holiday(value) for value in holidays_data)
        return cls(data["timezone"], hours, holidays)

    def to_json(self) -> dict[str, Any]:
        """The shape :meth:`from_json` reads."""
        return {
            "timezone": self.timezone,
            "hours": {
                key: [[_clock(start), _clock(end)] for start, end in day]
                for key, day in zip(DAY_KEYS, self.hours, strict=True)
            },
            "holidays": [day.isoformat() for day in sorted(self.holidays)],
        }


def business_minutes_between(
    calendar: BusinessCalendar, start: dt.datetime, end: dt.datetime
) -> float:
    """Business minutes in ``[start, end)``, seconds included; 0 when ``end <= start``."""
    lo, hi = _microseconds(start, "start"), _microseconds(end, "end")
    if hi <= lo:
        return 0.0
    total = 0
    for first, last in _intervals(calendar, lo, stop=hi):
        total += min(last, hi) - first
    return total / _US_PER_MINUTE


def add_business_minutes(
    calendar: BusinessCalendar, start: dt.datetime, minutes: float
) -> dt.datetime:
    """The earliest UTC instant ``t >= start`` with ``minutes`` business minutes in
    ``[start, t)``.

    Zero minutes returns ``start`` (as UTC) even outside hours. Raises ``ValueError`` for a
    naive ``start`` or a negative or non-finite target, and :class:`ValidationError` when the
    target is not met within ten years (holidays covering everything, say).
    """
    at = _microseconds(start, "start")
    if not math.isfinite(minutes) or minutes < 0:
        raise ValueError(f"minutes must be a finite number >= 0, not {minutes!r}")
    remaining = round(minutes * _US_PER_MINUTE)
    if remaining == 0:
        return start.astimezone(dt.UTC)
    for first, last in _intervals(calendar, at, stop=None):
        if remaining <= last - first:
            return _datetime(first + remaining)
        remaining -= last - first
    raise AssertionError("unreachable: the walk without a stop raises at its cap")


def is_business_time(calendar: BusinessCalendar, instant: dt.datetime) -> bool:
    """Whether the wall clock at ``instant`` reads a business time on a working day."""
    _microseconds(instant, "instant")
    local = instant.astimezone(calendar.zone)
    if local.date() in calendar.holidays:
        return False
    since_midnight = _microseconds(local.replace(tzinfo=dt.UTC), "instant") % _US_PER_DAY
    return any(
        start * _US_PER_MINUTE <= since_midnight < end * _US_PER_MINUTE
        for start, end in calendar.hours[local.weekday()]
    )


# --- walking ---------------------------------------------------------------------------


def _intervals(calendar: BusinessCalendar, start: int, *, stop: int | None) -> Iterator[Interval]:
    """Business intervals in time order, clipped to begin at ``start``, up to ``stop`` (or
    for at most :data:`MAX_WALK_DAYS` days when ``stop`` is None).

    A local date's intervals lie within a day of its UTC-midnight (|UTC offset| < 24 h), so
    intervals are held back until no later date can produce an earlier one: around a
    fall-back at midnight, the end of one date may follow the start of the next.
    """
    first_day = (start // _US_PER_DAY) + _EPOCH_ORDINAL - 1
    pending: list[Interval] = []
    day = first_day
    while True:
        midnight = (day - _EPOCH_ORDINAL) * _US_PER_DAY
        if stop is not None and midnight - _US_PER_DAY >= stop:
            while pending:
                lo, hi = heapq.heappop(pending)
                if hi > start and lo < stop:
                    yield max(lo, start), hi
            return
        if stop is None and day - first_day > MAX_WALK_DAYS:
            raise ValidationError(
                "The business calendar has no business time left within ten years of "
                f"{_datetime(start).isoformat()}; check its holidays.",
                field="holidays",
            )
        for interval in _day_intervals(calendar, dt.date.fromordinal(day)):
            heapq.heappush(pending, interval)
        frontier = midnight  # every later date's intervals start at or after this
        while pending and pending[0][0] <= frontier:
            lo, hi = heapq.heappop(pending)
            if hi > start and (stop is None or lo < stop):
                yield max(lo, start), hi
        day += 1


@functools.lru_cache(maxsize=8192)
def _day_intervals(calendar: BusinessCalendar, day: dt.date) -> tuple[Interval, ...]:
    """The UTC intervals in which the wall clock reads one of ``day``'s ranges (cached: a
    ticket list walks the same business days for every running clock on the page)."""
    if day in calendar.holidays:
        return ()
    midnight = dt.datetime.combine(day, dt.time())
    found: list[Interval] = []
    for start, end in calendar.hours[day.weekday()]:
        opens = _before(calendar.zone, midnight + dt.timedelta(minutes=start))
        closes = _before(calendar.zone, midnight + dt.timedelta(minutes=end))
        found.extend(_difference(closes, opens))
    return tuple(found)


def _before(zone: ZoneInfo, wall: dt.datetime) -> list[Interval]:
    """The instants near ``wall`` at which the clock reads earlier than ``wall``.

    Unambiguous ``wall`` at instant ``w``: everything before ``w``. In a repeated period
    (first pass ``w0``, second ``w1``, clocks back at ``T``): before ``w0``, and ``[T, w1)``.
    In a gap (clocks forward at ``T``): everything before ``T``.
    """
    first = _microseconds(wall.replace(tzinfo=zone, fold=0), "wall")
    second = _microseconds(wall.replace(tzinfo=zone, fold=1), "wall")
    if first == second:
        return [(_NEG_INF, first)]
    if first < second:  # fold=0 uses the earlier (larger) offset: a repeated wall time
        return [(_NEG_INF, first), (_transition(zone, first, second), second)]
    # In a gap fold=0 uses the offset before the jump, landing after it; fold=1 before it.
    return [(_NEG_INF, _transition(zone, second, first))]


def _transition(zone: ZoneInfo, lo: int, hi: int) -> int:
    """The instant in ``(lo, hi]`` at which the zone's offset changes (bisection on whole
    seconds; tz database transitions fall on whole seconds)."""
    low, high = lo // 1_000_000, -(-hi // 1_000_000)
    after = _offset(zone, high)
    while high - low > 1:
        middle = (low + high) // 2
        if _offset(zone, middle) == after:
            high = middle
        else:
            low = middle
    return high * 1_000_000


def _offset(zone: ZoneInfo, seconds: int) -> dt.timedelta | None:
    return dt.datetime.fromtimestamp(seconds, zone).utcoffset()


def _difference(keep: list[Interval], drop: list[Interval]) -> list[Interval]:
    pieces = keep
    for cut_lo, cut_hi in drop:
        remaining: list[Interval] = []
        for lo, hi in pieces:
            if cut_hi <= lo or cut_lo >= hi:
                remaining.append((lo, hi))
                continue
            if lo < cut_lo:
                remaining.append((lo, cut_lo))
            if cut_hi < hi:
                remaining.append((cut_hi, hi))
        pieces = remaining
    return sorted(piece for piece in pieces if piece[0] < piece[1])


def _microseconds(moment: dt.datetime, name: str) -> int:
    if moment.tzinfo is None or moment.utcoffset() is None:
        raise ValueError(f"{name} must be a timezone-aware datetime, not naive: {moment!r}")
    delta = moment - _EPOCH
    return (delta.days * 86_400 + delta.seconds) * 1_000_000 + delta.microseconds


def _datetime(microseconds: int) -> dt.datetime:
    return _EPOCH + dt.timedelta(microseconds=microseconds)


# --- validation and parsing ------------------------------------------------------------


def _zone(name: object) -> ZoneInfo:
    if isinstance(name, str) and name:
        try:
            return ZoneInfo(name)
        except (ZoneInfoNotFoundError, ValueError, OSError):
            pass
    raise ValidationError(
        f"Unknown time zone {name!r}; use an IANA name such as 'Europe/London'.",
        field="timezone",
    )


def _checked_hours(hours: object) -> tuple[tuple[Range, ...], ...]:
    if isinstance(hours, str) or not isinstance(hours, Sequence) or len(hours) != 7:
        raise ValidationError("Business hours need seven entries, Monday to Sunday.", field="hours")
    checked = tuple(_checked_day(index, day) for index, day in enumerate(hours))
    if not any(checked):
        raise ValidationError(
            "The business calendar has no business hours in the whole week; "
            "give at least one day a range.",
            field="hours",
        )
    return checked


def _checked_day(index: int, day: object) -> tuple[Range, ...]:
    name = DAY_NAMES[index]
    if isinstance(day, str) or not isinstance(day, Sequence):
        raise ValidationError(f"Business hours for {name} must be a list of ranges.", field="hours")
    ranges: list[Range] = []
    for item in day:
        if (
            isinstance(item, str)
            or not isinstance(item, Sequence)
            or len(item) != 2
            or not all(isinstance(v, int) and not isinstance(v, bool) for v in item)
        ):
            raise ValidationError(
                f"Business hours for {name}: {item!r} is not a (start, end) pair of minutes.",
                field="hours",
            )
        start, end = item
        if not 0 <= start < end <= MINUTES_PER_DAY:
            raise ValidationError(
                f"Business hours for {name}: range {_label(start, end)} must start before it "
                "ends, within 00:00–24:00.",
                field="hours",
            )
        if ranges and start < ranges[-1][1]:
            what = "overlaps" if start >= ranges[-1][0] else "comes before"
            raise ValidationError(
                f"Business hours for {name}: {_label(start, end)} {what} "
                f"{_label(*ranges[-1])}; give ranges in order without overlaps.",
                field="hours",
            )
        ranges.append((start, end))
    return tuple(ranges)


def _checked_holidays(holidays: object) -> frozenset[dt.date]:
    if isinstance(holidays, str) or not isinstance(holidays, frozenset | set | Sequence):
        raise ValidationError("Holidays must be a set of dates.", field="holidays")
    for day in holidays:
        if not isinstance(day, dt.date) or isinstance(day, dt.datetime):
            raise ValidationError(f"Holiday {day!r} is not a date.", field="holidays")
    return frozenset(holidays)


def _parse_day(index: int, ranges: object) -> tuple[Range, ...]:
    key, name = DAY_KEYS[index], DAY_NAMES[index]
    if isinstance(ranges, str) or not isinstance(ranges, Sequence):
        raise ValidationError(
            f"Business hours for {name} must be a list of [start, end] pairs, not {ranges!r}.",
            field=f"hours.{key}",
        )
    parsed = []
    for pair in ranges:
        if isinstance(pair, str) or not isinstance(pair, Sequence) or len(pair) != 2:
            raise ValidationError(
                f"Business hours for {name}: {pair!r} is not a pair like ['09:00', '17:30'].",
                field=f"hours.{key}",
            )
        parsed.append((_parse_clock(name, key, pair[0]), _parse_clock(name, key, pair[1])))
    return tuple(sorted(parsed))


def _parse_clock(name: str, key: str, value: object) -> int:
    match = _TIME.fullmatch(value) if isinstance(value, str) else None
    if match:
        hour, minute = int(match[1]), int(match[2])
        if (hour < 24 and minute < 60) or (hour, minute) == (24, 0):
            return hour * 60 + minute
    raise ValidationError(
        f"Business hours for {name}: {value!r} is not a time like '09:00' "
        "(00:00 to 23:59, or 24:00 to end a range).",
        field=f"hours.{key}",
    )


def _parse_holiday(value: object) -> dt.date:
    try:
        if isinstance(value, str):
            return dt.date.fromisoformat(value)
    except ValueError:
        pass
    raise ValidationError(f"Holiday {value!r} is not a date like '2026-12-25'.", field="holidays")


def _clock(minute: int) -> str:
    return f"{minute // 60:02d}:{minute % 60:02d}"


def _label(start: int, end: int) -> str:
    return f"{_clock(start)}–{_clock(end)}"
