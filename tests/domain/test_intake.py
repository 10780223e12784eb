"""Orders arriving live: the customer, the points and the scores follow in the same transaction."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

import pytest
from sqlalchemy import delete, select, update
from tests.domain.loyalty.helpers import T0, days, programme

from soloist.analytics import BetaGeoModel, rfm_summary
from soloist.domain.intake import (
    CustomerRef,
    LineIn,
    OrderIn,
    change_order_status,
    receive_order,
    refund_order,
    set_refunded_total,
)
from soloist.domain.loyalty.ledger import ledger_entries, points_balance
from soloist.domain.loyalty.order_points import sync_order_points
from soloist.domain.loyalty.programme import expire_points
from soloist.domain.orders import OrderCreate, record_order, set_order_status
from soloist.domain.scoring.live import rescore_customer
from soloist.errors import ConflictError, ValidationError
from soloist.storage.database import Database
from soloist.storage.models import CustomerScore, LedgerEntry, LoyaltyAccount, ModelRun, Order


def order_in(number: int, email: str = "ada@example.com", **fields: Any) -> OrderIn:
    base: dict[str, Any] = {
        "external_id": f"web-{number}",
        "customer": CustomerRef(email=email, name="Ada Lovelace"),
        "ordered_at": T0 + days(number),
        "currency": "USD",
        "lines": [LineIn(sku="MUG", name="Mug", quantity=2, unit_price=Decimal("45.00"))],
    }
    return OrderIn(**(base | fields))


def test_a_new_order_enrols_its_new_customer_and_earns_at_its_purchase_time(
    database: Database,
) -> None:
    with database.session() as session:
        programme(session, expiry_months=12)
        received = receive_order(session, order_in(1), "api:test")
        assert received.created
        order = received.order
        assert order.total_minor == 9000
        account = session.get(LoyaltyAccount, order.customer_id)
        assert account is not None
        assert account.group == "member"
        assert account.enrolled_at <= order.ordered_at
        (earn,) = [e for e in ledger_entries(session, order.customer_id) if e.kind == "earn"]
        assert earn.points == 90
        assert earn.effective_at == T0 + days(1)
        assert earn.expires_at == T0 + days(1) + (dt.datetime(2026, 1, 1) - dt.datetime(2025, 1, 1))
        # The repair tool finds nothing to do after live traffic.
        assert sync_order_points(session).earned == 0
        assert sync_order_points(session).reversed == 0


def test_the_same_external_id_twice_changes_nothing(database: Database) -> None:
    with database.session() as session:
        programme(session)
        first = receive_order(session, order_in(1), "api:test")
        again = receive_order(session, order_in(1, lines=[LineIn(unit_price=Decimal(1))]), "t")
        assert (again.created, again.changed) == (False, False)
        assert again.order.id == first.order.id
        assert again.order.total_minor == 9000
        assert len(session.scalars(select(Order)).all()) == 1
        assert points_balance(session, first.order.customer_id) == 90


def test_partial_refunds_take_back_points_pro_rata_then_all(database: Database) -> None:
    with database.session() as session:
        programme(session)
        order = receive_order(session, order_in(1), "api:test").order
        customer = order.customer_id
        refund_order(session, order.id, Decimal("30.00"), "api:test", at=T0 + days(2))
        assert order.status == "paid"
        assert points_balance(session, customer) == 60  # a third of the money, a third of 90
        set_refunded_total(session, order.id, Decimal("30.00"), "webhook:test")  # a replay
        assert points_balance(session, customer) == 60
        refund_order(session, order.id, None, "api:test", at=T0 + days(3))
        assert order.status == "refunded"
        assert order.refunded_minor == order.total_minor
        assert points_balance(session, customer) == 0
        reversals = [e for e in ledger_entries(session, customer) if e.kind == "reverse"]
        assert [e.points for e in reversals] == [-30, -60]
        assert [e.effective_at for e in reversals] == [T0 + days(2), T0 + days(3)]
        assert sync_order_points(session).reversed == 0
        with pytest.raises(ConflictError):
            refund_order(session, order.id, Decimal("1"), "api:test")


def test_a_refund_beyond_the_total_is_refused(sqlite_database: Database) -> None:
    with sqlite_database.session() as session:
        programme(session)
        order = receive_order(session, order_in(1), "api:test").order
        with pytest.raises(ValidationError, match="cannot be refunded"):
            refund_order(session, order.id, Decimal("90.01"), "api:test")


def test_an_immediate_cancellation_leaves_only_the_signup_bonus(database: Database) -> None:
    with database.session() as session:
        programme(session, bonus_points={"signup": 100})
        order = receive_order(session, order_in(1), "api:test").order
        assert points_balance(session, order.customer_id) == 190
        change_order_status(session, order.id, "cancelled", "api:test", at=T0 + days(1))
        assert points_balance(session, order.customer_id) == 100
        with pytest.raises(ConflictError):
            change_order_status(session, order.id, "paid", "api:test")


def test_live_points_expire_a_year_after_the_purchase(sqlite_database: Database) -> None:
    with sqlite_database.session() as session:
        programme(session, expiry_months=12)
        order = receive_order(session, order_in(1), "api:test").order
        assert expire_points(session, T0 + days(365)).points == 0
        assert expire_points(session, T0 + days(367)).points == 90
        assert points_balance(session, order.customer_id) == 0


def _ledger_shape(session: Any) -> list[tuple[str, int, dt.datetime]]:
    rows = session.execute(
        select(LedgerEntry.kind, LedgerEntry.points, LedgerEntry.effective_at).order_by(
            LedgerEntry.effective_at, LedgerEntry.kind, LedgerEntry.points
        )
    ).all()
    return [tuple(row) for row in rows]


def test_live_traffic_and_a_batch_recomputation_give_the_same_ledger(database: Database) -> None:
    """The same orders, live and then recomputed from scratch, give the same entries."""
    with database.session() as session:
        programme(session, expiry_months=12)
        ids = []
        for number in range(1, 9):
            email = f"c{number % 3}@example.com"
            ids.append(receive_order(session, order_in(number, email=email), "live").order.id)
        refund_order(session, ids[0], Decimal("45"), "live", at=T0 + days(20))
        change_order_status(session, ids[1], "cancelled", "live", at=T0 + days(21))
        refund_order(session, ids[2], None, "live", at=T0 + days(22))
        live = _ledger_shape(session)
        # From scratch: no points for orders, every member back to no tier.
        session.execute(delete(LedgerEntry).where(LedgerEntry.kind.in_(("earn", "reverse"))))
        session.execute(update(LoyaltyAccount).values(tier_id=None, tier_review_at=None))
        session.expire_all()
        result = sync_order_points(session)
        assert (result.earned, result.reversed) == (8, 3)
        assert _ledger_shape(session) == live


def test_refunds_recorded_without_the_live_path_are_repaired_by_the_sync(
    sqlite_database: Database,
) -> None:
    with sqlite_database.session() as session:
        programme(session)
        order = receive_order(session, order_in(1), "live").order
        set_order_status(session, order.id, "refunded", "import")
        assert points_balance(session, order.customer_id) == 90
        assert sync_order_points(session).reversed == 1
        assert points_balance(session, order.customer_id) == 0


def test_a_customer_is_rescored_from_the_stored_fit_when_an_order_arrives(
    database: Database,
) -> None:
    params = {"r": 0.243, "alpha": 4.414, "a": 0.793, "b": 2.426}  # CDNOW, weeks -> any unit
    spend = {"p": 6.25, "q": 3.74, "v": 15.44}
    with database.session() as session:
        programme(session)
        first = receive_order(session, order_in(1), "live").order
        run = ModelRun(
            kind="clv",
            status="succeeded",
            finished_at=T0,
            params={
                "purchase_model": "bg-nbd",
                "currency": "USD",
                "margin": 1.0,
                "annual_discount_rate": 0.1,
                "horizon_months": 12,
                "fit": {"purchase": params, "spend": spend},
            },
            metrics={},
        )
        session.add(run)
        session.flush()
        now = T0 + days(40)
        later = record_order(
            session,
            OrderCreate(
                external_id="web-later",
                customer_id=first.customer_id,
                ordered_at=T0 + days(30),
                currency="USD",
                total=Decimal("20"),
            ),
            "live",
        )
        assert later.id
        score = rescore_customer(session, first.customer_id, now=now)
        assert score is not None
        assert score.model_run_id == run.id
        assert score.rescored_at == now
        # The figure a data scientist would get from the same parameters by hand.
        frame = {
            "customer_id": [1, 1],
            "ordered_at": [
                (T0 + days(1)).replace(tzinfo=None),
                (T0 + days(30)).replace(tzinfo=None),
            ],
            "amount": [90.0, 20.0],
        }
        import pandas as pd

        summary = rfm_summary(
            pd.DataFrame(frame),
            "customer_id",
            "ordered_at",
            "amount",
            observation_end=now.replace(tzinfo=None),
        )
        model = BetaGeoModel()
        model.params_ = params
        expected = model.probability_alive(summary["frequency"], summary["recency"], summary["T"])
        assert score.p_alive == pytest.approx(float(expected.iloc[0]), rel=1e-9)
        assert (summary["frequency"].iloc[0], summary["recency"].iloc[0]) == (1, 29)
        # A refund of everything leaves no paid order: the customer drops out of the run.
        for order_id in (first.id, later.id):
            change_order_status(session, order_id, "refunded", "live")
        assert (
            session.scalar(
                select(CustomerScore).where(CustomerScore.customer_id == first.customer_id)
            )
            is None
        )


def test_an_earlier_order_arriving_late_still_earns(database: Database) -> None:
    """Webhooks come out of order: the customer an order brought in joined at their first
    purchase, so the earlier order earns as it would have in order of purchase."""
    with database.session() as session:
        programme(session)
        later = receive_order(session, order_in(5), "live").order
        earlier = receive_order(session, order_in(2), "live").order
        account = session.get(LoyaltyAccount, later.customer_id)
        assert account is not None
        assert account.enrolled_at == earlier.ordered_at
        assert points_balance(session, later.customer_id) == 180
        assert sync_order_points(session).earned == 0


@pytest.mark.slow
def test_an_order_rescores_churn_risk_from_the_stored_scorer(sqlite_database: Database) -> None:
    """CDNOW imported and its churn scored; a new order of a lapsed customer lowers their risk,
    to exactly what the stored scorer gives for their orders as of now."""
    from pathlib import Path

    import pandas as pd

    from soloist.analytics import rescore_churn
    from soloist.domain.imports.pipeline import ImportOptions, import_file
    from soloist.domain.scoring.churn import score_churn_risk

    data = Path(__file__).parents[1] / "data" / "CDNOW_sample.txt"
    with sqlite_database.session() as session:
        programme(session)
        import_file(session, "orders", data, ImportOptions(), "test")
        run = score_churn_risk(session, "USD", "test")
        state = run.params["scorer"]
        assert state is not None, run.metrics.get("chosen")
        lapsed = session.scalar(
            select(CustomerScore)
            .where(CustomerScore.model_run_id == run.id)
            .order_by(CustomerScore.churn_risk.desc(), CustomerScore.customer_id)
            .limit(1)
        )
        assert lapsed is not None
        before = lapsed.churn_risk
        assert before is not None
        customer_id = lapsed.customer_id
        now = dt.datetime.now(dt.UTC)
        receive_order(
            session,
            order_in(1, customer_id=customer_id, customer=None, ordered_at=now),
            "live",
        )
        after = session.scalar(
            select(CustomerScore).where(
                CustomerScore.model_run_id == run.id, CustomerScore.customer_id == customer_id
            )
        )
        assert after is not None
        assert after.rescored_at is not None
        assert after.churn_risk is not None
        assert after.churn_risk < before
        orders = session.execute(
            select(Order.ordered_at, Order.total_minor).where(Order.customer_id == customer_id)
        ).all()
        frame = pd.DataFrame(orders, columns=["date", "amount"])
        frame["customer_id"] = customer_id
        frame["date"] = pd.to_datetime(frame["date"], utc=True).dt.tz_localize(None)
        frame["amount"] = frame["amount"] / 100
        expected = rescore_churn(state, frame, pd.Timestamp(after.rescored_at.replace(tzinfo=None)))
        assert after.churn_risk == pytest.approx(float(expected["churn_risk"].iloc[0]), abs=1e-6)
        assert after.reasons["churn"]
