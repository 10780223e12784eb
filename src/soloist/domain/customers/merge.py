"""Merging two records of one person: everything moves to the customer that is kept.

Every table that points at a customer is found from the schema itself, so a table added later
(tickets, ledger entries, deals, tasks, consent records …) is moved without touching this code.
Where a table allows one row per customer and key (tags, segment memberships, a loyalty account,
one score per model run), the kept customer's row wins and the other is removed.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import Column, Table, and_, delete, select, update
from sqlalchemy.orm import Session

from soloist.domain.audit import record_audit
from soloist.domain.customers.names import index_customer_names
from soloist.domain.customers.records import CUSTOMER_FIELDS, get_customer
from soloist.errors import ConflictError, ValidationError
from soloist.storage.models import Base, Customer

_FILLED = (*CUSTOMER_FIELDS, "source")  # the kept customer's blanks, filled from the other


@dataclass
class MergeResult:
    keep_id: int
    merged_id: int
    moved: dict[str, int] = field(default_factory=dict)  # "table.column" -> rows moved
    dropped: dict[str, int] = field(default_factory=dict)  # rows the kept customer had already
    filled: list[str] = field(default_factory=list)  # kept customer's blank fields filled in

    def to_dict(self) -> dict[str, Any]:
        return {
            "keep_id": self.keep_id,
            "merged_id": self.merged_id,
            "moved": self.moved,
            "dropped": self.dropped,
            "filled": self.filled,
        }


def _customer_columns() -> list[tuple[Table, Column[Any]]]:
    customers = Customer.__table__
    found: list[tuple[Table, Column[Any]]] = []
    for table in Base.metadata.sorted_tables:
        for column in table.columns:
            if table is customers and column.name == "merged_into_id":
                continue
            if any(fk.column is customers.c.id for fk in column.foreign_keys):
                found.append((table, column))
    return found


def _unique_sets(table: Table, column: Column[Any]) -> list[list[Column[Any]]]:
    sets: list[list[Column[Any]]] = []
    primary = list(table.primary_key.columns)
    if column in primary:
        sets.append(primary)
    for constraint in table.constraints:
        columns = list(getattr(constraint, "columns", []))
        if (
            constraint is not table.primary_key
            and column in columns
            and getattr(constraint, "__visit_name__", "") == "unique_constraint"
        ):
            sets.append(columns)
    if column.unique:
        sets.append([column])
    return sets


def _move(
    session: Session, table: Table, column: Column[Any], keep: int, merge: int, result: MergeResult
) -> None:
    label = f"{table.name}.{column.name}"
    unique = _unique_sets(table, column)
    if not unique:
        moved: Any = session.execute(
            update(table).where(column == merge).values({column.name: keep})
        )
        if moved.rowcount:
            result.moved[label] = int(moved.rowcount)
        return
    primary = list(table.primary_key.columns)
    rows = session.execute(select(table).where(column == merge)).mappings().all()
    for row in rows:
        clash = False
        for columns in unique:
            others = [c == row[c.name] for c in columns if c is not column]
            if (
                session.execute(
                    select(column).where(and_(column == keep, *others)).limit(1)
                ).first()
                is not None
            ):
                clash = True
                break
        where = and_(*(c == row[c.name] for c in primary))
        if clash:
            session.execute(delete(table).where(where))
            result.dropped[label] = result.dropped.get(label, 0) + 1
        else:
            session.execute(update(table).where(where).values({column.name: keep}))
            result.moved[label] = result.moved.get(label, 0) + 1


def merge_customers(session: Session, keep_id: int, merge_id: int, actor: str) -> MergeResult:
    """Move everything of customer ``merge_id`` to ``keep_id`` and mark it merged; audited.

    Blank fields of the kept customer are filled from the other one; the merged record keeps
    its external id and contact hashes, so a later import of the same file finds the kept one.
    """
    if keep_id == merge_id:
        raise ValidationError("A customer cannot be merged into itself.", field="merge_id")
    keep = get_customer(session, keep_id)
    other = get_customer(session, merge_id)
    for customer in (keep, other):
        if customer.status != "active":
            raise ConflictError(
                f"Customer {customer.id} is {customer.status}; "
                "only active customers can be merged.",
                customer_id=customer.id,
            )
    result = MergeResult(keep_id=keep_id, merged_id=merge_id)
    session.flush()
    for table, column in _customer_columns():
        _move(session, table, column, keep_id, merge_id, result)
    session.expire(keep, ["tags"])
    session.expire(other, ["tags"])
    for name in _FILLED:
        if getattr(keep, name) in (None, "") and getattr(other, name) not in (None, ""):
            setattr(keep, name, getattr(other, name))
            result.filled.append(name)
    if "email" in result.filled:
        keep.email_hash = other.email_hash
    if "phone" in result.filled:
        keep.phone_hash = other.phone_hash
    keep.custom_fields = {**(other.custom_fields or {}), **(keep.custom_fields or {})}
    if other.first_seen_at and (
        keep.first_seen_at is None or other.first_seen_at < keep.first_seen_at
    ):
        keep.first_seen_at = other.first_seen_at
    other.status = "merged"
    other.merged_into_id = keep_id
    session.flush()
    if {"name", "company"} & set(result.filled):
        index_customer_names(session, {keep.id: (keep.name, keep.company)})
    changes = result.to_dict()
    record_audit(session, actor, "customer.merged", "customer", keep_id, changes)
    record_audit(session, actor, "customer.merged_into", "customer", merge_id, {"keep_id": keep_id})
    return result
