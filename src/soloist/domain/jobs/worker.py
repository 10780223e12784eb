"""The worker: claims due jobs and runs them, queues the jobs of due schedules.

Like an interface, the worker owns its units of work: one transaction to claim a job, one to run
it (the handler's writes commit or roll back together), one to record how it ended. A handler
that raises rolls its writes back; the job is queued again after a back-off, or marked failed
after its last attempt. Several workers (threads or processes) can share one database.
"""

from __future__ import annotations

import datetime as dt
import logging
import math
import os
import random
import socket
import threading
import time
import traceback
import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from soloist.domain.jobs.handlers import (
    JobContext,
    JobHandler,
    JobRefusedError,
    UnknownJobKindError,
    default_handlers,
)
from soloist.domain.jobs.queue import (
    RETRY_BASE,
    RETRY_CAP,
    Clock,
    claim_job,
    enqueue_job,
    fail_job,
    finish_job,
)
from soloist.domain.jobs.schedules import enqueue_due_jobs, save_schedule

if TYPE_CHECKING:
    from soloist.domain.campaigns.sending import SendReport
from soloist.storage.database import Database
from soloist.storage.models import Job
from soloist.storage.types import utcnow

log = logging.getLogger("soloist.worker")

DEFAULT_LEASE = dt.timedelta(hours=1)
DEFAULT_POLL_SECONDS = 5.0
REPEAT_LOG_S = 3600.0
AUTOMATION_EVERY_S = 60.0  # journeys and A/B looks run at most once a minute
REFIT_SCHEDULE = "refit"
BACKUP_SCHEDULE = "backup"
RETENTION_SCHEDULE = "retention"
REPORT_SCHEDULE = "report"
LOYALTY_SCHEDULE = "loyalty"


@dataclass(frozen=True)
class JobOutcome:
    """How one run of a job ended: ``done``, ``queued`` (to be retried), ``failed`` or ``lost``
    (its lease expired and another worker holds it now)."""

    job_id: int
    kind: str
    attempt: int
    status: str
    error: str | None = None


def new_worker_id() -> str:
    return f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:6]}"


def enqueue(
    database: Database, kind: str, payload: dict[str, Any] | None = None, **options: Any
) -> Job:
    """Queue a job of a known kind now, in a transaction of its own (for the interfaces)."""
    handlers = options.pop("handlers", None) or default_handlers()
    if kind not in handlers:
        raise UnknownJobKindError(
            f"Unknown job kind {kind!r}; the worker knows {', '.join(sorted(handlers))}.",
            kind=kind,
        )
    with database.session() as session:
        job = enqueue_job(session, kind, payload, **options)
    assert job is not None  # only a dedupe key can make it None
    return job


