"""``soloist report``: the owner's periodic report, each figure beside the previous period's.

Built from the same sources as the dashboard and the capabilities' own pages; a section whose
capability holds no data yet (no surveys, no deals, no loyalty programme) says so instead of
showing zeros. The report covers the last complete month (or week) before its "as of" time:
now, or the last order when the data end in the past (a demo, an old export), as the
dashboard does.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from sqlalchemy import func
from sqlalchemy.orm import Session

from soloist.domain.caches import current_or_previous, inputs_version
from soloist.domain.currencies import Rates
from soloist.domain.dashboard import Dashboard, build_dashboard, figures_as_of
from soloist.domain.reports.actions import ActionFigures, action_figures
from soloist.domain.reports.commerce import (
    CustomerFigures,
    RevenueFigures,
    customer_figures,
    revenue_figures,
)
from soloist.domain.reports.periods import Period, report_periods
from soloist.domain.reports.voice import VoiceFigures, voice_figures
from soloist.storage.caches import VersionedCache
from soloist.storage.models import (
    AuditEntry,
    Deal,
    LedgerEntry,
    Message,
    ModelRun,
    Order,
    Review,
    SurveyResponse,
    Task,
    Ticket,
)

TREND_PERIODS = {"month": 12, "week": 12}


@dataclass
class Report:
    period: Period
    previous: Period
    as_of: dt.datetime
    currency: str
    revenue: RevenueFigures
    customers: CustomerFigures
    voice: VoiceFigures
    actions: ActionFigures
    # the dashboard's cohort retention (first-purchase month × months after), and its months
    cohorts: list[str]
    cohort_matrix: list[list[float | None]]


def build_report(
    session: Session,
    currency: str,
    rates: Rates,
    timezone: str,
    *,
    period: str = "month",
    as_of: dt.datetime | None = None,
) -> Report:
    """The report of the last complete ``period`` (month or week) before ``as_of``."""
    moment = as_of or figures_as_of(session)
    trend = report_periods(period, moment, timezone, TREND_PERIODS[period] + 1)
    current, previous = trend[-1], trend[-2]
    board: Dashboard = build_dashboard(session, currency, rates)
    return Report(
        period=current,
        previous=previous,
        as_of=moment,
        currency=currency,
        revenue=revenue_figures(session, trend, currency, rates),
        customers=customer_figures(session, current, previous),
        voice=voice_figures(session, trend[-6:]),
        actions=action_figures(session, current, previous, currency, rates, current.end),
        cohorts=board.cohorts,
        cohort_matrix=board.cohort_matrix,
    )


_reports: VersionedCache[tuple[str, ...], Report] = VersionedCache("reports", maxsize=8, kept=True)


def current_report(
    session: Session, currency: str, rates: Rates, timezone: str, *, period: str = "month"
) -> tuple[Report, bool]:
    """The Reports page's report and whether it is the previous one (then a background thread
    is building the current one). Kept until an order, message, ticket, task, deal, review,
    survey answer, ledger entry, model run or audited change arrives, and at most an hour (a
    message sent late into a past period shows within it)."""
    url = session.get_bind().engine.url.render_as_string(hide_password=True)
    key = (url, currency, *(f"{c}={r}" for c, r in sorted(rates.items())), timezone, period)
    version = inputs_version(
        session,
        *(
            func.max(column)
            for column in (
                Order.id,
                AuditEntry.id,
                Message.id,
                Ticket.id,
                Task.id,
                Deal.id,
                Review.id,
                SurveyResponse.id,
                LedgerEntry.id,
                ModelRun.id,
            )
        ),
        func.count(ModelRun.finished_at),
    )
    return current_or_previous(
        _reports,
        session,
        key,
        version,
        lambda own: build_report(own, currency, rates, timezone, period=period),
    )
