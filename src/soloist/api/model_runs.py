"""/api/v1/model-runs: the stored analyses (CLV, segments, churn) with their parameters and
checks: which purchase model was kept and why, and how each did on the holdout."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Query
from pydantic import BaseModel, Field

from soloist.api.deps import Reader, ReadSession
from soloist.domain.scoring import get_model_run as find_model_run
from soloist.domain.scoring import list_model_runs as newest_model_runs

router = APIRouter(prefix="/api/v1/model-runs", tags=["model runs"])


class ModelRunPublic(BaseModel):
    id: int
    kind: str = Field(description="clv, segments or churn.")
    status: str
    data_start: str | None = Field(description="First order used, ISO 8601.")
    data_end: str | None = Field(description="End of the data used (the --end-date), ISO 8601.")
    finished_at: str | None
    params: dict[str, Any] = Field(
        description="What was fitted: for clv `purchase_model`, `model_choice` (why), "
        "`purchase` parameters, `purchase_penalizer`, `spend_model`, `notes`."
    )
    metrics: dict[str, Any] = Field(
        description="How it did: for clv `holdout` (the chosen model's check) and "
        "`model_comparison` (every candidate's figures and the ones that could not be fitted)."
    )


def _public(run: Any) -> ModelRunPublic:
    return ModelRunPublic(
        id=run.id,
        kind=run.kind,
        status=run.status,
        data_start=run.data_start.isoformat() if run.data_start else None,
        data_end=run.data_end.isoformat() if run.data_end else None,
        finished_at=run.finished_at.isoformat() if run.finished_at else None,
        params=run.params or {},
        metrics=run.metrics or {},
    )


@router.get("", response_model=list[ModelRunPublic])
def list_model_runs(
    session: ReadSession,
    _: Reader,
    kind: str | None = Query(default=None, description="clv, segments or churn."),
    limit: int = Query(default=20, ge=1, le=200),
) -> list[ModelRunPublic]:
    """The newest model runs first."""
    return [_public(run) for run in newest_model_runs(session, kind, limit)]


@router.get("/{run_id}", response_model=ModelRunPublic)
def get_model_run(run_id: int, session: ReadSession, _: Reader) -> ModelRunPublic:
    """One model run with its parameters and checks."""
    return _public(find_model_run(session, run_id))
