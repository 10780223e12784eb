"""Business time for SLA timers: a minute-by-minute reference, and the cases users rely on."""

from __future__ import annotations

import bisect
import datetime as dt
import itertools
import time
from zoneinfo import ZoneInfo

import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from soloist.domain.service.business_time import (
    BusinessCalendar,
    add_business_minutes,
    business_minutes_between,
    is_business_time,
)
from soloist.errors import ValidationError

UTC = dt.UTC
LONDON = ZoneInfo("Europe/London")
NEW_YORK = ZoneInfo("America/New_York")
LORD_HOWE = ZoneInfo("Australia/Lord_Howe")
WEEKDAYS_9_TO_5 = (((540, 1020),),) * 5 + ((), ())

# The 2026 transitions: US forward/back, EU forward/back, Lord Howe back (02:00 → 01:30) and
# forward (02:00 → 02:30); China and UTC have none.
TRANSITIONS = {
    "Europe/London": [dt.date(2026, 3, 29), dt.date(2026, 10, 25)],
    "America/New_York": [dt.date(2026, 3, 8), dt.date(2026, 11, 1)],
    "Australia/Lord_Howe": [dt.date(2026, 4, 5), dt.date(2026, 10, 4)],
    "Asia/Shanghai": [dt.date(2026, 3, 29), dt.date(2026, 10, 25)],
    "UTC": [dt.date(2026, 3, 8), dt.date(2026, 11, 1)],
}
# Range bounds at and inside the skipped and repeated periods of those zones.
BOUNDS_NEAR_TRANSITIONS = [0, 60, 75, 90, 100, 120, 135, 150, 180, 1440]


def london(year: int, month: int, day: int, hour: int = 0, minute: int = 0) -> dt.datetime:
    return dt.datetime(year, month, day, hour, minute, tzinfo=LONDON)


def business_minute_flags(
    calendar: BusinessCalendar, start: dt.datetime, minutes: int
) -> list[bool]:
    """For each UTC minute from ``start``: does the local wall clock read business time?

    This is the definition, applied by brute force. It agrees with the fold rules of the
    module: every UTC minute maps to exactly one wall time, so in a repeated hour both passes
    are counted exactly when their wall times are inside a range (a range spanning the hour
    counts it twice: its start resolves to the first pass, its end to the second), and in a
    gap no UTC minute maps to the skipped wall times, so a bound there acts as the instant
    the clock jumps. All transitions of these zones fall on whole UTC minutes, so a minute
    is wholly in or wholly out.
    """
    zone = ZoneInfo(calendar.timezone)
    flags = []
    for step in range(minutes):
        local = (start + dt.timedelta(minutes=step)).astimezone(zone)
        minute_of_day = local.hour * 60 + local.minute
        flags.append(
            local.date() not in calendar.holidays
            and any(s <= minute_of_day < e for s, e in calendar.hours[local.weekday()])
        )
    return flags


@st.composite
def day_hours(draw: st.DrawFn) -> tuple[tuple[int, int], ...]:
    cuts = sorted(
        draw(
            st.lists(
                st.one_of(st.integers(0, 1440), st.sampled_from(BOUNDS_NEAR_TRANSITIONS)),
                max_size=6,
                unique=True,
            )
        )
    )
    # Each gap between consecutive cuts is open or closed; neighbours give touching ranges.
    open_gaps = draw(st.lists(st.booleans(), min_size=len(cuts), max_size=len(cuts)))
    return tuple(
        (a, b)
        for (a, b), is_open in zip(itertools.pairwise(cuts), open_gaps, strict=False)
        if is_open
    )


