"""Feedback: CSAT / NPS / CES survey answers and product reviews."""

from __future__ import annotations

import datetime as dt

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
