"""/api/v1/status and the unauthenticated health check."""

from __future__ import annotations

from fastapi import APIRouter, Request
from pydantic import BaseModel, Field

from soloist.api.deps import Reader, ReadSession
from soloist.domain.caches import computations_under_way
from soloist.domain.status import workspace_status

router = APIRouter(tags=["status"])


class ModelRunBrief(BaseModel):
    id: int
    kind: str
    status: str


class RevenuePart(BaseModel):
    """The paid orders in one currency."""

    currency: str
    orders: int
    amount: str = Field(description="Their sum, in this currency.")
    rate: str | None = Field(
        description="1 unit is worth this much of the workspace currency (1 for its own); "
        "null without a rate."
    )
    converted: str | None = Field(description="The sum in the workspace currency; null: no rate.")


class StatusPublic(BaseModel):
    """Counts of every kind of record and the paid revenue (decimal strings)."""

    customers: int = Field(description="Active customers.")
    orders: int
    order_lines: int
    revenue: str = Field(
        description="Paid orders in the workspace's currency, other currencies at its rates."
    )
    currency: str
    revenue_by_currency: dict[str, str] = Field(description="Paid orders per currency.")
    revenue_parts: list[RevenuePart]
    rates: dict[str, str] = Field(description="The exchange rates used (soloist rates).")
    unconverted: list[str] = Field(
        description="Currencies with paid orders and no rate, left out of `revenue`."
    )
    warnings: list[str] = Field(description="What the revenue leaves out, and what to do.")
    paid_orders: int
    refunded_orders: int
    cancelled_orders: int
    products: int
    subscriptions: int
    active_subscriptions: int
    interactions: int
    survey_responses: int
    reviews: int
    tickets: int
    open_tickets: int
    first_order_at: str | None = Field(description="ISO 8601, or null without orders.")
    last_order_at: str | None = Field(description="ISO 8601, or null without orders.")
    latest_model_run: ModelRunBrief | None
    computing: list[str] = Field(
        description="Figures this server is working out in the background right now (after a "
        "start, or after the data changed): the names of their caches. Empty when every "
        "figure it holds is current."
    )


class Health(BaseModel):
    status: str


@router.get("/api/v1/status", response_model=StatusPublic)
def get_status(request: Request, session: ReadSession, _: Reader) -> StatusPublic:
    """The same counts and revenue as `soloist status --json`."""
    settings = request.app.state.settings
    found = workspace_status(session, settings.currency, settings.rates)
    return StatusPublic.model_validate({**found, "computing": computations_under_way()})


@router.get("/healthz", include_in_schema=False)
def health() -> Health:
    """Always ``{"status": "ok"}`` while the process serves requests (no credentials needed)."""
    return Health(status="ok")
