"""feedback keeps its own id and its order

Revision ID: fa798424520a
Revises: e5e9db581a3f
Create Date: 2026-12-05 17:06:33.036741
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "fa798424520a"
down_revision: str | None = "e5e9db581a3f"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # Imported feedback is keyed by its own id in the file (an Olist review_id), so distinct
    # reviews of one customer at one moment stay distinct and a second import changes nothing.
    with op.batch_alter_table("reviews", schema=None) as batch_op:
        batch_op.add_column(sa.Column("external_id", sa.String(length=128), nullable=True))
        batch_op.create_unique_constraint(batch_op.f("uq_reviews_external_id"), ["external_id"])

    with op.batch_alter_table("survey_responses", schema=None) as batch_op:
        batch_op.add_column(sa.Column("external_id", sa.String(length=128), nullable=True))
        batch_op.add_column(sa.Column("order_id", sa.Integer(), nullable=True))
        batch_op.create_unique_constraint(
            batch_op.f("uq_survey_responses_external_id"), ["external_id"]
        )
        batch_op.create_foreign_key(
            batch_op.f("fk_survey_responses_order_id_orders"), "orders", ["order_id"], ["id"]
        )


def downgrade() -> None:
    with op.batch_alter_table("survey_responses", schema=None) as batch_op:
        batch_op.drop_constraint(
            batch_op.f("fk_survey_responses_order_id_orders"), type_="foreignkey"
        )
        batch_op.drop_constraint(batch_op.f("uq_survey_responses_external_id"), type_="unique")
        batch_op.drop_column("order_id")
        batch_op.drop_column("external_id")

    with op.batch_alter_table("reviews", schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f("uq_reviews_external_id"), type_="unique")
        batch_op.drop_column("external_id")
