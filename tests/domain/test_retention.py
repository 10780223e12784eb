"""The retention policy erases exactly the customers inactive for N years and strips old
messages, never before the policy has been previewed (a dry run)."""

from __future__ import annotations

import datetime as dt
import json
from decimal import Decimal

import pytest
from sqlalchemy import select
from tests.domain.test_jobs import FakeClock

from soloist.domain.customers import CustomerCreate, create_customer
from soloist.domain.jobs import Worker
from soloist.domain.orders import OrderCreate, OrderLineCreate, record_order
from soloist.domain.privacy import run_retention
from soloist.errors import ValidationError
from soloist.storage.database import Database
from soloist.storage.models import Customer, Interaction, Job, Message, Order

NOW = dt.datetime(2026, 12, 5, 12, 0, tzinfo=dt.UTC)


def _customer(session, name: str, since: dt.datetime) -> int:  # type: ignore[no-untyped-def]
    customer = create_customer(session, CustomerCreate(name=name, email=f"{name}@x.example"), "t")
    customer.created_at = customer.first_seen_at = since
    return customer.id


def _order(session, customer_id: int, at: dt.datetime, key: str) -> None:  # type: ignore[no-untyped-def]
    record_order(
        session,
        OrderCreate(external_id=key, customer_id=customer_id, ordered_at=at, currency="USD",
                    lines=[OrderLineCreate(description="tea", unit_price=Decimal("9.50"))]),
        "t",
    )  # fmt: skip


def _workspace(database: Database) -> dict[str, int]:
    long_ago = NOW - dt.timedelta(days=365 * 6)
    with database.session() as session:
        ids = {
            "lapsed": _customer(session, "lapsed", long_ago),  # last order 4 years ago
            "buyer": _customer(session, "buyer", long_ago),  # ordered 2 years ago
            "talker": _customer(session, "talker", long_ago),  # wrote last month
            "silent": _customer(session, "silent", long_ago),  # never did anything
            "newcomer": _customer(session, "newcomer", NOW - dt.timedelta(days=30)),
        }
        _order(session, ids["lapsed"], NOW - dt.timedelta(days=365 * 4), "o-1")
        _order(session, ids["buyer"], NOW - dt.timedelta(days=365 * 2), "o-2")
        session.add(Interaction(customer_id=ids["talker"], channel="email", subject="hello",
                                occurred_at=NOW - dt.timedelta(days=30)))  # fmt: skip
        for n, (who, days) in enumerate((("buyer", 400), ("buyer", 10), ("talker", 200))):
            sent = NOW - dt.timedelta(days=days)
            session.add(Message(customer_id=ids[who], channel="email", status="sent",
                                idempotency_key=f"m{n}", recipient=f"{who}@x.example",
                                subject=f"Hi {who}", created_at=sent))  # fmt: skip
    return ids


def _policy(database: Database, years: int, days: int) -> None:
    database.settings = database.settings.model_copy(
        update={"retention_inactive_years": years, "retention_message_days": days}
    )


def test_a_dry_run_comes_first_then_exactly_the_inactive_are_erased(database: Database) -> None:
    ids = _workspace(database)
    _policy(database, 3, 180)
    with pytest.raises(ValidationError, match="previewed"):
        run_retention(database, "t", NOW, apply=True)

    preview = run_retention(database, "t", NOW, apply=False)
    assert preview["dry_run"] is True
    assert preview["customers"] == 2
    assert preview["customer_ids_sample"] == sorted([ids["lapsed"], ids["silent"]])
    assert preview["messages"] == 2  # the buyer's of 400 days and the talker's of 200
    with database.read_session() as session:
        assert (
            session.scalar(select(Customer.status).where(Customer.id == ids["lapsed"])) == "active"
        )
        assert session.scalar(select(Message.recipient).where(Message.idempotency_key == "m0"))

    done = run_retention(database, "t", NOW, apply=True)
    assert (done["dry_run"], done["customers"], done["messages"]) == (False, 2, 2)
    with database.read_session() as session:
        statuses = dict(session.execute(select(Customer.name, Customer.status)).all())
        kept = {name for name, status in statuses.items() if status == "active"}
        assert kept == {"buyer", "talker", "newcomer"}
        assert (
            session.scalar(select(Order.customer_id).where(Order.external_id == "o-1"))
            == ids["lapsed"]
        )  # the order stays, anonymised with its customer
        messages = {m.idempotency_key: m for m in session.scalars(select(Message))}
        assert messages["m0"].recipient is None
        assert messages["m0"].subject is None
        assert messages["m2"].recipient is None
        assert messages["m1"].recipient == "buyer@x.example"  # 10 days old: kept
    journal = (database.settings.workspace / "erasures.jsonl").read_text().splitlines()
    assert sorted(json.loads(line)["customer_id"] for line in journal) == sorted(
        [ids["lapsed"], ids["silent"]]
    )

    _policy(database, 1, 180)  # a changed policy needs a new preview before it erases
    with pytest.raises(ValidationError, match="previewed"):
        run_retention(database, "t", NOW, apply=True)


def test_the_worker_previews_a_new_policy_and_applies_it_the_next_night(
    sqlite_database: Database,
) -> None:
    ids = _workspace(sqlite_database)
    _policy(sqlite_database, 3, 0)
    clock = FakeClock(NOW)
    worker = Worker(sqlite_database, clock=clock)
    worker.register_schedules()
    for _ in range(2):
        clock.advance(dt.timedelta(days=1))
        worker.enqueue_due()
        worker.run_pending()
    with sqlite_database.read_session() as session:
        jobs = session.scalars(select(Job).where(Job.kind == "retention").order_by(Job.id)).all()
        assert [job.status for job in jobs] == ["done", "done"]
        assert [job.result["dry_run"] for job in jobs] == [True, False]
        assert jobs[1].result["customers"] == 2
        erased = session.scalars(select(Customer.id).where(Customer.status == "erased")).all()
    assert sorted(erased) == sorted([ids["lapsed"], ids["silent"]])


def test_without_a_policy_nothing_runs(sqlite_database: Database) -> None:
    with pytest.raises(ValidationError, match="No retention policy"):
        run_retention(sqlite_database, "t", NOW, apply=False)
