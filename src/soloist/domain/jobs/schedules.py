"""Recurring jobs: a schedule is a crontab expression in a time zone; when it falls due, one job
is queued and the schedule moves on to its next fire time.

The timing is APScheduler's (``CronTrigger.from_crontab``), not a parser of our own. A due
schedule is claimed like a job (``FOR UPDATE SKIP LOCKED`` on PostgreSQL and MariaDB, the write
lock of ``BEGIN IMMEDIATE`` on SQLite), and the job it queues carries the dedupe key
``<name>@<fire time>``, so two workers never queue one fire time twice. Fire times missed while
no worker ran are run once, not once each.
"""

from __future__ import annotations

import datetime as dt
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from soloist.domain.jobs.queue import enqueue_job
from soloist.errors import ConfigurationError
from soloist.storage.models import Job, JobSchedule

ONE_MICROSECOND = dt.timedelta(microseconds=1)


def next_fire_time(trigger: str, timezone: str, after: dt.datetime) -> dt.datetime | None:
    """The first time at or after ``after`` that the crontab expression ``trigger`` names, read
    in ``timezone``; in UTC (None when it never fires again)."""
    from apscheduler.triggers.cron import CronTrigger

    try:
        zone = ZoneInfo(timezone)
    except (ZoneInfoNotFoundError, ValueError) as exc:
        raise ConfigurationError(f"Unknown time zone {timezone!r} (the setting timezone).") from exc
    try:
        cron = CronTrigger.from_crontab(trigger, timezone=zone)
    except ValueError as exc:
        raise ConfigurationError(
            f"Not a crontab expression: {trigger!r} ({exc}); write five fields, "
            "minute hour day month weekday, such as '0 3 * * *' for 03:00 every day."
        ) from exc
    fire = cron.get_next_fire_time(None, after.astimezone(zone))
    return None if fire is None else fire.astimezone(dt.UTC)


def save_schedule(
    session: Session,
    name: str,
    kind: str,
    trigger: str,
    timezone: str,
    now: dt.datetime,
    payload: dict[str, Any] | None = None,
) -> JobSchedule | None:
    """Create or update the schedule ``name``; an empty ``trigger`` disables it.

    Its next fire time is worked out again when the trigger or the time zone changed (or it was
    off), so restarting a worker with the same settings keeps the time it had.
    """
    expression = " ".join(trigger.split())
    if expression:
        next_fire_time(expression, timezone, now)  # refuse a bad expression before writing
    schedule = session.scalar(select(JobSchedule).where(JobSchedule.name == name).with_for_update())
    if schedule is None:
        if not expression:
            return None
        schedule = JobSchedule(
            name=name,
            kind=kind,
            payload=dict(payload or {}),
            trigger=expression,
            timezone=timezone,
            enabled=True,
            next_run_at=next_fire_time(expression, timezone, now),
        )
        try:
            with session.begin_nested():
                session.add(schedule)
        except IntegrityError:  # another worker created it at the same moment
            return session.scalar(select(JobSchedule).where(JobSchedule.name == name))
        return schedule
    if not expression:
        schedule.enabled = False
        session.flush()
        return schedule
    changed = (schedule.trigger, schedule.timezone) != (expression, timezone)
    if changed or not schedule.enabled or schedule.next_run_at is None:
        schedule.next_run_at = next_fire_time(expression, timezone, now)
    schedule.kind, schedule.trigger, schedule.timezone = kind, expression, timezone
    schedule.payload = dict(payload or {})
    schedule.enabled = True
    session.flush()
    return schedule


def enqueue_due_jobs(session: Session, now: dt.datetime) -> list[Job]:
    """Queue one job for each enabled schedule that is due, and move each to its next fire
    time; schedules another worker is handling at this moment are skipped."""
    due = session.scalars(
        select(JobSchedule)
        .where(JobSchedule.enabled.is_(True), JobSchedule.next_run_at <= now)
        .order_by(JobSchedule.next_run_at, JobSchedule.id)
        .with_for_update(skip_locked=True)
    ).all()
    queued = []
    for schedule in due:
        fire = schedule.next_run_at
        assert fire is not None  # the query asked for a due time
        job = enqueue_job(
            session,
            schedule.kind,
            schedule.payload,
            dedupe_key=f"{schedule.name}@{fire.astimezone(dt.UTC):%Y-%m-%dT%H:%M:%SZ}",
            now=now,
        )
        if job is not None:
            queued.append(job)
        schedule.last_run_at = now
        schedule.next_run_at = next_fire_time(
            schedule.trigger, schedule.timezone, max(now, fire) + ONE_MICROSECOND
        )
    session.flush()
    return queued


def list_schedules(session: Session) -> list[JobSchedule]:
    return list(session.scalars(select(JobSchedule).order_by(JobSchedule.name)))