@st.composite
def cases(draw: st.DrawFn) -> tuple[BusinessCalendar, dt.datetime, int]:
    hours = tuple(draw(day_hours()) for _ in range(7))
    assume(any(hours))
    zone = draw(st.sampled_from(list(TRANSITIONS)))
    near_a_transition = draw(st.integers(0, 3)) > 0
    anchor = draw(
        st.sampled_from(TRANSITIONS[zone])
        if near_a_transition
        else st.dates(dt.date(2026, 1, 1), dt.date(2026, 12, 31))
    )
    offset = draw(st.integers(-3 * 1440, 1440))
    start = dt.datetime.combine(anchor, dt.time(), UTC) + dt.timedelta(minutes=offset)
    holidays = draw(
        st.frozensets(st.integers(-3, 12).map(lambda k: anchor + dt.timedelta(days=k)), max_size=4)
    )
    return BusinessCalendar(zone, hours, holidays), start, draw(st.integers(0, 10 * 1440))


@settings(max_examples=200, deadline=None)
@given(case=cases(), data=st.data())
def test_business_time_matches_a_minute_by_minute_count(
    case: tuple[BusinessCalendar, dt.datetime, int], data: st.DataObject
) -> None:
    calendar, start, span = case
    flags = business_minute_flags(calendar, start, span)
    counted = list(itertools.accumulate(flags, initial=0))  # counted[k]: in the first k minutes

    def at(k: int) -> dt.datetime:
        return start + dt.timedelta(minutes=k)

    assert business_minutes_between(calendar, start, at(span)) == counted[span]
    first, last = sorted(data.draw(st.lists(st.integers(0, span), min_size=2, max_size=2)))
    assert business_minutes_between(calendar, at(first), at(last)) == (
        counted[last] - counted[first]
    )
    if span:
        minute = data.draw(st.integers(0, span - 1))
        assert is_business_time(calendar, at(minute)) == flags[minute]
    total = counted[span]
    if total:
        for target in {1, total, data.draw(st.integers(1, total))}:
            due = add_business_minutes(calendar, start, target)
            # The end of the target-th business minute.
            assert due == at(bisect.bisect_left(counted, target))
            assert due.tzinfo is UTC


