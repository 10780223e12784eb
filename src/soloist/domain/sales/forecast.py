"""The weighted forecast by month, and the pipeline's statistics.

**Forecast** (EspoCRM's ``amountWeighted`` and Odoo's ``prorated_revenue`` summed by month): for
each month, in the workspace currency,

- ``weighted`` = Σ value × probability / 100 and ``total`` = Σ value over the open deals
  expected to close that month, and the deals won that month (at 100 %);
- an open deal whose expected close date has passed counts in the current month (it is still
  expected, and late: ``overdue_deals`` says how many); an open deal without a date counts in no
  month (``undated_deals``); a lost deal counts nowhere;
- a won deal counts in the month of ``closed_at`` in the workspace time zone, so the current
  month shows what is won already beside what is still expected;
- a deal in another currency is converted at the owner's rate (:mod:`soloist.domain.currencies`:
  1 CODE = RATE of the workspace currency), its value rounded half to even to the minor unit; a
  deal in a currency without a rate is left out of the sums and named in ``left_out``;
- each month's weighted sum is exact (Σ value_minor × percent) and rounded once, half to even,
  to the minor unit.

**Statistics** from the stage history (:class:`~soloist.storage.models.DealStageChange`):

- conversion of a stage = the share of the deals that entered it which later entered a later
  open stage or the won stage (lost is an exit, not progress), by count and by value; deals
  still in the stage count among those that entered (Pipedrive's stage conversion);
- time in a stage = each finished stay, from entering the stage to the deal's next move, in days:
  median and mean. A stay still going on has no known length and is left out (it would be
  counted short); ``current`` says how many deals are in the stage now;
- win rate = won / (won + lost) of the closed deals, by count and by value.
"""

from __future__ import annotations

import datetime as dt
import statistics
from collections import defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from decimal import ROUND_HALF_EVEN, Decimal
from zoneinfo import ZoneInfo

from sqlalchemy import and_, func, or_, select
from sqlalchemy.orm import Session

from soloist.domain.currencies import in_currency
from soloist.domain.sales.stages import list_stages, stage_label
from soloist.money import minor_to_decimal
from soloist.storage.models import Deal, DealStageChange
from soloist.storage.types import as_utc, utcnow

Rates = Mapping[str, Decimal]
SECONDS_PER_DAY = 86_400


@dataclass(frozen=True)
class LeftOut:
    """Deals in a currency without a rate: how many and their value in that currency."""

    currency: str
    deals: int
    value_minor: int

    @property
    def value(self) -> Decimal:
        return minor_to_decimal(self.value_minor, self.currency)


@dataclass(frozen=True)
class ForecastMonth:
    month: str  # YYYY-MM
    currency: str
    weighted_minor: int
    total_minor: int
    open_deals: int
    won_deals: int
    won_minor: int
    left_out: tuple[LeftOut, ...] = ()

    @property
    def weighted(self) -> Decimal:
        return minor_to_decimal(self.weighted_minor, self.currency)

    @property
    def total(self) -> Decimal:
        return minor_to_decimal(self.total_minor, self.currency)

    @property
    def won(self) -> Decimal:
        return minor_to_decimal(self.won_minor, self.currency)


@dataclass(frozen=True)
class Forecast:
    currency: str
    months: tuple[ForecastMonth, ...]
    overdue_deals: int  # open, expected before this month: counted in this month
    undated_deals: int  # open, no expected close date: in no month
    rates_used: dict[str, Decimal] = field(default_factory=dict)

    @property
    def left_out(self) -> tuple[LeftOut, ...]:
        """Every month's deals without a rate, summed per currency."""
        return _merge(part for month in self.months for part in month.left_out)

    def notes(self) -> list[str]:
        """What a reader of the sums must know, one line each."""
        lines = [
            f"{p.deals} deal{'s' if p.deals != 1 else ''} in {p.currency} ({p.value:,} "
            f"{p.currency}) not counted: there is no rate for {p.currency}; give one with "
            f"`soloist rates set {p.currency} RATE` (1 {p.currency} = RATE {self.currency})."
            for p in self.left_out
        ]
        if self.overdue_deals:
            lines.append(
                f"{self.overdue_deals} open deal{'s are' if self.overdue_deals != 1 else ' is'} "
                "past the expected close date, counted in this month."
            )
        if self.undated_deals:
            lines.append(
                f"{self.undated_deals} open deal{'s have' if self.undated_deals != 1 else ' has'} "
                "no expected close date and count in no month."
            )
        return lines


