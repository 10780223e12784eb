"""The analyses' read of every paid order: the same rows as the general query, read on SQLite
by one scan of the table rather than through the revenue index and a lookup of each row."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pandas as pd
from sqlalchemy import event

from soloist.demo.business import build_demo
from soloist.domain.scoring.clv import load_paid_orders
from soloist.storage.database import Database


def test_every_paid_order_is_read_as_by_the_general_query(database: Database) -> None:
    with database.session() as session:
        build_demo(session, customers=60, seed=3, end_date=dt.date(2026, 6, 30))
    statements: list[tuple[str, Any]] = []

    def heard(_conn: Any, _cursor: Any, statement: str, parameters: Any, *_: Any) -> None:
        if "FROM orders" in statement and "cost_minor" in statement:
            statements.append((statement, parameters))

    event.listen(database.engine, "before_cursor_execute", heard)
    try:
        with database.read_session() as session:
            alone = load_paid_orders(session, "USD")
            # a rate for a currency no order is in: the general query, with its currency column
            general = load_paid_orders(session, "USD", rates={"JPY": 0.0064})
    finally:
        event.remove(database.engine, "before_cursor_execute", heard)
    assert len(alone) > 100

    def ordered(frame: pd.DataFrame) -> pd.DataFrame:
        return frame.sort_values(list(frame.columns), ignore_index=True)

    pd.testing.assert_frame_equal(ordered(alone), ordered(general))
    assert len(statements) == 2
    if database.backend == "sqlite":
        raw = database.engine.raw_connection()
        try:
            plans = [
                " ".join(str(row[-1]) for row in raw.execute(f"EXPLAIN QUERY PLAN {sql}", params))
                for sql, params in statements
            ]
        finally:
            raw.close()
        assert plans[0] == "SCAN orders", plans[0]
        assert "ix_orders_revenue" in plans[1]
