"""All three analyses, the churn model fitted in a process of its own beside the others."""

from __future__ import annotations

import datetime as dt
import multiprocessing
import os
import threading
from typing import Any

import pytest
from sqlalchemy import delete, select

from soloist.demo.business import build_demo
from soloist.domain.scoring import AnalyzeOptions, run_analyses
from soloist.domain.scoring.refit import side_by_side_possible
from soloist.errors import UsageError
from soloist.storage.database import Database
from soloist.storage.models import Customer, CustomerScore, ModelRun, Subscription

END = dt.date(2026, 6, 30)
OPTIONS = AnalyzeOptions(observation_end=END)


def _demo(database: Database) -> None:
    with database.session() as session:
        build_demo(session, customers=400, seed=5, end_date=END, owner_password="demo-password-1")


def _stored(database: Database, run_id: int) -> dict[int, tuple[Any, ...]]:
    with database.read_session() as session:
        rows = session.scalars(select(CustomerScore).where(CustomerScore.model_run_id == run_id))
        return {
            r.customer_id: (r.churn_risk, r.p_alive, r.segment, r.cluster, r.reasons) for r in rows
        }


def _numbers(nested: Any, path: str = "") -> dict[str, float]:
    """Every number in nested dicts and lists, by its path."""
    if isinstance(nested, dict):
        return {
            k: v
            for key, value in nested.items()
            for k, v in _numbers(value, f"{path}/{key}").items()
        }
    if isinstance(nested, list):
        return {
            k: v
            for i, value in enumerate(nested)
            for k, v in _numbers(value, f"{path}/{i}").items()
        }
    return {path: nested}


def _churn_processes() -> list[multiprocessing.process.BaseProcess]:
    return [p for p in multiprocessing.active_children() if p.name == "soloist-churn"]


def _old_churn_run(database: Database) -> int:
    """A finished churn run from before, with one customer's score."""
    with database.session() as session:
        customer_id = session.scalars(select(Customer.id).limit(1)).one()
        run = ModelRun(kind="churn", status="succeeded", finished_at=dt.datetime.now(dt.UTC))
        session.add(run)
        session.flush()
        session.add(CustomerScore(model_run_id=run.id, customer_id=customer_id, churn_risk=0.5))
        session.flush()
        return run.id


def test_side_by_side_stores_what_one_after_the_other_stores(database: Database) -> None:
    _demo(database)
    old_run = _old_churn_run(database)
    reports: dict[bool, list[tuple[str, bool]]] = {False: [], True: []}

    def heard(side_by_side: bool) -> Any:
        def progress(stage: str, _done: int, _total: int) -> None:
            in_main = threading.current_thread() is threading.main_thread()
            reports[side_by_side].append((stage, in_main))

        return progress

    runs = {
        side_by_side: run_analyses(
            database, "USD", "test", OPTIONS, side_by_side=side_by_side,
            progress={"churn": heard(side_by_side)},
        )
        for side_by_side in (False, True)
    }  # fmt: skip
    kinds = {k: [(f["kind"], f["status"]) for f in r.followed_by] for k, r in runs.items()}
    assert kinds[False] == kinds[True] == [("segments", "succeeded"), ("churn", "succeeded")]
    # The churn process reported the same steps, relayed to this process by another thread.
    assert [stage for stage, _ in reports[True]] == [stage for stage, _ in reports[False]]
    assert all(in_main for _, in_main in reports[False])
    assert reports[True]
    assert not any(in_main for _, in_main in reports[True])
    for one, other in zip(runs[False].followed_by, runs[True].followed_by, strict=True):
        assert _stored(database, one["id"]) == _stored(database, other["id"])
    with database.read_session() as session:
        churn = {
            side_by_side: session.get(ModelRun, run.followed_by[1]["id"])
            for side_by_side, run in runs.items()
        }
        assert churn[True] is not None
        assert churn[False] is not None
        # The random forest adds up its trees' votes on threads in any order: equal to ~1e-15.
        assert _numbers(churn[True].metrics["comparison"]) == pytest.approx(
            _numbers(churn[False].metrics["comparison"]), rel=1e-12
        )
    assert not _churn_processes()
    # With the third churn run, the churn process dropped the oldest run's scores (two kept).
    with database.read_session() as session:
        assert session.get(ModelRun, old_run) is not None
        assert not _stored(database, old_run)
        assert _stored(database, runs[False].followed_by[1]["id"])


def test_a_churn_process_that_dies_is_reported_and_the_rest_kept(
    sqlite_database: Database,
) -> None:
    _demo(sqlite_database)
    killed: list[int] = []

    def kill_churn(_stage: str, _done: int, _total: int) -> None:
        for process in _churn_processes():
            if process.pid is not None and not killed:
                process.kill()
                killed.append(process.pid)

    analyses = run_analyses(
        sqlite_database, "USD", "test", OPTIONS, side_by_side=True, progress={"clv": kill_churn}
    )
    assert killed
    assert analyses.clv.status == "succeeded"
    assert analyses.followed_by[0]["status"] == "succeeded"
    assert analyses.followed_by[1] == {
        "kind": "churn",
        "status": "failed",
        "error": "The churn model's process stopped (exit code -9).",
    }
    assert analyses.any_failed
    with sqlite_database.read_session() as session:
        assert session.scalars(select(ModelRun.kind)).all() == ["clv", "segments"]


def test_when_the_purchase_models_fail_the_churn_process_is_stopped(
    sqlite_database: Database,
) -> None:
    _demo(sqlite_database)
    wrong = AnalyzeOptions(model="nonsense", observation_end=END)
    with pytest.raises(UsageError, match="Unknown model 'nonsense'"):
        run_analyses(sqlite_database, "USD", "test", wrong, side_by_side=True)
    assert not _churn_processes()
    with sqlite_database.read_session() as session:
        assert session.scalars(select(ModelRun.kind)).all() == []


def test_a_churn_failure_in_its_process_reads_as_one_after_the_other(
    sqlite_database: Database,
) -> None:
    """Too short a history for churn (two 90-day horizons) but enough for the CLV models, and
    no subscriptions to fall back on: the process reports the failure the analysis in turn
    reports."""
    _demo(sqlite_database)
    with sqlite_database.session() as session:
        session.execute(delete(Subscription))
    short = AnalyzeOptions(observation_end=END - dt.timedelta(days=560))
    outcomes = [
        run_analyses(sqlite_database, "USD", "test", short, side_by_side=side_by_side)
        for side_by_side in (False, True)
    ]
    churn = [analyses.followed_by[1] for analyses in outcomes]
    assert churn[0]["status"] == "failed"
    assert churn[0]["error"].startswith("Churn cannot be scored")
    assert churn[0] == churn[1]


def test_the_workspace_can_keep_the_analyses_in_one_process(sqlite_database: Database) -> None:
    settings = sqlite_database.settings
    one = Database(settings.model_copy(update={"analyses_side_by_side": False}))
    two = Database(settings.model_copy(update={"analyses_side_by_side": True}))
    in_memory = Database(settings.model_copy(update={"database_url": "sqlite://"}))
    try:
        assert not side_by_side_possible(one)
        assert side_by_side_possible(two) == (len(os.sched_getaffinity(0)) > 1)
        assert not side_by_side_possible(in_memory)
        assert not side_by_side_possible(None)
    finally:
        for database in (one, two, in_memory):
            database.dispose()
