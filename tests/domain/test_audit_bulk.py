"""Rows made one at a time are written a chunk at a time, each chunk audited once."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from typing import Any

from sqlalchemy import func, select, text

from soloist.domain.audit import insert_made_rows
from soloist.storage.database import Database
from soloist.storage.models import AuditEntry, Customer, ModelRun, Segment, SegmentMember


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


def test_a_runs_rows_are_written_beside_its_open_reader(database: Database) -> None:
    """``soloist analyze`` reads in one transaction and writes its run's rows in another while
    the first stays open. 20,000 segment members into an empty table (a bulk load's size):
    the write must not wait for that reader. On PostgreSQL, making the indexes and keys again
    after the load dropped the foreign key to ``model_runs``, which locks ``model_runs`` until
    the reader ends, and the reader ends only after the write: it waited for ever (here, the
    lock wait is cut to 5 s, and the write must finish well within it)."""
    now = dt.datetime(2026, 1, 2, tzinfo=dt.UTC)
    customers = (
        {"name": f"C{i}", "status": "active", "custom_fields": {}, "created_at": now,
         "updated_at": now}
        for i in range(20_000)
    )  # fmt: skip
    with database.session() as session:
        insert_made_rows(session, Customer, customers, "test", "customers")
        run = ModelRun(kind="segments", status="succeeded", finished_at=now)
        segment = Segment(name="Champions", kind="rfm", description="test")
        session.add_all([run, segment])
        session.flush()
        run_id, segment_id = run.id, segment.id
    with database.reader_and_writer() as (reader, writer):
        ids = reader.scalars(select(Customer.id)).all()
        assert reader.scalar(select(ModelRun.kind).where(ModelRun.id == run_id)) == "segments"
        if database.backend == "postgresql":
            writer.execute(text("SET LOCAL lock_timeout = '5s'"))
        members = (
            {"segment_id": segment_id, "customer_id": c, "model_run_id": run_id} for c in ids
        )
        written = insert_made_rows(writer, SegmentMember, members, "test", "members")
    assert written == 20_000
    with database.read_session() as session:
        assert session.scalar(select(func.count(SegmentMember.customer_id))) == 20_000
