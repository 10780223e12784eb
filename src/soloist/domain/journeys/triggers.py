"""The occasions each trigger finds: who, which occasion (the key that makes a journey run once
per customer and occasion), when it happened and when the journey acts on it.

Occasions are found from what Soloist learnt since the last scan (rows *written* since then, so
an order imported late is still found), but only those that happened after the journey started
count: starting a review-request journey does not mail everyone who ever bought.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from dataclasses import dataclass
from typing import NamedTuple

from sqlalchemy import select
from sqlalchemy.orm import Session

from soloist.domain.campaigns.pacing import zone
from soloist.domain.loyalty.ledger import open_lots
from soloist.domain.scoring.scores import current_runs
from soloist.money import precision
from soloist.storage.models import (
    AuditEntry,
    Customer,
    CustomerScore,
    Journey,
    JourneyEntry,
    LedgerEntry,
    Order,
    Subscription,
)
from soloist.storage.types import as_utc

BIRTHDAY_HOUR = 9  # the greeting goes at 09:00 the customer's time (then caps apply)
LOOKAHEAD = dt.timedelta(days=7)  # dated occasions are entered this far ahead
EARLIEST = dt.datetime(1970, 1, 1, tzinfo=dt.UTC)


class Scan(NamedTuple):
    since: dt.datetime
    now: dt.datetime
    started: dt.datetime  # occasions before the journey started do not count
    currency: str
    one: int | None  # one customer's occasions, for the timeline
    timezone: str = "UTC"  # the workspace's: the day of those customers without a zone


@dataclass(frozen=True)
class Occasion:
    customer_id: int
    key: str
    occurred_at: dt.datetime
    due_at: dt.datetime


def find_occasions(
    session: Session,
    journey: Journey,
    since: dt.datetime,
    now: dt.datetime,
    currency: str,
    customer_id: int | None = None,
    timezone: str = "UTC",
) -> list[Occasion]:
    """The journey's occasions learnt after ``since`` (all of one customer's, when
    ``customer_id`` is given: the editor's timeline)."""
    started = as_utc(journey.started_at or now) if customer_id is None else EARLIEST
    finder = _FINDERS[journey.trigger]
    wait = dt.timedelta(hours=journey.wait_hours)
    return [
        Occasion(o.customer_id, o.key, o.occurred_at, o.due_at + wait)
        for o in finder(
            session,
            journey,
            Scan(as_utc(since), as_utc(now), started, currency, customer_id, timezone),
        )
    ]


# A scan asks only for the rows created since the last one (and since the journey started),
# and checks the status (and for orders the order's time) on what comes back: with the status
# in the statement, SQLite's planner walked the status index, every active customer or paid
# order at each scan (ten million orders at a million customers), instead of the few new rows
# by their creation time.


def _welcome(session: Session, journey: Journey, scan: Scan) -> Iterator[Occasion]:
    statement = select(Customer.id, Customer.created_at, Customer.status)
    statement = (
        statement.where(Customer.id == scan.one)
        if scan.one is not None
        else statement.where(Customer.created_at > scan.since, Customer.created_at >= scan.started)
    )
    for customer_id, created, status in session.execute(statement):
        if status == "active":
            yield Occasion(int(customer_id), "welcome", created, created)


def _order(session: Session, journey: Journey, scan: Scan) -> Iterator[Occasion]:
    statement = select(Order.id, Order.customer_id, Order.ordered_at, Order.status)
    statement = (
        statement.where(Order.customer_id == scan.one)
        if scan.one is not None
        # An order is created once it is placed: one created before the journey started was
        # placed before it too, and is left out here rather than read and dropped.
        else statement.where(Order.created_at > scan.since, Order.created_at >= scan.started)
    )
    after = dt.timedelta(days=journey.trigger_days)
    for order_id, customer_id, ordered_at, status in session.execute(statement):
        if status == "paid" and as_utc(ordered_at) >= scan.started:
            yield Occasion(int(customer_id), f"order:{order_id}", ordered_at, ordered_at + after)


def _birthday(session: Session, journey: Journey, scan: Scan) -> Iterator[Occasion]:
    statement = select(Customer.id, Customer.birthday, Customer.timezone).where(
        Customer.status == "active"
    )
    if scan.one is not None:
        statement = statement.where(Customer.id == scan.one)
    before = dt.timedelta(days=journey.trigger_days)
    for customer_id, birthday, timezone in session.execute(statement):
        if birthday is None:
            continue
        local = zone(timezone, scan.timezone)  # 09:00 on their day, where they are
        for year in (scan.now.year, scan.now.year + 1):
            day = _birthday_in(birthday, year)
            at = dt.datetime.combine(day, dt.time(BIRTHDAY_HOUR), tzinfo=local).astimezone(dt.UTC)
            due = at - before
            if scan.one is None and not (due >= scan.started and due <= scan.now + LOOKAHEAD):
                continue
            yield Occasion(int(customer_id), f"birthday:{year}", at, due)


