"""Background work: a durable job queue in the workspace database, recurring schedules, and the
worker that runs both.

The interfaces import from here: ``queue`` (enqueue, claim, finish, fail, list), ``schedules``
(crontab schedules through APScheduler's triggers), ``handlers`` (the registry of job kinds and
the built-in ``refit``) and ``worker`` (the loop and its background thread).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from soloist.domain._lazy import lazy_face

if TYPE_CHECKING:
    from soloist.domain.jobs.handlers import (
        JOB_KINDS,
        JobContext,
        JobHandler,
        JobRefusedError,
        UnknownJobKindError,
        default_handlers,
        refit_workspace,
    )
    from soloist.domain.jobs.queue import (
        count_jobs,
        enqueue_job,
        list_jobs,
        retry_delay,
    )
    from soloist.domain.jobs.schedules import (
        enqueue_due_jobs,
        list_schedules,
        next_fire_time,
        save_schedule,
    )
    from soloist.domain.jobs.worker import BackgroundWorker, JobOutcome, Worker, enqueue

_MODULE_OF = {
    "BackgroundWorker": "worker",
    "JOB_KINDS": "handlers",
    "JobContext": "handlers",
    "JobHandler": "handlers",
    "JobOutcome": "worker",
    "JobRefusedError": "handlers",
    "UnknownJobKindError": "handlers",
    "Worker": "worker",
    "count_jobs": "queue",
    "default_handlers": "handlers",
    "enqueue": "worker",
    "enqueue_due_jobs": "schedules",
    "enqueue_job": "queue",
    "list_jobs": "queue",
    "list_schedules": "schedules",
    "next_fire_time": "schedules",
    "refit_workspace": "handlers",
    "retry_delay": "queue",
    "save_schedule": "schedules",
}
__all__ = [
    "JOB_KINDS",
    "BackgroundWorker",
    "JobContext",
    "JobHandler",
    "JobOutcome",
    "JobRefusedError",
    "UnknownJobKindError",
    "Worker",
    "count_jobs",
    "default_handlers",
    "enqueue",
    "enqueue_due_jobs",
    "enqueue_job",
    "list_jobs",
    "list_schedules",
    "next_fire_time",
    "refit_workspace",
    "retry_delay",
    "save_schedule",
]
__getattr__, __dir__ = lazy_face(__name__, _MODULE_OF, globals())
