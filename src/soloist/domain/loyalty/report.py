"""Programme measurement: participation, redemption, liability and the measured effect.

The effect compares members with the randomised holdout after enrolment (repeat-purchase rate
and revenue per customer, with confidence intervals from :mod:`soloist.analytics.loyalty_effect`)
and each group's own before/after change over windows of equal length. Customers who joined
through a referral are left out of the comparison: they were not randomised.

:func:`loyalty_report` returns a :class:`LoyaltyReport`, frozen dataclasses all the way down;
``dataclasses.asdict`` of it is what ``soloist loyalty report --json`` prints.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from soloist.domain.caches import current_or_previous, inputs_version
from soloist.domain.loyalty.ledger import HOLDOUT, MEMBER
from soloist.domain.loyalty.rules import get_programme_settings
from soloist.money import minor_to_decimal
from soloist.storage.bulk import (
    columns_of,
    fetch_raw,
    float_column,
    int_column,
    read_in_parts,
    utc_nanosecond_column,
    utc_nanoseconds,
)
from soloist.storage.caches import VersionedCache
from soloist.storage.models import (
    AuditEntry,
    Customer,
    LedgerEntry,
    LoyaltyAccount,
    LoyaltyTier,
    Order,
    Referral,
)
from soloist.storage.types import utcnow

if TYPE_CHECKING:
    from soloist.analytics.loyalty_effect import EffectEstimate

MAX_WINDOW_DAYS = 365


@dataclass(frozen=True)
class Effect:
    """A difference of means (members − holdout, or after − before) with its interval.

    The fields of :class:`~soloist.analytics.loyalty_effect.EffectEstimate` and its three derived
    figures (``significant``, ``relative_lift``, ``minimum_detectable_difference``) as values.
    """

    treated_mean: float
    control_mean: float
    difference: float
    ci_low: float
    ci_high: float
    p_value: float | None
    n_treated: int
    n_control: int
    confidence: float
    method: str
    standard_error: float
    significant: bool
    relative_lift: float | None
    minimum_detectable_difference: float

    @classmethod
    def of(cls, estimate: EffectEstimate) -> Effect:
        return cls(**estimate.to_dict())


@dataclass(frozen=True)
class LoyaltyKpis:
    """Participation, points and liability; rates are shares (0–1), ``None`` without a base."""

    currency: str
    launched_at: dt.datetime | None
    active_customers: int
    members: int
    holdout: int
    participation_rate: float | None
    active_members_12m: int
    active_member_rate: float | None
    points_issued: int
    points_redeemed: int
    points_expired: int
    points_reversed: int
    redemption_rate: float | None
    redeemer_share: float | None
    outstanding_points: int
    point_value: Decimal
    liability: Decimal
    tiers: dict[str, int]  # tier name -> members, in tier order
    referrals: dict[str, int]  # status -> referrals


@dataclass(frozen=True)
class Sample:
    """Customers in the comparison (referred customers are left out)."""

    members: int
    holdout: int


@dataclass(frozen=True)
class MemberEffect:
    """Members against the holdout since enrolment; ``None`` where a group is too small."""

    repeat_purchase_rate: Effect | None
    revenue_per_customer: Effect | None
    revenue_per_customer_adjusted: Effect | None


@dataclass(frozen=True)
class BeforeAfter:
    """Each group's change over equal windows before and after enrolment, and their difference."""

    members_orders: Effect | None
    members_revenue: Effect | None
    holdout_orders: Effect | None
    difference_in_differences_orders: Effect | None
    difference_in_differences_revenue: Effect | None


@dataclass(frozen=True)
class ReportMethod:
    """How the intervals were computed."""

    revenue_interval: str  # welch | bootstrap
    confidence: float


@dataclass(frozen=True)
class LoyaltyReport:
    """The programme's KPIs and its measured effect, as of ``as_of``."""

    as_of: dt.datetime
    kpis: LoyaltyKpis
    sample: Sample
    effect: MemberEffect
    before_after: BeforeAfter
    method: ReportMethod


def member_counts_by_tier(session: Session) -> dict[str, int]:
    """Members per tier name, in tier order (tiers without members left out)."""
    return {
        name: int(count)
        for name, count in session.execute(
            select(LoyaltyTier.name, func.count(LoyaltyAccount.customer_id))
            .join(LoyaltyAccount, LoyaltyAccount.tier_id == LoyaltyTier.id)
            .where(LoyaltyAccount.group == MEMBER)
            .group_by(LoyaltyTier.name, LoyaltyTier.rank)
            .order_by(LoyaltyTier.rank)
        ).all()
    }


