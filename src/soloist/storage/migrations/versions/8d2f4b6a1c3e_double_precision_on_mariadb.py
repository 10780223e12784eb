"""real numbers in double precision on MySQL and MariaDB (FLOAT there is 4 bytes)

Revision ID: 8d2f4b6a1c3e
Revises: 3c1e9a7d5b20
Create Date: 2026-12-06 00:40:00
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import mysql

revision: str = "8d2f4b6a1c3e"
down_revision: str | None = "3c1e9a7d5b20"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# (table, column, nullable, server default)
COLUMNS = (
    ("campaigns", "holdout_share", False, "0"),
    ("customer_scores", "p_alive", True, None),
    ("customer_scores", "expected_purchases_90d", True, None),
    ("customer_scores", "churn_risk", True, None),
    ("customer_scores", "next_purchase_days", True, None),
    ("tickets", "sla_minutes_used", False, None),
    ("campaign_experiments", "test_share", False, None),
    ("campaign_experiments", "baseline_rate", False, None),
    ("campaign_experiments", "minimum_lift", False, None),
    ("campaign_experiments", "alpha", False, None),
    ("campaign_experiments", "power", False, None),
    ("journeys", "threshold", True, None),
    ("journeys", "minimum_value", True, None),
    ("journeys", "holdout_share", False, None),
    ("message_events", "seconds_after_send", True, None),
)


def _retype(old: sa.types.TypeEngine[Any], new: sa.types.TypeEngine[Any]) -> None:
    # PostgreSQL's and SQLite's FLOAT are 8 bytes already: only MySQL and MariaDB change.
    if op.get_bind().dialect.name not in ("mysql", "mariadb"):
        return
    for table, column, nullable, default in COLUMNS:
        op.alter_column(
            table,
            column,
            type_=new,
            existing_type=old,
            existing_nullable=nullable,
            existing_server_default=default,
        )


def upgrade() -> None:
    _retype(mysql.FLOAT(), mysql.DOUBLE(asdecimal=False))


def downgrade() -> None:
    _retype(mysql.DOUBLE(asdecimal=False), mysql.FLOAT())
