"""ledger entries found by their source

Revision ID: b7d41e9c0a26
Revises: 9c4e6a8b2d15
Create Date: 2026-12-06 13:00:00

Every order that arrives looks up the points it already earned and the reversals already made
(the entries whose source is that order): without an index that read every ledger entry, 86 ms
a live order at a million entries, inside the order's write transaction.
"""

from __future__ import annotations

from collections.abc import Sequence

from alembic import op

revision: str = "b7d41e9c0a26"
down_revision: str | None = "9c4e6a8b2d15"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("loyalty_ledger", schema=None) as batch_op:
        batch_op.create_index(
            "ix_loyalty_ledger_source", ["source_type", "source_id"], unique=False
        )


def downgrade() -> None:
    with op.batch_alter_table("loyalty_ledger", schema=None) as batch_op:
        batch_op.drop_index("ix_loyalty_ledger_source")
