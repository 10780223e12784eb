from __future__ import annotations

import datetime as dt
import json
from dataclasses import asdict
from decimal import Decimal

import numpy as np
import pytest
from sqlalchemy import func, select
from tests.domain.loyalty.helpers import T0, member, programme

from soloist.analytics.loyalty_effect import welch_difference
from soloist.demo.business import build_demo
from soloist.demo.loyalty import build_loyalty_demo
from soloist.domain.audit import insert_rows
from soloist.domain.customers.records import CustomerCreate, add_customers_bulk
from soloist.domain.loyalty.programme import adjust_points, redeem_points
from soloist.domain.loyalty.report import Effect, loyalty_report
from soloist.domain.orders import ProductCreate, create_product
from soloist.storage.database import Database
from soloist.storage.models import LedgerEntry, LoyaltyAccount, Order, Referral


def test_kpis_count_participation_redemption_and_liability(sqlite_database: Database) -> None:
    with sqlite_database.session() as session:
        programme(session, point_value="0.02")
        ada, bo, _cy = member(session), member(session, "Bo"), member(session, "Cy")
        adjust_points(session, ada, 1000, "test", "test")
        adjust_points(session, bo, 500, "test", "test")
        redeem_points(session, ada, 300, "k", "test")
        kpis = loyalty_report(session, T0).kpis
    assert (kpis.members, kpis.holdout, kpis.participation_rate) == (3, 0, 1.0)
    assert kpis.points_issued == 1500
    assert kpis.redemption_rate == 300 / 1500
    assert kpis.redeemer_share == 1 / 3
    assert kpis.outstanding_points == 1200
    assert kpis.liability == Decimal("24.00")
    assert kpis.tiers == {"Bronze": 3}


def test_the_report_as_plain_data_keeps_the_keys_scripts_read(sqlite_database: Database) -> None:
    with sqlite_database.session() as session:
        programme(session, point_value="0.02")
        adjust_points(session, member(session), 1000, "test", "test")
        report = loyalty_report(session, T0)
    data = json.loads(json.dumps(asdict(report), default=str))  # what --json prints
    assert set(data) == {"as_of", "kpis", "sample", "effect", "before_after", "method"}
    assert data["kpis"]["liability"] == "20.00"
    assert data["kpis"]["point_value"] == "0.02"
    assert data["kpis"]["tiers"] == {"Bronze": 1}
    assert set(data["effect"]) == {
        "repeat_purchase_rate",
        "revenue_per_customer",
        "revenue_per_customer_adjusted",
    }
    assert data["effect"]["revenue_per_customer"] is None  # one member, no holdout: no estimate
    assert data["method"] == {"revenue_interval": "welch", "confidence": 0.95}


def test_an_effect_carries_every_figure_of_its_estimate() -> None:
    estimate = welch_difference([1.0, 2.0, 3.0, 4.5], [0.0, 1.0, 2.0, 1.0])
    effect = Effect.of(estimate)
    assert asdict(effect) == estimate.to_dict()
    assert effect.significant is estimate.significant
    assert effect.minimum_detectable_difference == estimate.minimum_detectable_difference


def _business(database: Database, seed: int) -> tuple[dt.datetime, int]:
    """400 customers who all bought twice a year before the end, at random times."""
    rng = np.random.default_rng(seed)
    start = dt.datetime(2024, 1, 1, tzinfo=dt.UTC)
    with database.session() as session:
        product = create_product(
            session,
            ProductCreate(sku="B", name="Beans", price=Decimal(20), currency="USD"),
            "t",
        )
        ids = add_customers_bulk(
            session,
            [CustomerCreate(name=f"C{i}") for i in range(400)],
            "t",
            "test customers",
            first_seen=[start] * 400,
        )
        rows = [
            {
                "external_id": f"O-{cid}-{k}",
                "customer_id": cid,
                "status": "paid",
                "currency": "USD",
                "total_minor": product.price_minor,
                "discount_minor": 0,
                "ordered_at": start + dt.timedelta(days=float(rng.uniform(0, 730))),
            }
            for cid in ids
            for k in range(int(rng.poisson(4)))
        ]
        insert_rows(session, Order, rows, "t", "test orders")
    return start, len(rows)


def test_the_report_finds_a_planted_effect(sqlite_database: Database) -> None:
    start, _ = _business(sqlite_database, seed=8)
    with sqlite_database.session() as session:
        summary = build_loyalty_demo(
            session, seed=8, start=start, horizon_days=730, currency="USD", uplift=0.8
        )
        assert summary.extra_orders > 100
        report = loyalty_report(session, start + dt.timedelta(days=730))
    revenue = report.effect.revenue_per_customer
    assert revenue is not None
    assert revenue.ci_low > 0  # members bought more: the planted effect is found
    assert revenue.significant
    orders = report.before_after.difference_in_differences_orders
    assert orders is not None
    assert orders.ci_low > 0


def test_without_an_effect_the_interval_covers_zero(sqlite_database: Database) -> None:
    start, _ = _business(sqlite_database, seed=9)
    with sqlite_database.session() as session:
        build_loyalty_demo(session, seed=9, start=start, horizon_days=730, currency="USD", uplift=0)
        report = loyalty_report(session, start + dt.timedelta(days=730))
    effect = report.effect
    for name, estimate in (
        ("repeat_purchase_rate", effect.repeat_purchase_rate),
        ("revenue_per_customer", effect.revenue_per_customer),
        ("revenue_per_customer_adjusted", effect.revenue_per_customer_adjusted),
    ):
        assert estimate is not None, name
        assert estimate.ci_low < 0 < estimate.ci_high, name
        assert not estimate.significant, name


def test_the_demo_workspace_runs_a_programme(sqlite_database: Database) -> None:
    with sqlite_database.session() as session:
        summary = build_demo(session, customers=300, seed=5, end_date=dt.date(2026, 6, 30))
    with sqlite_database.read_session() as session:
        assert summary.loyalty_members + summary.loyalty_holdout == 300
        assert 0.1 < summary.loyalty_holdout / 300 < 0.3
        per_customer = session.execute(
            select(LedgerEntry.customer_id, func.sum(LedgerEntry.points)).group_by(
                LedgerEntry.customer_id
            )
        ).all()
        assert per_customer
        assert min(total for _, total in per_customer) >= 0
        holdout = set(
            session.scalars(
                select(LoyaltyAccount.customer_id).where(LoyaltyAccount.group == "holdout")
            )
        )
        assert holdout.isdisjoint(cid for cid, _ in per_customer)
        kinds = set(session.scalars(select(LedgerEntry.kind).distinct()))
        assert {"earn", "bonus", "redeem", "expire", "reverse"} <= kinds
        assert session.scalar(select(func.count(Referral.id))) > 0
        report = loyalty_report(session, dt.datetime(2026, 6, 30, tzinfo=dt.UTC))
        assert report.effect.revenue_per_customer is not None
        assert len(report.kpis.tiers) >= 2


def test_the_orders_read_a_part_at_a_time_give_the_same_report(
    sqlite_database: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    from soloist.storage import bulk

    start, _ = _business(sqlite_database, seed=5)
    with sqlite_database.session() as session:
        build_loyalty_demo(
            session, seed=5, start=start, horizon_days=730, currency="USD", uplift=0.5
        )
    reports = []
    for part in (bulk.READ_PART, 97):
        monkeypatch.setattr(bulk, "READ_PART", part)
        with sqlite_database.read_session() as session:
            reports.append(asdict(loyalty_report(session, start + dt.timedelta(days=730))))
    assert reports[0]["effect"]["revenue_per_customer"] is not None
    assert reports[0] == reports[1]
