"""Segments: the scored segments of the latest analysis and the saved segments, with sizes."""

from __future__ import annotations

from fastapi import APIRouter, Request
from starlette.responses import Response

from soloist.domain.dashboard import dashboard
from soloist.money import minor_to_decimal
from soloist.web.rendering import render
from soloist.web.security import CurrentUser

router = APIRouter(include_in_schema=False)


@router.get("/segments")
def segment_page(request: Request, user: CurrentUser) -> Response:
    currency = request.app.state.settings.currency
    with request.app.state.database.read_session() as session:
        board = dashboard(session, currency, request.app.state.database)
    total = sum(s.customers for s in board.segments if s.kind == "scored") or 0
    return render(
        request,
        "segments.html",
        {"board": board, "segments": board.segments, "total": total, "to_major": minor_to_decimal},
        user=user,
    )
