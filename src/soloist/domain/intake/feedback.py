"""Feedback arriving live: a survey answer or a review, and the review bonus it earns."""

from __future__ import annotations

import datetime as dt
from typing import Literal

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field
from sqlalchemy.orm import Session

from soloist.domain.customers.records import get_customer
from soloist.domain.feedback import FeedbackItem, add_review, record_survey_response
from soloist.domain.loyalty.programme import award_bonus
from soloist.errors import NotFoundError
from soloist.storage.models import Order


class FeedbackIn(BaseModel):
    """A CSAT, NPS or CES answer (``score`` on the survey's scale) or a review (1-5 stars)."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    kind: Literal["csat", "nps", "ces", "review"]
    score: int = Field(ge=0, le=10, description="CSAT 1-5, NPS 0-10, CES 1-7, review 1-5 stars.")
    customer_id: int | None = Field(default=None, ge=1, le=2**63 - 1)
    comment: str | None = Field(default=None, max_length=20_000, description="Or a review's text.")
    title: str | None = Field(default=None, max_length=255, description="A review's title.")
    language: str | None = Field(default=None, max_length=16)
    order_id: int | None = Field(
        default=None, ge=1, le=2**63 - 1, description="The order a review is about."
    )
    at: AwareDatetime | None = Field(default=None, description="Default: now.")


def record_feedback(session: Session, data: FeedbackIn, actor: str) -> FeedbackItem:
    """Store the answer or review; a member's review earns the programme's review bonus once."""
    if data.customer_id is not None:
        get_customer(session, data.customer_id)
    when = data.at.astimezone(dt.UTC) if data.at is not None else None
    if data.kind != "review":
        response = record_survey_response(
            session,
            data.kind,
            data.score,
            actor,
            customer_id=data.customer_id,
            comment=data.comment,
            language=data.language,
            responded_at=when,
        )
        return FeedbackItem.of(response)
    if data.order_id is not None and session.get(Order, data.order_id) is None:
        raise NotFoundError(f"No order with id {data.order_id}.", order_id=data.order_id)
    review = add_review(
        session,
        data.score,
        actor,
        customer_id=data.customer_id,
        title=data.title,
        body=data.comment,
        language=data.language,
        source="api",
        published_at=when,
    )
    review.order_id = data.order_id
    if data.customer_id is not None:
        award_bonus(
            session,
            data.customer_id,
            "review",
            actor,
            source_type="review",
            source_id=review.id,
            key=f"bonus:review:{review.id}",
            at=review.published_at,
        )
    return FeedbackItem.of(review)
