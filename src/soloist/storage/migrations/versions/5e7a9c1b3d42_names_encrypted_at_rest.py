"""names, companies, customers' own fields, tags and subjects encrypted at rest; a blind index

Revision ID: 5e7a9c1b3d42
Revises: 8d2f4b6a1c3e
Create Date: 2026-12-06 03:20:00

Each column is converted in place, keeping every value: the plain column is renamed aside, the
encrypted one added under its name and filled, the plain one dropped. No table is rebuilt, so on
SQLite no ``ON DELETE CASCADE`` can fire (a batch rebuild drops the old table, and with foreign
keys on, dropping ``customers`` would empty ``customer_tags``). The words of names and companies
go into ``search_tokens`` as keyed hashes. Converting rows needs the workspace's keyring, which
``soloist.storage.database.create_database_engine`` hangs on the dialect.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from typing import Any

import sqlalchemy as sa
from alembic import op

from soloist.storage.crypto import Keyring
from soloist.storage.search_tokens import hashed, index_terms

revision: str = "5e7a9c1b3d42"
down_revision: str | None = "8d2f4b6a1c3e"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# (table, column, nullable, plain type, purpose)
ENCRYPTED: tuple[tuple[str, str, bool, Any, str], ...] = (
    ("customers", "name", False, sa.String(length=200), "customers.name"),
    ("customers", "company", True, sa.String(length=200), "customers.company"),
    ("customers", "custom_fields", False, sa.JSON(), "customers.custom_fields"),
    ("interactions", "subject", True, sa.String(length=255), "interactions.subject"),
    ("messages", "subject", True, sa.String(length=255), "messages.subject"),
    ("tickets", "subject", False, sa.String(length=255), "tickets.subject"),
    ("audit_log", "changes", False, sa.JSON(), "audit_log.changes"),
)
TAG_PURPOSE = "customer_tags.tag"
SEALED_TAG_LENGTH = 364  # soloist.storage.types.SealedString("customer_tags.tag", 64)
TOKEN_SCOPE = "customer"
TICKET_SCOPE = "ticket"


def _keyring(rows: int) -> Keyring | None:
    keyring = getattr(op.get_bind().dialect, "soloist_keyring", None)
    if keyring is None and rows:
        raise RuntimeError(
            "Encrypting the stored names needs the workspace's key: run the upgrade through "
            "soloist (soloist init / soloist migrate), not on a bare engine."
        )
    return keyring


def _rows(table: str, *columns: str) -> list[Any]:
    query: Any = sa.select(*(sa.column(name) for name in columns)).select_from(sa.table(table))
    return list(op.get_bind().execute(query))


def _quoted(name: str) -> str:
    return op.get_bind().dialect.identifier_preparer.quote(name)


def _replace_column(
    table: str,
    column: str,
    nullable: bool,
    new_type: sa.types.TypeEngine[Any],
    convert: Callable[[Any], Any],
    empty: str,
) -> None:
    """Give ``table.column`` the type ``new_type``, each value through ``convert``; ``empty``
    is the SQL default SQLite needs to add a NOT NULL column."""
    bind = op.get_bind()
    aside = f"{column}_before"
    values = [(row[0], convert(row[1])) for row in _rows(table, "id", column)]
    op.execute(f"ALTER TABLE {_quoted(table)} RENAME COLUMN {_quoted(column)} TO {_quoted(aside)}")
    sqlite = bind.dialect.name == "sqlite"
    if sqlite and not nullable:  # SQLite adds a NOT NULL column only with a default
        default = sa.text(empty)
        op.add_column(table, sa.Column(column, new_type, nullable=False, server_default=default))
    else:
        op.add_column(table, sa.Column(column, new_type, nullable=True))
    if values:
        update = sa.text(f"UPDATE {_quoted(table)} SET {_quoted(column)} = :value WHERE id = :id")
        bind.execute(
            update.bindparams(sa.bindparam("value", type_=new_type)),
            [{"id": row_id, "value": value} for row_id, value in values],
        )
    if not nullable and not sqlite:
        op.alter_column(table, column, existing_type=new_type, nullable=False)
    op.drop_column(table, aside)


def _json_text(value: Any) -> str:
    if isinstance(value, str):
        return value
    return json.dumps(value if value is not None else {}, ensure_ascii=False, sort_keys=True)


def upgrade() -> None:
    op.drop_index("ix_customers_status_name", table_name="customers")
    op.drop_index("ix_customers_name", table_name="customers")
    count = op.get_bind().scalar(sa.text("SELECT COUNT(*) FROM customers")) or 0
    keyring = _keyring(int(count))
    for table, column, nullable, plain, purpose in ENCRYPTED:

        def encrypt(value: Any, purpose: str = purpose, plain: Any = plain) -> bytes | None:
            if value is None:
                return None
            assert keyring is not None
            text = _json_text(value) if isinstance(plain, sa.JSON) else str(value)
            return keyring.encrypt(text, purpose)

        _replace_column(table, column, nullable, sa.LargeBinary(), encrypt, "X''")

    tags = _rows("customer_tags", "customer_id", "tag")
    # customer_tags is referenced by no table, so rebuilding it on SQLite is safe.
    with op.batch_alter_table("customer_tags") as batch_op:
        batch_op.alter_column(
            "tag",
            existing_type=sa.String(length=64),
            type_=sa.String(length=SEALED_TAG_LENGTH),
            existing_nullable=False,
        )
    if tags:
        assert keyring is not None
        op.get_bind().execute(
            sa.text("UPDATE customer_tags SET tag = :sealed WHERE customer_id = :c AND tag = :t"),
            [{"c": c, "t": t, "sealed": keyring.seal(t, TAG_PURPOSE)} for c, t in tags],
        )

    tokens_table = op.create_table(
        "search_tokens",
        sa.Column("scope", sa.String(length=16), nullable=False),
        sa.Column("token", sa.String(length=32), nullable=False),
        sa.Column("record_id", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("scope", "token", "record_id", name=op.f("pk_search_tokens")),
    )
    op.create_index("ix_search_tokens_record", "search_tokens", ["scope", "record_id"])
    if count:
        assert keyring is not None
        assert tokens_table is not None
        rows: list[dict[str, Any]] = []
        for customer_id, name, company in _rows("customers", "id", "name", "company"):
            terms: set[str] = set()
            for purpose, value in (("customers.name", name), ("customers.company", company)):
                if value is not None:
                    terms |= index_terms(keyring.decrypt(bytes(value), purpose))
            rows.extend(
                {"scope": TOKEN_SCOPE, "token": token, "record_id": customer_id}
                for token in hashed(keyring, TOKEN_SCOPE, terms)
            )
        for ticket_id, subject in _rows("tickets", "id", "subject"):
            words = index_terms(keyring.decrypt(bytes(subject), "tickets.subject"))
            rows.extend(
                {"scope": TICKET_SCOPE, "token": token, "record_id": ticket_id}
                for token in hashed(keyring, TICKET_SCOPE, words)
            )
        if rows:
            op.bulk_insert(tokens_table, rows)


def downgrade() -> None:
    op.drop_index("ix_search_tokens_record", table_name="search_tokens")
    op.drop_table("search_tokens")
    count = op.get_bind().scalar(sa.text("SELECT COUNT(*) FROM customers")) or 0
    keyring = _keyring(int(count))
    tags = _rows("customer_tags", "customer_id", "tag")
    if tags:
        assert keyring is not None
        op.get_bind().execute(
            sa.text("UPDATE customer_tags SET tag = :plain WHERE customer_id = :c AND tag = :t"),
            [{"c": c, "t": t, "plain": keyring.unseal(t, TAG_PURPOSE)} for c, t in tags],
        )
    with op.batch_alter_table("customer_tags") as batch_op:
        batch_op.alter_column(
            "tag",
            existing_type=sa.String(length=SEALED_TAG_LENGTH),
            type_=sa.String(length=64),
            existing_nullable=False,
        )
    for table, column, nullable, plain, purpose in reversed(ENCRYPTED):

        def decrypt(value: Any, purpose: str = purpose, plain: Any = plain) -> Any:
            if value is None:
                return None
            assert keyring is not None
            text = keyring.decrypt(bytes(value), purpose)
            return json.loads(text) if isinstance(plain, sa.JSON) else text

        empty = "'{}'" if isinstance(plain, sa.JSON) else "''"
        _replace_column(table, column, nullable, plain, decrypt, empty)
    op.create_index("ix_customers_name", "customers", ["name"])
    op.create_index("ix_customers_status_name", "customers", ["status", "name"])
