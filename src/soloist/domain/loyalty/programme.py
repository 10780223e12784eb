"""The loyalty programme's use cases: enrol, earn, bonus, redeem, expire, reverse, adjust.

Every function takes an open session and never commits. Balances are sums of the append-only
ledger (:mod:`soloist.domain.loyalty.ledger`); debits lock the member's account row first, so a
balance can never be overspent, however many requests arrive at once::

    with database.session() as session:
        enrol_customers(session, "cli:me")
        outcome = redeem_points(session, 7, 500, "checkout-123", "user:1")

Results are frozen dataclasses (:class:`EnrolmentResult`, :class:`SyncResult`,
:class:`Adjustment` …); ``dataclasses.asdict`` gives their JSON shape. ``rules`` is always the
programme's :class:`~soloist.domain.loyalty.rules.ProgrammeSettings` (never the application's
``config.Settings``). Clocks: ``now=`` is the moment a job or a read runs as of, ``at=`` the
moment one write happened; both default to the current UTC time, resolved into ``when``.
"""

from __future__ import annotations

import calendar
import datetime as dt
import random
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from soloist.domain.audit import record_audit
from soloist.domain.customers.records import get_customer
from soloist.domain.loyalty.ledger import (
    CREDIT_KINDS,
    HOLDOUT,
    MEMBER,
    Lot,
    NotEnrolledError,
    actor_columns,
    add_entry,
    find_entry,
    get_account,
    ledgers_of,
    lock_member_account,
    open_lots,
    points_balance,
)
from soloist.domain.loyalty.order_points import (
    SyncResult,
    earn_for_order,
    reverse_order_points,
    settle_order_points,
    sync_order_points,
)
from soloist.domain.loyalty.redemptions import (
    IdempotencyKeyReusedError,
    RedemptionOutcome,
    redeem_points,
)
from soloist.domain.loyalty.referrals import unique_referral_codes
from soloist.domain.loyalty.rules import (
    ProgrammeSettings,
    get_programme_settings,
    update_programme_settings,
)
from soloist.domain.loyalty.tiers import ensure_default_tiers, review_with_metrics
from soloist.errors import InsufficientPointsError, ValidationError
from soloist.storage.models import (
    Customer,
    LedgerEntry,
    LoyaltyAccount,
)
from soloist.storage.types import utcnow

__all__ = [
    "Adjustment",
    "EnrolmentResult",
    "ExpiryResult",
    "IdempotencyKeyReusedError",
    "NotEnrolledError",
    "RedemptionOutcome",
    "SyncResult",
    "adjust_points",
    "award_birthday_bonuses",
    "award_bonus",
    "earn_for_order",
    "enrol_customers",
    "enrol_new_customer",
    "expire_points",
    "in_holdout",
    "redeem_points",
    "reverse_order_points",
    "settle_order_points",
    "sync_order_points",
]


@dataclass(frozen=True)
class EnrolmentResult:
    """Customers enrolled now, kept in the holdout group now, and enrolled before."""

    members: int
    holdout: int
    already: int


@dataclass(frozen=True)
class Adjustment:
    """A manual correction: its ledger entry and the balance after it."""

    entry: LedgerEntry
    balance: int


#: The most one manual adjustment may add or remove: far above any real correction, and far
#: below what would overflow a 64-bit sum of a member's ledger.
MAX_ADJUSTMENT_POINTS = 1_000_000_000


def in_holdout(customer_id: int, share: float, seed: int) -> bool:
    """The customer's random assignment: stable per customer and seed, independent of batches."""
    return random.Random(f"{seed}:{customer_id}").random() < share


def _open_account(
    session: Session,
    customer_id: int,
    group: str,
    now: dt.datetime,
    actor: str,
    rules: ProgrammeSettings,
) -> LoyaltyAccount:
    code = unique_referral_codes(session, [customer_id])[customer_id] if group == MEMBER else None
    account = LoyaltyAccount(
        customer_id=customer_id, group=group, referral_code=code, enrolled_at=now
    )
    session.add(account)
    if group == MEMBER:
        award_bonus(session, customer_id, "signup", actor, at=now, rules=rules, fresh=True)
    return account


