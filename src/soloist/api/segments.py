"""/api/v1/segments: scored segments of the latest analysis and saved segments, with sizes."""

from __future__ import annotations

from fastapi import APIRouter, Request
from pydantic import BaseModel

from soloist.api.deps import Reader, ReadSession
from soloist.domain.dashboard import segment_figures
from soloist.money import minor_to_decimal

router = APIRouter(prefix="/api/v1/segments", tags=["segments"])


class SegmentPublic(BaseModel):
    name: str
    kind: str  # scored (from the latest analysis) | rule | rfm | cluster (saved)
    customers: int
    predicted_clv: str | None


class SegmentList(BaseModel):
    items: list[SegmentPublic]
    currency: str


@router.get("", response_model=SegmentList)
def read_segments(request: Request, session: ReadSession, _: Reader) -> SegmentList:
    """Every segment with its number of customers and their total predicted 12-month CLV."""
    currency = request.app.state.settings.currency
    items = [
        SegmentPublic(
            name=s.name,
            kind=s.kind,
            customers=s.customers,
            predicted_clv=None
            if s.clv_minor is None
            else str(minor_to_decimal(s.clv_minor, currency)),
        )
        for s in segment_figures(session)
    ]
    return SegmentList(items=items, currency=currency)
