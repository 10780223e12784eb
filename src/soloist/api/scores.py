"""/api/v1/customers/{id}/scores: a customer's current predictions, with their reasons."""

from __future__ import annotations

import datetime as dt
from typing import Any

from fastapi import APIRouter, Request
from pydantic import BaseModel, ConfigDict, Field

from soloist.api.deps import Reader, ReadSession
from soloist.domain.customers import get_customer
from soloist.domain.scoring import scores_of_customer

router = APIRouter(prefix="/api/v1/customers", tags=["scores"])


class ScoreRun(BaseModel):
    id: int
    kind: str
    finished_at: dt.datetime | None
    metrics: dict[str, Any] = Field(description="The run's own figures (fit, holdout check …).")


class ReasonPublic(BaseModel):
    """One reason behind a score; ``value`` and ``typical`` compare the customer with the
    typical customer, where the reason does."""

    model_config = ConfigDict(from_attributes=True)

    feature: str
    text: str = Field(description="The reason in a sentence (English).")
    effect: float = Field(description="The feature's signed contribution to the score.")
    value: float | None
    typical: float | None


class CustomerScoresPublic(BaseModel):
    customer_id: int
    currency: str
    scores: dict[str, Any] = Field(description="Score name → its newest value.")
    reasons: dict[str, list[ReasonPublic]] = Field(
        description="churn, subscription, segment, cluster → the reasons behind that score."
    )
    runs: dict[str, ScoreRun] = Field(description="Score name → the run it came from.")


@router.get("/{customer_id}/scores", response_model=CustomerScoresPublic)
def read_scores(
    customer_id: int, request: Request, session: ReadSession, _: Reader
) -> CustomerScoresPublic:
    """The newest value of every score (``p_alive``, ``clv_12m`` …) and the run it came from.

    ``scores`` is empty until ``soloist analyze`` has run. Money scores come twice: in integer
    minor units (``clv_12m_minor``) and as a decimal string (``clv_12m``).
    """
    get_customer(session, customer_id)
    currency = request.app.state.settings.currency
    found = scores_of_customer(session, customer_id)
    return CustomerScoresPublic.model_validate(
        {
            "customer_id": customer_id,
            "currency": currency,
            "scores": found.values_in(currency),
            "reasons": found.reasons,
            "runs": found.runs,
        },
        from_attributes=True,
    )