def _open_accounts(
    session: Session,
    members: list[int],
    holdout: list[int],
    when: dt.datetime,
    actor: str,
    rules: ProgrammeSettings,
) -> None:
    """``_open_account`` for many customers at once: the accounts and the members' signup
    bonuses written in two statements (a programme launched for 100,000 customers wrote
    200,000 rows one at a time)."""
    from soloist.storage.bulk import core_insert  # Polars: not at every command's start

    session.flush()
    codes = unique_referral_codes(session, members)
    accounts: list[dict[str, Any]] = [
        {
            "customer_id": customer_id,
            "group": group,
            "tier_id": None,
            "tier_review_at": None,
            "referral_code": codes.get(customer_id),
            "referred_by_id": None,
            "enrolled_at": when,
            "version": 0,
        }
        for customer_id, group in sorted(
            [(c, MEMBER) for c in members] + [(c, HOLDOUT) for c in holdout]
        )
    ]
    if accounts:
        core_insert(session, LoyaltyAccount, accounts)
    bonus = rules.bonus_points.get("signup", 0)
    if bonus > 0 and members:
        written = utcnow()
        entry = {
            "kind": "bonus",
            "points": bonus,
            "source_type": "signup",
            "source_id": None,
            "reason": "signup bonus",
            "expires_at": rules.expiry_for(when),
            "effective_at": when,
            "created_at": written,
            **actor_columns(actor),
        }
        rows = [
            entry | {"customer_id": customer_id, "idempotency_key": f"bonus:signup:{customer_id}"}
            for customer_id in members
        ]
        core_insert(session, LedgerEntry, rows)


def _active_customers(session: Session, customer_ids: list[int] | None) -> list[int]:
    """The active customers among ``customer_ids`` (everyone's when None), in id order; a
    404 for an id that does not exist. Asked for a few thousand ids at a time: SQLite takes at
    most 250,000 values in one statement, and a demo's launch enrols half a million."""
    from soloist.storage.bulk import CHUNK, among, chunks  # Polars: not at every start

    query = select(Customer.id).where(Customer.status == "active").order_by(Customer.id)
    if customer_ids is None:
        return list(session.scalars(query))
    wanted = sorted(set(customer_ids))
    found: list[int] = []
    for part in chunks(wanted, CHUNK):
        found.extend(session.scalars(query.where(among(session, Customer.id, part))))
    for customer_id in sorted(set(wanted) - set(found)):
        get_customer(session, customer_id)  # 404 for an unknown id
    return found


def _with_accounts(session: Session, customer_ids: list[int]) -> set[int]:
    """Which of ``customer_ids`` have an account already (enrolled or kept in the holdout)."""
    from soloist.storage.bulk import CHUNK, among, chunks

    if len(customer_ids) > CHUNK:  # one pass over the accounts beats many lookups
        wanted = set(customer_ids)
        return {c for c in session.scalars(select(LoyaltyAccount.customer_id)) if c in wanted}
    column = LoyaltyAccount.customer_id
    return {
        int(c)
        for part in chunks(customer_ids, CHUNK)
        for c in session.scalars(select(column).where(among(session, column, part)))
    }


def enrol_customers(
    session: Session,
    actor: str,
    *,
    customer_ids: list[int] | None = None,
    now: dt.datetime | None = None,
    holdout_share: float | None = None,
    seed: int | None = None,
    currency: str | None = None,
) -> EnrolmentResult:
    """Enrol eligible customers (active, no account yet), keeping a random share as holdout.

    Holdout customers get an account with ``group="holdout"``: they never collect points and are
    never enrolled later, so the report can compare members against them. The first enrolment
    launches the programme (in ``currency`` when given).
    """
    when = now or utcnow()
    rules = get_programme_settings(session)
    changes: dict[str, Any] = {}
    if holdout_share is not None and holdout_share != rules.holdout_share:
        changes["holdout_share"] = holdout_share
    if seed is not None and seed != rules.holdout_seed:
        changes["holdout_seed"] = seed
    if rules.launched_at is None:
        changes["launched_at"] = when.isoformat()
        if currency is not None:  # the programme starts in the workspace's currency
            changes["currency"] = currency
    if changes:
        rules = update_programme_settings(session, changes, actor)
    ensure_default_tiers(session)
    candidates = _active_customers(session, customer_ids)
    existing = _with_accounts(session, candidates)
    joined: list[int] = []
    kept_out: list[int] = []
    share, holdout_seed = rules.holdout_share, rules.holdout_seed
    for customer_id in candidates:
        if customer_id not in existing:
            group = kept_out if in_holdout(customer_id, share, holdout_seed) else joined
            group.append(customer_id)
    _open_accounts(session, joined, kept_out, when, actor, rules)
    review_with_metrics(session, joined, when, settings=rules, actor=actor)
    holdout = len(kept_out)
    members = len(joined)
    record_audit(
        session,
        actor,
        "loyalty.enrolled",
        "loyalty_account",
        None,
        {"members": members, "holdout": holdout, "share": rules.holdout_share},
    )
    return EnrolmentResult(members=members, holdout=holdout, already=len(existing))


