"""The loyalty programme's daily jobs as the worker runs them: a batch of members per
transaction, so a job stopped half-way keeps what it finished and the next run does the rest,
giving each member exactly what one uninterrupted run gives."""

from __future__ import annotations

import datetime as dt
import random
import sqlite3
import threading
import time

import pytest
from sqlalchemy import func, select
from tests.domain.loyalty.helpers import T0, days, member, old_and_new_lots, order, programme

from soloist.domain.jobs import Worker
from soloist.domain.loyalty import daily
from soloist.domain.loyalty import programme as programme_module
from soloist.domain.loyalty import tiers as tiers_module
from soloist.domain.loyalty.daily import (
    award_birthday_bonuses_in_turn,
    expire_points_in_turn,
    review_tiers_in_turn,
    run_daily_loyalty,
)
from soloist.domain.loyalty.ledger import ledger_entries, points_balance
from soloist.domain.loyalty.tiers import review_tiers
from soloist.storage.database import Database
from soloist.storage.models import Job, LedgerEntry, LoyaltyAccount

MEMBERS = 23
BATCH = 5  # several batches, the last one short


class StoppedError(Exception):
    """The job dies here (a crash, a restart)."""


@pytest.fixture(autouse=True)
def small_batches(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(programme_module, "EXPIRY_BATCH", BATCH)
    monkeypatch.setattr(tiers_module, "REVIEW_BATCH", BATCH)
    monkeypatch.setattr(daily, "BONUS_BATCH", BATCH)


def _members_with_old_points(database: Database) -> dict[int, int]:
    """Members each with an old lot, a newer one and a redemption taken oldest first; what the
    expiry a year after the first lot must take from each (the old lot less the redemption)."""
    rng = random.Random(8)
    expected: dict[int, int] = {}
    with database.session() as session:
        programme(session, expiry_months=12)
        for i in range(MEMBERS):
            customer_id = member(session, f"C{i}")
            expected[customer_id] = old_and_new_lots(session, customer_id, rng, f"s-{i}")
    return expected


def _expired(database: Database) -> dict[int, list[int]]:
    with database.read_session() as session:
        rows = session.execute(
            select(LedgerEntry.customer_id, LedgerEntry.points).where(LedgerEntry.kind == "expire")
        ).all()
    found: dict[int, list[int]] = {}
    for customer_id, points in rows:
        found.setdefault(customer_id, []).append(-points)
    return found


def test_an_expiry_stopped_half_way_keeps_its_batches_and_the_next_run_finishes_it(
    database: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    expected = _members_with_old_points(database)
    due = {c: [p] for c, p in expected.items() if p}
    assert len(due) > 2 * BATCH
    calls = 0
    real_batch = daily.expire_batch

    def dies_in_the_third_batch(*args: object, **kwargs: object) -> object:
        nonlocal calls
        calls += 1
        if calls == 3:
            raise StoppedError
        return real_batch(*args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(daily, "expire_batch", dies_in_the_third_batch)
    with pytest.raises(StoppedError):
        expire_points_in_turn(database, T0 + days(366))
    kept = _expired(database)
    first_two = sorted(expected)[: 2 * BATCH]
    assert kept == {c: due[c] for c in first_two if c in due}  # committed; the third rolled back

    monkeypatch.setattr(daily, "expire_batch", real_batch)
    rest = expire_points_in_turn(database, T0 + days(366))
    assert _expired(database) == due
    assert rest.points == sum(p for c, (p,) in due.items() if c not in kept)
    assert expire_points_in_turn(database, T0 + days(366)).entries == 0
    with database.read_session() as session:
        assert all(points_balance(session, c) >= 0 for c in expected)


def test_a_tier_review_in_turn_moves_members_as_the_review_in_one_transaction_does(
    database: Database,
) -> None:
    spends = [0, 250, 600]
    with database.session() as session:
        programme(session)
        ids = [member(session, f"C{i}") for i in range(MEMBERS)]
        for i, customer_id in enumerate(ids):
            if spends[i % 3]:
                order(session, customer_id, str(spends[i % 3]), T0 + days(10))
    changes = review_tiers_in_turn(database, T0 + days(20))
    assert sorted((c.customer_id, c.new_tier) for c in changes) == sorted(
        (c, "Silver" if spends[i % 3] == 250 else "Gold")
        for i, c in enumerate(ids)
        if spends[i % 3]
    )
    later = review_tiers_in_turn(database, T0 + days(400))
    with database.session() as session:
        assert review_tiers(session, T0 + days(400)) == []  # nothing left to do
        reviews = session.scalars(select(LoyaltyAccount.tier_review_at)).all()
    assert sorted(c.customer_id for c in later) == sorted(
        c for i, c in enumerate(ids) if spends[i % 3]
    )
    assert {c.new_tier for c in later} == {"Bronze"}
    assert set(reviews) == {T0 + days(400 + 365)}


def test_birthday_bonuses_once_a_year_and_a_leap_day_birthday_on_the_28th_otherwise(
    database: Database,
) -> None:
    with database.session() as session:
        programme(session)
        born = {
            "leap": member(session, "Leap", birthday=dt.date(1996, 2, 29)),
            "eve": member(session, "Eve", birthday=dt.date(1990, 2, 28)),
            "march": member(session, "March", birthday=dt.date(1990, 3, 1)),
        }
        for i in range(MEMBERS):  # born the same day, in several batches
            member(session, f"C{i}", birthday=dt.date(1980 + i, 2, 28))
    assert award_birthday_bonuses_in_turn(database, dt.date(2025, 2, 28)) == MEMBERS + 2
    assert award_birthday_bonuses_in_turn(database, dt.date(2025, 2, 28)) == MEMBERS + 2
    assert award_birthday_bonuses_in_turn(database, dt.date(2028, 2, 28)) == MEMBERS + 1
    assert award_birthday_bonuses_in_turn(database, dt.date(2028, 2, 29)) == 1
    with database.read_session() as session:
        balances = {name: points_balance(session, c) for name, c in born.items()}
        leap_keys = {e.idempotency_key for e in ledger_entries(session, born["leap"])}
    assert balances == {"leap": 400, "eve": 400, "march": 0}
    assert leap_keys == {f"bonus:birthday:{born['leap']}:{year}" for year in (2025, 2028)}


def test_the_worker_runs_the_daily_loyalty_jobs_on_their_schedule(database: Database) -> None:
    """At 02:10 in the workspace's time zone (Shanghai: 18:10 UTC the day before) the job pays
    the day's birthday bonuses, expires the year-old points and reviews the tiers."""
    database.settings = database.settings.model_copy(update={"timezone": "Asia/Shanghai"})
    expected = _members_with_old_points(database)
    with database.session() as session:
        birthday = member(session, "Bday", birthday=dt.date(1990, 1, 3))
    moment = T0 + days(366)  # 2026-01-02 09:00 UTC
    worker = Worker(database, clock=lambda: moment, send_campaigns=False)
    worker.register_schedules()
    assert worker.run_pending() == []  # the next run is 2026-01-02 18:10 UTC
    later = dt.datetime(2026, 1, 2, 18, 11, tzinfo=dt.UTC)
    worker.clock = lambda: later
    (outcome,) = worker.run_pending()
    assert (outcome.kind, outcome.status) == ("loyalty-daily", "done"), outcome
    with database.read_session() as session:
        result = session.scalar(select(Job.result).where(Job.kind == "loyalty-daily"))
        assert points_balance(session, birthday) == 200
        expired = session.scalar(
            select(func.coalesce(func.sum(-LedgerEntry.points), 0)).where(
                LedgerEntry.kind == "expire"
            )
        )
    assert result["day"] == "2026-01-03"
    assert result["birthday_bonuses"] == 1
    assert result["expired"]["points"] == expired == sum(expected.values())
    again = run_daily_loyalty(database, later)
    assert (again.birthday_bonuses, again.expired.entries) == (1, 0)


def test_a_writer_waiting_on_sqlite_gets_in_between_two_batches(
    sqlite_database: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A live order waits for the write lock while the expiry job runs. SQLite's busy handler
    tries again every 100 ms at most, so the job pauses between batches long enough for such a
    try to come in; otherwise its next batch would take the lock first, every time."""
    _members_with_old_points(sqlite_database)
    started: list[float] = []
    real_batch = daily.expire_batch

    def slow_batch(*args: object, **kwargs: object) -> object:
        started.append(time.monotonic())
        done = real_batch(*args, **kwargs)  # type: ignore[arg-type]
        time.sleep(0.25)  # a batch of a large programme, the write lock held until its commit
        return done

    monkeypatch.setattr(daily, "expire_batch", slow_batch)
    got_in: list[float] = []

    def live_order() -> None:
        while not started:
            time.sleep(0.01)
        path = sqlite_database.engine.url.database
        connection = sqlite3.connect(str(path), timeout=30, isolation_level=None)
        connection.execute("BEGIN IMMEDIATE")
        got_in.append(time.monotonic())
        connection.execute("ROLLBACK")
        connection.close()

    writer = threading.Thread(target=live_order)
    writer.start()
    expire_points_in_turn(sqlite_database, T0 + days(366))
    writer.join()
    assert len(started) == 5  # 23 members, 5 a batch
    assert started[0] < got_in[0] < started[2]  # in after the first batch or the second
