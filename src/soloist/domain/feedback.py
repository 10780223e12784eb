"""Feedback: CSAT / NPS / CES survey answers and product reviews."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from sqlalchemy.orm import Session

from soloist.domain.audit import record_audit
from soloist.errors import ValidationError
from soloist.storage.models import SURVEY_KINDS, Review, SurveyResponse


def record_survey_response(
    session: Session,
    kind: str,
    score: int,
    actor: str,
    *,
    customer_id: int | None = None,
    comment: str | None = None,
    language: str | None = None,
    ticket_id: int | None = None,
    responded_at: dt.datetime | None = None,
) -> SurveyResponse:
    """Store an answer; the score must lie on the survey's scale (CSAT 1–5, NPS 0–10, CES 1–7)."""
    if kind not in SURVEY_KINDS:
        raise ValidationError(
            f"Unknown survey {kind!r}; use one of {', '.join(SURVEY_KINDS)}.", field="kind"
        )
    low, high = SURVEY_KINDS[kind]
    if not low <= score <= high:
        raise ValidationError(
            f"A {kind.upper()} score must be between {low} and {high}, got {score}.", field="score"
        )
    response = SurveyResponse(
        customer_id=customer_id,
        kind=kind,
        score=score,
        comment=comment,
        language=language,
        ticket_id=ticket_id,
        responded_at=responded_at or dt.datetime.now(dt.UTC),
    )
    session.add(response)
    session.flush()
    record_audit(
        session,
        actor,
        "survey.answered",
        "survey_response",
        response.id,
        {"kind": kind, "score": score, "customer_id": customer_id},
    )
    return response


def add_review(
    session: Session,
    rating: int,
    actor: str,
    *,
    customer_id: int | None = None,
    product_id: int | None = None,
    title: str | None = None,
    body: str | None = None,
    language: str | None = None,
    source: str | None = None,
    published_at: dt.datetime | None = None,
) -> Review:
    if not 1 <= rating <= 5:
        raise ValidationError(f"A rating must be 1 to 5 stars, got {rating}.", field="rating")
    review = Review(
        customer_id=customer_id,
        product_id=product_id,
        rating=rating,
        title=title,
        body=body,
        language=language,
        source=source,
        published_at=published_at or dt.datetime.now(dt.UTC),
    )
    session.add(review)
    session.flush()
    record_audit(
        session,
        actor,
        "review.added",
        "review",
        review.id,
        {"rating": rating, "customer_id": customer_id},
    )
    return review


FEEDBACK_KINDS = (*SURVEY_KINDS, "review")


@dataclass(frozen=True)
class FeedbackItem:
    """A survey answer (score on its survey's scale) or a review (1-5 stars), in one shape."""

    id: int
    type: str  # survey | review
    kind: str  # csat | nps | ces | review
    score: int
    customer_id: int | None
    comment: str | None
    title: str | None
    language: str | None
    at: dt.datetime

    @classmethod
    def of(cls, item: SurveyResponse | Review) -> FeedbackItem:
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
            title=None,
            language=item.language,
            at=item.responded_at,
        )


def list_feedback(
    session: Session,
    *,
    kind: str | None = None,
    customer_id: int | None = None,
    limit: int = 50,
    offset: int = 0,
) -> tuple[list[FeedbackItem], int]:
    """Survey answers and reviews together, newest first; one page and the total count."""
    from sqlalchemy import func, literal, select, union_all

    if kind is not None and kind not in FEEDBACK_KINDS:
        raise ValidationError(
            f"Unknown feedback kind {kind!r}; use one of {', '.join(FEEDBACK_KINDS)}.",
            field="kind",
        )
    surveys = select(
        literal("survey").label("type"),
        SurveyResponse.id.label("id"),
        SurveyResponse.responded_at.label("at"),
    )
    reviews = select(
        literal("review").label("type"), Review.id.label("id"), Review.published_at.label("at")
    )
    if customer_id is not None:
        surveys = surveys.where(SurveyResponse.customer_id == customer_id)
        reviews = reviews.where(Review.customer_id == customer_id)
    if kind is None:
        parts = [surveys, reviews]
    elif kind == "review":
        parts = [reviews]
    else:
        parts = [surveys.where(SurveyResponse.kind == kind)]
    both = union_all(*parts).subquery() if len(parts) > 1 else parts[0].subquery()
    total = int(session.scalar(select(func.count()).select_from(both)) or 0)
    page: Any = session.execute(
        select(both.c.type, both.c.id)
        .order_by(both.c.at.desc(), both.c.id.desc())
        .limit(limit)
        .offset(offset)
    ).all()
    survey_rows = {
        s.id: s
        for s in session.scalars(
            select(SurveyResponse).where(
                SurveyResponse.id.in_([i for t, i in page if t == "survey"])
            )
        )
    }
    review_rows = {
        r.id: r
        for r in session.scalars(
            select(Review).where(Review.id.in_([i for t, i in page if t == "review"]))
        )
    }
    items = [FeedbackItem.of(survey_rows[i] if t == "survey" else review_rows[i]) for t, i in page]
    return items, total
