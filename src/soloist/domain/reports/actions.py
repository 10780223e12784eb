"""The report's actions and their results: the valuable customers at risk and what reached
them, campaigns and journeys with their measured effects, loyalty, tickets and SLA, and the
pipeline."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import and_, func, select
from sqlalchemy.orm import Session

from soloist.domain.campaigns import (
    current_campaign_figures,
    holdout_effect,
    summarise_campaigns,
)
from soloist.domain.currencies import Rates
from soloist.domain.dashboard import AtRiskCustomer, valuable_at_risk
from soloist.domain.journeys import current_journey_effects, summarise_journeys
from soloist.domain.loyalty import LoyaltyReport, loyalty_report
from soloist.domain.reports.commerce import Compared
from soloist.domain.reports.periods import Period
from soloist.domain.sales import Forecast, forecast_deals
from soloist.domain.scoring.scores import current_runs
from soloist.storage.models import Deal, Journey, LoyaltyAccount, Message, Order, Task, Ticket
from soloist.storage.types import as_utc


@dataclass(frozen=True)
class AtRiskFollowUp:
    customer: AtRiskCustomer
    messages: int  # sent to them in the period
    tickets: int  # opened by or for them in the period
    tasks_done: int
    ordered: bool  # a paid order in the period


@dataclass(frozen=True)
class CampaignResult:
    id: int
    name: str
    sent: int
    clicked: int
    buyers: int
    revenue: str  # decimal, in the workspace currency
    effect: dict[str, Any] | None  # against the holdout (None: no holdout)


@dataclass(frozen=True)
class JourneyResult:
    id: int
    name: str
    entries: int
    messages_sent: int
    effect: dict[str, Any] | None


@dataclass
class TicketFigures:
    opened: Compared
    resolved: Compared
    first_response_hours: Compared  # median, wall-clock hours
    first_response_breached: Compared  # share answered after their due time
    resolution_breached: Compared


@dataclass
class PipelineFigures:
    won: Compared  # deals won in the period
    lost: Compared
    forecast: Forecast | None = None


@dataclass
class ActionFigures:
    at_risk: list[AtRiskFollowUp] = field(default_factory=list)
    campaigns: list[CampaignResult] = field(default_factory=list)
    journeys: list[JourneyResult] = field(default_factory=list)
    loyalty: LoyaltyReport | None = None
    tickets: TicketFigures | None = None
    pipeline: PipelineFigures | None = None


def _in(column: Any, period: Period) -> Any:
    return and_(column >= period.start, column < period.end)


def _counts(session: Session, query: Any) -> dict[int, int]:
    rows: Any = session.execute(query)
    return {int(key): int(n) for key, n in rows if key is not None}


def at_risk_follow_ups(session: Session, period: Period) -> list[AtRiskFollowUp]:
    customers = valuable_at_risk(session, current_runs(session))
    ids = [c.id for c in customers]
    if not ids:
        return []
    messages = _counts(
        session,
        select(Message.customer_id, func.count())
        .where(Message.customer_id.in_(ids), Message.status == "sent", _in(Message.sent_at, period))
        .group_by(Message.customer_id),
    )
    tickets = _counts(
        session,
        select(Ticket.customer_id, func.count())
        .where(Ticket.customer_id.in_(ids), _in(Ticket.opened_at, period))
        .group_by(Ticket.customer_id),
    )
    tasks = _counts(
        session,
        select(Task.customer_id, func.count())
        .where(Task.customer_id.in_(ids), _in(Task.done_at, period))
        .group_by(Task.customer_id),
    )
    buyers = set(
        session.scalars(
            select(Order.customer_id).where(
                Order.customer_id.in_(ids), Order.status == "paid", _in(Order.ordered_at, period)
            )
        )
    )
    return [
        AtRiskFollowUp(c, messages.get(c.id, 0), tickets.get(c.id, 0), tasks.get(c.id, 0),
                       c.id in buyers)
        for c in customers
    ]  # fmt: skip


def campaign_results_in(
    session: Session, period: Period, currency: str, now: dt.datetime
) -> list[CampaignResult]:
    """The campaigns whose sending started in the period."""
    results = []
    figures, _ = current_campaign_figures(session, currency)
    for row in summarise_campaigns(session, currency, figures):
        started = row.get("started_at")
        if started is None or not period.contains(as_utc(started)):
            continue
        results.append(
            CampaignResult(
                id=int(row["id"]),
                name=str(row["name"]),
                sent=int(row.get("sent") or 0),
                clicked=int(row.get("clicked") or 0),
                buyers=int(row.get("buyers") or 0),
                revenue=str(row.get("revenue") or "0"),
                effect=holdout_effect(session, int(row["id"]), currency, now),
            )
        )
    return results


def journey_results_of(session: Session, currency: str) -> list[JourneyResult]:
    """Every journey that has entries, with its effect against its holdout so far: the one the
    journeys list keeps (each effect reads its customers' orders of 30 days, seconds at a
    hundred thousand customers)."""
    effects, _ = current_journey_effects(session, currency)
    journeys = {j.id: j for j in session.scalars(select(Journey))}
    sent = dict(
        session.execute(
            select(Message.campaign_id, func.count(Message.id))
            .where(
                Message.campaign_id.in_([j.campaign_id for j in journeys.values()]),
                Message.status == "sent",
            )
            .group_by(Message.campaign_id)
        ).all()
    )
    results = []
    for row in summarise_journeys(session):
        if not row.get("entries"):
            continue
        journey = journeys[int(row["id"])]
        messages = journey.action == "message" and journey.campaign_id is not None
        results.append(
            JourneyResult(
                id=journey.id,
                name=str(row["name"]),
                entries=int(row["entries"]),
                messages_sent=int(sent.get(journey.campaign_id, 0)) if messages else 0,
                effect=effects.get(journey.id),
            )
        )
    return results


def _median_hours(values: list[float]) -> float | None:
    if not values:
        return None
    ordered = sorted(values)
    middle = len(ordered) // 2
    if len(ordered) % 2:
        return ordered[middle]
    return (ordered[middle - 1] + ordered[middle]) / 2


def _ticket_period(
    session: Session, period: Period
) -> tuple[int, int, float | None, float | None, float | None]:
    opened = int(
        session.scalar(select(func.count(Ticket.id)).where(_in(Ticket.opened_at, period))) or 0
    )
    resolved_rows = session.execute(
        select(Ticket.resolved_at, Ticket.resolution_due_at).where(_in(Ticket.resolved_at, period))
    ).all()
    answered = session.execute(
        select(Ticket.opened_at, Ticket.first_response_at, Ticket.first_response_due_at).where(
            _in(Ticket.first_response_at, period)
        )
    ).all()
    hours = [(as_utc(a) - as_utc(o)).total_seconds() / 3600 for o, a, _ in answered if a]
    late_first = [as_utc(a) > as_utc(due) for _, a, due in answered if a and due]
    late_resolution = [as_utc(r) > as_utc(due) for r, due in resolved_rows if r and due]
    return (
        opened,
        len(resolved_rows),
        _median_hours(hours),
        sum(late_first) / len(late_first) if late_first else None,
        sum(late_resolution) / len(late_resolution) if late_resolution else None,
    )


def ticket_figures(session: Session, current: Period, previous: Period) -> TicketFigures | None:
    now_figures, before = _ticket_period(session, current), _ticket_period(session, previous)
    if not any(now_figures[:2]) and not any(before[:2]):
        return None
    return TicketFigures(*(Compared(a, b) for a, b in zip(now_figures, before, strict=True)))


def pipeline_figures(
    session: Session, current: Period, previous: Period, currency: str, rates: Rates
) -> PipelineFigures | None:
    if session.scalar(select(func.count(Deal.id))) == 0:
        return None

    def closed(period: Period, stage: str) -> int:
        return int(
            session.scalar(
                select(func.count(Deal.id)).where(Deal.stage == stage, _in(Deal.closed_at, period))
            )
            or 0
        )

    return PipelineFigures(
        won=Compared(closed(current, "won"), closed(previous, "won")),
        lost=Compared(closed(current, "lost"), closed(previous, "lost")),
        forecast=forecast_deals(session, currency, rates, months=3, start=current.end.date()),
    )


def action_figures(
    session: Session,
    current: Period,
    previous: Period,
    currency: str,
    rates: Rates,
    now: dt.datetime,
) -> ActionFigures:
    figures = ActionFigures(
        at_risk=at_risk_follow_ups(session, current),
        campaigns=campaign_results_in(session, current, currency, now),
        journeys=journey_results_of(session, currency),
        tickets=ticket_figures(session, current, previous),
        pipeline=pipeline_figures(session, current, previous, currency, rates),
    )
    if session.scalar(select(func.count()).select_from(LoyaltyAccount)):
        figures.loyalty = loyalty_report(session, now=current.end)
    return figures
