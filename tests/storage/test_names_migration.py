"""Migration 5e7a9c1b3d42 encrypts names, companies, customers' own fields, tags, subjects and
the audit log's changes in place, on every engine, and gives them back on the way down."""

from __future__ import annotations

import datetime as dt
import json

import sqlalchemy as sa
from sqlalchemy.orm import Session

from soloist.domain.customers import CustomerFilters, list_customers
from soloist.domain.service import list_tickets
from soloist.storage.crypto import Keyring, generate_master_key
from soloist.storage.database import create_database_engine
from soloist.storage.migrate import downgrade_database, upgrade_database
from soloist.storage.models import AuditEntry, Customer, Interaction, Message

BEFORE = "8d2f4b6a1c3e"
NOW = dt.datetime(2026, 12, 1, 12, 0)


def _seed_plain(connection: sa.Connection) -> None:
    connection.execute(
        sa.text(
            "INSERT INTO customers (id, name, company, custom_fields, status, created_at, "
            "updated_at) VALUES (1, 'Zoë Quintrell', 'Quintrell Teas', :fields, 'active', :t, :t),"
            " (2, '王小明', NULL, '{}', 'active', :t, :t),"
            " (3, 'ada Byron', NULL, '{}', 'active', :t, :t)"
        ),
        {"fields": json.dumps({"favourite_brew": "sencha"}), "t": NOW},
    )
    connection.execute(
        sa.text(
            "INSERT INTO customer_tags (customer_id, tag) VALUES (1, 'vip'), (2, 'vip'), (3, 'vip')"
        )
    )
    connection.execute(
        sa.text(
            "INSERT INTO interactions (id, customer_id, channel, direction, subject, "
            "occurred_at, created_at) VALUES (1, 1, 'email', 'inbound', 'Quintrell order', :t, :t)"
        ),
        {"t": NOW},
    )
    connection.execute(
        sa.text(
            "INSERT INTO messages (id, customer_id, channel, status, idempotency_key, subject, "
            "attempts, created_at) VALUES (1, 1, 'email', 'sent', 'k1', 'Hi Zoë', 0, :t)"
        ),
        {"t": NOW},
    )
    connection.execute(
        sa.text(
            "INSERT INTO tickets (id, customer_id, subject, status, priority, opened_at, "
            "sla_minutes_used, created_at, updated_at) VALUES (1, 1, 'Zoë''s teapot arrived "
            "cracked', 'new', 'normal', :t, 0, :t, :t)"
        ),
        {"t": NOW},
    )
    connection.execute(
        sa.text(
            "INSERT INTO audit_log (id, occurred_at, actor, action, entity_type, entity_id, "
            "changes) VALUES (1, :t, 'owner', 'customer.updated', 'customer', '1', :c)"
        ),
        {"t": NOW, "c": json.dumps({"name": ["Zoe", "Zoë Quintrell"]})},
    )


def test_upgrade_encrypts_every_value_and_downgrade_gives_them_back(
    empty_database_url: str,
) -> None:
    engine = create_database_engine(
        empty_database_url, Keyring.from_master_key(generate_master_key())
    )
    try:
        upgrade_database(engine, BEFORE)
        with engine.begin() as connection:
            _seed_plain(connection)
        upgrade_database(engine)

        with engine.connect() as connection:
            raw_names = connection.scalars(sa.text("SELECT name FROM customers")).all()
            raw_tags = connection.scalars(sa.text("SELECT tag FROM customer_tags")).all()
            raw_changes = connection.scalar(sa.text("SELECT changes FROM audit_log"))
            raw_subject = connection.scalar(sa.text("SELECT subject FROM tickets"))
        assert b"teapot" not in bytes(raw_subject)
        assert all(b"Quintrell" not in bytes(value) for value in raw_names)
        assert "vip" not in raw_tags
        assert len(set(raw_tags)) == 1
        assert b"Quintrell" not in bytes(raw_changes)

        with Session(engine) as session:
            zoe = session.get(Customer, 1)
            assert zoe is not None
            assert (zoe.name, zoe.company) == ("Zoë Quintrell", "Quintrell Teas")
            assert zoe.custom_fields == {"favourite_brew": "sencha"}
            assert zoe.tag_names == ["vip"]
            assert session.get(Interaction, 1).subject == "Quintrell order"  # type: ignore[union-attr]
            assert session.get(Message, 1).subject == "Hi Zoë"  # type: ignore[union-attr]
            entry = session.get(AuditEntry, 1)
            assert entry is not None
            assert entry.changes == {"name": ["Zoe", "Zoë Quintrell"]}

            def found(q: str | None, **more: str) -> list[int]:
                rows, _ = list_customers(session, CustomerFilters(q=q, **more))
                return [row.id for row in rows]

            assert found("quin") == [1]  # the migration indexed the words it encrypted
            assert found("zoe teas") == [1]  # accents folded, name and company words
            assert found("小明") == [2]
            inbox, total = list_tickets(session, search="teapot crack")
            assert ([t.id for t in inbox], total) == ([1], 1)
            assert found(None, tag="vip") == [3, 1, 2]  # name order, case folded

        downgrade_database(engine, BEFORE)
        with engine.connect() as connection:
            assert connection.execute(
                sa.text("SELECT name, company, custom_fields FROM customers WHERE id = 1")
            ).one()[:2] == ("Zoë Quintrell", "Quintrell Teas")
            assert set(connection.scalars(sa.text("SELECT tag FROM customer_tags"))) == {"vip"}
            assert connection.scalar(sa.text("SELECT subject FROM messages")) == "Hi Zoë"
            changes = connection.scalar(sa.text("SELECT changes FROM audit_log"))
            changes = json.loads(changes) if isinstance(changes, str) else changes
            assert changes == {"name": ["Zoe", "Zoë Quintrell"]}
        upgrade_database(engine)  # and up again, from the values it gave back
        with Session(engine) as session:
            assert session.get(Customer, 1).name == "Zoë Quintrell"  # type: ignore[union-attr]
    finally:
        engine.dispose()
