"""The job queue: enqueue, claim, finish and fail jobs stored in the workspace database.

Claims are safe with several workers on one database: on PostgreSQL and MariaDB a claim locks
the row it takes with ``SELECT … FOR UPDATE SKIP LOCKED``, so two workers never take the same job
and neither waits for the other; on SQLite every write transaction begins with ``BEGIN
IMMEDIATE`` (see ``storage/database.py``), so claims run one after another. A job left
``running`` for longer than the lease (its worker died) can be claimed again: execution is *at
least once*, and handlers must be idempotent.

These functions never commit: the worker owns the transactions.
"""

from __future__ import annotations

import datetime as dt
import random
from collections.abc import Callable
from typing import Any

from sqlalchemy import and_, func, or_, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from soloist.errors import ValidationError
from soloist.storage.models import JOB_STATUSES, Job
from soloist.storage.types import utcnow

Clock = Callable[[], dt.datetime]

DEFAULT_MAX_ATTEMPTS = 5
RETRY_BASE = dt.timedelta(seconds=30)
RETRY_CAP = dt.timedelta(hours=1)
ERROR_LIMIT = 8000  # characters of an error (its traceback's tail) kept on the job


def enqueue_job(
    session: Session,
    kind: str,
    payload: dict[str, Any] | None = None,
    *,
    run_after: dt.datetime | None = None,
    max_attempts: int = DEFAULT_MAX_ATTEMPTS,
    dedupe_key: str | None = None,
    now: dt.datetime | None = None,
) -> Job | None:
    """Queue a job of ``kind``; it runs once ``run_after`` (default: now) has passed.

    With a ``dedupe_key``, a job already queued under that key (at any status) is returned
    instead of a new one; ``None`` when another transaction is inserting it at this moment.
    """
    if not kind or len(kind) > 64:
        raise ValidationError("A job kind is 1 to 64 characters.", field="kind")
    if max_attempts < 1:
        raise ValidationError("A job needs at least one attempt.", field="max_attempts")
    moment = now or utcnow()
    job = Job(
        kind=kind,
        payload=dict(payload or {}),
        status="queued",
        attempts=0,
        max_attempts=max_attempts,
        run_after=run_after or moment,
        dedupe_key=dedupe_key,
        created_at=moment,
    )
    if dedupe_key is None:
        session.add(job)
        session.flush()
        return job
    existing = session.scalar(select(Job).where(Job.dedupe_key == dedupe_key))
    if existing is not None:
        return existing
    try:
        with session.begin_nested():
            session.add(job)
    except IntegrityError:  # another worker queued it between our look and our insert
        return session.scalar(select(Job).where(Job.dedupe_key == dedupe_key))
    return job


def claim_job(
    session: Session, worker_id: str, now: dt.datetime, lease: dt.timedelta
) -> Job | None:
    """Take the oldest due job, or a ``running`` one whose lease has expired, for ``worker_id``.

    The claimed job is marked ``running`` with ``locked_by``/``locked_at`` and one more attempt.
    A stale job that has used up its attempts is marked failed instead, and the next one taken.
    """
    stale_before = now - lease
    while True:
        job = session.scalar(
            select(Job)
            .where(
                or_(
                    and_(Job.status == "queued", Job.run_after <= now),
                    and_(Job.status == "running", Job.locked_at < stale_before),
                )
            )
            .order_by(Job.run_after, Job.id)
            .limit(1)
            .with_for_update(skip_locked=True)
        )
        if job is None:
            return None
        if job.status == "running" and job.attempts >= job.max_attempts:
            _mark_failed(
                job,
                f"Worker {job.locked_by} stopped during attempt {job.attempts} of "
                f"{job.max_attempts} (no word for {lease}); not tried again.",
                now,
            )
            session.flush()
            continue
        job.status = "running"
        job.attempts += 1
        job.locked_by = worker_id
        job.locked_at = now
        job.started_at = now
        session.flush()
        return job


def finish_job(
    session: Session,
    job_id: int,
    worker_id: str,
    now: dt.datetime,
    result: dict[str, Any] | None = None,
) -> bool:
    """Mark a job this worker holds ``done``; False when it is no longer the worker's (its lease
    expired and another worker took it)."""
    job = _held(session, job_id, worker_id)
    if job is None:
        return False
    job.status = "done"
    job.finished_at = now
    job.result = result
    job.locked_by = None
    job.locked_at = None
    session.flush()
    return True


def fail_job(
    session: Session,
    job_id: int,
    worker_id: str,
    error: str,
    now: dt.datetime,
    *,
    permanent: bool = False,
    rng: random.Random | None = None,
    base: dt.timedelta = RETRY_BASE,
    cap: dt.timedelta = RETRY_CAP,
) -> Job | None:
    """Record a failed attempt: queue the job again after a back-off, or, after its last attempt
    (or a ``permanent`` failure), mark it ``failed``. The error is kept either way."""
    job = _held(session, job_id, worker_id)
    if job is None:
        return None
    if permanent or job.attempts >= job.max_attempts:
        _mark_failed(job, error, now)
    else:
        job.status = "queued"
        job.run_after = now + retry_delay(job.attempts, rng, base=base, cap=cap)
        job.last_error = error[-ERROR_LIMIT:]
        job.locked_by = None
        job.locked_at = None
    session.flush()
    return job


def retry_delay(
    attempt: int,
    rng: random.Random | None = None,
    *,
    base: dt.timedelta = RETRY_BASE,
    cap: dt.timedelta = RETRY_CAP,
) -> dt.timedelta:
    """How long to wait after failed attempt number ``attempt`` (1, 2, …): exponential back-off
    (``base``, twice that, four times …, at most ``cap``) with "equal jitter": half the delay is
    fixed and half random, so retries spread out yet never wait less than after the attempt
    before."""
    delay = min(cap, base * (2 ** max(attempt - 1, 0)))
    half = delay / 2
    return half + half * (rng or random).random()


def list_jobs(session: Session, status: str | None = None, limit: int = 100) -> list[Job]:
    """The newest jobs first, of one status or all."""
    if status is not None and status not in JOB_STATUSES:
        raise ValidationError(
            f"Unknown job status {status!r}; use one of {', '.join(JOB_STATUSES)}.",
            field="status",
        )
    query = select(Job).order_by(Job.id.desc()).limit(limit)
    if status is not None:
        query = query.where(Job.status == status)
    return list(session.scalars(query))


def count_jobs(session: Session) -> dict[str, int]:
    """How many jobs there are of each status (every status present, zeros included)."""
    counts = dict.fromkeys(JOB_STATUSES, 0)
    for status, number in session.execute(select(Job.status, func.count()).group_by(Job.status)):
        counts[status] = int(number)
    return counts


def _held(session: Session, job_id: int, worker_id: str) -> Job | None:
    job = session.get(Job, job_id, with_for_update=True, populate_existing=True)
    if job is None or job.status != "running" or job.locked_by != worker_id:
        return None
    return job


def _mark_failed(job: Job, error: str, now: dt.datetime) -> None:
    job.status = "failed"
    job.finished_at = now
    job.last_error = error[-ERROR_LIMIT:]
    job.locked_by = None
    job.locked_at = None
