"""The points ledger underneath every loyalty use case: entries, balances, locks and FIFO lots.

The balance is always ``SUM(points)`` of a customer's ledger entries; nothing stores it. Every
debit (redeem, expire, reverse, negative adjust) first locks the customer's ``loyalty_accounts``
row — ``SELECT … FOR UPDATE`` on PostgreSQL and MariaDB; on SQLite the write transaction already
holds the database's write lock from ``BEGIN IMMEDIATE`` — so the balance it checks is the balance
it debits, whatever else runs at the same time.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import NamedTuple

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from soloist.domain.customers.records import get_customer
from soloist.errors import ConflictError
from soloist.storage.models import LedgerEntry, LoyaltyAccount
from soloist.storage.types import UTCDateTime, utcnow

MEMBER, HOLDOUT = "member", "holdout"
CREDIT_KINDS = ("earn", "bonus", "adjust")


class NotEnrolledError(ConflictError):
    """The customer is not a member of the programme (never enrolled, or in the holdout)."""

    code = "not_enrolled"


def actor_columns(actor: str) -> dict[str, object]:
    """``user:<id>`` fills ``user_id``; any other actor (a rule, the CLI, the demo) ``rule``."""
    kind, _, ident = actor.partition(":")
    if kind == "user" and ident.isdigit():
        return {"user_id": int(ident), "rule": None}
    return {"user_id": None, "rule": actor[:64]}


def get_account(session: Session, customer_id: int) -> LoyaltyAccount | None:
    return session.get(LoyaltyAccount, customer_id)


def lock_member_account(session: Session, customer_id: int) -> LoyaltyAccount:
    """Lock and return a member's account; call it before reading anything the debit depends on.

    It must be the transaction's first read of loyalty data: on MariaDB the consistent snapshot
    of a REPEATABLE READ transaction is taken at its first plain read.
    """
    statement = (
        select(LoyaltyAccount)
        .where(LoyaltyAccount.customer_id == customer_id)
        .with_for_update()
        .execution_options(populate_existing=True)
    )
    account = session.scalar(statement)
    if account is None:
        get_customer(session, customer_id)  # 404 for a customer that does not exist
        raise NotEnrolledError(
            f"Customer {customer_id} is not enrolled in the loyalty programme.",
            customer_id=customer_id,
        )
    if account.group != MEMBER:
        raise NotEnrolledError(
            f"Customer {customer_id} is in the programme's holdout group and collects no points.",
            customer_id=customer_id,
        )
    return account


def points_balance(session: Session, customer_id: int, *, locking: bool = False) -> int:
    """The sum of the ledger. ``locking`` reads the newest committed rows on MariaDB."""
    statement = select(func.coalesce(func.sum(LedgerEntry.points), 0)).where(
        LedgerEntry.customer_id == customer_id
    )
    if locking and session.get_bind().dialect.name in ("mysql", "mariadb"):
        statement = statement.with_for_update(read=True)
    return int(session.scalar(statement) or 0)


def find_entry(session: Session, idempotency_key: str) -> LedgerEntry | None:
    return session.scalar(select(LedgerEntry).where(LedgerEntry.idempotency_key == idempotency_key))


def add_entry(
    session: Session,
    customer_id: int,
    kind: str,
    points: int,
    actor: str,
    *,
    source_type: str | None = None,
    source_id: str | int | None = None,
    reason: str | None = None,
    idempotency_key: str | None = None,
    at: dt.datetime | None = None,
    expires_at: dt.datetime | None = None,
    flush: bool = True,
) -> LedgerEntry:
    """Append one entry (never update one). The caller checks the balance for debits."""
    entry = LedgerEntry(
        customer_id=customer_id,
        kind=kind,
        points=int(points),
        source_type=source_type,
        source_id=None if source_id is None else str(source_id),
        reason=None if reason is None else reason[:255],
        idempotency_key=idempotency_key,
        expires_at=expires_at,
        effective_at=at or utcnow(),
        created_at=utcnow(),
        **actor_columns(actor),
    )
    session.add(entry)
    if flush:  # the entry's id is needed at once (a redemption answers with it)
        session.flush()
    return entry


@dataclass
class Lot:
    """Points credited by one entry and what is left of them after the debits (FIFO)."""

    entry_id: int
    effective_at: dt.datetime
    expires_at: dt.datetime | None
    points: int
    remaining: int
    order_id: str | None = None


def _take(lot: Lot, need: int) -> int:
    taken = min(need, lot.remaining)
    lot.remaining -= taken
    return need - taken


class LedgerFacts(NamedTuple):
    """What replaying a ledger needs of one entry, read as a plain row (no ORM object)."""

    id: int
    customer_id: int
    kind: str
    points: int
    source_type: str | None
    source_id: str | None
    effective_at: dt.datetime
    expires_at: dt.datetime | None


def ledgers_of(session: Session, customer_ids: Sequence[int]) -> dict[int, list[LedgerFacts]]:
    """The ledgers of many customers in one query (a job's batch; :func:`open_lots` puts each in
    time order). Read as the driver's rows, with only the two times converted: 970,000 entries
    in 7.6 s against 8.9 s as SQLAlchemy's typed rows (the query itself, 3.7 s)."""
    from soloist.storage.bulk import fetch_raw  # Polars: not at every command's start

    ledgers: dict[int, list[LedgerFacts]] = defaultdict(list)
    if not customer_ids:
        return ledgers
    time_of = UTCDateTime().process_result_value
    dialect = session.get_bind().dialect
    statement = select(*(getattr(LedgerEntry, name) for name in LedgerFacts._fields)).where(
        LedgerEntry.customer_id.in_(customer_ids)
    )
    for row in fetch_raw(session, statement):
        entry_id, customer_id, kind, points, source_type, source_id, effective, expires = row
        effective_at = time_of(effective, dialect)
        assert effective_at is not None, "a ledger entry always has its effective time"
        ledgers[int(customer_id)].append(
            LedgerFacts(
                int(entry_id),
                int(customer_id),
                str(kind),
                int(points),
                source_type,
                source_id,
                effective_at,
                time_of(expires, dialect),
            )
        )
    return ledgers


