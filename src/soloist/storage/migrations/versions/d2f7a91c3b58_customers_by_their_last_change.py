"""customers found by their last change

Revision ID: d2f7a91c3b58
Revises: b7d41e9c0a26
Create Date: 2026-12-06 16:00:00

The customer list keeps every customer in name order (names are encrypted, so the order is
worked out in memory) and brings it up to date from the customers changed since: the newest
change, and the customers changed after it, are read through this index instead of every row.
"""

from __future__ import annotations

from collections.abc import Sequence

from alembic import op

revision: str = "d2f7a91c3b58"
down_revision: str | None = "b7d41e9c0a26"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("customers", schema=None) as batch_op:
        batch_op.create_index("ix_customers_updated_at", ["updated_at"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("customers", schema=None) as batch_op:
        batch_op.drop_index("ix_customers_updated_at")
