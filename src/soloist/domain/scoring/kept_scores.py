"""Which model runs keep their per-customer scores.

Every analysis writes a score row per customer and run. Kept for ever, a workspace of 100,000
customers refitted every night would gather some 110 million rows a year, and every later
write of scores, every index over them and every backup would pay for the runs nobody reads:
the pages, the campaigns and the journeys read the current run of each score, and the segment
moves and the rising-risk tasks the run before it. So when an analysis has stored a run, the
scores of that analysis' older runs are deleted in the same transaction, all but the newest
``score_runs_kept`` finished runs (a setting; 0 keeps every run's). A run that is still the
current source of some score (:func:`~soloist.domain.scoring.scores.current_runs`: newer runs
may have left that score empty) keeps its scores too. The runs themselves, with their
parameters and metrics, stay.
"""

from __future__ import annotations

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from soloist.domain.audit import record_audit
from soloist.domain.scoring.scores import FAILED_STATUSES, find_current_runs
from soloist.storage.models import CustomerScore, ModelRun


def runs_past_keeping(session: Session, kind: str, keep: int) -> list[int]:
    """The finished runs of ``kind`` whose scores are no longer kept, oldest first."""
    if keep <= 0:
        return []
    session.flush()
    finished = session.scalars(
        select(ModelRun.id)
        .where(
            ModelRun.kind == kind,
            ModelRun.finished_at.is_not(None),
            ModelRun.status.not_in(FAILED_STATUSES),
        )
        .order_by(ModelRun.id.desc())
    ).all()
    if len(finished) <= keep:
        return []
    # Uncached: worked out inside the transaction that stores a run, which may yet roll back.
    current = set(find_current_runs(session).values())
    return sorted(run_id for run_id in finished[keep:] if run_id not in current)


def drop_old_scores(session: Session, kind: str, keep: int, actor: str) -> int:
    """Delete the scores of the runs of ``kind`` past keeping (:func:`runs_past_keeping`), in
    the session's transaction, and audit it; how many score rows went."""
    dropped = 0
    for run_id in runs_past_keeping(session, kind, keep):
        result = session.execute(delete(CustomerScore).where(CustomerScore.model_run_id == run_id))
        count = int(getattr(result, "rowcount", 0) or 0)
        if count:
            dropped += count
            record_audit(
                session, actor, "model_run.scores_dropped", "model_run", run_id, {"count": count}
            )
    return dropped