def _kpis(session: Session, now: dt.datetime) -> LoyaltyKpis:
    rules = get_programme_settings(session)
    groups = dict(
        session.execute(
            select(LoyaltyAccount.group, func.count()).group_by(LoyaltyAccount.group)
        ).all()
    )
    members, holdout = int(groups.get(MEMBER, 0)), int(groups.get(HOLDOUT, 0))
    active_customers = int(
        session.scalar(select(func.count(Customer.id)).where(Customer.status == "active")) or 0
    )
    by_kind = {
        kind: int(total or 0)
        for kind, total in session.execute(
            select(LedgerEntry.kind, func.sum(LedgerEntry.points)).group_by(LedgerEntry.kind)
        ).all()
    }
    issued = int(
        session.scalar(
            select(func.coalesce(func.sum(LedgerEntry.points), 0)).where(LedgerEntry.points > 0)
        )
        or 0
    )
    redeemed = -by_kind.get("redeem", 0)
    outstanding = sum(by_kind.values())
    year_ago = now - dt.timedelta(days=365)
    active_members = int(
        session.scalar(
            select(func.count(func.distinct(LedgerEntry.customer_id))).where(
                LedgerEntry.kind.in_(("earn", "redeem")), LedgerEntry.effective_at > year_ago
            )
        )
        or 0
    )
    redeemers = int(
        session.scalar(
            select(func.count(func.distinct(LedgerEntry.customer_id))).where(
                LedgerEntry.kind == "redeem"
            )
        )
        or 0
    )
    referrals = {
        status: int(count)
        for status, count in session.execute(
            select(Referral.status, func.count()).group_by(Referral.status)
        ).all()
    }
    return LoyaltyKpis(
        currency=rules.currency,
        launched_at=rules.launched_at,
        active_customers=active_customers,
        members=members,
        holdout=holdout,
        participation_rate=members / active_customers if active_customers else None,
        active_members_12m=active_members,
        active_member_rate=active_members / members if members else None,
        points_issued=issued,
        points_redeemed=redeemed,
        points_expired=-by_kind.get("expire", 0),
        points_reversed=-by_kind.get("reverse", 0),
        redemption_rate=redeemed / issued if issued else None,
        redeemer_share=redeemers / members if members else None,
        outstanding_points=outstanding,
        point_value=rules.point_value,
        liability=rules.value_of(outstanding),
        tiers=member_counts_by_tier(session),
        referrals=referrals,
    )


def _outcomes(session: Session, now: dt.datetime) -> dict[str, dict[str, list[float]]]:
    """Per group and per customer: post-enrolment buying and the before/after windows.

    Worked out on whole columns: at a hundred thousand members the members' million orders,
    typed row by row and walked per customer, took 8.7 s."""
    rules = get_programme_settings(session)
    referred = select(Referral.referred_id)
    accounts = fetch_raw(
        session,
        select(LoyaltyAccount.customer_id, LoyaltyAccount.group, LoyaltyAccount.enrolled_at).where(
            LoyaltyAccount.customer_id.not_in(referred), LoyaltyAccount.enrolled_at < now
        ),
    )
    query = select(Order.customer_id, Order.ordered_at, Order.total_minor).where(
        Order.status.in_(rules.earning_statuses), Order.currency == rules.currency
    )
    customers_in_all = session.scalar(select(func.count(Customer.id))) or 0
    if 2 * len(accounts) < customers_in_all:  # a small programme: its members' orders only
        query = query.where(Order.customer_id.in_(select(LoyaltyAccount.customer_id)))

    # else every order, the others dropped below: looking each order's customer up among the
    # accounts took 3.3 s for a million orders, reading them all 1.0 s
    def frame_of(columns: list[Sequence[Any]]) -> pd.DataFrame:
        bought_by, at_times, values = columns
        return pd.DataFrame(
            {
                "customer": int_column(bought_by),
                "t": utc_nanosecond_column(at_times),
                "v": float_column(values),
            }
        )

    # A part at a time: every order of a million customers took some 3 GB as rows.
    parts = read_in_parts(session, query, 3, frame_of)
    orders = parts[0] if len(parts) == 1 else pd.concat(parts, ignore_index=True)
    customers, groups, enrolled_at = columns_of(accounts, 3)
    members = pd.DataFrame(
        {
            "member": np.arange(len(customers)),
            "customer": int_column(customers),
            "at": utc_nanosecond_column(enrolled_at),
        }
    )
    end = utc_nanoseconds(now)
    members["window"] = np.minimum(end - members["at"], MAX_WINDOW_DAYS * 86_400 * 10**9)
    # A repeat purchase is any purchase after enrolment but the customer's very first one
    # (the same time and amount: the first order, or an identical twin of it).
    first = orders.sort_values(["customer", "t", "v"]).drop_duplicates("customer")
    orders = orders.merge(first.rename(columns={"t": "t0", "v": "v0"}), on="customer")
    joined = orders.merge(members, on="customer")
    t, at, window = joined["t"], joined["at"], joined["window"]
    post = (t >= at) & (t <= end)
    flags = {
        "post": post,
        "before": (t >= at - window) & (t < at),
        "after": post & (t < at + window),
        "repeat": post & ((t != joined["t0"]) | (joined["v"] != joined["v0"])),
    }
    figures = pd.DataFrame({"member": joined["member"]})
    for name, flag in flags.items():
        figures[f"{name}_n"] = flag.astype(np.int64)
        figures[f"{name}_v"] = joined["v"].where(flag, 0.0)
    per_member = figures.groupby("member").sum().reindex(members["member"], fill_value=0)
    unit = float(minor_to_decimal(1, rules.currency))
    metrics = {
        "repeat": (per_member["repeat_n"] > 0).astype(np.float64),
        "revenue": per_member["post_v"] * unit,
        "orders_before": per_member["before_n"].astype(np.float64),
        "orders_after": per_member["after_n"].astype(np.float64),
        "revenue_before": per_member["before_v"] * unit,
        "revenue_after": per_member["after_v"] * unit,
    }
    in_group = np.asarray(groups, dtype=object)
    return {
        group: {name: values[in_group == group].tolist() for name, values in metrics.items()}
        for group in (MEMBER, HOLDOUT)
    }


