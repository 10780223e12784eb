"""The dashboard: revenue, customers, CLV, NPS/CSAT, retention, cohorts, segments, at-risk."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import Any

from fastapi import APIRouter, Request
from starlette.responses import Response

from soloist.domain.dashboard import Dashboard, dashboard_within
from soloist.domain.service import sla_summary
from soloist.money import minor_to_decimal
from soloist.web.rendering import FIRST_FIGURES_WAIT_SECONDS, render, render_pending, wording
from soloist.web.security import CurrentUser
from soloist.web.tasks import today_tasks

router = APIRouter(include_in_schema=False)


def chart_data(board: Dashboard, segment_label: Callable[[str, str], str]) -> dict[str, Any]:
    """What the charts draw, as plain numbers in major units (the page embeds it as JSON);
    ``segment_label(name, kind)`` is a segment's name in the page's language."""
    currency = board.currency
    return {
        "revenue": {
            "labels": [m.month for m in board.revenue_trend],
            "values": [
                float(minor_to_decimal(m.revenue_minor, currency)) for m in board.revenue_trend
            ],
            # a month the data end inside of: drawn dashed and lighter, with a note
            "partial": [m.partial for m in board.revenue_trend],
        },
        "segments": {
            "labels": [segment_label(s.name, s.kind) for s in board.segments],
            "customers": [s.customers for s in board.segments],
            "value": [float(minor_to_decimal(s.clv_minor or 0, currency)) for s in board.segments],
        },
    }


def heat(value: float | None) -> str:
    """A background colour for a cohort cell: deeper blue for higher retention."""
    if value is None:
        return "transparent"
    return f"rgba(37, 99, 235, {0.08 + 0.85 * max(0.0, min(1.0, value)):.2f})"


@router.get("/")
def show_dashboard(request: Request, user: CurrentUser) -> Response:
    database = request.app.state.database
    currency = request.app.state.settings.currency
    with database.read_session() as session:
        board = dashboard_within(session, currency, database, FIRST_FIGURES_WAIT_SECONDS)
        if board is None:
            return render_pending(request, wording(request, user)._("Dashboard"), user=user)
        support = sla_summary(session, dt.datetime.now(dt.UTC))  # the breach warning
        today, today_total = today_tasks(request, session)  # the "Today" card
    return render(
        request,
        "dashboard.html",
        {
            "board": board,
            "support": support,
            "today_tasks": today,
            "today_total": today_total,
            "charts": chart_data(board, wording(request, user).segment),
            "heat": heat,
            "to_major": minor_to_decimal,
        },
        user=user,
    )
