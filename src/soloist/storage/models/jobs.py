"""Background jobs and the schedules that enqueue them: the worker's queue lives in the database,
so a queued job survives a restart and several workers can share one queue."""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import JSON, Boolean, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from soloist.storage.models.base import Base, IdMixin
from soloist.storage.types import utcnow

JOB_STATUSES = ("queued", "running", "done", "failed")


class Job(IdMixin, Base):
    """One piece of background work: what to do (``kind`` and ``payload``), when it may run, who
    runs it now, and how its attempts went."""

    __tablename__ = "jobs"

    kind: Mapped[str] = mapped_column(String(64))
    payload: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    status: Mapped[str] = mapped_column(String(16), default="queued")
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    max_attempts: Mapped[int] = mapped_column(Integer, default=5)
    run_after: Mapped[dt.datetime] = mapped_column(default=utcnow)
    locked_by: Mapped[str | None] = mapped_column(String(128))
    locked_at: Mapped[dt.datetime | None] = mapped_column()
    last_error: Mapped[str | None] = mapped_column(Text)
    result: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    # A job enqueued twice under one key is enqueued once (a schedule's name and fire time).
    dedupe_key: Mapped[str | None] = mapped_column(String(191), unique=True)
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    started_at: Mapped[dt.datetime | None] = mapped_column()
    finished_at: Mapped[dt.datetime | None] = mapped_column()

    __table_args__ = (
        # The claim: the oldest due job of a status.
        Index("ix_jobs_status_run_after", "status", "run_after"),
    )


class JobSchedule(IdMixin, Base):
    """A recurring job: a crontab expression in a time zone, and when it next fires."""

    __tablename__ = "job_schedules"

    name: Mapped[str] = mapped_column(String(64), unique=True)
    kind: Mapped[str] = mapped_column(String(64))
    payload: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    trigger: Mapped[str] = mapped_column(String(255))
    timezone: Mapped[str] = mapped_column(String(64), default="UTC")
    enabled: Mapped[bool] = mapped_column(Boolean, default=True)
    next_run_at: Mapped[dt.datetime | None] = mapped_column()
    last_run_at: Mapped[dt.datetime | None] = mapped_column()
