"""What each kind of job does: a small registry of handlers by kind (like Healthchecks'
transports), and the built-in kinds ``refit`` and ``loyalty-sync``.

A handler is a function of a :class:`JobContext` that returns a JSON-able summary (kept on the
job as its result) or None. It runs inside the transaction the worker opened for it and must
not commit; it may run more than once for one job (execution is at least once), so it must be
idempotent: a second run must leave things as one run would (a refit stores a new model run,
which is harmless). Raising :class:`JobRefusedError` fails the job at once, without retries.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any, Protocol

from sqlalchemy import select
from sqlalchemy.orm import Session

from soloist.config import Settings
from soloist.errors import AnalyticsInputError, SoloistError, ValidationError
from soloist.storage.database import Database
from soloist.storage.models import Order, Subscription
from soloist.storage.planner import refresh_statistics


class JobRefusedError(SoloistError):
    """A job that cannot succeed however often it is tried (bad payload, nothing to do it on)."""

    code = "job_refused"
    http_status = 422


class UnknownJobKindError(JobRefusedError):
    """No handler is registered for the job's kind."""


@dataclass(frozen=True)
class JobContext:
    """What a handler gets: the session of its transaction, the workspace settings, the job."""

    session: Session
    settings: Settings
    job_id: int
    kind: str
    payload: dict[str, Any]
    attempt: int
    worker_id: str
    now: dt.datetime
    # For a handler that must not hold the write lock while it works (the refit): it reads and
    # computes in sessions of its own and writes in short transactions. ``session`` stays
    # unused then, and takes no lock (a session begins its transaction at its first statement).
    database: Database | None = None

    @property
    def actor(self) -> str:
        """Who the audit log says did it."""
        return f"worker:{self.worker_id}"


class JobHandler(Protocol):
    def __call__(self, context: JobContext, /) -> dict[str, Any] | None: ...


def refit_workspace(context: JobContext) -> dict[str, Any]:
    """Refit what ``soloist analyze`` fits: the CLV models, then the segments and the churn
    risk (``{"clv_only": true}`` stops after the CLV models; ``model`` and ``holdout_days`` as
    the command's options)."""
    from soloist.domain.scoring.clv import AnalyzeOptions
    from soloist.domain.scoring.refit import run_analyses

    session, currency, payload = context.session, context.settings.currency, context.payload
    database, actor = context.database, context.actor
    counted = sorted({currency, *context.settings.rates})
    paid = select(Order.id).where(Order.status == "paid", Order.currency.in_(counted)).limit(1)
    booked = select(Subscription.id).where(Subscription.currency == currency).limit(1)
    if database is None:
        has_data = session.scalar(paid) or session.scalar(booked)
    else:  # not through ``session``: its first statement would take SQLite's write lock
        with database.read_session() as reader:
            has_data = reader.scalar(paid) or reader.scalar(booked)
    if has_data is None:
        return {"skipped": f"no paid orders and no subscriptions in {currency} to analyse"}
    if database is not None:  # the day's new rows, for SQLite's planner
        with database.session() as writer:
            refresh_statistics(writer)
    model, holdout_days = payload.get("model"), payload.get("holdout_days")
    try:
        options = AnalyzeOptions(
            model=None if model in (None, "auto") else str(model),
            holdout_days=None if holdout_days is None else int(holdout_days),
            rates=context.settings.rates,
        )
        # Without the database (a bare session) everything goes through ``session``; with it,
        # each analysis reads with no write lock held and writes in a short transaction.
        analyses = run_analyses(
            database,
            currency,
            actor,
            options,
            clv_only=bool(payload.get("clv_only", False)),
            session=session,
        )
    except (ValidationError, AnalyticsInputError, TypeError, ValueError) as exc:
        # The data or the options do not allow a fit: trying again at once will not help.
        raise JobRefusedError(f"The refit cannot run: {exc}") from exc
    runs = [{"id": analyses.clv.id, "kind": analyses.clv.kind, "status": analyses.clv.status}]
    return {"model_runs": runs + analyses.followed_by}


def sync_loyalty_points(context: JobContext) -> dict[str, Any]:
    """Settle the points of orders that arrived in bulk (an import queues this job): what
    ``soloist loyalty sync`` does, in the background, so a large import commits at once."""
    from soloist.domain.loyalty.order_points import sync_order_points

    result = sync_order_points(context.session, context.actor)
    return {"earned": result.earned, "reversed": result.reversed}


def run_loyalty_jobs(context: JobContext) -> dict[str, Any]:
    """The loyalty programme's daily jobs (``loyalty_schedule``): today's birthday bonuses, the
    expiry job and the tier review, each batch of members in a transaction of its own."""
    from soloist.domain.loyalty.daily import run_daily_loyalty

    if context.database is None:
        raise JobRefusedError("The loyalty jobs need the workspace's database.")
    return run_daily_loyalty(context.database, context.now).to_dict()


def send_ticket_reply(context: JobContext) -> dict[str, Any]:
    """Mail a staff reply to the ticket's customer (see :mod:`soloist.domain.service.mail`)."""
    from soloist.domain.service.mail import send_reply

    return send_reply(context)


def send_survey(context: JobContext) -> dict[str, Any]:
    """Mail a survey link (``survey-send``: the CSAT survey of a resolved ticket); a link for the
    same occasion that went out already means nothing is sent again."""
    from soloist.domain.surveys.sending import run_survey_send_job

    return run_survey_send_job(context)


def write_backup(context: JobContext) -> dict[str, Any]:
    """The scheduled backup (``backup_schedule``): read in a snapshot of its own, never in the
    job's write transaction, so writers go on meanwhile; the oldest beyond ``backup_keep`` go."""
    from soloist.domain.backups.operations import scheduled_backup

    if context.database is None:
        raise JobRefusedError("A backup needs the workspace's database.")
    try:
        return scheduled_backup(context.database, context.now)
    except ValidationError as exc:
        raise JobRefusedError(f"The backup cannot run: {exc.message}") from exc


def apply_retention(context: JobContext) -> dict[str, Any]:
    """The retention policy (``retention_schedule``): a policy seen for the first time is only
    previewed (a dry run in the job's result and the audit log); it is applied from the next
    run on. Works in transactions of its own, erasing a hundred customers at a time."""
    from soloist.domain.privacy.retention import run_retention

    if context.database is None:
        raise JobRefusedError("The retention policy needs the workspace's database.")
    try:
        return run_retention(context.database, context.actor, context.now, apply=None)
    except ValidationError as exc:
        raise JobRefusedError(f"The retention policy cannot run: {exc.message}") from exc


def default_handlers() -> dict[str, JobHandler]:
    """The built-in kinds: a fresh dict, so a caller may add kinds of its own."""
    return {
        "refit": refit_workspace,
        "loyalty-sync": sync_loyalty_points,
        "loyalty-daily": run_loyalty_jobs,
        "ticket-reply": send_ticket_reply,
        "survey-send": send_survey,
        "backup": write_backup,
        "retention": apply_retention,
    }


JOB_KINDS = tuple(default_handlers())