def open_lots(entries: Iterable[LedgerEntry | LedgerFacts]) -> list[Lot]:
    """Replay a customer's ledger in time order and return every credit with what remains of it.

    An ``expire`` entry takes from the lot it names; a ``reverse`` entry first from the earn of
    its order; every other debit from the oldest lots first (FIFO). The remaining points of all
    lots add up to the balance.
    """
    lots: list[Lot] = []
    by_entry: dict[str, Lot] = {}
    by_order: dict[str, Lot] = {}
    for entry in sorted(entries, key=lambda e: (e.effective_at, e.id)):
        if entry.points > 0:
            order = (
                entry.source_id if entry.kind == "earn" and entry.source_type == "order" else None
            )
            lot = Lot(
                entry.id, entry.effective_at, entry.expires_at, entry.points, entry.points, order
            )
            lots.append(lot)
            by_entry[str(entry.id)] = lot
            if order is not None:
                by_order[order] = lot
            continue
        need = -entry.points
        target = None
        if entry.kind == "expire" and entry.source_type == "lot":
            target = by_entry.get(str(entry.source_id))
        elif entry.kind == "reverse" and entry.source_type == "order":
            target = by_order.get(str(entry.source_id))
        if target is not None:
            need = _take(target, need)
        for lot in lots:
            if need <= 0:
                break
            need = _take(lot, need)
    return lots


def ledger_entries(session: Session, customer_id: int) -> list[LedgerEntry]:
    return list(
        session.scalars(
            select(LedgerEntry)
            .where(LedgerEntry.customer_id == customer_id)
            .order_by(LedgerEntry.effective_at, LedgerEntry.id)
        )
    )
