"""The demo workspace's loyalty programme: launched a year before the demo ends, with a holdout.

What it writes, all through the loyalty domain functions except the bulk credit of past orders:
members and a 20% randomised holdout (customers known at launch are enrolled on launch day, later
ones on the day they are first seen), a rewards catalogue and coupons, a handful of referrals,
points for members' orders since they joined (at the base rate), reversals of refunded and
cancelled orders, tiers reviewed at the demo's end, 9-month expiry, and some reward redemptions.

The demo's purchase process knows nothing of the programme, so to give the report something to
find it *plants* an effect: every paid order a member places after joining brings, with
probability ``uplift``, one extra order some days later, and a member who would not have come
back returns once with probability ``uplift / 3``. These extra orders carry ``source =
"demo-loyalty"``. With ``uplift=0`` the measured effect is zero within its confidence interval.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from dataclasses import dataclass

import numpy as np
from sqlalchemy import select
from sqlalchemy.orm import Session

from soloist.domain.audit import insert_rows
from soloist.domain.loyalty import (
    MEMBER,
    CouponCreate,
    ReferralRejectedError,
    RewardCreate,
    create_coupon,
    create_reward,
    earn_for_order,
    enrol_customers,
    expire_points,
    get_programme_settings,
    loyalty_report,
    record_referral,
    redeem_points,
    review_tiers,
    update_programme_settings,
)
from soloist.storage.models import (
    Customer,
    LedgerEntry,
    LoyaltyAccount,
    Order,
    OrderLine,
    Product,
)

ACTOR = "system:demo"
PROGRAMME_DAYS = 365


@dataclass(frozen=True)
class LoyaltyDemoSummary:
    members: int
    holdout: int
    ledger_entries: int
    redemptions: int
    referrals: int
    extra_orders: int
    extra_order_lines: int
    extra_revenue_minor: int


def _enrol(
    session: Session, launch: dt.datetime, now: dt.datetime, seed: int, *, later: bool
) -> None:
    """Customers known at launch join on launch day; later ones on the day they are first seen."""
    first_seen = session.execute(
        select(Customer.id, Customer.first_seen_at).order_by(Customer.id)
    ).all()
    if not later:
        at_launch = [cid for cid, seen in first_seen if seen is None or seen <= launch]
        enrol_customers(session, ACTOR, customer_ids=at_launch, now=launch, seed=seed)
        return
    by_day: dict[dt.date, list[int]] = defaultdict(list)
    for customer_id, seen in first_seen:
        if seen is not None and launch < seen < now:
            by_day[seen.date()].append(customer_id)
    for day in sorted(by_day):
        moment = dt.datetime.combine(day, dt.time(), dt.UTC)
        enrol_customers(session, ACTOR, customer_ids=by_day[day], now=moment)


def _referrals(
    session: Session, rng: np.random.Generator, launch: dt.datetime, now: dt.datetime
) -> int:
    """About a dozen customers first seen after launch arrive through a member's code."""
    rules = get_programme_settings(session)
    members = session.execute(
        select(LoyaltyAccount.customer_id, LoyaltyAccount.referral_code)
        .where(LoyaltyAccount.group == MEMBER, LoyaltyAccount.enrolled_at <= launch)
        .order_by(LoyaltyAccount.customer_id)
    ).all()
    newcomers = session.execute(
        select(Customer.id, Customer.first_seen_at)
        .where(Customer.first_seen_at > launch, Customer.first_seen_at < now)
        .order_by(Customer.id)
    ).all()
    if not any(code for _, code in members) or not newcomers:
        return 0
    codes = [code for _, code in members if code]
    picks = rng.choice(len(newcomers), size=min(12, len(newcomers)), replace=False)
    made = 0
    for index in sorted(int(i) for i in picks):
        customer_id, seen = newcomers[index]
        if seen is None:
            continue
        code = codes[int(rng.integers(len(codes)))]
        try:  # they join through the code the day before they are first seen
            record_referral(
                session, code, customer_id, ACTOR, settings=rules, now=seen - dt.timedelta(days=1)
            )
        except ReferralRejectedError:
            continue
        first = session.scalar(
            select(Order.id)
            .where(Order.customer_id == customer_id, Order.status == "paid")
            .order_by(Order.ordered_at, Order.id)
            .limit(1)
        )
        if first is not None:
            ordered = session.get(Order, first)
            earn_for_order(session, first, ACTOR, at=ordered.ordered_at if ordered else None)
        made += 1
    return made


