"""an order's line numbers are kept unique by an index

Revision ID: 3c8e1a6f5b20
Revises: 1f3b5d7a9c02
Create Date: 2026-12-07 01:00:00

The key (order_id, line_no) of order lines was a table constraint, which SQLite cannot drop
without rebuilding the table. As a unique index of the same name it keeps the lines unique just
the same, and a bulk load that at least doubles the table (an import of a large order history)
can drop it and build it once after the load instead of inserting into it line by line.

MariaDB and MySQL keep a unique constraint as a unique index of its name already (the one that
also serves the foreign key on order_id, so it may not be dropped): nothing changes there.
"""

from __future__ import annotations

from collections.abc import Sequence

from alembic import op

revision: str = "3c8e1a6f5b20"
down_revision: str | None = "1f3b5d7a9c02"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

NAME = "uq_order_lines_order_id_line_no"


def _held_as_an_index_already() -> bool:
    return op.get_bind().dialect.name in ("mysql", "mariadb")


def upgrade() -> None:
    if _held_as_an_index_already():
        return
    with op.batch_alter_table("order_lines", schema=None) as batch_op:
        batch_op.drop_constraint(NAME, type_="unique")
    with op.batch_alter_table("order_lines", schema=None) as batch_op:
        batch_op.create_index(NAME, ["order_id", "line_no"], unique=True)


def downgrade() -> None:
    if _held_as_an_index_already():
        return
    with op.batch_alter_table("order_lines", schema=None) as batch_op:
        batch_op.drop_index(NAME)
    with op.batch_alter_table("order_lines", schema=None) as batch_op:
        batch_op.create_unique_constraint(NAME, ["order_id", "line_no"])
