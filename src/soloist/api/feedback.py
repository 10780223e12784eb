"""/api/v1/feedback: CSAT / NPS / CES answers and product reviews, newest first."""

from __future__ import annotations

import datetime as dt
from typing import Annotated

from fastapi import APIRouter, Query
from pydantic import BaseModel, ConfigDict

from soloist.api.deps import Reader, ReadSession
from soloist.domain.feedback import list_feedback

router = APIRouter(prefix="/api/v1/feedback", tags=["feedback"])


class FeedbackPublic(BaseModel):
    id: int
    type: str  # survey | review
    kind: str  # csat | nps | ces | review
    score: int
    customer_id: int | None
    comment: str | None
    title: str | None = None
    language: str | None
    at: dt.datetime

    model_config = ConfigDict(from_attributes=True)


class FeedbackPage(BaseModel):
    items: list[FeedbackPublic]
    total: int
    limit: int
    offset: int


@router.get("", response_model=FeedbackPage)
def read_feedback(
    session: ReadSession,
    _: Reader,
    kind: Annotated[str | None, Query(description="csat, nps, ces or review.")] = None,
    customer_id: Annotated[int | None, Query(description="Only this customer's.")] = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
    offset: Annotated[int, Query(ge=0)] = 0,
) -> FeedbackPage:
    """Survey answers (score on the survey's scale) and reviews (1–5 stars) together."""
    items, total = list_feedback(
        session, kind=kind, customer_id=customer_id, limit=limit, offset=offset
    )
    return FeedbackPage(
        items=[FeedbackPublic.model_validate(i) for i in items],
        total=total,
        limit=limit,
        offset=offset,
    )
