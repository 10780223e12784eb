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


def test_category_shares_are_each_customers_spend_by_category(database: Database) -> None:
    """Worked out independently in SQL: a product without a category, and a line without a
    product, count for no category; refunds and other lines below zero count as nothing."""
    import pandas as pd
    from sqlalchemy import text, update

    from soloist.domain.scoring.segments import load_behaviour, load_transactions
    from soloist.storage.models import OrderLine, Product

    _demo(database, customers=80)
    with database.session() as session:
        first, second = session.scalars(select(Product.id).order_by(Product.id).limit(2)).all()
        session.execute(update(Product).where(Product.id == first).values(category=None))
        some_line = session.scalar(
            select(OrderLine.id).where(OrderLine.product_id == second).limit(1)
        )
        session.execute(update(OrderLine).where(OrderLine.id == some_line).values(product_id=None))
    with database.read_session() as session:
        orders, end = load_transactions(session, "USD")
        behaviour = load_behaviour(session, "USD", orders, end)
        spent = pd.DataFrame(
            session.execute(
                text(
                    "SELECT o.customer_id, p.category, "
                    "SUM(CASE WHEN l.amount_minor > 0 THEN l.amount_minor ELSE 0 END) "
                    "FROM orders o JOIN order_lines l ON l.order_id = o.id "
                    "JOIN products p ON p.id = l.product_id "
                    "WHERE o.status = 'paid' AND o.currency = 'USD' AND p.category IS NOT NULL "
                    "GROUP BY o.customer_id, p.category"
                )
            ).all(),
            columns=["customer_id", "category", "spent"],
        )
    spent["spent"] = spent["spent"].astype(float)
    wanted = spent.pivot_table(index="customer_id", columns="category", values="spent").fillna(0)
    wanted = wanted.div(wanted.sum(axis=1), axis=0)
    shares = behaviour[[f"share_{c}" for c in wanted.columns]].loc[wanted.index]
    assert len(wanted) > 50
    assert (shares.to_numpy() - wanted.to_numpy()).max() < 1e-9
    assert (wanted.to_numpy() - shares.to_numpy()).max() < 1e-9
    assert not [c for c in behaviour.columns if c == "share_None"]


def test_a_later_run_moves_only_the_customers_whose_segment_changed(database: Database) -> None:
    """The members of the RFM segments are exactly each customer's segment in the newest run;
    those who stayed keep the run that put them there, those who moved carry the new one."""
    _demo(database, 300)

    def members() -> dict[int, tuple[str, int | None]]:
        with database.read_session() as session:
            rows = session.execute(
                select(SegmentMember.customer_id, Segment.name, SegmentMember.model_run_id)
                .join(Segment, Segment.id == SegmentMember.segment_id)
                .where(Segment.kind == "rfm")
            ).all()
        assert len(rows) == len({row.customer_id for row in rows})  # one segment each
        return {row.customer_id: (row.name, row.model_run_id) for row in rows}

    def scored(run_id: int) -> dict[int, str]:
        with database.read_session() as session:
            rows = session.execute(
                select(CustomerScore.customer_id, CustomerScore.segment).where(
                    CustomerScore.model_run_id == run_id
                )
            ).all()
        return {row.customer_id: str(row.segment) for row in rows}

    with database.session() as session:
        first = segment_customers(session, "USD", "test", observation_end=dt.date(2026, 3, 31))
        first_id = first.id
    before = members()
    assert {cid: name for cid, (name, _) in before.items()} == scored(first_id)
    with database.session() as session:
        second_id = segment_customers(session, "USD", "test", observation_end=END).id
    after = members()
    segments = scored(second_id)
    assert {cid: name for cid, (name, _) in after.items()} == segments
    stayed = [cid for cid in before if segments.get(cid) == before[cid][0]]
    moved = [cid for cid in segments if cid not in stayed]
    assert stayed
    assert moved  # three months later, some customers are in another segment
    assert all(after[cid][1] == first_id for cid in stayed)
    assert all(after[cid][1] == second_id for cid in moved)
