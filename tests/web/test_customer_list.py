"""The customer list and the dashboard figures on every engine (the web pages call these)."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest

from soloist.domain.customers.listing import CustomerFilters, list_customers
from soloist.domain.customers.records import CustomerCreate, create_customer
from soloist.domain.dashboard import build_dashboard
from soloist.domain.feedback import record_survey_response
from soloist.domain.orders import OrderCreate, record_order
from soloist.storage.database import Database
from soloist.storage.models import Customer, CustomerScore, ModelRun

NOW = dt.datetime(2026, 6, 30, 12, tzinfo=dt.UTC)


@pytest.fixture
def scored(database: Database) -> list[int]:
    """Five customers; four scored (CLV 400, 300, 200, none) and one without a score row."""
    with database.session() as session:
        ids = [
            create_customer(session, CustomerCreate(name=name, tags=tags), "t").id
            for name, tags in [
                ("Dora", ["vip"]),
                ("Cleo", []),
                ("Bert", ["vip"]),
                ("Anna", []),
                ("Emil", []),
            ]
        ]
        run = ModelRun(kind="clv", status="succeeded", finished_at=NOW, params={}, metrics={})
        session.add(run)
        session.flush()
        for cid, clv, risk in zip(
            ids[:4], [400, 300, 200, None], [0.1, 0.9, 0.5, None], strict=True
        ):
            session.add(
                CustomerScore(
                    model_run_id=run.id,
                    customer_id=cid,
                    clv_12m_minor=clv,
                    churn_risk=risk,
                    segment="loyal" if clv and clv > 250 else "new",
                    reasons={},
                )
            )
    return ids


def names(database: Database, **filters: object) -> tuple[list[str], int]:
    with database.read_session() as session:
        rows, total = list_customers(session, CustomerFilters(**filters))  # type: ignore[arg-type]
    return [r.name for r in rows], total


def test_sort_by_clv_puts_unscored_customers_last_on_every_engine(
    database: Database, scored: list[int]
) -> None:
    assert names(database, sort="clv") == (["Dora", "Cleo", "Bert", "Anna", "Emil"], 5)
    assert names(database, sort="clv", limit=2, offset=2) == (["Bert", "Anna"], 5)
    assert names(database, sort="clv", limit=2, offset=4) == (["Emil"], 5)


def test_customers_no_longer_active_leave_the_sorted_counts(
    database: Database, scored: list[int]
) -> None:
    """The scored customers are counted from the run's scores, less those of customers merged
    or erased since: the count must still be of active customers only."""
    with database.session() as session:
        for customer_id, status in ((scored[0], "erased"), (scored[3], "merged")):
            customer = session.get(Customer, customer_id)
            assert customer is not None
            customer.status = status
    assert names(database, sort="clv") == (["Cleo", "Bert", "Emil"], 3)
    assert names(database, sort="risk", limit=1, offset=2) == (["Emil"], 3)


def test_sort_by_risk_and_filters(database: Database, scored: list[int]) -> None:
    assert names(database, sort="risk")[0][:3] == ["Cleo", "Bert", "Dora"]
    assert names(database, min_risk=0.5, sort="risk") == (["Cleo", "Bert"], 2)
    assert names(database, min_clv_minor=250, sort="clv") == (["Dora", "Cleo"], 2)
    assert names(database, tag="vip") == (["Bert", "Dora"], 2)
    assert names(database, segment="loyal") == (["Cleo", "Dora"], 2)
    assert names(database, q="BER") == (["Bert"], 1)  # the start of a word, any case
    assert names(database, q="ert") == ([], 0)  # not its middle: names are searched blind
    assert names(database, sort="newest", limit=1) == (["Emil"], 5)


def test_dashboard_figures_on_every_engine(database: Database) -> None:
    with database.session() as session:
        ada = create_customer(session, CustomerCreate(name="Ada"), "t").id
        bob = create_customer(session, CustomerCreate(name="Bob"), "t").id
        orders = [(ada, NOW - dt.timedelta(days=500)), (ada, NOW - dt.timedelta(days=10))]
        orders += [(bob, NOW - dt.timedelta(days=30))]
        for n, (cid, when) in enumerate(orders):
            record_order(
                session,
                OrderCreate(
                    external_id=f"o{n}",
                    customer_id=cid,
                    ordered_at=when,
                    currency="USD",
                    total=Decimal("10.00"),
                ),
                "t",
            )
        for score in (10, 9, 3):
            record_survey_response(session, "nps", score, "t", responded_at=NOW)
    with database.read_session() as session:
        board = build_dashboard(session, "USD")
    assert board.customers == 2
    assert board.active_customers == 2
    assert board.revenue_12m_minor == 2000
    assert board.repeat_purchase_rate == 0.5
    assert board.retention_rate == 1.0  # Ada bought in both years; Bob is new
    assert board.nps == pytest.approx(100 * (2 / 3 - 1 / 3))
    assert board.revenue_trend[-1][1] == 1000
    assert board.scored is False
    assert board.cohorts  # Bob's first purchase is within the last 12 months


def test_every_page_sorted_by_a_score_is_the_page_of_the_whole_list(database: Database) -> None:
    """Pages of every active customer come from the score index alone (the fast path); a tag
    every customer has takes the general query. Both must give the same pages, ties by id,
    customers no longer active left out, the unscored last."""
    with database.session() as session:
        ids = [
            create_customer(session, CustomerCreate(name=f"C{n:02}", tags=["all"]), "t").id
            for n in range(9)
        ]
        run = ModelRun(kind="clv", status="succeeded", finished_at=NOW, params={}, metrics={})
        session.add(run)
        session.flush()
        risks = [0.5, 0.2, 0.5, 0.9, None, 0.5, 0.2, 0.7, 0.5]
        for customer_id, risk in zip(ids, risks, strict=True):
            session.add(
                CustomerScore(
                    model_run_id=run.id,
                    customer_id=customer_id,
                    churn_risk=risk,
                    clv_12m_minor=None if risk is None else int(1000 * (1 - risk)),
                    reasons={},
                )
            )
        gone = session.get(Customer, ids[2])
        assert gone is not None
        gone.status = "merged"
    expected = ["C03", "C07", "C00", "C05", "C08", "C01", "C06", "C04"]
    assert names(database, sort="risk") == (expected, 8)
    for sort in ("risk", "clv"):
        whole, total = names(database, sort=sort)
        assert total == 8
        for offset in range(9):
            fast = names(database, sort=sort, limit=2, offset=offset)
            general = names(database, sort=sort, limit=2, offset=offset, tag="all")
            assert fast == general == (whole[offset : offset + 2], 8)
