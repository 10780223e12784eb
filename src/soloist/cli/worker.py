"""``soloist worker``: run background jobs and the nightly refit; list and queue jobs."""

from __future__ import annotations

import json
import signal
import threading
from typing import TYPE_CHECKING, Annotated, Any

import typer
from rich.table import Table

from soloist.cli.common import Common, err, out, print_json, shared_options
from soloist.errors import ValidationError

if TYPE_CHECKING:
    from soloist.storage.models import Job

worker_app = typer.Typer(
    help="The background worker: runs queued jobs and the nightly refit of the analyses.",
    invoke_without_command=True,
)


def _job_dict(job: Job) -> dict[str, Any]:
    return {
        "id": job.id,
        "kind": job.kind,
        "status": job.status,
        "attempts": job.attempts,
        "max_attempts": job.max_attempts,
        "payload": job.payload,
        "run_after": job.run_after.isoformat(),
        "created_at": job.created_at.isoformat(),
        "finished_at": job.finished_at.isoformat() if job.finished_at else None,
        "locked_by": job.locked_by,
        "last_error": job.last_error,
        "result": job.result,
    }


@worker_app.callback()
@shared_options
def worker(
    common: Common,
    ctx: typer.Context,
    once: Annotated[
        bool, typer.Option("--once", help="Run what is due now (jobs and schedules), then exit.")
    ] = False,
    poll: Annotated[
        float, typer.Option(help="Seconds to wait for new jobs when none is due.", min=0.1)
    ] = 5.0,
) -> None:
    """Run queued jobs and the schedules (the nightly refit) until Ctrl-C or SIGTERM; the job
    running then is finished first."""
    if ctx.invoked_subcommand is not None:
        return
    from soloist.app import worker_handlers
    from soloist.domain.jobs import Worker

    with common.open_database() as database:
        runner = Worker(database, poll_seconds=poll, handlers=worker_handlers())
        runner.register_schedules()
        if once:
            outcomes = runner.run_pending()
            campaigns = runner.campaign_reports
            if common.json:
                print_json([o.__dict__ for o in outcomes])
                return
            for report in campaigns:
                note = f": {'; '.join(report.errors)}" if report.errors else ""
                out.print(
                    f"Campaign {report.campaign_id}: {report.sent} sent, now {report.status}{note}"
                )
            for o in outcomes:
                note = f": {o.error}" if o.error else ""
                out.print(f"Job {o.job_id} ({o.kind}), attempt {o.attempt}: {o.status}{note}")
            if not outcomes and not campaigns:
                out.print("No job was due.")
            return
        stop = threading.Event()

        def _stop(signum: int, _frame: object) -> None:
            err.print(f"Stopping after the current job ({signal.Signals(signum).name})…")
            stop.set()

        previous = {s: signal.signal(s, _stop) for s in (signal.SIGINT, signal.SIGTERM)}
        err.print(f"Worker {runner.worker_id} is running; Ctrl-C stops it.")
        try:
            runner.run_forever(stop)
        finally:
            for number, handler in previous.items():
                signal.signal(number, handler)


@worker_app.command("jobs")
@shared_options
def list_jobs_command(
    common: Common,
    status: Annotated[
        str | None, typer.Option(help="Only jobs of this status: queued, running, done, failed.")
    ] = None,
    limit: Annotated[int, typer.Option(help="How many of the newest jobs.", min=1)] = 50,
) -> None:
    """List the newest jobs, with the error of each failed one."""
    from soloist.domain.jobs import list_jobs

    with common.open_database() as database, database.read_session() as session:
        rows = [_job_dict(job) for job in list_jobs(session, status, limit)]
    if common.json:
        print_json(rows)
        return
    if not rows:
        out.print("No jobs.")
        return
    table = Table(title="Jobs")
    for column in ("id", "kind", "status", "attempts", "created", "finished", "error"):
        table.add_column(column)
    for row in rows:
        error = (row["last_error"] or "").split("\n", 1)[0]
        table.add_row(
            str(row["id"]),
            row["kind"],
            row["status"],
            f"{row['attempts']}/{row['max_attempts']}",
            row["created_at"][:19],
            (row["finished_at"] or "")[:19],
            error,
        )
    out.print(table)


@worker_app.command("enqueue")
@shared_options
def enqueue_command(
    common: Common,
    kind: Annotated[str, typer.Argument(help="What to do, such as refit.")],
    payload: Annotated[
        str | None,
        typer.Option(help="Options of the job as a JSON object: '{\"clv_only\": true}'."),
    ] = None,
) -> None:
    """Queue a job now (such as a refit); a running worker picks it up."""
    from soloist.app import worker_handlers
    from soloist.domain.jobs import enqueue

    try:
        options = json.loads(payload) if payload else {}
    except json.JSONDecodeError as exc:
        raise ValidationError(f"--payload is not JSON: {exc}", field="payload") from exc
    if not isinstance(options, dict):
        raise ValidationError("--payload must be a JSON object.", field="payload")
    with common.open_database() as database:
        job = enqueue(database, kind, options, handlers=worker_handlers())
    if common.json:
        print_json(_job_dict(job))
        return
    out.print(f"Queued job {job.id} ({job.kind}); `soloist worker` runs it.")
