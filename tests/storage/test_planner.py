"""SQLite's planner statistics are brought up to date after an import: without them it walked
every active customer for a name search at 100,000 customers."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

from sqlalchemy import func, select, text
from sqlalchemy.orm import Session

from soloist.domain.imports.pipeline import ImportOptions, import_file
from soloist.domain.scoring.clv import AnalyzeOptions, analyze_workspace
from soloist.storage.bulk import core_insert
from soloist.storage.database import Database
from soloist.storage.models import Customer, Order, OrderLine
from soloist.storage.planner import catch_up_statistics, refresh_statistics, unindexed

DATA = Path(__file__).parents[1] / "data"


def _statistics(database: Database) -> dict[str, str]:
    with database.read_session() as session:
        exists = session.scalar(
            text("SELECT count(*) FROM sqlite_master WHERE name = 'sqlite_stat1'")
        )
        if not exists:
            return {}
        rows = session.execute(text("SELECT idx, stat FROM sqlite_stat1")).all()
    return {str(index): str(stat) for index, stat in rows}


def test_an_import_leaves_the_planner_statistics_of_what_it_wrote(
    sqlite_database: Database,
) -> None:
    assert "ix_orders_customer_ordered" not in _statistics(sqlite_database)
    with sqlite_database.session() as session:
        report = import_file(
            session, "orders", DATA / "online_retail_2010-12_head2000.csv",
            ImportOptions(currency="GBP"), "test",
        )  # fmt: skip
    assert report.imported > 0
    statistics = _statistics(sqlite_database)
    rows, per_customer = (int(n) for n in statistics["ix_orders_customer_ordered"].split()[:2])
    assert rows == report.imported  # orders, and orders per customer
    assert 1 <= per_customer < rows
    assert "ix_customers_status" in statistics


def test_the_server_engines_keep_their_own(database: Database) -> None:
    with database.session() as session:
        assert refresh_statistics(session) is (database.backend == "sqlite")


def test_an_analysis_leaves_the_statistics_of_the_scores_it_wrote(
    sqlite_database: Database,
) -> None:
    """Without them, the customer list's name search sorted by CLV walked a whole run's scores
    right after the first `soloist analyze` at 100,000 customers (355 ms at the median)."""
    with sqlite_database.session() as session:
        import_file(session, "orders", DATA / "CDNOW_sample.txt", ImportOptions(), "test")
    with sqlite_database.reader_and_writer() as (reader, store):
        analyze_workspace(reader, "USD", "test", AnalyzeOptions(model="bg-nbd"), store=store)
    with sqlite_database.read_session() as session:
        stored = session.scalar(text("SELECT count(*) FROM customer_scores"))
    assert stored > 2000
    estimated = int(_statistics(sqlite_database)["ix_customer_scores_run_clv"].split()[0])
    assert abs(estimated - stored) <= stored // 10  # sampled (analysis_limit), not counted


def _estimated_customers(database: Database, session: Session) -> float | None:
    """The planner's estimate of the customers table's rows, as the session sees it."""
    if database.backend == "postgresql":
        known = session.scalar(text("SELECT reltuples FROM pg_class WHERE relname = 'customers'"))
        return float(known)
    if database.backend == "sqlite":
        stat = session.scalar(
            text("SELECT stat FROM sqlite_stat1 WHERE idx = 'ix_customers_status'")
        )
        return float(str(stat).split()[0])
    return None


def test_statistics_catch_up_inside_the_transaction_that_grew_a_table_and_commit_nothing(
    database: Database,
) -> None:
    """PostgreSQL's autovacuum sees only committed rows; inside a long transaction the planner
    learns of the rows that transaction wrote only from ``ANALYZE`` run in it. MariaDB's
    ``ANALYZE TABLE`` would commit, so there nothing runs: on every engine a rollback after
    the catch-up still loses the rows."""
    now = dt.datetime(2026, 1, 2, tzinfo=dt.UTC)
    rows = [
        {"name": f"C{i}", "status": "active", "custom_fields": {}, "created_at": now,
         "updated_at": now}
        for i in range(3000)
    ]  # fmt: skip
    with database.session_factory() as session:
        core_insert(session, Customer, rows)
        catch_up_statistics(session, ["customers"])
        estimate = _estimated_customers(database, session)
        session.rollback()
    if database.backend not in ("postgresql", "sqlite"):
        assert estimate is None
    else:
        assert estimate is not None
        assert abs(estimate - 3000) <= 300  # sampled (SQLite's analysis_limit), not counted
    with database.read_session() as session:
        assert session.scalar(select(func.count(Customer.id))) == 0


def test_unindexed_conditions_scan_the_table_in_its_own_order_with_the_same_rows(
    database: Database,
) -> None:
    """On SQLite a condition on the revenue index's columns read the orders in that index's
    order, each order and its lines a lookup at a random place in the file; through
    ``unindexed`` the orders are scanned in their own order. The rows are the same."""
    with database.session() as session:
        import_file(session, "orders", DATA / "CDNOW_sample.txt", ImportOptions(), "test")
    until = dt.datetime(1997, 6, 1, tzinfo=dt.UTC)

    def lines(session: Session, column: Any) -> Any:
        return (
            select(Order.customer_id, OrderLine.amount_minor)
            .join(OrderLine, OrderLine.order_id == Order.id)
            .where(
                column(session, Order.status) == "paid",
                column(session, Order.currency) == "USD",
                column(session, Order.ordered_at) < until,
            )
        )

    def plain(_session: Session, attribute: Any) -> Any:
        return attribute

    with database.read_session() as session:
        indexed = sorted(map(tuple, session.execute(lines(session, plain))))
        scanned = sorted(map(tuple, session.execute(lines(session, unindexed))))
        if database.backend == "sqlite":
            refresh_statistics(session)

            def plan(column: Any) -> list[str]:
                compiled = lines(session, column).compile(
                    session.get_bind(), compile_kwargs={"literal_binds": True}
                )
                return [row[-1] for row in session.execute(text(f"EXPLAIN QUERY PLAN {compiled}"))]

            assert any("orders USING INDEX ix_orders_revenue" in step for step in plan(plain))
            steps = plan(unindexed)
            assert steps[0] in ("SCAN orders", "SCAN order_lines"), steps
            assert not any("orders USING INDEX" in step for step in steps), steps
    assert len(indexed) > 1000
    assert scanned == indexed
