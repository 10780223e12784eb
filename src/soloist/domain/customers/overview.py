"""Everything about one customer on one page (the "customer 360"): profile, totals, scores with
their reasons, loyalty points, segments, and one timeline of orders, interactions, survey
answers, reviews, tickets and the campaign messages sent (or not sent) to them, newest first."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from soloist.domain.customers.consents import ConsentEvent, consent_history, current_consents
from soloist.domain.customers.records import get_customer
from soloist.domain.loyalty.ledger import points_balance
from soloist.domain.scoring.scores import CustomerScores, scores_of_customer
from soloist.storage.models import (
    Campaign,
    Customer,
    Interaction,
    LoyaltyAccount,
    LoyaltyTier,
    Message,
    Order,
    Review,
    Segment,
    SegmentMember,
    SurveyResponse,
    Ticket,
)

TIMELINE_PER_KIND = 50


@dataclass(frozen=True)
class TimelineItem:
    """One event: ``kind`` is order, interaction, survey, review, ticket or campaign (a message
    of a campaign: ``status`` is ``<channel> · <message status>``, ``detail`` why it was not
    sent, ``flags`` what the customer did with it, ``ref_id`` the campaign)."""

    kind: str
    at: dt.datetime
    title: str
    detail: str | None = None
    amount_minor: int | None = None
    currency: str | None = None
    status: str | None = None
    score: int | None = None
    ref_id: int | None = None
    flags: tuple[str, ...] = ()


@dataclass
class CustomerOverview:
    customer: Customer
    orders: int = 0
    paid_orders: int = 0
    revenue_minor: dict[str, int] = field(default_factory=dict)
    first_order_at: dt.datetime | None = None
    last_order_at: dt.datetime | None = None
    points: int = 0
    tier: str | None = None
    member: bool = False
    segments: list[str] = field(default_factory=list)
    consents: dict[str, bool] = field(default_factory=dict)
    consent_history: list[ConsentEvent] = field(default_factory=list)
    scores: CustomerScores | None = None
    timeline: list[TimelineItem] = field(default_factory=list)


def _orders(session: Session, customer_id: int) -> list[TimelineItem]:
    rows = session.scalars(
        select(Order)
        .where(Order.customer_id == customer_id)
        .order_by(Order.ordered_at.desc())
        .limit(TIMELINE_PER_KIND)
    )
    return [
        TimelineItem(
            kind="order",
            at=o.ordered_at,
            title=o.external_id,
            amount_minor=o.total_minor,
            currency=o.currency,
            status=o.status,
            detail=o.channel,
            ref_id=o.id,
        )
        for o in rows
    ]


def _interactions(session: Session, customer_id: int) -> list[TimelineItem]:
    rows = session.scalars(
        select(Interaction)
        .where(Interaction.customer_id == customer_id)
        .order_by(Interaction.occurred_at.desc())
        .limit(TIMELINE_PER_KIND)
    )
    return [
        TimelineItem(
            kind="interaction",
            at=i.occurred_at,
            title=i.subject or i.channel,
            detail=i.body,
            status=f"{i.channel} · {i.direction}",
            ref_id=i.id,
        )
        for i in rows
    ]


def _feedback(session: Session, customer_id: int) -> list[TimelineItem]:
    surveys = session.scalars(
        select(SurveyResponse)
        .where(SurveyResponse.customer_id == customer_id)
        .order_by(SurveyResponse.responded_at.desc())
        .limit(TIMELINE_PER_KIND)
    )
    reviews = session.scalars(
        select(Review)
        .where(Review.customer_id == customer_id)
        .order_by(Review.published_at.desc())
        .limit(TIMELINE_PER_KIND)
    )
    items = [
        TimelineItem(
            kind="survey",
            at=s.responded_at,
            title=s.kind.upper(),
            detail=s.comment,
            score=s.score,
            ref_id=s.id,
        )
        for s in surveys
    ]
    items += [
        TimelineItem(
            kind="review",
            at=r.published_at,
            title=r.title or "",
            detail=r.body,
            score=r.rating,
            ref_id=r.id,
        )
        for r in reviews
    ]
    return items


def _tickets(session: Session, customer_id: int) -> list[TimelineItem]:
    rows = session.scalars(
        select(Ticket)
        .where(Ticket.customer_id == customer_id)
        .order_by(Ticket.opened_at.desc())
        .limit(TIMELINE_PER_KIND)
    )
    return [
        TimelineItem(
            kind="ticket",
            at=t.opened_at,
            title=t.subject,
            status=t.status,
            detail=t.priority,
            ref_id=t.id,
        )
        for t in rows
    ]


def _campaign_messages(session: Session, customer_id: int) -> list[TimelineItem]:
    rows = session.execute(
        select(Message, Campaign.name)
        .join(Campaign, Campaign.id == Message.campaign_id)
        .where(Message.customer_id == customer_id)
        .order_by(Message.created_at.desc(), Message.id.desc())
        .limit(TIMELINE_PER_KIND)
    ).all()
    items = []
    for message, name in rows:
        done = (
            ("clicked", message.clicked_at),
            ("unsubscribed", message.unsubscribed_at),
            ("complained", message.complained_at),
        )
        items.append(
            TimelineItem(
                kind="campaign",
                at=message.sent_at or message.created_at,
                title=name,
                status=f"{message.channel} · {message.status}",
                detail=message.error if message.status == "suppressed" else None,
                flags=tuple(flag for flag, at in done if at is not None),
                ref_id=message.campaign_id,
            )
        )
    return items


def customer_overview(session: Session, customer_id: int) -> CustomerOverview:
    """The customer 360 of ``customer_id`` (NotFoundError when there is no such customer)."""
    customer = get_customer(session, customer_id)
    view = CustomerOverview(customer=customer)
    stats = session.execute(
        select(
            Order.currency,
            Order.status,
            func.count(Order.id),
            func.sum(Order.total_minor - Order.refunded_minor),
            func.min(Order.ordered_at),
            func.max(Order.ordered_at),
        )
        .where(Order.customer_id == customer_id)
        .group_by(Order.currency, Order.status)
    ).all()
    for currency, status, count, total, first, last in stats:
        view.orders += int(count)
        if status == "paid":
            view.paid_orders += int(count)
            view.revenue_minor[currency] = view.revenue_minor.get(currency, 0) + int(total or 0)
        view.first_order_at = min(filter(None, [view.first_order_at, first]), default=None)
        view.last_order_at = max(filter(None, [view.last_order_at, last]), default=None)
    view.points = points_balance(session, customer_id)
    account = session.get(LoyaltyAccount, customer_id)
    if account is not None:
        view.member = account.group == "member"
        if account.tier_id is not None:
            tier = session.get(LoyaltyTier, account.tier_id)
            view.tier = tier.name if tier else None
    view.segments = list(
        session.scalars(
            select(Segment.name)
            .join(SegmentMember, SegmentMember.segment_id == Segment.id)
            .where(SegmentMember.customer_id == customer_id)
            .order_by(Segment.name)
        )
    )
    view.consents = current_consents(session, customer_id)
    view.consent_history = consent_history(session, customer_id)
    view.scores = scores_of_customer(session, customer_id)
    items = (
        _orders(session, customer_id)
        + _interactions(session, customer_id)
        + _feedback(session, customer_id)
        + _tickets(session, customer_id)
        + _campaign_messages(session, customer_id)
    )
    view.timeline = sorted(items, key=lambda item: item.at, reverse=True)
    return view
