"""Old model runs' per-customer scores are dropped once newer runs replace them."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from soloist.config import load_settings
from soloist.domain.scoring import current_runs, drop_old_scores, scores_of_customer
from soloist.errors import ConfigurationError
from soloist.storage.database import Database
from soloist.storage.models import AuditEntry, Customer, CustomerScore, ModelRun

CUSTOMERS = 5


def _customers(session: Session) -> list[int]:
    customers = [Customer(name=f"Customer {n}") for n in range(CUSTOMERS)]
    session.add_all(customers)
    session.flush()
    return [c.id for c in customers]


def _run(
    session: Session, kind: str, ids: list[int], status: str = "succeeded", **scores: Any
) -> int:
    """A finished run of ``kind`` that gave every customer ``scores``."""
    run = ModelRun(kind=kind, status=status, params={}, metrics={})
    if status != "running":
        run.finished_at = dt.datetime(2026, 12, 1, tzinfo=dt.UTC)
    session.add(run)
    session.flush()
    session.add_all(
        CustomerScore(model_run_id=run.id, customer_id=cid, reasons={}, **scores) for cid in ids
    )
    session.flush()
    return run.id


def _scores_by_run(session: Session) -> dict[int, int]:
    rows = session.execute(
        select(CustomerScore.model_run_id, func.count()).group_by(CustomerScore.model_run_id)
    )
    return {int(run_id): int(count) for run_id, count in rows}


def test_only_the_newest_runs_of_the_kind_keep_their_scores(database: Database) -> None:
    with database.session() as session:
        ids = _customers(session)
        churn = [_run(session, "churn", ids, churn_risk=0.1 * n) for n in range(1, 5)]
        clv = [_run(session, "clv", ids, clv_12m_minor=100 * n) for n in range(1, 4)]
        failed = _run(session, "churn", ids, status="failed", churn_risk=0.9)
        dropped = drop_old_scores(session, "churn", 2, "test")
        # The two oldest churn runs lost their scores; the failed run, which no page reads, is
        # not the policy's business; the CLV runs are another analysis.
        assert dropped == 2 * CUSTOMERS
        assert _scores_by_run(session) == {
            churn[2]: CUSTOMERS,
            churn[3]: CUSTOMERS,
            failed: CUSTOMERS,
            **dict.fromkeys(clv, CUSTOMERS),
        }
    with database.read_session() as session:
        # The runs themselves stay, and each drop is in the audit log with its count.
        assert session.scalar(select(func.count()).select_from(ModelRun)) == 8
        audit = session.execute(
            select(AuditEntry.entity_id, AuditEntry.changes).where(
                AuditEntry.action == "model_run.scores_dropped"
            )
        ).all()
        assert sorted(audit) == [(str(churn[0]), {"count": 5}), (str(churn[1]), {"count": 5})]
        # What the pages show is unchanged: the newest run's risk.
        scores = scores_of_customer(session, ids[0])
        assert scores.values["churn_risk"] == pytest.approx(0.4)
        assert scores.runs["churn_risk"]["id"] == churn[3]


def test_a_run_still_current_for_a_score_keeps_its_scores(database: Database) -> None:
    with database.session() as session:
        ids = _customers(session)
        # The oldest run is the only one with a probability of being alive: newer runs left
        # it empty (as a run with no sign of churn does), so it is still what the pages show.
        oldest = _run(session, "clv", ids, clv_12m_minor=100, p_alive=0.8)
        middle = _run(session, "clv", ids, clv_12m_minor=200)
        newer = [_run(session, "clv", ids, clv_12m_minor=300 + n) for n in range(2)]
        assert drop_old_scores(session, "clv", 2, "test") == CUSTOMERS
        assert set(_scores_by_run(session)) == {oldest, *newer}
        assert middle not in current_runs(session).values()
    with database.read_session() as session:
        assert scores_of_customer(session, ids[1]).values["p_alive"] == pytest.approx(0.8)


def test_zero_keeps_every_run_and_few_runs_lose_nothing(database: Database) -> None:
    with database.session() as session:
        ids = _customers(session)
        runs = [_run(session, "segments", ids, segment="Champions") for _ in range(3)]
        assert drop_old_scores(session, "segments", 0, "test") == 0
        assert drop_old_scores(session, "segments", 3, "test") == 0
        assert _scores_by_run(session) == dict.fromkeys(runs, CUSTOMERS)
        assert drop_old_scores(session, "segments", 2, "test") == CUSTOMERS
        assert set(_scores_by_run(session)) == set(runs[1:])


def test_keeping_one_run_is_refused_by_name(tmp_path: Path) -> None:
    environ = {"SOLOIST_SCORE_RUNS_KEPT": "1"}
    with pytest.raises(ConfigurationError, match="score_runs_kept") as caught:
        load_settings(workspace=tmp_path, environ=environ)
    assert "at least 2" in str(caught.value)
    assert load_settings(workspace=tmp_path, environ={}).score_runs_kept == 2
