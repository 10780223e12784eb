"""The background worker: durable jobs, safe claims with several workers, retries with back-off,
schedules that fire once per fire time, and the nightly refit."""

from __future__ import annotations

import datetime as dt
import random
import threading
from collections import Counter
from typing import Any

import pytest
from sqlalchemy import func, select

from soloist.domain.jobs import (
    JobContext,
    UnknownJobKindError,
    Worker,
    enqueue,
    enqueue_due_jobs,
    enqueue_job,
    list_jobs,
    next_fire_time,
    retry_delay,
    save_schedule,
)
from soloist.errors import ConfigurationError
from soloist.storage.database import Database
from soloist.storage.models import Job, JobSchedule, ModelRun

START = dt.datetime(2026, 12, 5, 12, 0, tzinfo=dt.UTC)


class FakeClock:
    """A clock the test moves by hand (thread-safe, for the workers on threads)."""

    def __init__(self, now: dt.datetime = START) -> None:
        self.now = now
        self.lock = threading.Lock()

    def __call__(self) -> dt.datetime:
        with self.lock:
            return self.now

    def advance(self, delta: dt.timedelta) -> None:
        with self.lock:
            self.now += delta


def _job(database: Database, job_id: int) -> Job:
    with database.read_session() as session:
        job = session.get(Job, job_id)
        assert job is not None
        return job


def test_two_workers_run_each_of_200_jobs_exactly_once(database: Database) -> None:
    runs: Counter[int] = Counter()
    lock = threading.Lock()

    def count(context: JobContext) -> dict[str, Any]:
        with lock:
            runs[context.payload["n"]] += 1
        return {"n": context.payload["n"]}

    with database.session() as session:
        for n in range(200):
            enqueue_job(session, "count", {"n": n}, now=START)
    clock = FakeClock()
    workers = [
        Worker(database, handlers={"count": count}, worker_id=f"w{i}", clock=clock)
        for i in range(2)
    ]
    done: dict[str, int] = {}
    errors: list[BaseException] = []

    def drain(worker: Worker) -> None:
        try:
            done[worker.worker_id] = len(worker.run_pending())
        except BaseException as exc:  # pragma: no cover - reported below
            errors.append(exc)

    threads = [threading.Thread(target=drain, args=(w,)) for w in workers]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert errors == []
    assert runs == Counter(range(200))
    assert sum(done.values()) == 200
    with database.read_session() as session:
        statuses = Counter(session.scalars(select(Job.status)))
        assert statuses == {"done": 200}
        assert session.scalar(select(func.max(Job.attempts))) == 1


def test_a_failing_job_is_retried_with_growing_delays_then_fails_with_its_error(
    database: Database,
) -> None:
    def broken(context: JobContext) -> None:
        raise RuntimeError(f"the mail server said no (attempt {context.attempt})")

    clock = FakeClock()
    worker = Worker(
        database, handlers={"send": broken}, clock=clock, rng=random.Random(7), worker_id="w"
    )
    with database.session() as session:
        job = enqueue_job(session, "send", max_attempts=4, now=START)
        assert job is not None
        job_id = job.id
    delays = []
    for attempt in range(1, 5):
        outcome = worker.run_one()
        assert outcome is not None
        assert outcome.attempt == attempt
        job = _job(database, job_id)
        if attempt < 4:
            assert outcome.status == "queued"
            assert job.status == "queued"
            delays.append(job.run_after - clock())
            assert worker.run_one() is None  # not due before its back-off has passed
            clock.advance(delays[-1])
    assert delays == sorted(delays)
    assert delays[0] >= dt.timedelta(seconds=15)
    assert delays[-1] > delays[0]
    assert outcome.status == "failed"
    assert job.status == "failed"
    assert job.attempts == 4
    assert job.finished_at == clock()
    assert job.last_error is not None
    assert job.last_error.startswith("RuntimeError: the mail server said no (attempt 4)")
    clock.advance(dt.timedelta(days=1))
    assert worker.run_one() is None  # a failed job is not tried again


def test_retry_delays_double_with_jitter_up_to_a_cap() -> None:
    rng = random.Random(1)
    base, cap = dt.timedelta(seconds=30), dt.timedelta(hours=1)
    for attempt in range(1, 12):
        full = min(cap, base * 2 ** (attempt - 1))
        delay = retry_delay(attempt, rng, base=base, cap=cap)
        assert full / 2 <= delay <= full


