"""service and sales: SLA clocks, survey links, pipeline stages, task reminders

Revision ID: 00dde8439f98
Revises: fa798424520a
Create Date: 2026-12-05 20:06:34.178063
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import mysql

# The pipeline a workspace starts with (key, win probability in percent, outcome), and the SLA
# targets per priority in business minutes (first response, resolution): the owner edits both.
DEFAULT_DEAL_STAGES = (
    ("lead", 10, "open"),
    ("qualified", 25, "open"),
    ("proposal", 50, "open"),
    ("negotiation", 75, "open"),
    ("won", 100, "won"),
    ("lost", 0, "lost"),
)
DEFAULT_SLA_MINUTES = (
    ("urgent", 60, 240),
    ("high", 120, 480),
    ("normal", 480, 1440),
    ("low", 960, 2400),
)

revision: str = "00dde8439f98"
down_revision: str | None = "fa798424520a"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "canned_replies",
        sa.Column("title", sa.String(length=120), nullable=False),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("language", sa.String(length=16), nullable=True),
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column(
            "created_at",
            sa.DateTime().with_variant(mysql.DATETIME(fsp=6), "mysql", "mariadb"),
            nullable=False,
        ),
        sa.Column(
            "updated_at",
            sa.DateTime().with_variant(mysql.DATETIME(fsp=6), "mysql", "mariadb"),
            nullable=False,
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_canned_replies")),
        sa.UniqueConstraint("title", name=op.f("uq_canned_replies_title")),
    )
    op.create_table(
        "deal_stages",
        sa.Column("key", sa.String(length=32), nullable=False),
        sa.Column("name", sa.String(length=64), nullable=True),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("probability_percent", sa.Integer(), nullable=False),
        sa.Column("outcome", sa.String(length=8), nullable=False),
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_deal_stages")),
        sa.UniqueConstraint("key", name=op.f("uq_deal_stages_key")),
    )
    op.create_table(
        "sla_policies",
        sa.Column("priority", sa.String(length=16), nullable=False),
        sa.Column("first_response_minutes", sa.Integer(), nullable=False),
        sa.Column("resolution_minutes", sa.Integer(), nullable=False),
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_sla_policies")),
        sa.UniqueConstraint("priority", name=op.f("uq_sla_policies_priority")),
    )
    op.create_table(
        "deal_stage_changes",
        sa.Column("deal_id", sa.Integer(), nullable=False),
        sa.Column("from_stage", sa.String(length=32), nullable=True),
        sa.Column("to_stage", sa.String(length=32), nullable=False),
        sa.Column(
            "changed_at",
            sa.DateTime().with_variant(mysql.DATETIME(fsp=6), "mysql", "mariadb"),
            nullable=False,
        ),
        sa.Column("actor", sa.String(length=100), nullable=False),
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.ForeignKeyConstraint(
            ["deal_id"],
            ["deals.id"],
            name=op.f("fk_deal_stage_changes_deal_id_deals"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_deal_stage_changes")),
    )
    with op.batch_alter_table("deal_stage_changes", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_deal_stage_changes_deal_id"), ["deal_id"], unique=False
        )

    op.create_table(
        "survey_links",
        sa.Column("kind", sa.String(length=8), nullable=False),
        sa.Column("customer_id", sa.Integer(), nullable=False),
        sa.Column("ticket_id", sa.Integer(), nullable=True),
        sa.Column("order_id", sa.Integer(), nullable=True),
        sa.Column("campaign_id", sa.Integer(), nullable=True),
        sa.Column("secret_hash", sa.String(length=64), nullable=False),
        sa.Column("language", sa.String(length=16), nullable=True),
        sa.Column(
            "created_at",
            sa.DateTime().with_variant(mysql.DATETIME(fsp=6), "mysql", "mariadb"),
            nullable=False,
        ),
        sa.Column(
            "expires_at",
            sa.DateTime().with_variant(mysql.DATETIME(fsp=6), "mysql", "mariadb"),
            nullable=False,
        ),
        sa.Column("edit_minutes", sa.Integer(), nullable=False),
        sa.Column(
            "submitted_at",
            sa.DateTime().with_variant(mysql.DATETIME(fsp=6), "mysql", "mariadb"),
            nullable=True,
        ),
        sa.Column(
            "sent_at",
            sa.DateTime().with_variant(mysql.DATETIME(fsp=6), "mysql", "mariadb"),
            nullable=True,
        ),
        sa.Column("created_by", sa.String(length=100), nullable=False),
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.ForeignKeyConstraint(
            ["campaign_id"], ["campaigns.id"], name=op.f("fk_survey_links_campaign_id_campaigns")
        ),
        sa.ForeignKeyConstraint(
            ["customer_id"], ["customers.id"], name=op.f("fk_survey_links_customer_id_customers")
        ),
        sa.ForeignKeyConstraint(
            ["order_id"], ["orders.id"], name=op.f("fk_survey_links_order_id_orders")
        ),
        sa.ForeignKeyConstraint(
            ["ticket_id"], ["tickets.id"], name=op.f("fk_survey_links_ticket_id_tickets")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_survey_links")),
    )
    with op.batch_alter_table("survey_links", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_survey_links_customer_id"), ["customer_id"], unique=False
        )
        batch_op.create_index(batch_op.f("ix_survey_links_ticket_id"), ["ticket_id"], unique=False)

    op.create_table(
        "ticket_status_changes",
        sa.Column("ticket_id", sa.Integer(), nullable=False),
        sa.Column("from_status", sa.String(length=16), nullable=True),
        sa.Column("to_status", sa.String(length=16), nullable=False),
        sa.Column(
            "changed_at",
            sa.DateTime().with_variant(mysql.DATETIME(fsp=6), "mysql", "mariadb"),
            nullable=False,
        ),
        sa.Column("actor", sa.String(length=100), nullable=False),
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.ForeignKeyConstraint(
            ["ticket_id"],
            ["tickets.id"],
            name=op.f("fk_ticket_status_changes_ticket_id_tickets"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_ticket_status_changes")),
    )
    with op.batch_alter_table("ticket_status_changes", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_ticket_status_changes_ticket_id"), ["ticket_id"], unique=False
        )

    with op.batch_alter_table("deals", schema=None) as batch_op:
        batch_op.add_column(sa.Column("close_reason", sa.String(length=255), nullable=True))
        batch_op.add_column(
            sa.Column(
                "stage_entered_at",
                sa.DateTime().with_variant(mysql.DATETIME(fsp=6), "mysql", "mariadb"),
                nullable=True,
            )
        )
        batch_op.add_column(
            sa.Column(
                "last_activity_at",
                sa.DateTime().with_variant(mysql.DATETIME(fsp=6), "mysql", "mariadb"),
                nullable=True,
            )
        )
        batch_op.alter_column(
            "stage",
            existing_type=sa.VARCHAR(length=16),
            type_=sa.String(length=32),
            existing_nullable=False,
        )
        batch_op.create_index(
            batch_op.f("ix_deals_last_activity_at"), ["last_activity_at"], unique=False
        )

    with op.batch_alter_table("survey_responses", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column(
                "updated_at",
                sa.DateTime().with_variant(mysql.DATETIME(fsp=6), "mysql", "mariadb"),
                nullable=True,
            )
        )
        batch_op.add_column(sa.Column("survey_link_id", sa.Integer(), nullable=True))
        batch_op.create_unique_constraint(
            batch_op.f("uq_survey_responses_survey_link_id"), ["survey_link_id"]
        )
        batch_op.create_foreign_key(
            batch_op.f("fk_survey_responses_survey_link_id_survey_links"),
            "survey_links",
            ["survey_link_id"],
            ["id"],
        )

    with op.batch_alter_table("tasks", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("priority", sa.String(length=8), nullable=False, server_default="normal")
        )
        batch_op.add_column(
            sa.Column(
                "remind_at",
                sa.DateTime().with_variant(mysql.DATETIME(fsp=6), "mysql", "mariadb"),
                nullable=True,
            )
        )
        batch_op.add_column(
            sa.Column(
                "reminded_at",
                sa.DateTime().with_variant(mysql.DATETIME(fsp=6), "mysql", "mariadb"),
                nullable=True,
            )
        )
        batch_op.add_column(sa.Column("automation_key", sa.String(length=128), nullable=True))
        batch_op.create_index(batch_op.f("ix_tasks_remind_at"), ["remind_at"], unique=False)
        batch_op.create_unique_constraint(batch_op.f("uq_tasks_automation_key"), ["automation_key"])

    with op.batch_alter_table("ticket_messages", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("internal", sa.Boolean(), nullable=False, server_default=sa.false())
        )
        batch_op.add_column(sa.Column("message_id", sa.String(length=255), nullable=True))
        batch_op.add_column(sa.Column("delivery", sa.String(length=16), nullable=True))
        batch_op.add_column(sa.Column("delivery_error", sa.String(length=255), nullable=True))
        batch_op.create_unique_constraint(
            batch_op.f("uq_ticket_messages_message_id"), ["message_id"]
        )

    with op.batch_alter_table("tickets", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column(
                "closed_at",
                sa.DateTime().with_variant(mysql.DATETIME(fsp=6), "mysql", "mariadb"),
                nullable=True,
            )
        )
        batch_op.add_column(
            sa.Column(
                "first_response_due_at",
                sa.DateTime().with_variant(mysql.DATETIME(fsp=6), "mysql", "mariadb"),
                nullable=True,
            )
        )
        batch_op.add_column(sa.Column("first_response_target_minutes", sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column("resolution_target_minutes", sa.Integer(), nullable=True))
        batch_op.add_column(
            sa.Column("sla_minutes_used", sa.Float(), nullable=False, server_default="0")
        )
        batch_op.add_column(
            sa.Column(
                "sla_clock_started_at",
                sa.DateTime().with_variant(mysql.DATETIME(fsp=6), "mysql", "mariadb"),
                nullable=True,
            )
        )
        batch_op.add_column(
            sa.Column(
                "last_message_at",
                sa.DateTime().with_variant(mysql.DATETIME(fsp=6), "mysql", "mariadb"),
                nullable=True,
            )
        )
        batch_op.add_column(sa.Column("merged_into_id", sa.Integer(), nullable=True))
        batch_op.create_index(
            batch_op.f("ix_tickets_first_response_due_at"), ["first_response_due_at"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_tickets_last_message_at"), ["last_message_at"], unique=False
        )
        batch_op.create_foreign_key(
            batch_op.f("fk_tickets_merged_into_id_tickets"), "tickets", ["merged_into_id"], ["id"]
        )
        # The old single due time was the resolution target's.
        batch_op.alter_column(
            "sla_due_at",
            new_column_name="resolution_due_at",
            existing_type=sa.DateTime().with_variant(mysql.DATETIME(fsp=6), "mysql", "mariadb"),
            existing_nullable=True,
        )

    with op.batch_alter_table("tickets", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_tickets_resolution_due_at"), ["resolution_due_at"], unique=False
        )

    tickets = sa.table("tickets", sa.column("status", sa.String), sa.column("last_message_at"),
                       sa.column("opened_at"))  # fmt: skip
    op.execute(tickets.update().where(tickets.c.status == "solved").values(status="resolved"))
    op.execute(tickets.update().values(last_message_at=tickets.c.opened_at))
    stages = sa.table("deal_stages", sa.column("key", sa.String), sa.column("position", sa.Integer),
                      sa.column("probability_percent", sa.Integer), sa.column("outcome", sa.String))  # fmt: skip
    op.bulk_insert(
        stages,
        [
            {"key": key, "position": index, "probability_percent": percent, "outcome": outcome}
            for index, (key, percent, outcome) in enumerate(DEFAULT_DEAL_STAGES)
        ],
    )
    policies = sa.table("sla_policies", sa.column("priority", sa.String),
                        sa.column("first_response_minutes", sa.Integer),
                        sa.column("resolution_minutes", sa.Integer))  # fmt: skip
    op.bulk_insert(
        policies,
        [
            {"priority": priority, "first_response_minutes": first, "resolution_minutes": resolve}
            for priority, first, resolve in DEFAULT_SLA_MINUTES
        ],
    )


def downgrade() -> None:
    tickets = sa.table("tickets", sa.column("status", sa.String))
    op.execute(tickets.update().where(tickets.c.status == "resolved").values(status="solved"))
    op.execute(tickets.update().where(tickets.c.status == "new").values(status="open"))
    with op.batch_alter_table("tickets", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_tickets_resolution_due_at"))
        batch_op.alter_column(
            "resolution_due_at",
            new_column_name="sla_due_at",
            existing_type=sa.DateTime().with_variant(mysql.DATETIME(fsp=6), "mysql", "mariadb"),
            existing_nullable=True,
        )

    with op.batch_alter_table("tickets", schema=None) as batch_op:
        batch_op.drop_constraint(
            batch_op.f("fk_tickets_merged_into_id_tickets"), type_="foreignkey"
        )
        batch_op.drop_index(batch_op.f("ix_tickets_last_message_at"))
        batch_op.drop_index(batch_op.f("ix_tickets_first_response_due_at"))
        batch_op.drop_column("merged_into_id")
        batch_op.drop_column("last_message_at")
        batch_op.drop_column("sla_clock_started_at")
        batch_op.drop_column("sla_minutes_used")
        batch_op.drop_column("resolution_target_minutes")
        batch_op.drop_column("first_response_target_minutes")
        batch_op.drop_column("first_response_due_at")
        batch_op.drop_column("closed_at")

    with op.batch_alter_table("ticket_messages", schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f("uq_ticket_messages_message_id"), type_="unique")
        batch_op.drop_column("delivery_error")
        batch_op.drop_column("delivery")
        batch_op.drop_column("message_id")
        batch_op.drop_column("internal")

    with op.batch_alter_table("tasks", schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f("uq_tasks_automation_key"), type_="unique")
        batch_op.drop_index(batch_op.f("ix_tasks_remind_at"))
        batch_op.drop_column("automation_key")
        batch_op.drop_column("reminded_at")
        batch_op.drop_column("remind_at")
        batch_op.drop_column("priority")

    with op.batch_alter_table("survey_responses", schema=None) as batch_op:
        batch_op.drop_constraint(
            batch_op.f("fk_survey_responses_survey_link_id_survey_links"), type_="foreignkey"
        )
        batch_op.drop_constraint(batch_op.f("uq_survey_responses_survey_link_id"), type_="unique")
        batch_op.drop_column("survey_link_id")
        batch_op.drop_column("updated_at")

    deals = sa.table("deals", sa.column("stage", sa.String))
    # A stage key of the owner's longer than the old column: the deal goes back to a lead.
    op.execute(deals.update().where(sa.func.length(deals.c.stage) > 16).values(stage="lead"))
    with op.batch_alter_table("deals", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_deals_last_activity_at"))
        batch_op.alter_column(
            "stage",
            existing_type=sa.String(length=32),
            type_=sa.VARCHAR(length=16),
            existing_nullable=False,
        )
        batch_op.drop_column("last_activity_at")
        batch_op.drop_column("stage_entered_at")
        batch_op.drop_column("close_reason")

    # Dropping a table drops its indexes (MariaDB will not drop one a foreign key needs).
    op.drop_table("ticket_status_changes")
    op.drop_table("survey_links")
    op.drop_table("deal_stage_changes")
    op.drop_table("sla_policies")
    op.drop_table("deal_stages")
    op.drop_table("canned_replies")
