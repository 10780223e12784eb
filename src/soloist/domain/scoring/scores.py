"""Reading the analytics' per-customer scores: the current model run and one customer's scores.

``soloist analyze`` writes one ``model_runs`` row per analysis and one ``customer_scores`` row per
customer and run. Different analyses fill different columns (a CLV run fills ``clv_12m_minor``,
a churn run ``churn_risk`` …), so the *current* value of each column comes from the newest
finished run that filled it. A run counts as finished when it has ``finished_at`` and its status
is not a failure.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import case, func, select
from sqlalchemy.orm import Session

from soloist.domain.scoring.reasons import Reason, in_score_order, read_reasons
from soloist.errors import NotFoundError
from soloist.money import minor_to_decimal
from soloist.storage.caches import VersionedCache
from soloist.storage.models import CustomerScore, ModelRun

SCORE_FIELDS = (
    "p_alive",
    "expected_purchases_90d",
    "clv_12m_minor",
    "spend_estimate_minor",
    "churn_risk",
    "next_purchase_days",
    "segment",
    "cluster",
)
FAILED_STATUSES = ("failed", "error", "running")


def finished_runs(session: Session) -> list[ModelRun]:
    """Finished, successful model runs, newest first."""
    return list(
        session.scalars(
            select(ModelRun)
            .where(ModelRun.finished_at.is_not(None), ModelRun.status.not_in(FAILED_STATUSES))
            .order_by(ModelRun.id.desc())
        )
    )


_current_runs: VersionedCache[str, dict[str, int]] = VersionedCache("current runs", maxsize=16)


def current_runs(session: Session) -> dict[str, int]:
    """For each score column, the id of the newest finished run that filled it (absent: none).

    Cached until a model run is added or finishes (one cheap query decides).
    """
    newest, finished, total = session.execute(
        select(func.max(ModelRun.id), func.count(ModelRun.finished_at), func.count(ModelRun.id))
    ).one()
    url = str(session.get_bind().engine.url)
    found = _current_runs.get_or_compute(
        url, (newest, finished, total), lambda: find_current_runs(session)
    )
    return dict(found)


def find_current_runs(session: Session) -> dict[str, int]:
    """:func:`current_runs` worked out afresh, uncached (as the session's transaction sees it).

    Newest run first, which of the columns still unclaimed it filled: one pass over each
    run's scores (an EXISTS per column and run walked every score of a run that left the
    column empty, a second per run at a hundred thousand customers)."""
    found: dict[str, int] = {}
    for run in finished_runs(session):
        missing = [name for name in SCORE_FIELDS if name not in found]
        if not missing:
            break
        filled = session.execute(
            select(
                *(
                    func.max(case((getattr(CustomerScore, name).is_not(None), 1), else_=0))
                    for name in missing
                )
            ).where(CustomerScore.model_run_id == run.id)
        ).one()
        found.update({name: run.id for name, flag in zip(missing, filled, strict=True) if flag})
    return found


@dataclass
class CustomerScores:
    """The current scores of one customer, each with the run it came from and its reasons."""

    customer_id: int
    values: dict[str, Any] = field(default_factory=dict)
    runs: dict[str, dict[str, Any]] = field(default_factory=dict)
    reasons: dict[str, list[Reason]] = field(default_factory=dict)

    @property
    def empty(self) -> bool:
        return not self.values

    def values_in(self, currency: str) -> dict[str, Any]:
        """``values``, with each money score also as a decimal string in ``currency``
        (``clv_12m`` beside ``clv_12m_minor``)."""
        values = dict(self.values)
        for minor in ("clv_12m_minor", "spend_estimate_minor"):
            if values.get(minor) is not None:
                values[minor.removesuffix("_minor")] = str(
                    minor_to_decimal(int(values[minor]), currency)
                )
        return values


def _run_info(run: ModelRun) -> dict[str, Any]:
    finished: dt.datetime | None = run.finished_at
    return {
        "id": run.id,
        "kind": run.kind,
        "finished_at": finished.isoformat() if finished else None,
        "metrics": run.metrics or {},
    }


def scores_of_customer(session: Session, customer_id: int) -> CustomerScores:
    """The current value of every score column for one customer, with the reasons behind them."""
    result = CustomerScores(customer_id=customer_id)
    runs = current_runs(session)
    if not runs:
        return result
    rows = {
        row.model_run_id: row
        for row in session.scalars(
            select(CustomerScore).where(
                CustomerScore.customer_id == customer_id,
                CustomerScore.model_run_id.in_(set(runs.values())),
            )
        )
    }
    run_rows = {
        run.id: run
        for run in session.scalars(select(ModelRun).where(ModelRun.id.in_(set(runs.values()))))
    }
    for name, run_id in runs.items():
        row = rows.get(run_id)
        if row is None or getattr(row, name) is None:
            continue
        result.values[name] = getattr(row, name)
        result.runs[name] = _run_info(run_rows[run_id])
        for score, reasons in read_reasons(row.reasons).items():
            result.reasons.setdefault(score, reasons)
    result.reasons = in_score_order(result.reasons)
    return result


def list_model_runs(session: Session, kind: str | None = None, limit: int = 20) -> list[ModelRun]:
    """The newest model runs first, of one ``kind`` (clv, segments, churn) or of all."""
    query = select(ModelRun).order_by(ModelRun.id.desc()).limit(limit)
    if kind is not None:
        query = query.where(ModelRun.kind == kind)
    return list(session.scalars(query))


def get_model_run(session: Session, run_id: int) -> ModelRun:
    run = session.get(ModelRun, run_id) if 0 < run_id < 2**63 else None
    if run is None:
        raise NotFoundError(f"No model run {run_id}.")
    return run
