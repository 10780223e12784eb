"""The dashboard's model figures: the most valuable customers at risk, found first among the
most valuable few, must be the ten of everyone; the scored segments' sizes and values must be
each segment's own."""

from __future__ import annotations

import datetime as dt
import random

import pytest

from soloist.domain import dashboard
from soloist.domain.customers.records import CustomerCreate, create_customer
from soloist.storage.database import Database
from soloist.storage.models import Customer, CustomerScore, ModelRun

NOW = dt.datetime(2025, 6, 1, tzinfo=dt.UTC)
SEGMENTS = ("champions", "at risk", "new")


def _run(session: object, kind: str) -> int:
    run = ModelRun(kind=kind, status="succeeded", finished_at=NOW, params={}, metrics={})
    session.add(run)  # type: ignore[attr-defined]
    session.flush()  # type: ignore[attr-defined]
    return run.id


def _scored(database: Database, seed: int) -> tuple[dict[str, int], list[dict[str, object]]]:
    """Sixty customers with tied CLVs, risks on both sides of the threshold, some unscored or
    no longer active; their scores as plain rows for the expected answers."""
    rng = random.Random(seed)
    rows: list[dict[str, object]] = []
    with database.session() as session:
        runs = {"clv_12m_minor": _run(session, "clv"), "churn_risk": _run(session, "churn")}
        runs["segment"] = _run(session, "segments")
        for n in range(60):
            customer_id = create_customer(session, CustomerCreate(name=f"C{n:02}"), "t").id
            clv = None if rng.random() < 0.1 else rng.choice([500, 900, 900, 1200, 3000, 3000])
            row = {
                "id": customer_id,
                "clv": clv,
                "risk": rng.choice([0.1, 0.49, 0.5, 0.8, 0.95]),
                "segment": rng.choice(SEGMENTS),
                "active": rng.random() > 0.15,
                "name": f"C{n:02}",
            }
            rows.append(row)
            if clv is not None or rng.random() < 0.5:  # some have a CLV row with no value
                session.add(
                    CustomerScore(
                        model_run_id=runs["clv_12m_minor"], customer_id=customer_id,
                        clv_12m_minor=clv, reasons={},
                    )
                )  # fmt: skip
            session.add(
                CustomerScore(
                    model_run_id=runs["churn_risk"], customer_id=customer_id,
                    churn_risk=row["risk"], reasons={},
                )
            )  # fmt: skip
            session.add(
                CustomerScore(
                    model_run_id=runs["segment"], customer_id=customer_id,
                    segment=row["segment"], reasons={},
                )
            )  # fmt: skip
            if not row["active"]:
                customer = session.get(Customer, customer_id)
                assert customer is not None
                customer.status = "merged"
    return runs, rows


@pytest.mark.parametrize("depths", [(1, 4), (8, 30), (200,), ()])
def test_the_ten_most_valuable_at_risk_are_the_ten_of_everyone(
    database: Database, monkeypatch: pytest.MonkeyPatch, depths: tuple[int, ...]
) -> None:
    runs, rows = _scored(database, seed=len(depths) * 7 + sum(depths))
    monkeypatch.setattr(dashboard, "AT_RISK_DEPTHS", depths)
    with database.session() as session:
        found = dashboard.valuable_at_risk(session, runs)
    candidates = [r for r in rows if r["clv"] is not None and r["active"] and r["risk"] >= 0.5]  # type: ignore[operator]
    candidates.sort(key=lambda r: (-r["clv"], r["id"]))  # type: ignore[operator]
    expected = [(r["id"], r["name"], r["clv"], r["risk"]) for r in candidates[:10]]
    assert [(c.id, c.name, c.clv_minor, c.churn_risk) for c in found] == expected
    assert len(found) == 10


def test_scored_segments_have_their_members_and_their_value(database: Database) -> None:
    runs, rows = _scored(database, seed=3)
    with database.session() as session:
        figures = dashboard.scored_segments(session, runs)
        unvalued = dashboard.scored_segments(session, {"segment": runs["segment"]})
    sizes = {name: sum(1 for r in rows if r["segment"] == name) for name in SEGMENTS}
    values = {
        name: sum(int(r["clv"] or 0) for r in rows if r["segment"] == name)  # type: ignore[call-overload]
        for name in SEGMENTS
    }
    expected = sorted(SEGMENTS, key=lambda name: (-sizes[name], name))
    assert [(f.name, f.customers, f.clv_minor) for f in figures] == [
        (name, sizes[name], values[name]) for name in expected
    ]
    assert [(f.name, f.customers, f.clv_minor) for f in unvalued] == [
        (name, sizes[name], None) for name in expected
    ]
