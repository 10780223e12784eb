"""Segments: the scored segments of the latest analysis and the saved segments, with sizes, and
what the latest segmentation's data cannot support."""

from __future__ import annotations

import math
from typing import Any

from fastapi import APIRouter, Request
from starlette.responses import Response

from soloist.domain.dashboard import dashboard
from soloist.domain.scoring import latest_run
from soloist.money import minor_to_decimal
from soloist.web.rendering import render, wording
from soloist.web.security import CurrentUser

router = APIRouter(include_in_schema=False)


def segment_warnings(warnings: list[dict[str, Any]], words: Any) -> list[str]:
    """The segmentation run's caveats (soloist.analytics.segmentation.rfm_caveats) in the
    page's language; a caveat this page does not know keeps its English text."""
    _, fmt = words._, words.fmt
    shown = []
    for warning in warnings:
        # rounded down, as the English text: 99.95 % of one-time buyers is not "100%"
        share = fmt.percent(math.floor(100.0 * float(warning.get("share") or 0.0) + 1e-9) / 100, 0)
        if warning.get("code") == "one_time_buyers":
            shown.append(
                _(
                    "%(share)s of the customers bought only once: frequency cannot tell them "
                    "apart, so these segments rest on recency and spend, and no one-time buyer "
                    "is called a champion, loyal, a potential loyalist or can't lose."
                )
                % {"share": share}
            )
        elif warning.get("code") == "same_frequency":
            days = round(float(warning.get("value") or 0))
            shown.append(
                words.ngettext(
                    "%(share)s of the customers bought on %(num)s day: frequency cannot tell "
                    "them apart, so these segments rest on recency and spend.",
                    "%(share)s of the customers bought on %(num)s days: frequency cannot tell "
                    "them apart, so these segments rest on recency and spend.",
                    days,
                )
                % {"share": share, "num": fmt.number(days)}
            )
        else:
            shown.append(str(warning.get("text", "")))
    return shown


@router.get("/segments")
def segment_page(request: Request, user: CurrentUser) -> Response:
    currency = request.app.state.settings.currency
    with request.app.state.database.read_session() as session:
        board = dashboard(session, currency, request.app.state.database)
        run = latest_run(session, "segments")
        warnings = list(((run.metrics or {}).get("warnings") or []) if run is not None else [])
    total = sum(s.customers for s in board.segments if s.kind == "scored") or 0
    return render(
        request,
        "segments.html",
        {
            "board": board,
            "segments": board.segments,
            "total": total,
            "to_major": minor_to_decimal,
            "warnings": segment_warnings(warnings, wording(request, user)),
        },
        user=user,
    )
