"""Models: the latest CLV analysis, which purchase model was kept and why, and how every
candidate predicted the holdout (what `soloist analyze` prints)."""

from __future__ import annotations

from fastapi import APIRouter, Request
from starlette.responses import Response

from soloist.domain.scoring import latest_run
from soloist.web.rendering import render
from soloist.web.security import CurrentUser

router = APIRouter(include_in_schema=False)


@router.get("/models")
def models_page(request: Request, user: CurrentUser) -> Response:
    with request.app.state.database.read_session() as session:
        run = latest_run(session, "clv")
    return render(request, "models.html", {"run": run}, user=user)
