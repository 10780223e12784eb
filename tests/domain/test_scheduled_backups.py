"""The worker writes a backup on the owner's schedule and keeps the newest few."""

from __future__ import annotations

import datetime as dt

from pydantic import SecretStr
from sqlalchemy import select
from tests.domain.test_jobs import FakeClock

from soloist.domain.backups import verify_backup
from soloist.domain.customers import CustomerCreate, create_customer
from soloist.domain.jobs import Worker
from soloist.storage.database import Database
from soloist.storage.models import Job


def test_hourly_backups_are_written_verified_and_rotated(sqlite_database: Database) -> None:
    with sqlite_database.session() as session:
        create_customer(session, CustomerCreate(name="Ada", email="ada@example.com"), "t")
    sqlite_database.settings = sqlite_database.settings.model_copy(
        update={
            "backup_schedule": "0 * * * *",
            "backup_keep": 2,
            "backup_passphrase": SecretStr("nightly secret"),
        }
    )
    clock = FakeClock()
    worker = Worker(sqlite_database, clock=clock)
    worker.register_schedules()
    for _ in range(3):
        clock.advance(dt.timedelta(hours=1))
        worker.enqueue_due()
        worker.run_pending()
    folder = sqlite_database.settings.workspace / "backups"
    kept = sorted(folder.glob("soloist-*.backup"))
    assert [p.name for p in kept] == ["soloist-20261205-140000.backup",
                                      "soloist-20261205-150000.backup"]  # fmt: skip
    summary = verify_backup(kept[-1], "nightly secret")
    assert {t.name: t.rows for t in summary.tables}["customers"] == 1
    with sqlite_database.read_session() as session:
        jobs = session.scalars(select(Job).where(Job.kind == "backup")).all()
    assert [job.status for job in jobs] == ["done"] * 3
    assert jobs[-1].result["removed"] == ["soloist-20261205-130000.backup"]


def test_a_scheduled_backup_without_a_passphrase_fails_and_says_why(
    sqlite_database: Database,
) -> None:
    sqlite_database.settings = sqlite_database.settings.model_copy(
        update={"backup_schedule": "0 * * * *"}
    )
    clock = FakeClock()
    worker = Worker(sqlite_database, clock=clock)
    worker.register_schedules()
    clock.advance(dt.timedelta(hours=1))
    worker.enqueue_due()
    worker.run_pending()
    with sqlite_database.read_session() as session:
        job = session.scalars(select(Job).where(Job.kind == "backup")).one()
    assert job.status == "failed"
    assert "SOLOIST_BACKUP_PASSPHRASE" in (job.last_error or "")
