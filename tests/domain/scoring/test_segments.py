"""Segmenting the demo business: stored RFM segments, clusters with words, movement."""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import func, select

from soloist.demo.business import build_demo
from soloist.domain.scoring.segments import segment_customers
from soloist.domain.segment_rules import count_rule
from soloist.errors import ValidationError
from soloist.storage.database import Database
from soloist.storage.models import CustomerScore, Segment, SegmentMember

END = dt.date(2026, 6, 30)


def _demo(database: Database, customers: int = 400) -> None:
    with database.session() as session:
        build_demo(
            session, customers=customers, seed=3, end_date=END, owner_password="demo-password-1"
        )


def test_segments_and_clusters_are_stored_with_their_members(database: Database) -> None:
    _demo(database)
    with database.session() as session:
        run = segment_customers(session, "USD", "test", "kmeans")
        run_id, metrics = run.id, run.metrics
    assert sum(row["customers"] for row in metrics["rfm"]) == metrics["customers"]
    assert sum(row["revenue_share"] for row in metrics["rfm"]) == pytest.approx(1.0, abs=1e-3)
    clusters = metrics["clusters"]
    assert clusters["n_clusters"] >= 2
    assert clusters["silhouette"] > 0
    assert all(c["description"] for c in clusters["clusters"])
    with database.session() as session:
        scored = session.scalar(
            select(func.count(CustomerScore.id)).where(
                CustomerScore.model_run_id == run_id, CustomerScore.segment.is_not(None),
                CustomerScore.cluster.is_not(None),
            )
        )  # fmt: skip
        assert scored == metrics["customers"]
        members = session.scalar(
            select(func.count())
            .select_from(SegmentMember)
            .join(Segment, Segment.id == SegmentMember.segment_id)
            .where(Segment.kind == "rfm")
        )
        assert members == metrics["customers"]
        champions = next(r for r in metrics["rfm"] if r["segment"] == "champions")
        assert count_rule(session, 'segment = "champions"') == champions["customers"]


def test_a_second_run_reports_movement_between_segments(sqlite_database: Database) -> None:
    _demo(sqlite_database, 300)
    with sqlite_database.session() as session:
        first = segment_customers(session, "USD", "test")
        first_id, customers = first.id, first.metrics["customers"]
    with sqlite_database.session() as session:
        movement = segment_customers(session, "USD", "test").metrics["movement"]
    assert movement["previous_run_id"] == first_id
    assert movement["changed"] == 0  # same data, same segments
    assert sum(sum(row.values()) for row in movement["table"].values()) == customers


def test_unknown_method_and_empty_workspace_are_refused(sqlite_database: Database) -> None:
    with sqlite_database.session() as session:
        with pytest.raises(ValidationError, match="method"):
            segment_customers(session, "USD", "test", "magic")
        with pytest.raises(ValidationError, match="no paid orders"):
            segment_customers(session, "USD", "test")


def test_orders_and_lines_read_in_parts_give_the_frames_of_one_read(
    database: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The analyses read the orders and order lines a part at a time (ten million orders as
    rows took some 3 GB); parts of 7 rows, the last one short, give what one read gives."""
    import pandas as pd

    from soloist.domain.scoring.clv import load_paid_orders
    from soloist.domain.scoring.segments import load_behaviour, load_transactions
    from soloist.storage import bulk

    _demo(database, customers=60)
    frames = []
    for part in (bulk.READ_PART, 7):
        monkeypatch.setattr(bulk, "READ_PART", part)
        with database.read_session() as session:
            orders, end = load_transactions(session, "USD")
            paid = load_paid_orders(session, "USD")
            behaviour = load_behaviour(session, "USD", orders, end)
        frames.append((paid, orders, behaviour))
    (paid, orders, behaviour), (paid7, orders7, behaviour7) = frames
    assert len(paid) > 7 * 10
    pd.testing.assert_frame_equal(paid, paid7)
    pd.testing.assert_frame_equal(orders, orders7)
    assert [c for c in behaviour.columns if c.startswith("share_")]  # categories were read
    pd.testing.assert_frame_equal(behaviour, behaviour7, check_like=True)
