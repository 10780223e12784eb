"""The customer list (server-side search, filters, sorting, pages) and the customer 360."""

from __future__ import annotations

from decimal import Decimal, InvalidOperation
from typing import Annotated
from urllib.parse import urlencode

from fastapi import APIRouter, Query, Request
from starlette.responses import Response

from soloist.domain.customers import (
    SORTS,
    CustomerFilters,
    customer_overview,
    list_customers,
    segment_names,
)
from soloist.domain.feedback_text import customer_complaints
from soloist.domain.scoring import FEEDBACK_FEATURE
from soloist.money import decimal_to_minor, minor_to_decimal
from soloist.web.deals import customer_deals
from soloist.web.recommendations import offers_for
from soloist.web.rendering import is_htmx, render
from soloist.web.security import CurrentUser
from soloist.web.tasks import customer_tasks
from soloist.web.tickets import customer_tickets

router = APIRouter(include_in_schema=False)
PAGE_SIZE = 50


def _number(value: str | None) -> float | None:
    if not value:
        return None
    try:
        return float(value)
    except ValueError:
        return None


@router.get("/customers")
def customer_list(
    request: Request,
    user: CurrentUser,
    q: str | None = None,
    tag: str | None = None,
    segment: str | None = None,
    min_risk: str | None = None,
    min_clv: str | None = None,
    sort: str = "name",
    page: Annotated[int, Query(ge=1)] = 1,
) -> Response:
    settings = request.app.state.settings
    risk = _number(min_risk)
    if risk is not None and risk > 1:
        risk = risk / 100  # typed as a percentage
    clv_minor = None
    if min_clv:
        try:
            clv_minor = decimal_to_minor(Decimal(min_clv), settings.currency)
        except (InvalidOperation, ValueError):
            clv_minor = None
    filters = CustomerFilters(
        q=q or None,
        tag=tag or None,
        segment=segment or None,
        min_risk=risk if risk is None or 0 <= risk <= 1 else None,
        min_clv_minor=clv_minor,
        sort=sort if sort in SORTS else "name",
        limit=PAGE_SIZE,
        offset=(page - 1) * PAGE_SIZE,
    )
    with request.app.state.database.read_session() as session:
        rows, total = list_customers(session, filters)
        segments = segment_names(session) if not is_htmx(request) else []
    params = {
        k: v
        for k, v in {
            "q": q,
            "tag": tag,
            "segment": segment,
            "min_risk": min_risk,
            "min_clv": min_clv,
            "sort": filters.sort,
        }.items()
        if v
    }
    pages = max(1, -(-total // PAGE_SIZE))
    context = {
        "rows": rows,
        "total": total,
        "page": page,
        "pages": pages,
        "filters": params,
        "sorts": SORTS,
        "segments": segments,
        "query_for": lambda p: urlencode({**params, "page": p}),
        "to_major": minor_to_decimal,
    }
    template = "customers/_table.html" if is_htmx(request) else "customers/list.html"
    return render(request, template, context, user=user)


@router.get("/customers/{customer_id}")
def customer_page(request: Request, customer_id: int, user: CurrentUser) -> Response:
    with request.app.state.database.read_session() as session:
        view = customer_overview(session, customer_id)
        tags = view.customer.tag_names
        tickets = customer_tickets(request, session, customer_id)
        deals = customer_deals(request, session, customer_id)
        tasks = customer_tasks(request, session, customer_id)
        recommendations = offers_for(session, customer_id)
        said_negative = view.scores is not None and any(
            r.feature == FEEDBACK_FEATURE for r in view.scores.reasons.get("churn", [])
        )
        complaints = customer_complaints(session, customer_id) if said_negative else []
    return render(
        request,
        "customers/detail.html",
        {
            "view": view,
            "c": view.customer,
            "tags": tags,
            "tickets": tickets,
            "deals": deals,
            "tasks": tasks,
            "recommendations": recommendations,
            "complaints": complaints,
            "to_major": minor_to_decimal,
        },
        user=user,
    )