def _plant_uplift(
    session: Session,
    rng: np.random.Generator,
    now: dt.datetime,
    currency: str,
    uplift: float,
) -> tuple[int, int, int]:
    """Extra orders by members after they joined; returns (orders, lines, revenue minor)."""
    if uplift <= 0:
        return 0, 0, 0
    products = session.execute(
        select(Product.id, Product.sku, Product.price_minor, Product.cost_minor)
        .where(Product.currency == currency, Product.active.is_(True))
        .order_by(Product.id)
    ).all()
    if not products:
        return 0, 0, 0
    rows = session.execute(
        select(LoyaltyAccount.customer_id, LoyaltyAccount.enrolled_at, Order.ordered_at)
        .outerjoin(
            Order,
            (Order.customer_id == LoyaltyAccount.customer_id)
            & (Order.status == "paid")
            & (Order.ordered_at >= LoyaltyAccount.enrolled_at),
        )
        .where(LoyaltyAccount.group == MEMBER)
        .order_by(LoyaltyAccount.customer_id, Order.ordered_at, Order.id)
    ).all()
    extra: list[tuple[int, dt.datetime]] = []
    seen_members: dict[int, bool] = {}
    for customer_id, enrolled_at, ordered_at in rows:
        if ordered_at is None:
            seen_members.setdefault(customer_id, False)
            if rng.random() < uplift / 3:
                span = max((now - enrolled_at).total_seconds(), 1.0)
                extra.append((customer_id, enrolled_at + dt.timedelta(seconds=rng.random() * span)))
            continue
        seen_members[customer_id] = True
        if rng.random() < uplift:
            when = ordered_at + dt.timedelta(days=float(rng.exponential(30)) + 1)
            if when < now:
                extra.append((customer_id, when))
    order_rows, picks = [], []
    for number, (customer_id, when) in enumerate(sorted(extra, key=lambda x: x[1]), start=1):
        product = products[int(rng.integers(len(products)))]
        picks.append(product)
        order_rows.append(
            {
                "external_id": f"LL-L{number:06d}",
                "customer_id": customer_id,
                "status": "paid",
                "currency": currency,
                "total_minor": int(product.price_minor),
                "discount_minor": 0,
                "cost_minor": int(product.cost_minor or 0),
                "ordered_at": when,
                "channel": "web",
                "source": "demo-loyalty",
                "created_at": when,
            }
        )
    ids = insert_rows(session, Order, order_rows, ACTOR, "demo loyalty orders", returning_ids=True)
    line_rows = [
        {
            "order_id": order_id,
            "line_no": 1,
            "product_id": product.id,
            "sku": product.sku,
            "description": None,
            "quantity": 1,
            "unit_price_minor": int(product.price_minor),
            "amount_minor": int(product.price_minor),
            "cost_minor": int(product.cost_minor or 0),
        }
        for order_id, product in zip(ids, picks, strict=True)
    ]
    insert_rows(session, OrderLine, line_rows, ACTOR, "demo loyalty order lines")
    return len(order_rows), len(line_rows), sum(int(p.price_minor) for p in picks)


def _credit_orders(session: Session) -> int:
    """Points for members' orders since they joined (base rate), reversals for refunds."""
    rules = get_programme_settings(session)
    credited = set(
        session.scalars(
            select(LedgerEntry.source_id).where(
                LedgerEntry.kind == "earn", LedgerEntry.source_type == "order"
            )
        )
    )
    orders = session.execute(
        select(
            Order.id,
            Order.customer_id,
            Order.external_id,
            Order.status,
            Order.currency,
            Order.total_minor,
            Order.ordered_at,
        )
        .join(LoyaltyAccount, LoyaltyAccount.customer_id == Order.customer_id)
        .where(LoyaltyAccount.group == MEMBER, Order.ordered_at >= LoyaltyAccount.enrolled_at)
        .order_by(Order.ordered_at, Order.id)
    ).all()
    rows = []
    for order in orders:
        points = rules.points_for(order.total_minor, order.currency)
        if str(order.id) in credited or points <= 0 or order.status == "pending":
            continue
        common = {"customer_id": order.customer_id, "source_type": "order"}
        common |= {"source_id": str(order.id), "user_id": None, "rule": "rule:earn"}
        rows.append(
            common
            | {
                "kind": "earn",
                "points": points,
                "reason": f"order {order.external_id}",
                "idempotency_key": f"earn:order:{order.id}",
                "expires_at": rules.expiry_for(order.ordered_at),
                "effective_at": order.ordered_at,
                "created_at": order.ordered_at,
            }
        )
        if order.status in ("refunded", "cancelled"):
            rows.append(
                common
                | {
                    "kind": "reverse",
                    "points": -points,
                    "reason": f"order {order.external_id} {order.status}",
                    "idempotency_key": f"reverse:order:{order.id}",
                    "expires_at": None,
                    "effective_at": order.ordered_at + dt.timedelta(days=3),
                    "created_at": order.ordered_at + dt.timedelta(days=3),
                }
            )
    insert_rows(session, LedgerEntry, rows, ACTOR, "demo loyalty points for past orders")
    return len(rows)