def enrol_new_customer(
    session: Session,
    customer_id: int,
    actor: str,
    *,
    at: dt.datetime | None = None,
    currency: str | None = None,
) -> LoyaltyAccount | None:
    """Enrol a customer who has just arrived, when the rules say so (``enrol_new_customers``).

    The same random assignment as any enrolment applies: a share of newcomers is kept in the
    holdout, so the programme's measured effect stays honest. ``at`` is the enrolment time
    (a customer created by an order joins at the order's time, so that order earns).
    """
    rules = get_programme_settings(session)
    if not rules.enrol_new_customers:
        return None
    enrol_customers(session, actor, customer_ids=[customer_id], now=at, currency=currency)
    return get_account(session, customer_id)


def award_bonus(
    session: Session,
    customer_id: int,
    kind: str,
    actor: str,
    *,
    points: int | None = None,
    reason: str | None = None,
    source_type: str | None = None,
    source_id: str | int | None = None,
    key: str | None = None,
    at: dt.datetime | None = None,
    rules: ProgrammeSettings | None = None,
    fresh: bool = False,
) -> LedgerEntry | None:
    """A bonus (signup, birthday, review, manual …); idempotent by key, ``None`` for non-members.

    ``fresh`` says the account was opened in this transaction (enrolment), so no earlier entry
    with the key can exist and none is looked for.
    """
    rules = rules or get_programme_settings(session)
    when = at or utcnow()
    if kind == "manual" and not (reason and reason.strip()):
        raise ValidationError("A manual bonus needs a reason.", field="reason")
    amount = rules.bonus_points.get(kind, 0) if points is None else points
    if amount <= 0:
        if points is not None:
            raise ValidationError("A bonus must be a positive number of points.", field="points")
        return None
    account = None if fresh else get_account(session, customer_id)
    if not fresh and (account is None or account.group != MEMBER):
        if kind == "manual":
            raise NotEnrolledError(
                f"Customer {customer_id} is not a member.", customer_id=customer_id
            )
        return None
    idempotency_key = key or (f"bonus:signup:{customer_id}" if kind == "signup" else None)
    if idempotency_key is not None and not fresh:
        existing = find_entry(session, idempotency_key)
        if existing is not None:
            return existing
    return add_entry(
        session,
        customer_id,
        "bonus",
        amount,
        actor,
        source_type=source_type or kind,
        source_id=source_id,
        reason=reason or f"{kind} bonus",
        idempotency_key=idempotency_key,
        at=when,
        expires_at=rules.expiry_for(when),
        flush=not fresh,
    )


def award_birthday_bonuses(
    session: Session,
    today: dt.date,
    actor: str = "rule:birthday",
    *,
    customer_ids: Sequence[int] | None = None,
) -> list[LedgerEntry]:
    """The daily job: a birthday bonus for every member born on this day (once a year; those
    born on 29 February get theirs on the 28th in other years). ``customer_ids``: the members
    :func:`members_born_on` found already."""
    rules = get_programme_settings(session)
    born = members_born_on(session, today) if customer_ids is None else customer_ids
    when = dt.datetime.combine(today, dt.time(), dt.UTC)
    awarded = []
    for customer_id in born:
        entry = award_bonus(
            session,
            customer_id,
            "birthday",
            actor,
            key=f"bonus:birthday:{customer_id}:{today.year}",
            at=when,
            rules=rules,
        )
        if entry is not None:
            awarded.append(entry)
    return awarded


def members_born_on(session: Session, today: dt.date) -> list[int]:
    """The members whose birthday is ``today`` (29 February counts as the 28th in a common
    year), in id order: every member's birthday is read and decrypted."""
    rows = session.execute(
        select(Customer.id, Customer.birthday)
        .join(LoyaltyAccount, LoyaltyAccount.customer_id == Customer.id)
        .where(LoyaltyAccount.group == MEMBER, Customer.birthday.is_not(None))
        .order_by(Customer.id)
    ).all()
    days = {(today.month, today.day)}
    if (today.month, today.day) == (2, 28) and not calendar.isleap(today.year):
        days.add((2, 29))
    return [
        int(customer_id)
        for customer_id, birthday in rows
        if birthday is not None and (birthday.month, birthday.day) in days
    ]


def adjust_points(
    session: Session,
    customer_id: int,
    points: int,
    reason: str,
    actor: str,
    *,
    at: dt.datetime | None = None,
) -> Adjustment:
    """A manual correction with a reason; a deduction may not take the balance below zero.

    Returns the entry with the balance after it, read under the account's lock.
    """
    if points == 0:
        raise ValidationError(
            "An adjustment must add or remove at least one point.", field="points"
        )
    if not reason.strip():
        raise ValidationError("An adjustment needs a reason.", field="reason")
    if abs(points) > MAX_ADJUSTMENT_POINTS:
        raise ValidationError(
            f"An adjustment is at most {MAX_ADJUSTMENT_POINTS:,} points either way.",
            field="points",
        )
    lock_member_account(session, customer_id)
    when = at or utcnow()
    balance = points_balance(session, customer_id, locking=True)
    if points < 0 and balance + points < 0:
        raise InsufficientPointsError(
            f"The balance is {balance} points; cannot remove {-points}.",
            balance=balance,
            points=points,
        )
    rules = get_programme_settings(session)
    entry = add_entry(
        session,
        customer_id,
        "adjust",
        points,
        actor,
        source_type="manual",
        reason=reason.strip(),
        at=when,
        expires_at=rules.expiry_for(when) if points > 0 else None,
    )
    record_audit(
        session,
        actor,
        "loyalty.adjusted",
        "customer",
        customer_id,
        {"points": points, "reason": reason},
    )
    return Adjustment(entry=entry, balance=balance + points)