def test_an_unknown_kind_fails_at_once_and_says_so(database: Database) -> None:
    with database.session() as session:
        job = enqueue_job(session, "teleport", now=START)
        assert job is not None
        job_id = job.id
    outcome = Worker(database, clock=FakeClock()).run_one()
    assert outcome is not None
    assert outcome.status == "failed"
    job = _job(database, job_id)
    assert job.attempts == 1
    assert job.last_error is not None
    assert "No handler for job kind 'teleport'" in job.last_error
    with pytest.raises(UnknownJobKindError, match="teleport"):
        enqueue(database, "teleport")


def test_a_queued_job_survives_a_restart(database: Database) -> None:
    with database.session() as session:
        job = enqueue_job(session, "note", {"text": "hello"}, now=START)
        assert job is not None
        job_id = job.id
    database.dispose()
    reopened = Database(database.settings, database.keyring)
    seen = []
    try:
        worker = Worker(
            reopened, handlers={"note": lambda c: seen.append(c.payload)}, clock=FakeClock()
        )
        assert [o.job_id for o in worker.run_pending()] == [job_id]
    finally:
        reopened.dispose()
    assert seen == [{"text": "hello"}]
    assert _job(database, job_id).status == "done"


def test_a_job_whose_worker_died_is_claimed_again_after_the_lease(database: Database) -> None:
    clock = FakeClock()
    lease = dt.timedelta(minutes=10)
    seen = []
    with database.session() as session:
        job = enqueue_job(session, "note", now=START)
        assert job is not None
        job_id = job.id
    # The first worker claims the job and dies before it finishes.
    from soloist.domain.jobs.queue import claim_job

    with database.session() as session:
        claimed = claim_job(session, "dead-worker", clock(), lease)
        assert claimed is not None
        assert (claimed.status, claimed.locked_by) == ("running", "dead-worker")
    survivor = Worker(
        database,
        handlers={"note": lambda c: seen.append(c.attempt)},
        clock=clock,
        lease=lease,
        worker_id="survivor",
    )
    assert survivor.run_one() is None  # still within the lease
    clock.advance(lease + dt.timedelta(seconds=1))
    outcome = survivor.run_one()
    assert outcome is not None
    assert outcome.status == "done"
    assert seen == [2]
    job = _job(database, job_id)
    assert (job.status, job.attempts, job.locked_by) == ("done", 2, None)


def test_a_schedule_queues_one_job_per_fire_time_with_two_workers(database: Database) -> None:
    clock = FakeClock(dt.datetime(2026, 12, 5, 2, 0, tzinfo=dt.UTC))
    with database.session() as session:
        schedule = save_schedule(session, "nightly", "note", "0 3 * * *", "UTC", clock())
        assert schedule is not None
        assert schedule.next_run_at == dt.datetime(2026, 12, 5, 3, 0, tzinfo=dt.UTC)
    ran: list[int] = []
    lock = threading.Lock()

    def note(context: JobContext) -> None:
        with lock:
            ran.append(context.job_id)

    workers = [
        Worker(database, handlers={"note": note}, clock=clock, worker_id=f"w{i}") for i in range(2)
    ]
    for _night in range(3):
        clock.advance(dt.timedelta(days=1))
        barrier = threading.Barrier(2)

        def tick(worker: Worker, barrier: threading.Barrier = barrier) -> None:
            barrier.wait()
            worker.run_pending()

        threads = [threading.Thread(target=tick, args=(w,)) for w in workers]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=60)
    with database.read_session() as session:
        keys = sorted(session.scalars(select(Job.dedupe_key)))
        stored = session.scalar(select(JobSchedule).where(JobSchedule.name == "nightly"))
    # Each tick, both workers at once, finds the fire time of the night before due.
    assert keys == [
        "nightly@2026-12-05T03:00:00Z",
        "nightly@2026-12-06T03:00:00Z",
        "nightly@2026-12-07T03:00:00Z",
    ]
    assert len(ran) == 3
    assert stored is not None
    assert stored.next_run_at == dt.datetime(2026, 12, 8, 3, 0, tzinfo=dt.UTC)


def test_fire_times_missed_while_no_worker_ran_run_once(database: Database) -> None:
    with database.session() as session:
        save_schedule(session, "nightly", "note", "0 3 * * *", "UTC", START)
    with database.session() as session:
        queued = enqueue_due_jobs(session, START + dt.timedelta(days=5))
        assert [job.dedupe_key for job in queued] == ["nightly@2026-12-06T03:00:00Z"]
        schedule = session.scalar(select(JobSchedule))
        assert schedule is not None
        assert schedule.next_run_at == dt.datetime(2026, 12, 11, 3, 0, tzinfo=dt.UTC)