class Worker:
    """Runs the jobs of one database.

    ``clock`` (a function returning an aware datetime) and ``rng`` are there for the tests;
    ``lease`` is how long a running job belongs to its worker before another may take it.
    """

    def __init__(
        self,
        database: Database,
        *,
        handlers: Mapping[str, JobHandler] | None = None,
        worker_id: str | None = None,
        clock: Clock = utcnow,
        lease: dt.timedelta = DEFAULT_LEASE,
        poll_seconds: float = DEFAULT_POLL_SECONDS,
        rng: random.Random | None = None,
        retry_base: dt.timedelta = RETRY_BASE,
        retry_cap: dt.timedelta = RETRY_CAP,
        send_campaigns: bool = True,
        campaign_slice_s: float = 30.0,
    ) -> None:
        self.database = database
        self.handlers = dict(default_handlers() if handlers is None else handlers)
        self.worker_id = worker_id or new_worker_id()
        self.clock = clock
        self.lease = lease
        self.poll_seconds = poll_seconds
        self.rng = rng or random.Random()
        self.retry_base, self.retry_cap = retry_base, retry_cap
        self.send_campaigns, self.campaign_slice_s = send_campaigns, campaign_slice_s
        self.campaign_reports: list[SendReport] = []
        self.automation_every_s = AUTOMATION_EVERY_S
        self._automation_at: float | None = None
        self._logged: dict[tuple[int, str], float] = {}

    def register_schedules(self) -> None:
        """Write the schedules the settings ask for (the nightly refit, the loyalty programme's
        daily jobs, the backups) into the database."""
        settings = self.database.settings
        with self.database.session() as session:
            save_schedule(
                session,
                REFIT_SCHEDULE,
                "refit",
                settings.refit_schedule,
                settings.timezone,
                self.clock(),
            )
            save_schedule(
                session,
                BACKUP_SCHEDULE,
                "backup",
                settings.backup_schedule,
                settings.timezone,
                self.clock(),
            )
            if "report" in self.handlers:  # given by the interfaces, which can render it
                save_schedule(
                    session,
                    REPORT_SCHEDULE,
                    "report",
                    settings.report_schedule,
                    settings.timezone,
                    self.clock(),
                )
            save_schedule(
                session,
                LOYALTY_SCHEDULE,
                "loyalty-daily",
                settings.loyalty_schedule,
                settings.timezone,
                self.clock(),
            )
            policy_set = settings.retention_inactive_years or settings.retention_message_days
            save_schedule(
                session,
                RETENTION_SCHEDULE,
                "retention",
                settings.retention_schedule if policy_set else "",
                settings.timezone,
                self.clock(),
            )

    def enqueue_due(self) -> int:
        """Queue the jobs of the schedules that are due; how many were queued."""
        with self.database.session() as session:
            return len(enqueue_due_jobs(session, self.clock()))

    def run_one(self) -> JobOutcome | None:
        """Claim one due job and run it; None when no job is due."""
        with self.database.session() as session:
            job = claim_job(session, self.worker_id, self.clock(), self.lease)
            if job is None:
                return None
            job_id, kind, attempt = job.id, job.kind, job.attempts
            payload = dict(job.payload or {})
        handler = self.handlers.get(kind)
        try:
            if handler is None:
                raise UnknownJobKindError(
                    f"No handler for job kind {kind!r}; this worker knows "
                    f"{', '.join(sorted(self.handlers)) or 'none'}."
                )
            with self.database.session() as session:
                context = JobContext(
                    session=session,
                    settings=self.database.settings,
                    job_id=job_id,
                    kind=kind,
                    payload=payload,
                    attempt=attempt,
                    worker_id=self.worker_id,
                    now=self.clock(),
                    database=self.database,
                )
                result = handler(context)
        except Exception as exc:
            return self._record_failure(job_id, kind, attempt, exc)
        with self.database.session() as session:
            held = finish_job(session, job_id, self.worker_id, self.clock(), result)
        return JobOutcome(job_id, kind, attempt, "done" if held else "lost")

    def _record_failure(self, job_id: int, kind: str, attempt: int, exc: Exception) -> JobOutcome:
        error = f"{type(exc).__name__}: {exc}"
        detail = error + "\n\n" + "".join(traceback.format_exception(exc))
        with self.database.session() as session:
            job = fail_job(
                session,
                job_id,
                self.worker_id,
                detail,
                self.clock(),
                permanent=isinstance(exc, JobRefusedError),
                rng=self.rng,
                base=self.retry_base,
                cap=self.retry_cap,
            )
            status = "lost" if job is None else job.status
        log.warning("job %s (%s) attempt %s: %s", job_id, kind, attempt, error)
        return JobOutcome(job_id, kind, attempt, status, error)

    def run_automations(self, *, force: bool = False) -> None:
        """Run the journeys (enter new occasions, act on due entries), take the A/B tests' due
        looks, run the task rules (SLA breaches too), send the due task reminders, file the
        support mailbox's new mail and remove the import wizard's abandoned uploads, at most once
        every ``automation_every_s`` (a minute) unless ``force``."""
        if not self.send_campaigns:
            return
        due = self._automation_at is None or (
            time.monotonic() - self._automation_at >= self.automation_every_s
        )
        if not (due or force):
            return
        self._automation_at = time.monotonic()
        from soloist.domain.campaigns.experiments import review_experiments
        from soloist.domain.imports.uploads import remove_abandoned_uploads
        from soloist.domain.journeys.runner import run_journeys
        from soloist.domain.sales import run_task_rules, send_due_reminders
        from soloist.domain.service import create_breach_tasks, poll_support_mailbox

        actor = f"worker:{self.worker_id}"
        steps = (run_journeys, review_experiments, run_task_rules, create_breach_tasks,
                 send_due_reminders, poll_support_mailbox, remove_abandoned_uploads)  # fmt: skip
        for step in steps:
            try:
                step(self.database, actor, self.clock())
            except Exception:  # one step's fault stops neither the other nor the jobs
                log.exception("%s failed; trying again in a minute", step.__name__)

    def send_due_campaigns(self, stop: threading.Event | None = None) -> list[SendReport]:
        """Send the campaigns that are due (sending, or scheduled for now), each for at most
        ``campaign_slice_s`` so that jobs get their turn; a send a crashed worker left is
        picked up here, at once (its sender lock died with it)."""
        if not self.send_campaigns:
            return []
        from soloist.domain.campaigns.sending import send_due_campaigns

        reports = send_due_campaigns(
            self.database,
            f"worker:{self.worker_id}",
            clock=self.clock,
            time_budget_s=self.campaign_slice_s,
            should_stop=None if stop is None else stop.is_set,
        )
        now = time.monotonic()
        for report in reports:
            for error in report.errors:
                # The same error (no SMTP settings yet) comes back every few seconds while
                # messages wait: it is logged once an hour, not every poll.
                key = (report.campaign_id, error)
                if now - self._logged.get(key, -math.inf) >= REPEAT_LOG_S:
                    self._logged[key] = now
                    log.warning("campaign %s: %s", report.campaign_id, error)
        return reports

    def run_pending(self, stop: threading.Event | None = None) -> list[JobOutcome]:
        """Queue what the schedules say is due, send due campaigns, then run due jobs until
        none is left (the campaign reports are kept in ``campaign_reports``)."""
        self.enqueue_due()
        self.run_automations()
        self.campaign_reports = self.send_due_campaigns(stop)
        outcomes = []
        while stop is None or not stop.is_set():
            outcome = self.run_one()
            if outcome is None:
                break
            outcomes.append(outcome)
        return outcomes

    def run_forever(self, stop: threading.Event) -> None:
        """Run due jobs, then wait ``poll_seconds`` for more, until ``stop`` is set. An error
        outside a job (the database went away) is logged and the loop goes on."""
        while not stop.is_set():
            try:
                ran = self.run_pending(stop)
            except Exception:
                log.exception("the worker could not reach its queue; trying again")
                ran = []
            progressed = any(r.sent or r.bounced or r.failed for r in self.campaign_reports)
            if not ran and not progressed:
                stop.wait(self.poll_seconds)


class BackgroundWorker:
    """A :class:`Worker` on a daemon thread, as ``soloist serve`` runs one."""

    def __init__(self, worker: Worker) -> None:
        self.worker = worker
        self.stop_event = threading.Event()
        self.thread = threading.Thread(
            target=worker.run_forever, args=(self.stop_event,), name="soloist-worker", daemon=True
        )

    def start(self) -> None:
        """Register the schedules (a bad one raises here, at start) and start the thread."""
        self.worker.register_schedules()
        self.thread.start()

    def stop(self, timeout: float = 10.0) -> bool:
        """Ask the thread to stop after its current job; True if it stopped within ``timeout``
        (a job still running then is run again by the next worker once its lease expires)."""
        self.stop_event.set()
        if self.thread.is_alive():
            self.thread.join(timeout)
        return not self.thread.is_alive()
