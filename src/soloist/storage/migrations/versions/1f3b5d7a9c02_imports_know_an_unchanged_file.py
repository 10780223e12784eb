"""imports know an unchanged file

Revision ID: 1f3b5d7a9c02
Revises: e8b3c6d1f407
Create Date: 2026-12-06 21:30:00

An import batch keeps a key of its file, kind, options and the state of the data it left
behind, so that importing the same file again into data unchanged since is recognised at once
instead of being read and compared row by row.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "1f3b5d7a9c02"
down_revision: str | None = "e8b3c6d1f407"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("import_batches", schema=None) as batch_op:
        batch_op.add_column(sa.Column("unchanged_key", sa.String(length=64), nullable=True))
        batch_op.create_index("ix_import_batches_unchanged_key", ["unchanged_key"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("import_batches", schema=None) as batch_op:
        batch_op.drop_index("ix_import_batches_unchanged_key")
        batch_op.drop_column("unchanged_key")
