"""A month the data end inside of is marked partial: in the revenue series and chart, and in
the cohort cells of that month; a month that ends with the data is not."""

from __future__ import annotations

import datetime as dt
import json
import re
from decimal import Decimal

from fastapi.testclient import TestClient

from soloist.domain.customers.records import CustomerCreate, create_customer
from soloist.domain.dashboard import build_dashboard
from soloist.domain.orders import OrderCreate, record_order
from soloist.storage.database import Database
from soloist.web.dashboard import chart_data
from tests.web.conftest import sign_in


def _orders(database: Database, last: dt.datetime) -> None:
    """Two customers buying on the 10th of each month from January 2026, the last order of
    both at ``last``."""
    days = [dt.datetime(2026, k, 10, 12, tzinfo=dt.UTC) for k in range(1, last.month)]
    with database.session() as session:
        ids = [create_customer(session, CustomerCreate(name=n), "t").id for n in ("Ada", "Bo")]
        for n, (cid, when) in enumerate((c, d) for d in [*days, last] for c in ids):
            record_order(
                session,
                OrderCreate(external_id=f"o{n}", customer_id=cid, ordered_at=when,
                            currency="USD", total=Decimal("100.00")),
                "t",
            )  # fmt: skip


def test_the_month_the_data_end_in_is_partial(sqlite_database: Database) -> None:
    _orders(sqlite_database, dt.datetime(2026, 5, 10, 12, tzinfo=dt.UTC))
    with sqlite_database.read_session() as session:
        board = build_dashboard(session, "USD")
    assert [m.month for m in board.revenue_trend] == [f"2026-0{k}" for k in range(1, 6)]
    assert [m.revenue_minor for m in board.revenue_trend] == [20000] * 5
    assert [m.partial for m in board.revenue_trend] == [False, False, False, False, True]
    assert board.partial_month == "2026-05"
    assert board.cohorts == ["2026-01"]
    # January's cohort: +0 … +3 are whole months, +4 is May
    assert board.cohort_partial == [[False, False, False, False, True]]
    assert chart_data(board, lambda name, kind: name)["revenue"]["partial"][-1] is True


def test_data_that_end_on_a_month_s_last_day_have_no_partial_month(
    sqlite_database: Database,
) -> None:
    _orders(sqlite_database, dt.datetime(2026, 4, 30, 18, tzinfo=dt.UTC))
    with sqlite_database.read_session() as session:
        board = build_dashboard(session, "USD")
    assert board.partial_month is None
    assert not any(m.partial for m in board.revenue_trend)
    assert not any(any(row) for row in board.cohort_partial)


def test_the_dashboard_says_which_month_is_partial(
    web: TestClient, sqlite_database: Database
) -> None:
    _orders(sqlite_database, dt.datetime(2026, 5, 10, 12, tzinfo=dt.UTC))
    sign_in(web)
    page = web.get("/").text
    assert 'id="revenue-partial"' in page
    assert "2026-05 is not over yet" in page
    assert 'id="cohort-partial"' in page
    assert len(re.findall(r'<td [^>]*class="partial"', page)) == 1
    data = json.loads(re.search(r'id="dashboard-data">(.*?)</script>', page, re.S).group(1))
    assert data["revenue"]["partial"] == [False, False, False, False, True]
