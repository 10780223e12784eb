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
from typing import Any

from sqlalchemy import func
from sqlalchemy.orm import Session

from soloist.domain.caches import (
    current_or_previous,
    current_or_previous_within,
    inputs_version,
    newest_id_where,
)
from soloist.domain.currencies import Rates
from soloist.domain.dashboard import figures_as_of, monthly_cohorts
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
    cohorts, cohort_matrix = monthly_cohorts(session, current.last_moment, until=current.end)
    return Report(
        period=current,
        previous=previous,
        as_of=moment,
        currency=currency,
        revenue=revenue_figures(session, trend, currency, rates),
        customers=customer_figures(session, current, previous),
        voice=voice_figures(session, trend[-6:]),
        actions=action_figures(session, current, previous, currency, rates, current.end),
        cohorts=cohorts,
        cohort_matrix=cohort_matrix,
    )


_reports: VersionedCache[tuple[str, ...], Report] = VersionedCache("reports", maxsize=8, kept=True)


#: Audited actions that leave the report as it is: what they add is dated and checked as such
#: (an order, a customer's first order, a ticket and its messages), they touch no figure, or
#: they change only how the loyalty programme stands now (a new member, a member's tier),
#: which the report shows as of when it was built and refreshes hourly, as it does the
#: campaigns' and journeys' effects. (Each new customer of a live shop joins the programme.)
UNSEEN_BY_PAST_PERIODS = (
    "order.created",
    "customer.created",
    "ticket.opened",
    "ticket.replied",
    "ticket.noted",
    "report.mailed",
    "customer.data_exported",
    "retention.previewed",
    "token.created",
    "token.revoked",
    "user.signed_out",
    "user.sign_in_failed",
    "loyalty.enrolled",
    "loyalty.tier_changed",
)


def report_version(session: Session, current: Period) -> tuple[Any, ...]:
    """What the report of ``current`` is read from: the newest row dated before its end in each
    table it reads by date (so today's orders and messages leave it unchanged while a late one
    for the period does not), the newest audited change that may alter a past period, deals and
    model runs (current figures: the forecast, the customers at risk, predicted value), and the
    hour (campaign and journey effects are measured up to now)."""
    end, label = current.end, f"{current.kind}<{current.end.isoformat()}"
    dated = [
        newest_id_where(session, column, condition, f"{name} {label}")
        for name, column, condition in (
            ("orders", Order.id, Order.ordered_at < end),
            ("messages", Message.id, Message.sent_at < end),
            ("tickets", Ticket.id, Ticket.opened_at < end),
            ("tasks", Task.id, Task.done_at < end),
            ("reviews", Review.id, Review.published_at < end),
            ("survey answers", SurveyResponse.id, SurveyResponse.responded_at < end),
            ("ledger", LedgerEntry.id, LedgerEntry.effective_at < end),
        )
    ]
    audited = newest_id_where(
        session,
        AuditEntry.id,
        AuditEntry.action.not_in(UNSEEN_BY_PAST_PERIODS),
        "audit entries seen by past periods",
    )
    current_figures = inputs_version(
        session, func.max(Deal.id), func.max(ModelRun.id), func.count(ModelRun.finished_at)
    )
    return (current.start, *dated, audited, *current_figures)


def current_report(
    session: Session,
    currency: str,
    rates: Rates,
    timezone: str,
    *,
    period: str = "month",
    wait: float | None = None,
) -> tuple[Report | None, bool]:
    """The Reports page's report and whether it is the previous one (then a background thread
    is building the current one). Kept while the period's data stay the same (new orders and
    messages of the period under way leave it be: :func:`report_version`), and at most an
    hour. With ``wait``, the first report of all is waited for that many seconds at most
    (``None`` when it is not ready by then)."""
    url = session.get_bind().engine.url.render_as_string(hide_password=True)
    key = (url, currency, *(f"{c}={r}" for c, r in sorted(rates.items())), timezone, period)
    moment = figures_as_of(session)
    current = report_periods(period, moment, timezone, 1)[-1]
    version = report_version(session, current)

    def build(own: Session) -> Report:
        return build_report(own, currency, rates, timezone, period=period, as_of=moment)

    if wait is not None:
        return current_or_previous_within(_reports, session, key, version, build, wait)
    return current_or_previous(_reports, session, key, version, build)
