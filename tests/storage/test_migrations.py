from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from sqlalchemy import inspect

from soloist.storage import migrate
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


def test_autogenerate_writes_a_revision_on_top_of_head(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The developer tool for new migrations works (into a copy of the migrations, here)."""
    copy = tmp_path / "migrations"
    shutil.copytree(migrate.MIGRATIONS_DIR, copy, ignore=shutil.ignore_patterns("__pycache__"))
    monkeypatch.setattr(migrate, "MIGRATIONS_DIR", copy)
    head = head_revision()
    engine = create_database_engine(
        f"sqlite:///{tmp_path / 'scratch.db'}", Keyring.from_master_key(generate_master_key())
    )
    try:
        upgrade_database(engine)
        migrate.autogenerate_revision(engine, "nothing changed")
    finally:
        engine.dispose()
    (written,) = (copy / "versions").glob("*_nothing_changed.py")
    script = written.read_text(encoding="utf-8")
    assert f"down_revision: str | None = {head!r}" in script
    upgrade = script.split("def upgrade() -> None:")[1].split("def downgrade")[0]
    assert [line.strip() for line in upgrade.splitlines() if line.strip()[:1] not in ("", "#")] == [
        "pass"
    ]  # the models match the head schema: nothing to do
    assert head_revision() != head


def test_the_head_read_from_the_scripts_is_alembics() -> None:
    """Opening a workspace reads the head from the scripts' own lines, without Alembic."""
    from alembic.script import ScriptDirectory

    script = ScriptDirectory.from_config(migrate.alembic_config())
    assert head_revision() == script.get_current_head()
    every = {step.revision for step in script.walk_revisions()}
    assert set(migrate._revisions()) == every
