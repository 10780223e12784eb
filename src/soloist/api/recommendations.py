"""/api/v1/customers/{id}/recommendations: the next products for one customer, with reasons."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, Query
from pydantic import BaseModel

from soloist.api.deps import Reader, ReadSession
from soloist.domain.recommendations import recommend_for_customer

router = APIRouter(prefix="/api/v1/customers", tags=["recommendations"])

CustomerId = Annotated[int, Path(ge=1, le=2**63 - 1)]


class RecommendationOut(BaseModel):
    product_id: int
    sku: str
    name: str
    score: float
    reason: str
    reason_code: str
    because_product_id: int | None
    predicted_rating: float | None = None


@router.get("/{customer_id}/recommendations", response_model=list[RecommendationOut])
def customer_recommendations(
    customer_id: CustomerId,
    session: ReadSession,
    _: Reader,
    k: Annotated[int, Query(ge=1, le=50)] = 5,
) -> list[RecommendationOut]:
    """The ``k`` products to offer next, best first. ``reason`` says why in a sentence;
    ``reason_code`` is one of ``because`` (with ``because_product_id``, a product the customer
    bought), ``similar_customers``, ``popular`` or ``new_in_category``. Products already bought
    are left out unless the workspace's ``repurchase`` setting is on; inactive products never
    appear. ``predicted_rating``: the stars they would likely give it, when the shop's reviews
    rate products (offers predicted below 3 stars are left out). 404 when there is no such
    customer."""
    return [
        RecommendationOut(**r.public()) for r in recommend_for_customer(session, customer_id, k)
    ]
