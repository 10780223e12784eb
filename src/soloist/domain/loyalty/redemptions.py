"""Redeeming points: never more than the balance, at most once per idempotency key.

The member's account row is locked first (see :mod:`soloist.domain.loyalty.ledger`), then the key
is looked up, then the balance checked and either a ``redeem`` entry appended or the refusal
recorded — all in the caller's transaction. A key's first answer, redeemed or refused, is kept in
``loyalty_redemptions`` and returned to every retry.
"""

from __future__ import annotations

import datetime as dt
import secrets
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from soloist.domain.loyalty.ledger import add_entry, lock_member_account, points_balance
from soloist.domain.loyalty.rules import ProgrammeSettings, get_programme_settings
from soloist.errors import ConflictError, NotFoundError, ValidationError
from soloist.storage.models import Coupon, LoyaltyRedemption, Reward
from soloist.storage.types import utcnow


class IdempotencyKeyReusedError(ConflictError):
    code = "idempotency_key_reused"


@dataclass(frozen=True)
class RedemptionOutcome:
    """The answer to a redemption request; the same key always gets the same outcome back."""

    redemption_id: int
    customer_id: int
    idempotency_key: str
    status: str  # redeemed | refused
    points: int
    balance_after: int
    ledger_entry_id: int | None
    reward_id: int | None
    coupon_code: str | None
    created_at: dt.datetime
    replayed: bool = False

    @property
    def redeemed(self) -> bool:
        return self.status == "redeemed"


def _outcome(
    row: LoyaltyRedemption, key: str, code: str | None, replayed: bool
) -> RedemptionOutcome:
    return RedemptionOutcome(
        redemption_id=row.id,
        customer_id=row.customer_id,
        idempotency_key=key,
        status=row.status,
        points=row.points,
        balance_after=row.balance_after,
        ledger_entry_id=row.ledger_entry_id,
        reward_id=row.reward_id,
        coupon_code=code,
        created_at=row.created_at,
        replayed=replayed,
    )


def _issue_reward_coupon(
    session: Session, reward: Reward, customer_id: int, at: dt.datetime, rules: ProgrammeSettings
) -> Coupon:
    coupon = Coupon(
        code=f"RW-{secrets.token_hex(5).upper()}",
        reward_id=reward.id,
        customer_id=customer_id,
        discount_minor=reward.value_minor if reward.kind == "discount" else None,
        members_only=True,
        max_uses=1,
        used_count=0,
        expires_at=at + dt.timedelta(days=rules.reward_coupon_days),
        created_at=at,
    )
    session.add(coupon)
    session.flush()
    return coupon


def redeem_points(
    session: Session,
    customer_id: int,
    points: int | None,
    idempotency_key: str,
    actor: str,
    *,
    reward_id: int | None = None,
    now: dt.datetime | None = None,
) -> RedemptionOutcome:
    """Spend points, never more than the balance, at most once per idempotency key.

    Locks the account, then: a key seen before returns its first outcome (``replayed=True``),
    redeemed *or refused*; otherwise the balance is checked and either a ``redeem`` entry is
    appended or the refusal is recorded. A refusal is an outcome, not an exception, so that it
    is stored in the caller's transaction; the API answers it with 409. With ``reward_id`` the
    reward's cost is spent and a single-use coupon for it is issued.
    """
    key = idempotency_key.strip()
    if not key or len(key) > 120:
        raise ValidationError(
            "The idempotency key must be 1 to 120 characters.", field="idempotency_key"
        )
    if reward_id is None and (points is None or points <= 0):
        raise ValidationError("Redeem a positive number of points.", field="points")
    lock_member_account(session, customer_id)  # first: serialises every debit of this member
    scoped = f"redeem:{customer_id}:{key}"
    first = session.scalar(
        select(LoyaltyRedemption).where(LoyaltyRedemption.idempotency_key == scoped)
    )
    reward = None
    if reward_id is not None:
        reward = session.get(Reward, reward_id)
        if reward is None or not reward.active:
            raise NotFoundError(f"No active reward with id {reward_id}.", reward_id=reward_id)
        if points is not None and points != reward.points_cost:
            raise ValidationError(
                f"Reward {reward.id} costs {reward.points_cost} points.", field="points"
            )
        points = reward.points_cost
    assert points is not None
    if first is not None:
        if first.points != points or first.reward_id != reward_id:
            raise IdempotencyKeyReusedError(
                "This idempotency key was used for a different redemption; use a new key.",
                idempotency_key=key,
            )
        code = session.get(Coupon, first.coupon_id).code if first.coupon_id else None  # type: ignore[union-attr]
        return _outcome(first, key, code, replayed=True)
    at = now or utcnow()
    balance = points_balance(session, customer_id, locking=True)
    row = LoyaltyRedemption(
        customer_id=customer_id,
        idempotency_key=scoped,
        points=points,
        reward_id=reward_id,
        created_at=at,
        user_id=int(actor.split(":")[1])
        if actor.startswith("user:") and actor[5:].isdigit()
        else None,
    )
    code = None
    if balance < points:
        row.status, row.balance_after = "refused", balance
    else:
        entry = add_entry(
            session,
            customer_id,
            "redeem",
            -points,
            actor,
            source_type="reward" if reward is not None else "redemption",
            source_id=reward_id,
            reason=f"reward {reward.name}" if reward is not None else "points redeemed",
            idempotency_key=scoped,
            at=at,
        )
        row.status, row.balance_after, row.ledger_entry_id = "redeemed", balance - points, entry.id
        if reward is not None:
            coupon = _issue_reward_coupon(
                session, reward, customer_id, at, get_programme_settings(session)
            )
            row.coupon_id, code = coupon.id, coupon.code
    session.add(row)
    session.flush()
    return _outcome(row, key, code, replayed=False)
