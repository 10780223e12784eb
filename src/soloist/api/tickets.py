"""/api/v1/tickets: support tickets with their status and SLA times."""

from __future__ import annotations

import datetime as dt
from typing import Annotated

from fastapi import APIRouter, Query
from pydantic import BaseModel, ConfigDict

from soloist.api.deps import Reader, ReadSession
from soloist.domain.tickets import list_tickets

router = APIRouter(prefix="/api/v1/tickets", tags=["tickets"])


class TicketPublic(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    customer_id: int | None
    subject: str
    status: str
    priority: str
    channel: str | None
    category: str | None
    opened_at: dt.datetime
    first_response_at: dt.datetime | None
    resolved_at: dt.datetime | None
    resolution_due_at: dt.datetime | None


class TicketPage(BaseModel):
    items: list[TicketPublic]
    total: int
    limit: int
    offset: int


@router.get("", response_model=TicketPage)
def read_tickets(
    session: ReadSession,
    _: Reader,
    status: Annotated[str | None, Query(description="new, open, pending, resolved, closed")] = None,
    priority: Annotated[str | None, Query(description="low, normal, high, urgent")] = None,
    customer_id: Annotated[int | None, Query(description="Only this customer's.")] = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
    offset: Annotated[int, Query(ge=0)] = 0,
) -> TicketPage:
    """Tickets, newest first."""
    items, total = list_tickets(
        session,
        customer_id=customer_id,
        status=status,
        priority=priority,
        limit=limit,
        offset=offset,
    )
    return TicketPage(
        items=[TicketPublic.model_validate(t) for t in items],
        total=total,
        limit=limit,
        offset=offset,
    )
