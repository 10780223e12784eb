"""Points for orders: earned when a member's order is paid, given back when it is refunded.

Every entry carries its *effective time*, the moment it counts in the programme's own clock, so
that the same orders give the same ledger however they arrive — one at a time through the API and
webhooks, or all at once through :func:`sync_order_points` after an import:

- an order earns at its purchase time (``ordered_at``): its points expire a year after the
  purchase, and they count in the tier window the purchase falls in;
- a refund or a cancellation takes points back at its own time (``refunded_at``), never before
  the points were earned; a partial refund takes back the same share of the points as of the
  money (rounded half up), so two refunds of a half take back all of it;
- orders placed before the customer joined earn nothing.

:func:`settle_order_points` brings one order's entries in line with its state and is what the
live paths call in the order's own transaction; :func:`sync_order_points` is the repair tool that
does the same for every order and finds nothing to do after live traffic.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal

from sqlalchemy import select
from sqlalchemy.orm import Session

from soloist.domain.loyalty.ledger import (
    MEMBER,
    add_entry,
    find_entry,
    get_account,
    lock_member_account,
    points_balance,
)
from soloist.domain.loyalty.referrals import convert_referral
from soloist.domain.loyalty.rules import ProgrammeSettings, get_programme_settings
from soloist.domain.loyalty.tiers import review_tier, tier_multiplier
from soloist.domain.orders import get_order
from soloist.storage.models import LedgerEntry, LoyaltyAccount, Order
from soloist.storage.types import utcnow

GIVEN_BACK = ("refunded", "cancelled")


@dataclass(frozen=True)
class SyncResult:
    """What :func:`sync_order_points` did: orders credited and orders whose points went back."""

    earned: int
    reversed: int


@dataclass(frozen=True)
class OrderPoints:
    """The entries one settlement wrote (``None`` where there was nothing to write)."""

    earned: LedgerEntry | None
    reversed: LedgerEntry | None


def order_earns(status: str, refunded_minor: int | None, rules: ProgrammeSettings) -> bool:
    """Whether an order earns: its status earns, or it was given back after it was paid (money
    went back: a refunded order earned before it gave back; an order cancelled unpaid did not).
    """
    paid_then_given_back = (
        status in GIVEN_BACK and (refunded_minor or 0) > 0 and "paid" in rules.earning_statuses
    )
    return status in rules.earning_statuses or paid_then_given_back


def owes_points_back(status: str, refunded_minor: int | None) -> bool:
    """Whether an order is refunded, in part or in full, or cancelled."""
    return status in GIVEN_BACK or (refunded_minor or 0) > 0


def _earn_key(order_id: int) -> str:
    return f"earn:order:{order_id}"


def _full_reversal_key(order_id: int) -> str:
    return f"reverse:order:{order_id}"


def earn_for_order(
    session: Session,
    order_id: int,
    actor: str = "rule:earn",
    *,
    at: dt.datetime | None = None,
    rules: ProgrammeSettings | None = None,
) -> LedgerEntry | None:
    """Credit a member's order once (key ``earn:order:<id>``), at their tier's multiplier.

    ``at`` is the entry's effective time (default: now; the live paths and the sync pass the
    order's purchase time). Then the member's tier is reviewed (upgrades are immediate) and a
    pending referral converts. ``None`` when the order earns nothing: non-member, status or
    currency that does not earn.
    """
    rules = rules or get_programme_settings(session)
    order = get_order(session, order_id)
    existing = find_entry(session, _earn_key(order.id))
    if existing is not None:
        return existing
    account = get_account(session, order.customer_id)
    if (
        account is None
        or account.group != MEMBER
        or not order_earns(order.status, order.refunded_minor, rules)
    ):
        return None
    when = at or utcnow()
    points = rules.points_for(order.total_minor, order.currency, tier_multiplier(session, account))
    if points <= 0:
        return None
    entry = add_entry(
        session,
        order.customer_id,
        "earn",
        points,
        actor,
        source_type="order",
        source_id=order.id,
        reason=f"order {order.external_id}",
        idempotency_key=_earn_key(order.id),
        at=when,
        expires_at=rules.expiry_for(when),
    )
    convert_referral(session, order.customer_id, order, actor, settings=rules, at=when)
    review_tier(session, order.customer_id, when, settings=rules)
    return entry


def reversal_due(earned: int, order: Order) -> int:
    """The points an order should have given back by now, of the ``earned`` ones.

    All of them once the order is refunded or cancelled (or refunded in full); for a partial
    refund the share of the money refunded, rounded half up.

    >>> from soloist.storage.models import Order
    >>> reversal_due(45, Order(status="paid", total_minor=9000, refunded_minor=3000))
    15
    >>> reversal_due(45, Order(status="refunded", total_minor=9000, refunded_minor=0))
    45
    """
    refunded = order.refunded_minor or 0
    if order.status in GIVEN_BACK or (order.total_minor > 0 and refunded >= order.total_minor):
        return earned
    if refunded <= 0 or order.total_minor <= 0:
        return 0
    share = Decimal(earned) * Decimal(refunded) / Decimal(order.total_minor)
    return min(earned, int(share.to_integral_value(rounding=ROUND_HALF_UP)))


def _reversed_so_far(session: Session, order: Order, earned: int) -> int:
    """How many of the earned points earlier reversals set out to take back.

    Each reversal's key names the level it brought the order to (``reverse:order:<id>:<level>``;
    the plain ``reverse:order:<id>`` is the full reversal), so a reversal that could take less
    than it should (the points were spent) is not tried again by the next refund.
    """
    keys = session.scalars(
        select(LedgerEntry.idempotency_key).where(
            LedgerEntry.kind == "reverse",
            LedgerEntry.source_type == "order",
            LedgerEntry.source_id == str(order.id),
        )
    ).all()
    level = 0
    for key in keys:
        if key == _full_reversal_key(order.id):
            return earned
        tail = (key or "").rsplit(":", 1)[-1]
        if tail.isdigit():
            level = max(level, int(tail))
    return level


def reverse_order_points(
    session: Session, order_id: int, actor: str, *, at: dt.datetime | None = None
) -> LedgerEntry | None:
    """Take back what the order's refunds and cancellation say is due, once per level.

    Points already spent cannot be taken back without driving the balance below zero, so the
    reversal takes at most the current balance and says in its reason what it could not take.
    ``at`` is the effective time (default: the order's ``refunded_at``, else now), never earlier
    than the points were earned.
    """
    order = get_order(session, order_id)
    earned = find_entry(session, _earn_key(order.id))
    if earned is None:
        return None
    lock_member_account(session, order.customer_id)
    target = reversal_due(earned.points, order)
    done = _reversed_so_far(session, order, earned.points)
    if target <= done:
        return None
    key = (
        _full_reversal_key(order.id)
        if target >= earned.points
        else f"{_full_reversal_key(order.id)}:{target}"
    )
    balance = points_balance(session, order.customer_id, locking=True)
    need = target - done
    taken = min(need, max(balance, 0))
    what = order.status if order.status in GIVEN_BACK else f"refunded {order.refunded}"
    reason = f"order {order.external_id} {what}"
    if taken < need:
        reason += f"; {need - taken} points were spent already"
    when = max(at or order.refunded_at or utcnow(), earned.effective_at)
    return add_entry(
        session,
        order.customer_id,
        "reverse",
        -taken,
        actor,
        source_type="order",
        source_id=order.id,
        reason=reason,
        idempotency_key=key,
        at=when,
    )


def settle_order_points(
    session: Session,
    order_id: int,
    actor: str = "rule:earn",
    *,
    rules: ProgrammeSettings | None = None,
) -> OrderPoints:
    """Bring one order's ledger entries in line with the order, in the caller's transaction.

    A member's paid order earns at its purchase time; what its refunds or cancellation say is
    due goes back at the refund's time. Running it again changes nothing.
    """
    rules = rules or get_programme_settings(session)
    order = get_order(session, order_id)
    account = get_account(session, order.customer_id)
    if account is None or account.group != MEMBER or order.ordered_at < account.enrolled_at:
        return OrderPoints(earned=None, reversed=None)
    if owes_points_back(order.status, order.refunded_minor):
        # Lock before any other read of the member's points (MariaDB's snapshot starts there).
        lock_member_account(session, order.customer_id)
    earned = None
    if find_entry(session, _earn_key(order.id)) is None:
        earned = earn_for_order(session, order.id, actor, at=order.ordered_at, rules=rules)
    reversed_ = reverse_order_points(session, order.id, actor)
    return OrderPoints(earned=earned, reversed=reversed_)


def sync_order_points(
    session: Session, actor: str = "rule:earn", *, now: dt.datetime | None = None
) -> SyncResult:
    """The repair tool: settle every member order whose entries do not match its state.

    Idempotent, and it finds nothing to do after live traffic, which settles each order as it
    arrives. ``now`` is kept for the command line's ``--as-of``; effective times come from the
    orders themselves.
    """
    del now  # effective times are the orders' own (purchase and refund times)
    rules = get_programme_settings(session)
    credited = {
        int(source)
        for source in session.scalars(
            select(LedgerEntry.source_id).where(
                LedgerEntry.kind == "earn", LedgerEntry.source_type == "order"
            )
        )
        if source is not None
    }
    full = {
        int(source)
        for source, key in session.execute(
            select(LedgerEntry.source_id, LedgerEntry.idempotency_key).where(
                LedgerEntry.kind == "reverse", LedgerEntry.source_type == "order"
            )
        )
        if source is not None and key == _full_reversal_key(int(source))
    }
    orders = session.execute(
        select(Order.id, Order.status, Order.refunded_minor)
        .join(LoyaltyAccount, LoyaltyAccount.customer_id == Order.customer_id)
        .where(LoyaltyAccount.group == MEMBER, Order.ordered_at >= LoyaltyAccount.enrolled_at)
        .order_by(Order.ordered_at, Order.id)
    ).all()
    earned = reversed_count = 0
    for order_id, status, refunded_minor in orders:
        owes_back = owes_points_back(status, refunded_minor)
        needs_earn = order_earns(status, refunded_minor, rules) and order_id not in credited
        needs_reversal = owes_back and order_id in credited and order_id not in full
        if not (needs_earn or needs_reversal):
            continue
        outcome = settle_order_points(session, order_id, actor, rules=rules)
        earned += outcome.earned is not None
        reversed_count += outcome.reversed is not None
    return SyncResult(earned=earned, reversed=reversed_count)
