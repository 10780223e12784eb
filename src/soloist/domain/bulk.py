"""Batch inserts for large volumes (the demo, imports): one statement per chunk, one audit entry."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import insert
from sqlalchemy.orm import DeclarativeBase, Session

from soloist.domain.audit import record_audit


def insert_rows(
    session: Session,
    model: type[DeclarativeBase],
    rows: Sequence[dict[str, Any]],
    actor: str,
    note: str,
    *,
    returning_ids: bool = False,
) -> list[int]:
    """Insert ``rows`` into ``model``'s table; with ``returning_ids`` the new ids, in row order."""
    ids: list[int] = []
    if rows:
        if returning_ids:
            statement = insert(model).returning(
                model.id,  # type: ignore[attr-defined]
                sort_by_parameter_order=True,
            )
            ids = list(session.scalars(statement, list(rows)))
        else:
            session.execute(insert(model), list(rows))
    table = str(model.__tablename__)
    record_audit(
        session, actor, f"{table}.bulk_added", table, None, {"count": len(rows), "note": note}
    )
    return ids
