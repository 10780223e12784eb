"""The feedback page: what customers wrote, how they felt, and what the unhappy ones talk
about, month by month and per segment (the analysis is soloist.domain.feedback_text's)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Request
from starlette.responses import Response

from soloist.domain.feedback_text import current_feedback_analysis
from soloist.web.charts import line_chart
from soloist.web.rendering import FIRST_FIGURES_WAIT_SECONDS, render, render_pending, wording
from soloist.web.security import CurrentUser

router = APIRouter(include_in_schema=False)


@router.get("/feedback")
def feedback_page(
    request: Request,
    user: CurrentUser,
    months: Annotated[int, Query(ge=1, le=36)] = 6,
) -> Response:
    with request.app.state.database.read_session() as session:
        analysis, stale = current_feedback_analysis(
            session, months=months, wait=FIRST_FIGURES_WAIT_SECONDS
        )
    words = wording(request, user)
    if analysis is None:
        return render_pending(request, words._("What customers say"), user=user)
    trend = line_chart(
        words._("Mean sentiment by month"),
        [m.month for m in analysis.months],
        [m.mean_sentiment for m in analysis.months],
        lambda v: words.fmt.number(v, 2),
        low=-1.0,
        high=1.0,
    )
    return render(
        request,
        "feedback.html",
        {"analysis": analysis, "months": months, "trend": trend, "stale": stale},
        user=user,
    )
