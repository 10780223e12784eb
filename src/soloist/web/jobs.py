"""Background jobs: the newest jobs of the worker's queue, the failed ones with their errors."""

from __future__ import annotations

from fastapi import APIRouter, Request
from starlette.responses import Response

from soloist.domain.jobs import count_jobs, list_jobs, list_schedules
from soloist.web.rendering import render
from soloist.web.security import WriterUser

router = APIRouter(include_in_schema=False)


@router.get("/jobs")
def jobs_page(request: Request, user: WriterUser) -> Response:
    with request.app.state.database.read_session() as session:
        counts = count_jobs(session)
        recent = list_jobs(session, limit=50)
        failures = list_jobs(session, "failed", limit=20)
        schedules = list_schedules(session)
    return render(
        request,
        "jobs.html",
        {"counts": counts, "jobs": recent, "failures": failures, "schedules": schedules},
        user=user,
    )
