"""Rows made one at a time are written a chunk at a time, each chunk audited once."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from typing import Any

from sqlalchemy import func, select

from soloist.domain.audit import insert_made_rows
from soloist.storage.database import Database
from soloist.storage.models import AuditEntry, Customer


def test_made_rows_are_written_a_chunk_at_a_time_each_chunk_audited(database: Database) -> None:
    now = dt.datetime(2026, 1, 2, tzinfo=dt.UTC)
    made: list[int] = []

    def rows() -> Iterator[dict[str, Any]]:
        for i in range(45):
            made.append(i)
            yield {"name": f"C{i}", "status": "active", "custom_fields": {}, "created_at": now,
                   "updated_at": now}  # fmt: skip

    with database.session() as session:
        written = insert_made_rows(session, Customer, rows(), "test", "made", chunk=20)
    assert written == 45
    assert len(made) == 45
    with database.read_session() as session:
        names = sorted(session.scalars(select(Customer.name)))
        audited = session.scalars(
            select(AuditEntry.changes).where(AuditEntry.action == "customers.bulk_added")
        ).all()
        assert session.scalar(select(func.count(Customer.id))) == 45
    assert names == sorted(f"C{i}" for i in range(45))
    assert sorted(entry["count"] for entry in audited) == [5, 20, 20]


def test_no_rows_write_nothing(database: Database) -> None:
    with database.session() as session:
        assert insert_made_rows(session, Customer, iter(()), "test", "none") == 0
    with database.read_session() as session:
        assert session.scalar(select(func.count(AuditEntry.id))) == 0
