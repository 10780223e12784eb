"""The customer page's "what to offer next" (the model is the domain's)."""

from __future__ import annotations

import logging

from sqlalchemy.orm import Session

from soloist.domain.recommendations import Recommendation, recommendations_if_ready
from soloist.errors import AnalyticsInputError

log = logging.getLogger(__name__)


def offers_for(session: Session, customer_id: int, k: int = 5) -> list[Recommendation] | None:
    """The recommendations, or none when the shop's history cannot identify a model yet; None
    while the model is being fitted for the first time (the page does not wait for it)."""
    try:
        return recommendations_if_ready(session, customer_id, k)
    except AnalyticsInputError as error:  # e.g. one product only: nothing to learn
        log.info("no recommendations for customer %s: %s", customer_id, error)
        return []
