"""Alembic environment: always run with a connection handed in by soloist.storage.migrate."""

from __future__ import annotations

from typing import Any, Literal

from alembic import context
from alembic.autogenerate.api import AutogenContext

from soloist.storage.models import Base
from soloist.storage.types import RANDOMISED_TYPES, SealedString, UTCDateTime

config = context.config
target_metadata = Base.metadata


def render_item(type_: str, obj: Any, autogen_context: AutogenContext) -> str | Literal[False]:
    """Migrations name the stored types, so old migrations never depend on today's Python types."""
    if type_ != "type":
        return False
    if isinstance(obj, RANDOMISED_TYPES):
        return "sa.LargeBinary()"
    if isinstance(obj, SealedString):
        return f"sa.String(length={obj.length})"
    if isinstance(obj, UTCDateTime):
        autogen_context.imports.add("from sqlalchemy.dialects import mysql")
        return 'sa.DateTime().with_variant(mysql.DATETIME(fsp=6), "mysql", "mariadb")'
    return False


def run_migrations_online() -> None:
    connection = config.attributes.get("connection")
    if connection is None:
        raise RuntimeError("Run migrations through soloist.storage.migrate (soloist init).")
    context.configure(
        connection=connection,
        target_metadata=target_metadata,
        render_as_batch=connection.dialect.name == "sqlite",
        compare_type=True,
        render_item=render_item,
    )
    with context.begin_transaction():
        context.run_migrations()


run_migrations_online()
