"""The dashboard's figures: the order figures (revenue, activity, retention, cohorts) counted
with NumPy over the paid orders held as columns (:mod:`soloist.domain.order_columns`), the
rest (surveys, scores, segments) with SQL aggregates, and the analytics metric functions.

Every figure is "as of" the last order when that lies in the past (a demo, an old export),
otherwise now, so the windows (last 90 days, last 12 months) always hold data.
The whole result is cached per database and data version (the newest audit entry, order and
model run): any audited change, a new order or a new analysis makes the next view recompute,
from the kept columns brought up to date (0.4 s at a million orders).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from decimal import Decimal
from typing import Any, NamedTuple

import numpy as np
import pandas as pd
from sqlalchemy import ColumnElement, and_, func, select
from sqlalchemy.orm import Session

from soloist.analytics import metrics
from soloist.domain.caches import current_or_previous, current_or_previous_within
from soloist.domain.currencies import Rates, in_currency, revenue_totals
from soloist.domain.order_columns import (
    PaidOrderColumns,
    paid_order_columns,
    read_paid_order_columns,
)
from soloist.domain.scoring.scores import current_runs
from soloist.errors import AnalyticsInputError
from soloist.storage.bulk import utc_nanoseconds
from soloist.storage.caches import VersionedCache
from soloist.storage.database import Database
from soloist.storage.models import (
    AuditEntry,
    Customer,
    CustomerScore,
    ModelRun,
    Order,
    Segment,
    SegmentMember,
    SurveyResponse,
)

TREND_MONTHS = 24
COHORT_MONTHS = 12
AT_RISK_THRESHOLD = 0.5
TOP_AT_RISK = 10
AT_RISK_DEPTHS = (2_500, 10_000, 40_000)  # the most valuable customers looked among first
ACTIVE_DAYS = 90
EPOCH = dt.datetime(1970, 1, 1, tzinfo=dt.UTC)


class MonthRevenue(NamedTuple):
    """Paid revenue of one calendar month (``YYYY-MM``), in minor units; ``partial`` when the
    data end before the month does (the figure is not comparable with the full months)."""

    month: str
    revenue_minor: int
    partial: bool = False


@dataclass(frozen=True)
class SegmentFigure:
    """A segment's size and, for scored segments, its members' total predicted 12-month CLV."""

    name: str
    kind: str  # scored | rule | rfm | cluster
    customers: int
    clv_minor: int | None = None


@dataclass(frozen=True)
class AtRiskCustomer:
    """A valuable customer likely to leave: predicted CLV and churn risk (or 1 − P(alive))."""

    id: int
    name: str
    clv_minor: int
    churn_risk: float


@dataclass
class Dashboard:
    """Every figure of the dashboard; money in minor units of ``currency`` (orders in other
    currencies converted at ``rates``; ``unconverted_12m``: paid in the last 12 months in a
    currency without a rate, in its own minor units, left out of the revenue)."""

    as_of: dt.datetime
    currency: str
    rates: dict[str, Decimal] = field(default_factory=dict)
    unconverted_12m: dict[str, int] = field(default_factory=dict)
    revenue_trend: list[MonthRevenue] = field(default_factory=list)
    revenue_12m_minor: int = 0
    customers: int = 0
    active_customers: int = 0
    orders_12m: int = 0
    nps: float | None = None
    nps_responses: int = 0
    csat: float | None = None
    csat_percent: float | None = None
    csat_responses: int = 0
    ces: float | None = None  # mean on 1–7; the survey links ask "how easy", so higher is easier
    ces_responses: int = 0
    retention_rate: float | None = None
    repeat_purchase_rate: float | None = None
    cohorts: list[str] = field(default_factory=list)
    cohort_matrix: list[list[float | None]] = field(default_factory=list)
    # the month (YYYY-MM) the data end inside of, not yet over; its revenue and cohort cells
    # are partial (cohort_partial marks those cells)
    partial_month: str | None = None
    cohort_partial: list[list[bool]] = field(default_factory=list)
    scored: bool = False
    clv_total_minor: int | None = None
    clv_average_minor: int | None = None
    segments: list[SegmentFigure] = field(default_factory=list)
    at_risk: list[AtRiskCustomer] = field(default_factory=list)
    stale: bool = False  # figures from before the latest change; new ones are being computed


def month_of(session: Session, column: Any) -> ColumnElement[str]:
    """``YYYY-MM`` of a timestamp column, in each engine's own dialect. SQLite stores a time as
    its ISO text (``2025-03-01 10:30:00.000000``), whose first seven characters are the month:
    cut, not parsed again by ``strftime`` (a third faster over a million orders)."""
    name = session.get_bind().dialect.name
    if name == "sqlite":
        return func.substr(column, 1, 7)
    if name == "postgresql":
        return func.to_char(column, "YYYY-MM")
    return func.date_format(column, "%Y-%m")


def figures_as_of(session: Session) -> dt.datetime:
    last = session.scalar(select(func.max(Order.ordered_at)))
    now = dt.datetime.now(dt.UTC)
    if last is None:
        return now
    return min(last.replace(tzinfo=dt.UTC) if last.tzinfo is None else last, now)


def _as_of(columns: PaidOrderColumns) -> dt.datetime:
    """:func:`figures_as_of` from the columns: the last order's time, or now if that is later."""
    now = dt.datetime.now(dt.UTC)
    if columns.newest_ordered_at is None:
        return now
    last = EPOCH + dt.timedelta(microseconds=columns.newest_ordered_at // 1000)
    return min(last, now)


def _month_number(moment: dt.datetime) -> int:
    """The month of a UTC ``moment`` counted from January 1970, as the columns' ``month``."""
    return (moment.year - 1970) * 12 + moment.month - 1


def _month_name(month: int) -> str:
    """``YYYY-MM`` of a month counted from January 1970 (NumPy's ``datetime64[M]``)."""
    return f"{1970 + month // 12:04d}-{month % 12 + 1:02d}"


def _sums(groups: np.ndarray, amounts: np.ndarray, size: int) -> np.ndarray:
    """Exact int64 sums of ``amounts`` per group index (``bincount`` adds in floating point)."""
    sums = np.zeros(size, np.int64)
    np.add.at(sums, groups, amounts)
    return sums


def _groups(keys: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """``np.unique(keys, return_inverse=True)`` for non-negative keys: counted when they are
    few (months and currencies), else sorted (NumPy's hashing is slower than either)."""
    if keys.size and int(keys.max()) < 1 << 16:
        present = np.flatnonzero(np.bincount(keys))
        place = np.zeros(int(present[-1]) + 1, np.int64)
        place[present] = np.arange(present.size)
        return present, place[keys]
    unique = _distinct(keys)
    return unique, np.searchsorted(unique, keys)


def _distinct(keys: np.ndarray) -> np.ndarray:
    """The distinct ``keys`` in order."""
    if not keys.size:
        return keys
    ordered = np.sort(keys)
    return ordered[np.concatenate(([True], ordered[1:] != ordered[:-1]))]


def _revenue(columns: PaidOrderColumns, board: Dashboard) -> None:
    """The revenue trend by month (in the currencies that count) and the last 12 months'
    revenue per currency, converted."""
    start_at = (board.as_of - dt.timedelta(days=31 * TREND_MONTHS)).replace(day=1)
    start, first = utc_nanoseconds(start_at), _month_number(start_at)
    counted = [
        i for i, code in enumerate(columns.currencies) if code in {board.currency, *board.rates}
    ]
    mask = (columns.ordered_at >= start) & np.isin(columns.currency, counted)
    width = max(len(columns.currencies), 1)
    keys, groups = _groups((columns.month[mask] - first) * width + columns.currency[mask])
    by_month: dict[str, int] = {}
    for key, total in zip(
        keys.tolist(), _sums(groups, columns.net_minor[mask], keys.size).tolist(), strict=True
    ):
        month, code = _month_name(first + key // width), columns.currencies[key % width]
        converted = in_currency(total, code, board.currency, board.rates) or 0
        by_month[month] = by_month.get(month, 0) + converted
    board.revenue_trend = [MonthRevenue(m, v) for m, v in sorted(by_month.items())][-TREND_MONTHS:]
    recent = columns.ordered_at > utc_nanoseconds(board.as_of - dt.timedelta(days=365))
    codes = columns.currency[recent]
    counts = np.bincount(codes, minlength=width).tolist()
    amounts = _sums(codes, columns.net_minor[recent], width).tolist()
    totals = revenue_totals(
        ((code, counts[i], amounts[i]) for i, code in enumerate(columns.currencies) if counts[i]),
        board.currency,
        board.rates,
    )
    board.revenue_12m_minor, board.orders_12m = totals.total_minor, totals.orders
    board.unconverted_12m = {p.currency: p.amount_minor for p in totals.unconverted}


class _Buyers(NamedTuple):
    """Per customer id (an index): their paid orders and the time of their first."""

    orders: np.ndarray
    first_at: np.ndarray

    @classmethod
    def of(cls, columns: PaidOrderColumns) -> _Buyers:
        size = int(columns.customer_id.max(initial=-1)) + 1
        first = np.full(size, np.iinfo(np.int64).max, np.int64)
        np.minimum.at(first, columns.customer_id, columns.ordered_at)
        return cls(np.bincount(columns.customer_id, minlength=size), first)


def _customers(
    session: Session, columns: PaidOrderColumns, buyers: _Buyers, board: Dashboard
) -> None:
    """Active customers, retention and repeat purchases from the paid orders' columns."""
    board.customers = int(
        session.scalar(select(func.count(Customer.id)).where(Customer.status == "active")) or 0
    )
    as_of = utc_nanoseconds(board.as_of)
    recent = utc_nanoseconds(board.as_of - dt.timedelta(days=ACTIVE_DAYS))
    year_ago = utc_nanoseconds(board.as_of - dt.timedelta(days=365))
    two_years_ago = utc_nanoseconds(board.as_of - dt.timedelta(days=730))

    def bought(since: int, until: int) -> np.ndarray:
        """Per customer id: whether they bought in ``(since, until]``."""
        window = (columns.ordered_at > since) & (columns.ordered_at <= until)
        return np.bincount(columns.customer_id[window], minlength=buyers.orders.size) > 0

    before = bought(two_years_ago, year_ago)
    start = int(before.sum())
    retained = int((before & bought(year_ago, as_of)).sum())
    new = int(((buyers.orders > 0) & (buyers.first_at > year_ago)).sum())
    board.active_customers = int(bought(recent, as_of).sum())
    # Retention over the last 12 months: of the customers who bought in the 12 months before,
    # how many bought again; new customers are those whose first purchase is in the period.
    try:
        board.retention_rate = metrics.retention_rate(start, retained + new, new)
    except AnalyticsInputError:
        board.retention_rate = None
    try:
        board.repeat_purchase_rate = metrics.repeat_purchase_rate(
            int((buyers.orders >= 2).sum()), int((buyers.orders > 0).sum())
        )
    except AnalyticsInputError:
        board.repeat_purchase_rate = None


def _surveys(session: Session, board: Dashboard) -> None:
    year_ago = board.as_of - dt.timedelta(days=365)
    rows = session.execute(
        select(SurveyResponse.kind, SurveyResponse.score, func.count(SurveyResponse.id))
        .where(
            SurveyResponse.responded_at > year_ago,
            SurveyResponse.kind.in_(("nps", "csat", "ces")),
        )
        .group_by(SurveyResponse.kind, SurveyResponse.score)
    ).all()
    scores: dict[str, np.ndarray] = {}
    for kind in ("nps", "csat", "ces"):
        pairs = [(score, count) for k, score, count in rows if k == kind]
        scores[kind] = np.repeat([s for s, _ in pairs], [c for _, c in pairs]).astype(float)
    if scores["nps"].size:
        board.nps, board.nps_responses = metrics.nps(scores["nps"]), int(scores["nps"].size)
    if scores["csat"].size:
        board.csat = metrics.csat(scores["csat"], scale=5, mode="mean")
        board.csat_percent = metrics.csat(scores["csat"], scale=5, mode="percent")
        board.csat_responses = int(scores["csat"].size)
    if scores["ces"].size:
        board.ces, board.ces_responses = metrics.ces(scores["ces"]), int(scores["ces"].size)


def monthly_cohorts(
    session: Session, as_of: dt.datetime, until: dt.datetime | None = None
) -> tuple[list[str], list[list[float | None]]]:
    """The cohort retention of the customers who first bought in the :data:`COHORT_MONTHS`
    months up to ``as_of``: the cohorts (``YYYY-MM``) and, per cohort, the share buying in
    each month after; only orders before ``until`` count when it is given (a report's end)."""
    start = (as_of - dt.timedelta(days=31 * (COHORT_MONTHS - 1))).replace(day=1)
    window = [Order.ordered_at >= start] + ([] if until is None else [Order.ordered_at < until])
    newcomers = (
        select(Order.customer_id)
        .where(Order.status == "paid")
        .group_by(Order.customer_id)
        .having(func.min(Order.ordered_at) >= start)
    )
    month = month_of(session, Order.ordered_at)
    rows = session.execute(
        select(Order.customer_id, month)
        .where(Order.status == "paid", *window, Order.customer_id.in_(newcomers))
        .group_by(Order.customer_id, month)
    ).all()
    if not rows:
        return [], []
    return _cohort_table(
        np.array([r[0] for r in rows]), pd.to_datetime([f"{r[1]}-01" for r in rows]).to_numpy()
    )


def _cohort_table(customers: np.ndarray, months: Any) -> tuple[list[str], list[list[float | None]]]:
    """Cohorts and their retention matrix from the (customer, first day of a month they bought
    in) pairs."""
    frame = pd.DataFrame({"customer": customers, "date": months})
    table = metrics.cohort_retention(frame, "customer", "date", period="M")
    cohorts = [pd.Timestamp(c).strftime("%Y-%m") for c in table.index]
    matrix = [[None if pd.isna(v) else round(float(v), 4) for v in row] for row in table.to_numpy()]
    return cohorts, matrix


def _cohorts(columns: PaidOrderColumns, buyers: _Buyers, board: Dashboard) -> None:
    """:func:`monthly_cohorts` from the columns: the distinct months each newcomer bought in,
    counted per cohort (their first month) and month since, as
    :func:`soloist.analytics.metrics.cohort_retention` does (the tests hold them equal)."""
    start_at = (board.as_of - dt.timedelta(days=31 * (COHORT_MONTHS - 1))).replace(day=1)
    start, first = utc_nanoseconds(start_at), _month_number(start_at)
    window = (columns.ordered_at >= start) & (buyers.first_at[columns.customer_id] >= start)
    if not window.any():
        board.cohorts, board.cohort_matrix = [], []
        return
    span = 1 << 32  # (customer, month since the first) as one int64, for one sort
    pairs = _distinct(columns.customer_id[window] * span + (columns.month[window] - first))
    customers, months = pairs // span, pairs % span
    # sorted by customer, then month: each customer's first pair is their cohort
    starts = np.flatnonzero(np.concatenate(([True], customers[1:] != customers[:-1])))
    cohort = np.repeat(months[starts], np.diff(np.append(starts, pairs.size)))
    since = months - cohort
    cohort_months = _distinct(cohort)
    row = np.searchsorted(cohort_months, cohort)
    width = int(since.max()) + 1
    counts = np.bincount(row * width + since, minlength=cohort_months.size * width)
    share = counts.reshape(cohort_months.size, width) / counts.reshape(-1, width)[:, :1]
    # as metrics.cohort_retention: the months after the data end are unknown, not zero
    unseen = np.arange(width)[None, :] > (int(months.max()) - cohort_months)[:, None]
    board.cohorts = [_month_name(first + int(m)) for m in cohort_months]
    board.cohort_matrix = [
        [None if out else round(float(v), 4) for v, out in zip(values, hidden, strict=True)]
        for values, hidden in zip(share.tolist(), unseen.tolist(), strict=True)
    ]


def _month_ends_after(moment: dt.datetime) -> bool:
    """Whether the calendar month of ``moment`` goes on after its day (it is not the last)."""
    return (moment + dt.timedelta(days=1)).month == moment.month


def _mark_partial(board: Dashboard) -> None:
    """Mark the month the data end inside of, in the revenue trend and the cohort cells: a
    month that is not over holds only part of its revenue and of its returning customers."""
    if not _month_ends_after(board.as_of):
        return
    month = board.as_of.strftime("%Y-%m")
    board.partial_month = month
    board.revenue_trend = [m._replace(partial=m.month >= month) for m in board.revenue_trend]
    partial = []
    for cohort, row in zip(board.cohorts, board.cohort_matrix, strict=True):
        year, number = (int(part) for part in cohort.split("-"))
        partial.append(
            [f"{year + (number - 1 + k) // 12:04d}-{(number - 1 + k) % 12 + 1:02d}" >= month
             for k in range(len(row))]
        )  # fmt: skip
    board.cohort_partial = partial


def scored_segments(session: Session, runs: dict[str, int]) -> list[SegmentFigure]:
    """Sizes (and total predicted CLV) of the segments of the current segmentation run, the
    largest first: one pass over its members, each one's CLV looked up by the run's key."""
    if "segment" not in runs:
        return []
    clv = CustomerScore.__table__.alias("clv")
    valued = "clv_12m_minor" in runs
    on = and_(
        clv.c.customer_id == CustomerScore.customer_id,
        clv.c.model_run_id == (runs["clv_12m_minor"] if valued else None),
    )
    count = func.count(CustomerScore.id)
    rows: Any = session.execute(
        select(CustomerScore.segment, count, func.count(clv.c.id), func.sum(clv.c.clv_12m_minor))
        .outerjoin(clv, on)
        .where(CustomerScore.model_run_id == runs["segment"])
        .group_by(CustomerScore.segment)
        .order_by(count.desc(), CustomerScore.segment)
    )
    return [
        SegmentFigure(
            str(name), "scored", int(size), int(total or 0) if valued and joined else None
        )
        for name, size, joined, total in rows
        if name
    ]


def saved_segments(session: Session) -> list[SegmentFigure]:
    """Saved segments (rule, RFM, cluster) with their sizes."""
    rows = session.execute(
        select(Segment.name, Segment.kind, func.count(SegmentMember.customer_id))
        .outerjoin(SegmentMember, SegmentMember.segment_id == Segment.id)
        .group_by(Segment.id, Segment.name, Segment.kind)
        .order_by(Segment.name)
    ).all()
    return [SegmentFigure(str(n), str(k), int(c)) for n, k, c in rows]


def segment_figures(session: Session, runs: dict[str, int] | None = None) -> list[SegmentFigure]:
    """Scored segments first, then saved segments not already shown."""
    scored = scored_segments(session, current_runs(session) if runs is None else runs)
    names = {s.name for s in scored}
    return scored + [s for s in saved_segments(session) if s.name not in names]


def valuable_at_risk(session: Session, runs: dict[str, int]) -> list[AtRiskCustomer]:
    """The most valuable customers at risk: churn risk when scored, else 1 − P(alive); ties of
    value by customer id.

    They are looked for first among the most valuable few thousand, walked down the CLV index:
    when ten are at risk there, they are the ten of everyone, without sorting every customer at
    risk by value (half the customers of a shop whose buyers mostly came once; the tenth at risk
    was the 7,709th most valuable of 100,000 in the demo)."""
    if "clv_12m_minor" not in runs or not {"churn_risk", "p_alive"} & set(runs):
        return []
    for depth in AT_RISK_DEPTHS:
        found = _at_risk_among(session, runs, _most_valuable(runs["clv_12m_minor"], depth))
        if len(found) == TOP_AT_RISK:
            return found
    return _at_risk_among(session, runs, _most_valuable(runs["clv_12m_minor"], None))


def _most_valuable(clv_run: int, depth: int | None) -> Any:
    """The ``depth`` customers of the highest CLV in ``clv_run`` (every one valued if None), as
    a subquery of (customer id, CLV)."""
    valued = select(CustomerScore.customer_id, CustomerScore.clv_12m_minor).where(
        CustomerScore.model_run_id == clv_run, CustomerScore.clv_12m_minor.is_not(None)
    )
    if depth is not None:
        order = (CustomerScore.clv_12m_minor.desc(), CustomerScore.customer_id)
        valued = valued.order_by(*order).limit(depth)
    return valued.subquery("clv_s")


def _at_risk_among(session: Session, runs: dict[str, int], clv_s: Any) -> list[AtRiskCustomer]:
    """The most valuable customers at risk among ``clv_s`` (customer id, CLV)."""
    risk_s = CustomerScore.__table__.alias("risk_s")
    if "churn_risk" in runs:
        risk: Any = risk_s.c.churn_risk
        risk_run = runs["churn_risk"]
    else:
        risk = 1.0 - risk_s.c.p_alive
        risk_run = runs["p_alive"]
    rows = session.execute(
        select(Customer.id, Customer.name, clv_s.c.clv_12m_minor, risk)
        .join(clv_s, clv_s.c.customer_id == Customer.id)
        .join(risk_s, and_(risk_s.c.customer_id == Customer.id, risk_s.c.model_run_id == risk_run))
        .where(risk >= AT_RISK_THRESHOLD, Customer.status == "active")
        .order_by(clv_s.c.clv_12m_minor.desc(), Customer.id)
        .limit(TOP_AT_RISK)
    ).all()
    return [AtRiskCustomer(r[0], r[1], int(r[2]), float(r[3])) for r in rows]


def _scores(session: Session, board: Dashboard) -> None:
    runs = current_runs(session)
    board.scored = bool(runs)
    if "clv_12m_minor" in runs:
        total, count = session.execute(
            select(func.sum(CustomerScore.clv_12m_minor), func.count(CustomerScore.id)).where(
                CustomerScore.model_run_id == runs["clv_12m_minor"],
                CustomerScore.clv_12m_minor.is_not(None),
            )
        ).one()
        board.clv_total_minor = int(total or 0)
        board.clv_average_minor = round((total or 0) / count) if count else None
    board.segments = segment_figures(session, runs)
    board.at_risk = valuable_at_risk(session, runs)


def build_dashboard(
    session: Session,
    currency: str,
    rates: Rates | None = None,
    columns: PaidOrderColumns | None = None,
) -> Dashboard:
    """Compute every dashboard figure now; orders in other currencies count in the revenue at
    ``rates`` (1 CODE = RATE ``currency``). The paid orders are read now unless their
    ``columns`` are given (:func:`soloist.domain.order_columns.paid_order_columns`)."""
    columns = read_paid_order_columns(session) if columns is None else columns
    board = Dashboard(as_of=_as_of(columns), currency=currency, rates=dict(rates or {}))
    buyers = _Buyers.of(columns)
    _revenue(columns, board)
    _customers(session, columns, buyers, board)
    _surveys(session, board)
    _cohorts(columns, buyers, board)
    _mark_partial(board)
    _scores(session, board)
    return board


# Keyed on (database URL, currency and rates) and the data_version(); latest() is the stale board.
_boards: VersionedCache[tuple[str, str], Dashboard] = VersionedCache(
    "dashboards", maxsize=8, kept=True
)


def data_version(session: Session) -> tuple[Any, ...]:
    """Changes whenever data changes: the newest audit entry, order and finished run."""
    audit = session.scalar(select(func.max(AuditEntry.id)))
    runs = session.execute(select(func.max(ModelRun.id), func.count(ModelRun.finished_at))).one()
    orders = session.scalar(select(func.max(Order.id)))
    return (audit, runs[0], runs[1], orders)


def _slot(url: str, currency: str, rates: Rates) -> tuple[str, str]:
    """A board's cache slot: its database, and the currency and rates its money is in."""
    return url, " ".join([currency, *(f"{c}={r}" for c, r in sorted(rates.items()))])


def _from_kept_orders(currency: str, rates: Rates) -> Callable[[Session], Dashboard]:
    """How a cached board is worked out: from the paid orders kept as columns and brought up
    to date (:func:`soloist.domain.order_columns.paid_order_columns`)."""
    return lambda own: build_dashboard(own, currency, rates, paid_order_columns(own))


def dashboard(session: Session, currency: str, database: Database | None = None) -> Dashboard:
    """The dashboard, recomputed only when the data changed since it was computed, from the
    paid orders kept in memory (a new order extends them; see :mod:`soloist.domain.order_columns`).

    With ``database`` (for the workspace's rates), a change is handled stale-while-revalidate
    (:func:`soloist.domain.caches.current_or_previous`): the previous figures are returned at
    once (``stale`` is set) while a background thread computes the new ones, so the page never
    waits for them once they have been computed, and a slow computation is not repeated back
    to back.
    """
    url = str(session.get_bind().engine.url)
    version = data_version(session)
    rates = database.settings.rates if database is not None else {}
    slot, build = _slot(url, currency, rates), _from_kept_orders(currency, rates)
    if database is None:
        return _boards.get_or_compute(slot, version, lambda: build(session))
    board, stale = current_or_previous(_boards, session, slot, version, build)
    return replace(board, stale=True) if stale else board


def dashboard_within(
    session: Session, currency: str, database: Database, wait: float
) -> Dashboard | None:
    """:func:`dashboard` with the workspace's rates, but the very first board of all is waited
    for ``wait`` seconds at most: None when it is not ready by then (the page then says it is
    being worked out)."""
    url, rates = str(session.get_bind().engine.url), database.settings.rates
    found = current_or_previous_within(  # unpacked below: mypy cannot infer it at once
        _boards,
        session,
        _slot(url, currency, rates),
        data_version(session),
        _from_kept_orders(currency, rates),
        wait,
    )
    board, stale = found
    if board is None:
        return None
    return replace(board, stale=True) if stale else board