def _birthday_in(birthday: dt.date, year: int) -> dt.date:
    try:
        return birthday.replace(year=year)
    except ValueError:  # 29 February in a common year
        return dt.date(year, 2, 28)


def _tier_change(session: Session, journey: Journey, scan: Scan) -> Iterator[Occasion]:
    statement = select(
        AuditEntry.id, AuditEntry.entity_id, AuditEntry.occurred_at, AuditEntry.changes
    ).where(AuditEntry.action == "loyalty.tier_changed")
    statement = (
        statement.where(AuditEntry.entity_id == str(scan.one))
        if scan.one is not None
        else statement.where(
            AuditEntry.occurred_at > scan.since, AuditEntry.occurred_at >= scan.started
        )
    )
    for row in session.execute(statement):
        changes = row.changes or {}
        tiers = changes.get("tier") or [None, None]
        customer = str(row.entity_id or "")
        # A move, not the first placement at enrolment (a welcome journey greets those).
        if not customer.isdigit() or tiers[-1] is None or changes.get("direction") == "initial":
            continue
        at: dt.datetime = row.occurred_at
        yield Occasion(int(customer), f"tier:{row.id}", at, at)


def _points_expiring(session: Session, journey: Journey, scan: Scan) -> Iterator[Occasion]:
    horizon = scan.now + dt.timedelta(days=journey.trigger_days)
    statement = select(LedgerEntry.customer_id).where(
        LedgerEntry.expires_at.is_not(None),
        LedgerEntry.expires_at > scan.now,
        LedgerEntry.expires_at <= horizon,
        LedgerEntry.points > 0,
    )
    if scan.one is not None:
        statement = select(LedgerEntry.customer_id).where(LedgerEntry.customer_id == scan.one)
    customers = sorted({int(c) for c in session.scalars(statement)})
    for customer_id in customers:
        entries = session.scalars(
            select(LedgerEntry)
            .where(LedgerEntry.customer_id == customer_id)
            .order_by(LedgerEntry.effective_at, LedgerEntry.id)
        ).all()
        for lot in open_lots(entries):
            expires = lot.expires_at
            if lot.remaining <= 0 or expires is None or not scan.now < as_utc(expires) <= horizon:
                continue
            # One reminder per lot; it is due trigger_days before the points go.
            due = max(scan.now, as_utc(expires) - dt.timedelta(days=journey.trigger_days))
            yield Occasion(customer_id, f"expiry:{lot.entry_id}", scan.now, due)


def _churn_risk(session: Session, journey: Journey, scan: Scan) -> Iterator[Occasion]:
    runs = current_runs(session)
    risk_run, value_run = runs.get("churn_risk"), runs.get("clv_12m_minor")
    if risk_run is None:
        return
    threshold = journey.threshold if journey.threshold is not None else 0.6
    statement = select(CustomerScore.customer_id).where(
        CustomerScore.model_run_id == risk_run, CustomerScore.churn_risk >= threshold
    )
    if scan.one is not None:
        statement = statement.where(CustomerScore.customer_id == scan.one)
    at_risk = {int(c) for c in session.scalars(statement)}
    if journey.minimum_value and value_run is not None and at_risk:
        floor = round(journey.minimum_value * 10 ** precision(scan.currency))
        valuable = select(CustomerScore.customer_id).where(
            CustomerScore.model_run_id == value_run, CustomerScore.clv_12m_minor >= floor
        )
        at_risk &= {int(c) for c in session.scalars(valuable)}
    # One win-back per customer in each period of trigger_days (90 by default), and never two
    # within that many days (a customer at risk across a period's edge is not mailed twice).
    period_days = max(1, journey.trigger_days)
    period = (scan.now - EARLIEST).days // period_days
    recent = {
        int(c)
        for c in session.scalars(
            select(JourneyEntry.customer_id).where(
                JourneyEntry.journey_id == journey.id,
                JourneyEntry.occurred_at > scan.now - dt.timedelta(days=period_days),
            )
        )
    }
    for customer_id in sorted(at_risk - recent):
        yield Occasion(customer_id, f"churn:{period}", scan.now, scan.now)


def _subscription_cancelled(session: Session, journey: Journey, scan: Scan) -> Iterator[Occasion]:
    statement = select(Subscription.id, Subscription.customer_id, Subscription.cancelled_at).where(
        Subscription.status == "cancelled", Subscription.cancelled_at.is_not(None)
    )
    statement = (
        statement.where(Subscription.customer_id == scan.one)
        if scan.one is not None
        else statement.where(
            Subscription.updated_at > scan.since, Subscription.cancelled_at >= scan.started
        )
    )
    for subscription_id, customer_id, cancelled in session.execute(statement):
        if cancelled is not None:
            yield Occasion(
                int(customer_id), f"subscription:{subscription_id}", cancelled, cancelled
            )


_FINDERS = {
    "welcome": _welcome,
    "order": _order,
    "birthday": _birthday,
    "tier_change": _tier_change,
    "points_expiring": _points_expiring,
    "churn_risk": _churn_risk,
    "subscription_cancelled": _subscription_cancelled,
}
