"""Table snapshots to compare the database before and after an import."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select

from soloist.storage.database import Database
from soloist.storage.models import (
    Customer,
    CustomerTag,
    Interaction,
    Order,
    OrderLine,
    Product,
    Review,
    Subscription,
    SurveyResponse,
)

DATA_TABLES = (
    Customer,
    CustomerTag,
    Order,
    OrderLine,
    Product,
    Subscription,
    Interaction,
    SurveyResponse,
    Review,
)


def snapshot(database: Database) -> dict[str, list[tuple[Any, ...]]]:
    """Every data table's rows (minus bookkeeping times), sorted: equal snapshots, same data."""
    result: dict[str, list[tuple[Any, ...]]] = {}
    with database.session() as session:
        for model in DATA_TABLES:
            table = model.__table__
            columns = [c for c in table.columns if c.name not in ("created_at", "updated_at")]
            rows = session.execute(select(*columns)).all()
            result[str(model.__tablename__)] = sorted((tuple(row) for row in rows), key=repr)
    return result
