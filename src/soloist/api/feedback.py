"""/api/v1/feedback: CSAT / NPS / CES answers and product reviews, newest first."""

from __future__ import annotations

import datetime as dt
from typing import Annotated

from fastapi import APIRouter, Query
from pydantic import BaseModel

from soloist.api.deps import Reader, ReadSession
from soloist.domain.feedback import list_feedback
from soloist.storage.models import Review, SurveyResponse

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

    @classmethod
    def of(cls, item: SurveyResponse | Review) -> FeedbackPublic:
        if isinstance(item, Review):
            return cls(
                id=item.id,
                type="review",
                kind="review",
                score=item.rating,
                customer_id=item.customer_id,
                comment=item.body,
                title=item.title,
                language=item.language,
                at=item.published_at,
            )
        return cls(
            id=item.id,
            type="survey",
            kind=item.kind,
            score=item.score,
            customer_id=item.customer_id,
            comment=item.comment,
            language=item.language,
            at=item.responded_at,
        )


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
        items=[FeedbackPublic.of(i) for i in items], total=total, limit=limit, offset=offset
    )
