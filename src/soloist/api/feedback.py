"""/api/v1/feedback: CSAT / NPS / CES answers and product reviews, newest first; new ones
posted by other systems (write tokens)."""

from __future__ import annotations

import datetime as dt
from typing import Annotated

from fastapi import APIRouter, Query, status
from pydantic import BaseModel, ConfigDict

from soloist.api.deps import Reader, ReadSession, Writer, WriteSession
from soloist.domain.feedback import list_feedback
from soloist.domain.feedback_text import score_texts
from soloist.domain.intake import FeedbackIn, record_feedback

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
    # in [−1, 1], above 0 positive; by the workspace's scorer (soloist feedback analyze says
    # which); None when there is no text
    sentiment: float | None = None

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
    published = [FeedbackPublic.model_validate(i) for i in items]
    scores = score_texts(session, [_text_of(i) for i in published])
    return FeedbackPage(
        items=[
            i.model_copy(update={"sentiment": s}) for i, s in zip(published, scores, strict=True)
        ],
        total=total,
        limit=limit,
        offset=offset,
    )


@router.post("", response_model=FeedbackPublic, status_code=status.HTTP_201_CREATED)
def post_feedback(data: FeedbackIn, session: WriteSession, who: Writer) -> FeedbackPublic:
    """Record a CSAT / NPS / CES answer or a review; the score must lie on the survey's scale.

    A member's review earns the programme's review bonus at once.
    """
    item = FeedbackPublic.model_validate(record_feedback(session, data, who.actor))
    return item.model_copy(update={"sentiment": score_texts(session, [_text_of(item)])[0]})


def _text_of(item: FeedbackPublic) -> str | None:
    return " ".join(part for part in (item.title, item.comment) if part) or None