def test_a_schedule_reads_its_crontab_in_the_workspace_time_zone() -> None:
    after = dt.datetime(2026, 12, 5, 12, 0, tzinfo=dt.UTC)
    assert next_fire_time("0 3 * * *", "Asia/Shanghai", after) == dt.datetime(
        2026, 12, 5, 19, 0, tzinfo=dt.UTC
    )
    with pytest.raises(ConfigurationError, match="crontab"):
        next_fire_time("every night", "UTC", after)


def test_an_empty_schedule_turns_the_nightly_job_off(database: Database) -> None:
    clock = FakeClock()
    Worker(database, clock=clock).register_schedules()
    with database.read_session() as session:
        schedules = {s.name: (s.trigger, s.enabled) for s in session.scalars(select(JobSchedule))}
        assert schedules == {"refit": ("0 3 * * *", True), "loyalty": ("10 2 * * *", True)}
    quiet = database.settings.model_copy(update={"refit_schedule": "", "loyalty_schedule": ""})
    database.settings = quiet
    Worker(database, clock=clock).register_schedules()
    clock.advance(dt.timedelta(days=2))
    with database.session() as session:
        assert enqueue_due_jobs(session, clock()) == []
        assert set(session.scalars(select(JobSchedule.enabled))) == {False}


def test_a_job_with_a_dedupe_key_is_queued_once(database: Database) -> None:
    with database.session() as session:
        first = enqueue_job(session, "note", dedupe_key="k", now=START)
        second = enqueue_job(session, "note", dedupe_key="k", now=START)
        assert first is not None
        assert second is not None
        assert first.id == second.id
    with database.read_session() as session:
        assert len(list_jobs(session)) == 1


@pytest.mark.slow
def test_the_refit_job_stores_finished_model_runs(sqlite_database: Database) -> None:
    from soloist.demo.business import build_demo

    with sqlite_database.session() as session:
        build_demo(session, customers=200, seed=9, end_date=dt.date(2026, 6, 30))
    job = enqueue(sqlite_database, "refit")
    outcome = Worker(sqlite_database).run_one()
    assert outcome is not None
    assert outcome.status == "done", outcome.error
    done = _job(sqlite_database, job.id)
    assert done.result is not None
    kinds = [run["kind"] for run in done.result["model_runs"]]
    assert kinds[0] == "clv"
    assert len(kinds) == 3
    with sqlite_database.read_session() as session:
        runs = session.scalars(select(ModelRun)).all()
        assert {run.status for run in runs} == {"succeeded"}
        assert {run.id for run in runs} == {run["id"] for run in done.result["model_runs"]}


def test_the_refit_job_on_an_empty_workspace_has_nothing_to_do(database: Database) -> None:
    job = enqueue(database, "refit")
    outcome = Worker(database).run_one()
    assert outcome is not None
    assert outcome.status == "done"
    assert _job(database, job.id).result == {
        "skipped": "no paid orders and no subscriptions in USD to analyse"
    }


@pytest.mark.slow
def test_a_live_write_during_the_refit_does_not_wait_for_the_fit(
    sqlite_database: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The refit reads and fits with no write lock held: on SQLite a write made while the
    models are being fitted goes through at once (here with a busy timeout of 0.5 s)."""
    from pathlib import Path

    from soloist.domain.customers.records import CustomerCreate, create_customer
    from soloist.domain.imports.pipeline import ImportOptions, import_file
    from soloist.domain.scoring import clv

    data = Path(__file__).parents[1] / "data" / "CDNOW_sample.txt"
    with sqlite_database.session() as session:
        import_file(session, "orders", data, ImportOptions(), "test")
    fitting, release = threading.Event(), threading.Event()
    compare = clv.compare_purchase_models

    def slow_fit(*args: Any, **kwargs: Any) -> Any:
        fitting.set()
        assert release.wait(60)
        return compare(*args, **kwargs)

    monkeypatch.setattr(clv, "compare_purchase_models", slow_fit)
    enqueue(sqlite_database, "refit", {"clv_only": True})
    outcomes: list[Any] = []
    worker = threading.Thread(target=lambda: outcomes.extend(Worker(sqlite_database).run_pending()))
    worker.start()
    try:
        assert fitting.wait(60), outcomes
        impatient = Database(
            sqlite_database.settings.model_copy(update={"sqlite_busy_timeout_ms": 500})
        )
        with impatient.session() as session:
            create_customer(session, CustomerCreate(name="Arrived mid-fit"), "api:test")
        impatient.dispose()
    finally:
        release.set()
        worker.join(120)
    # The import queued the loyalty sync; then the refit ran, and finished.
    assert [(o.kind, o.status) for o in outcomes] == [("loyalty-sync", "done"), ("refit", "done")]
    with sqlite_database.read_session() as session:
        assert session.scalar(select(func.count(ModelRun.id))) == 1