@settings(max_examples=200, deadline=None)
@given(
    zone=st.sampled_from(["Europe/London", "America/New_York", "Australia/Lord_Howe"]),
    which=st.integers(0, 1),
    hours=day_hours().filter(bool),
)
def test_transition_days_match_a_minute_by_minute_count(
    zone: str, which: int, hours: tuple[tuple[int, int], ...]
) -> None:
    """The same hours every day, so each transition day has range bounds in or around its
    skipped or repeated period."""
    calendar = BusinessCalendar(zone, (hours,) * 7)
    day = TRANSITIONS[zone][which]
    start = dt.datetime.combine(day - dt.timedelta(days=1), dt.time(), UTC)
    flags = business_minute_flags(calendar, start, 3 * 1440)
    assert business_minutes_between(calendar, start, start + dt.timedelta(days=3)) == sum(flags)
    ends = [step + 1 for step, flag in enumerate(flags) if flag]
    for target in {1, len(ends) // 2, len(ends)} - {0}:
        due = add_business_minutes(calendar, start, target)
        assert due == start + dt.timedelta(minutes=ends[target - 1])


def test_four_business_hours_from_friday_afternoon_are_due_monday_noon() -> None:
    calendar = BusinessCalendar("Europe/London", WEEKDAYS_9_TO_5)
    due = add_business_minutes(calendar, london(2026, 5, 15, 16), 4 * 60)
    assert due == london(2026, 5, 18, 12)
    assert due.tzinfo is UTC
    assert business_minutes_between(calendar, london(2026, 5, 15, 16), due) == 240


def test_christmas_holidays_do_not_count() -> None:
    calendar = BusinessCalendar.from_json(
        {
            "timezone": "Europe/London",
            "hours": {day: [["09:00", "17:00"]] for day in ("mon", "tue", "wed", "thu", "fri")},
            "holidays": ["2026-12-25", "2026-12-28"],
        }
    )
    opened = london(2026, 12, 24, 16)
    assert add_business_minutes(calendar, opened, 8 * 60) == london(2026, 12, 29, 16)
    assert business_minutes_between(calendar, opened, london(2026, 12, 29, 9)) == 60
    assert not is_business_time(calendar, london(2026, 12, 25, 10))


def test_the_us_spring_forward_sunday_is_23_hours_long() -> None:
    calendar = BusinessCalendar.from_json(
        {
            "timezone": "America/New_York",
            "hours": {"sun": [["00:00", "24:00"]], "mon": [["09:00", "17:00"]]},
        }
    )
    sunday = dt.datetime(2026, 3, 8, tzinfo=NEW_YORK)
    monday = dt.datetime(2026, 3, 9, tzinfo=NEW_YORK)
    assert business_minutes_between(calendar, sunday, monday) == 23 * 60
    # A day of support opened at Sunday midnight runs one hour into Monday.
    assert add_business_minutes(calendar, sunday, 24 * 60) == monday.replace(hour=10)
    assert add_business_minutes(calendar, sunday, 24 * 60) == dt.datetime(
        2026, 3, 9, 14, tzinfo=UTC
    )
    fall_back = dt.datetime(2026, 11, 1, tzinfo=NEW_YORK)
    assert business_minutes_between(calendar, fall_back, fall_back + dt.timedelta(hours=25)) == (
        25 * 60
    )


def test_a_range_across_the_london_changes_follows_real_time() -> None:
    calendar = BusinessCalendar("Europe/London", (((0, 300),),) * 7)
    spring, autumn = dt.date(2026, 3, 29), dt.date(2026, 10, 25)
    assert _minutes_on(calendar, spring, LONDON) == 4 * 60
    assert _minutes_on(calendar, autumn, LONDON) == 6 * 60
    assert _minutes_on(calendar, autumn - dt.timedelta(days=1), LONDON) == 5 * 60


def test_a_bound_in_the_gap_opens_when_the_clock_jumps() -> None:
    calendar = BusinessCalendar("Europe/London", (((90, 180),),) * 7)
    day = dt.date(2026, 3, 29)  # 01:00 GMT becomes 02:00 BST; 01:30 never happens
    assert _minutes_on(calendar, day, LONDON) == 60
    opened = dt.datetime(2026, 3, 29, 0, 30, tzinfo=UTC)
    assert add_business_minutes(calendar, opened, 1) == dt.datetime(2026, 3, 29, 1, 1, tzinfo=UTC)


def test_a_bound_in_the_repeated_hour_counts_only_wall_times_in_the_range() -> None:
    autumn = dt.date(2026, 10, 25)  # 02:00 BST becomes 01:00 GMT
    # 01:30–05:00: the first 01:30–02:00 and the second 01:30–05:00, not the second 01:00–01:30.
    late = BusinessCalendar("Europe/London", (((90, 300),),) * 7)
    assert _minutes_on(late, autumn, LONDON) == 4 * 60
    # 00:00–01:00 ends before the repeated hour begins: one hour, as on any other day.
    early = BusinessCalendar("Europe/London", (((0, 60),),) * 7)
    assert _minutes_on(early, autumn, LONDON) == 60


def test_a_fall_back_across_midnight_keeps_business_time_in_order() -> None:
    # St John's went back at 00:01 on Sunday 7 November 2010 to 23:01 on the Saturday: the
    # first minute of Sunday passed before Saturday's second 23:01–24:00.
    calendar = BusinessCalendar("America/St_Johns", ((),) * 5 + (((1410, 1440),), ((0, 60),)))
    start = dt.datetime(2010, 11, 7, 1, tzinfo=UTC)  # Saturday 22:30 NDT
    flags = business_minute_flags(calendar, start, 6 * 60)
    assert sum(flags) == 30 + 1 + 30 + 60
    assert business_minutes_between(calendar, start, start + dt.timedelta(hours=6)) == sum(flags)
    assert add_business_minutes(calendar, start, 31) == dt.datetime(2010, 11, 7, 2, 31, tzinfo=UTC)
    assert add_business_minutes(calendar, start, 32) == dt.datetime(2010, 11, 7, 3, 1, tzinfo=UTC)
    ends = [step + 1 for step, flag in enumerate(flags) if flag]
    for target, end in enumerate(ends, start=1):
        assert add_business_minutes(calendar, start, target) == start + dt.timedelta(minutes=end)


def test_lord_howe_shifts_by_half_an_hour() -> None:
    calendar = BusinessCalendar("Australia/Lord_Howe", (((0, 300),),) * 7)
    assert _minutes_on(calendar, dt.date(2026, 10, 4), LORD_HOWE) == 4.5 * 60
    assert _minutes_on(calendar, dt.date(2026, 4, 5), LORD_HOWE) == 5.5 * 60


def _minutes_on(calendar: BusinessCalendar, day: dt.date, zone: ZoneInfo) -> float:
    """Business minutes from the local midnight of ``day`` to the next."""
    midnight = dt.datetime.combine(day, dt.time(), zone)
    following = dt.datetime.combine(day + dt.timedelta(days=1), dt.time(), zone)
    return business_minutes_between(calendar, midnight, following)


def test_a_ticket_opened_on_saturday_starts_counting_monday_morning() -> None:
    calendar = BusinessCalendar("Europe/London", WEEKDAYS_9_TO_5)
    saturday = london(2026, 5, 16, 11)
    assert not is_business_time(calendar, saturday)
    assert business_minutes_between(calendar, saturday, london(2026, 5, 18, 9)) == 0
    assert add_business_minutes(calendar, saturday, 30) == london(2026, 5, 18, 9, 30)
    assert is_business_time(calendar, london(2026, 5, 18, 9))
    assert not is_business_time(calendar, london(2026, 5, 18, 17))


def test_a_target_met_at_closing_time_is_due_at_closing_time() -> None:
    calendar = BusinessCalendar("Europe/London", WEEKDAYS_9_TO_5)
    assert add_business_minutes(calendar, london(2026, 5, 15, 16), 60) == london(2026, 5, 15, 17)


def test_a_zero_target_is_due_at_once_even_outside_hours() -> None:
    calendar = BusinessCalendar("Europe/London", WEEKDAYS_9_TO_5)
    saturday = london(2026, 5, 16, 11, 15)
    assert add_business_minutes(calendar, saturday, 0) == saturday


def test_add_then_between_round_trips_with_seconds() -> None:
    calendar = BusinessCalendar("America/New_York", WEEKDAYS_9_TO_5)
    start = dt.datetime(2026, 3, 6, 16, 20, 17, 250_000, tzinfo=NEW_YORK)
    for minutes in (0.5, 40.25, 90, 8 * 60 * 7 + 13.75):
        due = add_business_minutes(calendar, start, minutes)
        assert business_minutes_between(calendar, start, due) == pytest.approx(minutes, abs=1e-9)
        assert business_minutes_between(calendar, start, due - dt.timedelta(seconds=1)) < minutes


def test_targets_of_weeks_and_long_holiday_runs_are_quick() -> None:
    always = BusinessCalendar.always()
    start = dt.datetime(2026, 1, 5, 8, 30, tzinfo=UTC)
    assert add_business_minutes(always, start, 30 * 24 * 60) == start + dt.timedelta(days=30)
    two_years_off = frozenset(dt.date(2026, 1, 1) + dt.timedelta(days=k) for k in range(730))
    calendar = BusinessCalendar("Europe/London", WEEKDAYS_9_TO_5, two_years_off)
    began = time.perf_counter()
    due = add_business_minutes(calendar, start, 6 * 5 * 8 * 60)  # six working weeks
    assert due == london(2028, 2, 11, 17)
    assert time.perf_counter() - began < 1


def test_a_calendar_closed_by_holidays_for_ten_years_is_refused() -> None:
    mondays = frozenset(dt.date(2026, 1, 5) + dt.timedelta(weeks=k) for k in range(53 * 11))
    calendar = BusinessCalendar("UTC", (((540, 600),), (), (), (), (), (), ()), mondays)
    start = dt.datetime(2026, 1, 1, tzinfo=UTC)
    with pytest.raises(ValidationError, match="ten years") as caught:
        add_business_minutes(calendar, start, 1)
    assert caught.value.details == {"field": "holidays"}
    # Counting over a span is bounded by the span and does not refuse.
    assert business_minutes_between(calendar, start, start + dt.timedelta(days=4000)) == 0


def test_naive_datetimes_and_negative_targets_are_refused() -> None:
    calendar = BusinessCalendar.always()
    naive = dt.datetime(2026, 5, 15, 9)
    aware = naive.replace(tzinfo=UTC)
    with pytest.raises(ValueError, match="timezone-aware"):
        business_minutes_between(calendar, naive, aware)
    with pytest.raises(ValueError, match="timezone-aware"):
        add_business_minutes(calendar, naive, 5)
    with pytest.raises(ValueError, match="timezone-aware"):
        is_business_time(calendar, naive)
    with pytest.raises(ValueError, match=">= 0"):
        add_business_minutes(calendar, aware, -1)
    assert business_minutes_between(calendar, aware, aware - dt.timedelta(hours=1)) == 0


@pytest.mark.parametrize(
    ("timezone", "hours", "message"),
    [
        ("Europe/Londres", WEEKDAYS_9_TO_5, "Unknown time zone 'Europe/Londres'"),
        ("UTC", (((600, 540),),) + ((),) * 6, "Monday: range 10:00–09:00 must start before"),
        ("UTC", ((), ((0, 1441),)) + ((),) * 5, "Tuesday: range 00:00–24:01"),
        ("UTC", ((), (), ((540, 720), (660, 780))) + ((),) * 4, "Wednesday: 11:00–13:00 overlaps"),
        ("UTC", ((),) * 7, "no business hours in the whole week"),
        ("UTC", WEEKDAYS_9_TO_5[:5], "seven entries"),
    ],
)
def test_a_calendar_that_breaks_a_rule_is_refused_with_a_reason(
    timezone: str, hours: tuple[tuple[tuple[int, int], ...], ...], message: str
) -> None:
    with pytest.raises(ValidationError, match=message):
        BusinessCalendar(timezone, hours)


@pytest.mark.parametrize(
    ("data", "message", "field"),
    [
        (
            {"timezone": "UTC", "hours": {"fri": [["9:00", "25:00"]]}},
            "Friday: '25:00'",
            "hours.fri",
        ),
        (
            {"timezone": "UTC", "hours": {"sat": [["09:00"]]}},
            "Saturday: \\['09:00'\\]",
            "hours.sat",
        ),
        ({"timezone": "UTC", "hours": {"sun": [["24:00", "24:00"]]}}, "Sunday: range", "hours"),
        ({"timezone": "UTC", "hours": {"monday": []}}, "Unknown day 'monday'", "hours"),
        ({"hours": {"mon": [["09:00", "17:00"]]}}, "needs a timezone", "timezone"),
        (
            {"timezone": "UTC", "hours": {"mon": [["09:00", "17:00"]]}, "holidays": ["25/12"]},
            "Holiday '25/12'",
            "holidays",
        ),
    ],
)
def test_json_errors_name_the_day_and_the_value(
    data: dict[str, object], message: str, field: str
) -> None:
    with pytest.raises(ValidationError, match=message) as caught:
        BusinessCalendar.from_json(data)
    assert caught.value.details == {"field": field}


def test_json_round_trips_and_accepts_24_00() -> None:
    data = {
        "timezone": "Europe/London",
        "hours": {
            "mon": [["09:00", "12:00"], ["13:00", "17:30"]],
            "tue": [["09:00", "17:30"]],
            "wed": [],
            "thu": [["00:00", "24:00"]],
            "fri": [["09:00", "17:30"]],
            "sat": [],
            "sun": [],
        },
        "holidays": ["2026-12-25", "2026-12-28"],
    }
    calendar = BusinessCalendar.from_json(data)
    assert calendar.hours[0] == ((540, 720), (780, 1050))
    assert calendar.hours[3] == ((0, 1440),)
    assert calendar.to_json() == data
    assert BusinessCalendar.from_json(calendar.to_json()) == calendar