@dataclass(frozen=True)
class ExpiryResult:
    """Accounts touched, entries written and points expired by one run of the expiry job."""

    accounts: int
    entries: int
    points: int

    def __add__(self, other: ExpiryResult) -> ExpiryResult:
        return ExpiryResult(
            self.accounts + other.accounts, self.entries + other.entries, self.points + other.points
        )


#: Accounts locked, read and expired together by the expiry job: one statement each for the
#: lock, the ledgers, the keys already used and the new entries, instead of one per account.
EXPIRY_BATCH = 1000


def expire_points(session: Session, now: dt.datetime, actor: str = "rule:expiry") -> ExpiryResult:
    """The expiry job: whatever is left of every lot past its expiry date expires, oldest first.

    Each lot expires once (key ``expire:lot:<entry id>``), so running the job twice is harmless.
    Accounts are taken in batches of :data:`EXPIRY_BATCH`, each batch's rows locked before its
    ledgers are read (``SELECT … FOR UPDATE`` on the server databases), so a redemption running
    meanwhile cannot spend points that expire. All in ``session``'s transaction;
    :func:`soloist.domain.loyalty.daily.expire_points_in_turn` commits batch by batch.
    """
    ordered = accounts_with_points_due(session, now)
    result = ExpiryResult(accounts=0, entries=0, points=0)
    for start in range(0, len(ordered), EXPIRY_BATCH):
        result += expire_batch(session, ordered[start : start + EXPIRY_BATCH], now, actor)
    return result


def accounts_with_points_due(session: Session, now: dt.datetime) -> list[int]:
    """The members holding a credit whose expiry date has come (some may be spent already),
    in id order."""
    due = session.scalars(
        select(LedgerEntry.customer_id)
        .join(LoyaltyAccount, LoyaltyAccount.customer_id == LedgerEntry.customer_id)
        .where(
            LoyaltyAccount.group == MEMBER,
            LedgerEntry.points > 0,
            LedgerEntry.kind.in_(CREDIT_KINDS),
            LedgerEntry.expires_at.is_not(None),
            LedgerEntry.expires_at <= now,
        )
        .distinct()
    ).all()
    return sorted(due)


def expire_batch(
    session: Session, customer_ids: list[int], now: dt.datetime, actor: str
) -> ExpiryResult:
    """Expire what is due in the ledgers of ``customer_ids`` (at most a few thousand members),
    their accounts locked first."""
    from soloist.storage.bulk import core_insert  # Polars: not at every command's start

    session.flush()  # entries the session holds count in the ledgers read below
    members = session.scalars(
        select(LoyaltyAccount.customer_id)
        .where(LoyaltyAccount.customer_id.in_(customer_ids), LoyaltyAccount.group == MEMBER)
        .order_by(LoyaltyAccount.customer_id)
        .with_for_update()
    ).all()
    due: list[tuple[int, Lot]] = []
    for customer_id, entries in ledgers_of(session, members).items():
        due.extend(
            (customer_id, lot)
            for lot in open_lots(entries)
            if lot.expires_at is not None and lot.expires_at <= now and lot.remaining > 0
        )
    keys = [f"expire:lot:{lot.entry_id}" for _, lot in due]
    used: set[str | None] = set()
    if keys:
        used.update(
            session.scalars(
                select(LedgerEntry.idempotency_key).where(LedgerEntry.idempotency_key.in_(keys))
            )
        )
    written = utcnow()
    rows: list[dict[str, Any]] = [
        {
            "customer_id": customer_id,
            "kind": "expire",
            "points": -lot.remaining,
            "source_type": "lot",
            "source_id": str(lot.entry_id),
            "reason": f"points from {lot.effective_at.date().isoformat()} expired",
            "idempotency_key": key,
            "expires_at": None,
            "effective_at": now,
            "created_at": written,
            **actor_columns(actor),
        }
        for (customer_id, lot), key in zip(due, keys, strict=True)
        if key not in used
    ]
    if rows:
        core_insert(session, LedgerEntry, rows)
    return ExpiryResult(
        accounts=len({row["customer_id"] for row in rows}),
        entries=len(rows),
        points=-sum(int(row["points"]) for row in rows),
    )
