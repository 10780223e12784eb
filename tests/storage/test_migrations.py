from __future__ import annotations

from sqlalchemy import inspect

from soloist.storage.crypto import Keyring, generate_master_key
from soloist.storage.database import create_database_engine
from soloist.storage.migrate import (
    current_revision,
    downgrade_database,
    head_revision,
    schema_differences,
    upgrade_database,
)
from soloist.storage.models import Base


def test_migration_upgrades_an_empty_database_to_head(empty_database_url: str) -> None:
    engine = create_database_engine(
        empty_database_url, Keyring.from_master_key(generate_master_key())
    )
    try:
        assert current_revision(engine) is None
        upgrade_database(engine)
        assert current_revision(engine) == head_revision()
        tables = set(inspect(engine).get_table_names())
        assert set(Base.metadata.tables) <= tables
        assert schema_differences(engine) == []
    finally:
        engine.dispose()


def test_migrations_downgrade_to_nothing_and_back(empty_database_url: str) -> None:
    engine = create_database_engine(
        empty_database_url, Keyring.from_master_key(generate_master_key())
    )
    try:
        upgrade_database(engine)
        downgrade_database(engine, "base")
        assert set(inspect(engine).get_table_names()) <= {"alembic_version"}
        upgrade_database(engine)
        assert current_revision(engine) == head_revision()
    finally:
        engine.dispose()