def _catalogue(session: Session, currency: str, now: dt.datetime) -> list[tuple[int, int]]:
    product = session.scalar(select(Product.id).order_by(Product.price_minor.desc()).limit(1))
    specs = [
        RewardCreate(name="5 off your next order", kind="discount", points_cost=500, value=5,
                     currency=currency),
        RewardCreate(name="Free tote bag", kind="gift", points_cost=900),
    ]  # fmt: skip
    if product is not None:
        specs.append(
            RewardCreate(name="A free bag of our best beans", kind="free_product",
                         points_cost=1500, product_id=product)
        )  # fmt: skip
    rewards = [create_reward(session, spec, ACTOR) for spec in specs]
    create_coupon(
        session,
        CouponCreate(code="MEMBERS15", discount_percent=15, members_only=True, max_uses=200,
                     expires_at=now + dt.timedelta(days=60)),
        ACTOR,
        now=now,
    )  # fmt: skip
    create_coupon(
        session,
        CouponCreate(code="WELCOME10", discount_percent=10, max_uses=1000,
                     expires_at=now + dt.timedelta(days=90)),
        ACTOR,
        now=now,
    )  # fmt: skip
    return sorted(((r.points_cost, r.id) for r in rewards), reverse=True)


def _redeem(
    session: Session, rng: np.random.Generator, rewards: list[tuple[int, int]], now: dt.datetime
) -> int:
    """About a third of the members who can afford a reward take the dearest they can."""
    balances = session.execute(
        select(LedgerEntry.customer_id, LedgerEntry.points)
        .join(LoyaltyAccount, LoyaltyAccount.customer_id == LedgerEntry.customer_id)
        .where(LoyaltyAccount.group == MEMBER)
        .order_by(LedgerEntry.customer_id, LedgerEntry.id)
    ).all()
    totals: dict[int, int] = defaultdict(int)
    for customer_id, points in balances:
        totals[customer_id] += points
    done = 0
    for customer_id in sorted(totals):
        affordable = [rid for cost, rid in rewards if cost <= totals[customer_id]]
        if affordable and rng.random() < 0.35:
            key = f"demo-reward-{customer_id}"
            outcome = redeem_points(
                session, customer_id, None, key, ACTOR, reward_id=affordable[0], now=now
            )
            done += int(outcome.redeemed)
    return done


def build_loyalty_demo(
    session: Session,
    *,
    seed: int,
    start: dt.datetime,
    horizon_days: int,
    currency: str,
    holdout_share: float = 0.2,
    uplift: float = 0.15,
) -> LoyaltyDemoSummary:
    """Run a year of the programme over the demo business (see the module docstring)."""
    rng = np.random.default_rng([seed, 2026])
    now = start + dt.timedelta(days=horizon_days)
    launch = now - dt.timedelta(days=min(PROGRAMME_DAYS, horizon_days // 2))
    update_programme_settings(
        session,
        {
            "currency": currency,
            "holdout_share": holdout_share,
            "holdout_seed": seed,
            "expiry_months": 9,
            "launched_at": launch.isoformat(),
        },
        ACTOR,
    )
    _enrol(session, launch, now, seed, later=False)
    referrals = _referrals(session, rng, launch, now)
    _enrol(session, launch, now, seed, later=True)
    extra_orders, extra_lines, extra_revenue = _plant_uplift(session, rng, now, currency, uplift)
    entries = _credit_orders(session)
    review_tiers(session, now, actor=ACTOR)
    expire_points(session, now)
    rewards = _catalogue(session, currency, now)
    redemptions = _redeem(session, rng, rewards, now)
    kpis = loyalty_report(session, now).kpis
    return LoyaltyDemoSummary(
        members=kpis.members,
        holdout=kpis.holdout,
        ledger_entries=entries,
        redemptions=redemptions,
        referrals=referrals,
        extra_orders=extra_orders,
        extra_order_lines=extra_lines,
        extra_revenue_minor=extra_revenue,
    )
