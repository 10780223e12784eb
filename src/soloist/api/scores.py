"""/api/v1/customers/{id}/scores: a customer's current predictions, with their reasons."""

from __future__ import annotations

import datetime as dt
from typing import Any

from fastapi import APIRouter, Request
from pydantic import BaseModel

from soloist.api.deps import Reader, ReadSession
from soloist.domain.customers import get_customer
from soloist.domain.scoring import scores_of_customer

router = APIRouter(prefix="/api/v1/customers", tags=["scores"])


class ScoreRun(BaseModel):
    id: int
    kind: str
    finished_at: dt.datetime | None
    metrics: dict[str, Any]


class CustomerScoresPublic(BaseModel):
    customer_id: int
    currency: str
    scores: dict[str, Any]
    reasons: dict[str, Any]
    runs: dict[str, ScoreRun]


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
    return CustomerScoresPublic(**scores_of_customer(session, customer_id).to_dict(currency))