def _merge(parts: Iterable[LeftOut]) -> tuple[LeftOut, ...]:
    sums: dict[str, list[int]] = defaultdict(lambda: [0, 0])
    for part in parts:
        sums[part.currency][0] += part.deals
        sums[part.currency][1] += part.value_minor
    return tuple(LeftOut(code, n, value) for code, (n, value) in sorted(sums.items()))


def _month_key(day: dt.date) -> str:
    """``YYYY-MM`` with four digits always (``strftime`` writes year 1 as ``1``)."""
    return f"{day.year:04d}-{day.month:02d}"


def _month_start(day: dt.date, shift: int = 0) -> dt.date:
    index = day.year * 12 + day.month - 1 + shift
    return dt.date(index // 12, index % 12 + 1, 1)


def _local_midnight(day: dt.date, zone: ZoneInfo) -> dt.datetime:
    return dt.datetime.combine(day, dt.time(), tzinfo=zone).astimezone(dt.UTC)


def forecast_deals(
    session: Session,
    currency: str,
    rates: Rates,
    *,
    months: int = 6,
    start: dt.date | None = None,
    timezone: str = "UTC",
    now: dt.datetime | None = None,
) -> Forecast:
    """The weighted forecast in ``currency`` for ``months`` months from the month of ``start``
    (default: the current month in ``timezone``), every month listed even when empty."""
    zone = ZoneInfo(timezone)
    today = (now or utcnow()).astimezone(zone).date()
    current = _month_start(today)
    first = _month_start(start or today)
    keys = [_month_key(_month_start(first, i)) for i in range(max(months, 0))]
    end = _month_start(first, len(keys))
    window = (_local_midnight(first, zone), _local_midnight(end, zone))
    stages = list_stages(session)
    won_keys = [s.key for s in stages if s.outcome == "won"]
    rows = session.execute(
        select(
            Deal.currency,
            Deal.value_minor,
            Deal.probability_percent,
            Deal.expected_close_on,
            Deal.closed_at,
        ).where(
            or_(
                and_(Deal.closed_at.is_(None), Deal.expected_close_on < end),
                and_(
                    Deal.stage.in_(won_keys),
                    Deal.closed_at >= window[0],
                    Deal.closed_at < window[1],
                ),
            )
        )
    ).all()
    sums: dict[str, dict[str, int]] = {key: defaultdict(int) for key in keys}
    missing: dict[str, list[LeftOut]] = {key: [] for key in keys}
    overdue = 0
    for code, value_minor, percent, expected, closed_at in rows:
        if closed_at is None:
            assert expected is not None  # the query's condition
            month = max(_month_start(expected), current)
            percent, kind = int(percent), "open"
        else:
            month = _month_start(as_utc(closed_at).astimezone(zone).date())
            percent, kind = 100, "won"
        key = _month_key(month)
        if key not in sums:
            continue
        overdue += closed_at is None and expected is not None and expected < current
        converted = in_currency(int(value_minor), code, currency, rates)
        if converted is None:
            missing[key].append(LeftOut(code, 1, int(value_minor)))
            continue
        bucket = sums[key]
        bucket["total"] += converted
        bucket["weighted_x100"] += converted * percent
        bucket[kind] += 1
        if kind == "won":
            bucket["won_minor"] += converted
    undated = session.scalar(
        select(func.count(Deal.id)).where(
            Deal.closed_at.is_(None), Deal.expected_close_on.is_(None)
        )
    )
    result = tuple(
        ForecastMonth(
            month=key,
            currency=currency,
            weighted_minor=_hundredth(sums[key]["weighted_x100"]),
            total_minor=sums[key]["total"],
            open_deals=sums[key]["open"],
            won_deals=sums[key]["won"],
            won_minor=sums[key]["won_minor"],
            left_out=_merge(missing[key]),
        )
        for key in keys
    )
    used = {c: r for c, r in rates.items() if c != currency}
    return Forecast(currency, result, overdue, int(undated or 0), used)


def _hundredth(value_x100: int) -> int:
    """``value_x100 / 100`` rounded half to even (exact: integers in, one rounding)."""
    return int((Decimal(value_x100) / 100).to_integral_value(rounding=ROUND_HALF_EVEN))


# --- statistics ------------------------------------------------------------------------------


@dataclass(frozen=True)
class StageStats:
    key: str
    name: str
    outcome: str
    entered: int  # deals that ever entered the stage
    advanced: int  # of them, those that later reached a later open stage or won
    entered_minor: int  # their values in the workspace currency (deals with a rate)
    advanced_minor: int
    stays: int  # finished stays, whose length is known
    median_days: float | None
    mean_days: float | None
    current: int  # deals in the stage now

    @property
    def conversion_rate(self) -> float | None:
        if self.outcome != "open" or not self.entered:
            return None
        return self.advanced / self.entered

    @property
    def conversion_rate_by_value(self) -> float | None:
        if self.outcome != "open" or not self.entered_minor:
            return None
        return self.advanced_minor / self.entered_minor


@dataclass(frozen=True)
class PipelineStats:
    currency: str
    stages: tuple[StageStats, ...]
    won: int
    lost: int
    won_minor: int
    lost_minor: int
    left_out: tuple[LeftOut, ...]  # deals without a rate: out of the by-value figures

    @property
    def win_rate(self) -> float | None:
        closed = self.won + self.lost
        return self.won / closed if closed else None

    @property
    def win_rate_by_value(self) -> float | None:
        closed = self.won_minor + self.lost_minor
        return self.won_minor / closed if closed else None


def pipeline_stats(
    session: Session, currency: str, rates: Rates, *, since: dt.datetime | None = None
) -> PipelineStats:
    """Conversion and time per stage, and the win rate, over every deal (or those created at
    or after ``since``), with values in ``currency`` at the owner's rates."""
    stages = list_stages(session)
    rank: dict[str, float] = {}
    for stage in stages:
        if stage.outcome == "open":
            rank[stage.key] = stage.position
        elif stage.outcome == "won":
            rank[stage.key] = float("inf")
    outcome_of = {s.key: s.outcome for s in stages}
    deal_query = select(Deal.id, Deal.stage, Deal.currency, Deal.value_minor)
    if since is not None:
        deal_query = deal_query.where(Deal.created_at >= since)
    deals = {row[0]: row for row in session.execute(deal_query)}
    value: dict[int, int | None] = {
        deal_id: in_currency(int(amount), code, currency, rates)
        for deal_id, _, code, amount in deals.values()
    }
    history: dict[int, list[tuple[str, dt.datetime]]] = defaultdict(list)
    changes = session.execute(
        select(
            DealStageChange.deal_id, DealStageChange.to_stage, DealStageChange.changed_at
        ).order_by(DealStageChange.deal_id, DealStageChange.changed_at, DealStageChange.id)
    )
    for deal_id, to_stage, at in changes:
        if deal_id in deals:
            history[deal_id].append((to_stage, as_utc(at)))
    entered: dict[str, set[int]] = defaultdict(set)
    advanced: dict[str, set[int]] = defaultdict(set)
    stays: dict[str, list[float]] = defaultdict(list)
    for deal_id, path in history.items():
        for index, (key, at) in enumerate(path):
            entered[key].add(deal_id)
            if index + 1 < len(path):
                seconds = (path[index + 1][1] - at).total_seconds()
                stays[key].append(seconds / SECONDS_PER_DAY)
            if key in rank and any(
                rank.get(later, -1.0) > rank[key] for later, _ in path[index + 1 :]
            ):
                advanced[key].add(deal_id)
    current: dict[str, int] = defaultdict(int)
    won = lost = won_minor = lost_minor = 0
    missing: list[LeftOut] = []
    for deal_id, key, code, amount in deals.values():
        current[key] += 1
        converted = value[deal_id]
        if converted is None:
            missing.append(LeftOut(code, 1, int(amount)))
        if outcome_of.get(key) == "won":
            won += 1
            won_minor += converted or 0
        elif outcome_of.get(key) == "lost":
            lost += 1
            lost_minor += converted or 0

    def worth(ids: set[int]) -> int:
        return sum(value[i] or 0 for i in ids)

    result = tuple(
        StageStats(
            key=stage.key,
            name=stage_label(stage),
            outcome=stage.outcome,
            entered=len(entered[stage.key]),
            advanced=len(advanced[stage.key]),
            entered_minor=worth(entered[stage.key]),
            advanced_minor=worth(advanced[stage.key]),
            stays=len(stays[stage.key]),
            median_days=statistics.median(stays[stage.key]) if stays[stage.key] else None,
            mean_days=statistics.fmean(stays[stage.key]) if stays[stage.key] else None,
            current=current[stage.key],
        )
        for stage in stages
    )
    return PipelineStats(currency, result, won, lost, won_minor, lost_minor, _merge(missing))