def _estimate(function: Callable[..., EffectEstimate], *args: Any, **kwargs: Any) -> Effect | None:
    try:
        estimate = function(*args, **kwargs)
    except ValueError:  # too few customers in a group to say anything
        return None
    return Effect.of(estimate)


def loyalty_report(
    session: Session,
    now: dt.datetime | None = None,
    *,
    method: str = "welch",
    confidence: float = 0.95,
    seed: int = 0,
) -> LoyaltyReport:
    """KPIs, liability and the member-vs-holdout and before/after effects.

    ``method`` is ``"welch"`` or ``"bootstrap"`` for the revenue interval (the repeat rate always
    uses Welch, which for 0/1 outcomes is the unpooled two-proportion interval). The
    ``revenue_per_customer_adjusted`` estimate removes what the revenue before enrolment predicts
    (CUPED) and is usually the narrowest.
    """
    # SciPy's statistics load here, not with the module: the command line's start stays light.
    from soloist.analytics.loyalty_effect import (
        bootstrap_difference,
        cuped_adjust,
        paired_difference,
        welch_difference,
    )

    at = now or utcnow()
    data = _outcomes(session, at)
    members, holdout = data[MEMBER], data[HOLDOUT]
    revenue_method = bootstrap_difference if method == "bootstrap" else welch_difference
    extra = {"seed": seed} if method == "bootstrap" else {}
    member_change = np.subtract(members["orders_after"], members["orders_before"])
    holdout_change = np.subtract(holdout["orders_after"], holdout["orders_before"])
    member_rev_change = np.subtract(members["revenue_after"], members["revenue_before"])
    adjusted: Effect | None = None
    try:  # revenue adjusted for the revenue of the window before enrolment (CUPED)
        both = cuped_adjust(
            members["revenue"] + holdout["revenue"],
            members["revenue_before"] + holdout["revenue_before"],
        )
        split = len(members["revenue"])
        adjusted = _estimate(welch_difference, both[:split], both[split:], confidence)
    except ValueError:
        adjusted = None
    holdout_rev_change = np.subtract(holdout["revenue_after"], holdout["revenue_before"])
    return LoyaltyReport(
        as_of=at,
        kpis=_kpis(session, at),
        sample=Sample(members=len(members["repeat"]), holdout=len(holdout["repeat"])),
        effect=MemberEffect(
            repeat_purchase_rate=_estimate(
                welch_difference, members["repeat"], holdout["repeat"], confidence
            ),
            revenue_per_customer=_estimate(
                revenue_method, members["revenue"], holdout["revenue"], confidence, **extra
            ),
            revenue_per_customer_adjusted=adjusted,
        ),
        before_after=BeforeAfter(
            members_orders=_estimate(
                paired_difference, members["orders_before"], members["orders_after"], confidence
            ),
            members_revenue=_estimate(
                paired_difference, members["revenue_before"], members["revenue_after"], confidence
            ),
            holdout_orders=_estimate(
                paired_difference, holdout["orders_before"], holdout["orders_after"], confidence
            ),
            difference_in_differences_orders=_estimate(
                welch_difference, member_change, holdout_change, confidence
            ),
            difference_in_differences_revenue=_estimate(
                welch_difference, member_rev_change, holdout_rev_change, confidence
            ),
        ),
        method=ReportMethod(revenue_interval=method, confidence=confidence),
    )


_reports: VersionedCache[str, LoyaltyReport] = VersionedCache(
    "loyalty reports", maxsize=4, kept=True
)


def current_loyalty_report(session: Session) -> tuple[LoyaltyReport, bool]:
    """The programme overview's report and whether it is the previous one (then a background
    thread is computing the current one): at a hundred thousand customers the report reads
    every member's orders, seconds of work, so a page shows the last figures meanwhile."""
    url = session.get_bind().engine.url.render_as_string(hide_password=True)
    version = inputs_version(
        session,
        func.max(Order.id),
        func.max(LedgerEntry.id),
        func.count(LoyaltyAccount.customer_id),
        func.max(AuditEntry.id),  # a refund, a settings change
    )
    return current_or_previous(_reports, session, url, version, loyalty_report)
