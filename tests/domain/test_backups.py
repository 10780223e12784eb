"""Backups go back into an empty database of any engine identical, table by table; a damaged
file, a wrong passphrase or a database that is not empty is refused with nothing changed."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import func, select

from soloist.config import Settings
from soloist.demo.business import build_demo
from soloist.domain.backups import (
    BackupDamagedError,
    make_backup,
    open_restore_target,
    restore_backup,
    verify_backup,
)
from soloist.domain.backups.tables import RowTally
from soloist.domain.customers import search_customers
from soloist.errors import ConflictError
from soloist.storage.database import Database
from soloist.storage.kept import KEPT_FILE
from soloist.storage.models import Base, Customer

PASSPHRASE = "correct horse battery staple"


@pytest.fixture(scope="module")
def source(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Database, Path]]:
    """A small demo business on SQLite, and its backup."""
    from soloist.config import load_settings
    from soloist.storage.crypto import generate_master_key
    from soloist.storage.migrate import upgrade_database

    folder = tmp_path_factory.mktemp("source")
    settings = load_settings(
        workspace=folder, environ={"SOLOIST_MASTER_KEY": generate_master_key()}
    )
    database = Database(settings)
    upgrade_database(database.engine)
    with database.session() as session:
        build_demo(session, customers=120, seed=5, end_date=dt.date(2026, 6, 30))
    path = folder / "nightly.backup"
    make_backup(database, path, PASSPHRASE)
    yield database, path
    database.dispose()


def _checksums(database: Database) -> dict[str, tuple[int, int]]:
    """Each table's rows as a set (count, order-free fingerprint): engines sort keys by their
    own collations, so row order is not compared across engines."""
    with database.engine.connect() as connection:
        return {
            t.name: (tally.count, tally.total)
            for t in Base.metadata.sorted_tables
            for tally in [RowTally.of_table(connection, t, [c.name for c in t.columns])]
        }


def _target(source: Database, url: str, folder: Path) -> Settings:
    """A new machine's workspace: the same master key (the restore would write it)."""
    return source.settings.model_copy(update={"workspace": folder, "database_url": url})


def test_a_backup_restores_identically_into_every_engine(
    source: tuple[Database, Path], empty_database_url: str, tmp_path: Path
) -> None:
    database, path = source
    target = open_restore_target(_target(database, empty_database_url, tmp_path), path, PASSPHRASE)
    kept_file = target.settings.workspace / KEPT_FILE  # figures a server kept before
    kept_file.parent.mkdir(parents=True, exist_ok=True)
    kept_file.write_bytes(b"figures of the database as it was")
    try:
        summary = restore_backup(target, path, PASSPHRASE)
        assert not kept_file.exists()  # never shown for the restored data
        expected = _checksums(database)
        assert summary.rows == sum(rows for rows, _ in expected.values()) > 4000
        assert _checksums(target) == expected
        with target.read_session() as session:
            someone = session.scalars(select(Customer).where(Customer.email.is_not(None))).first()
            assert someone is not None
            # the encrypted e-mail reads back, and its keyed lookup hash still finds it
            found, total = search_customers(session, someone.email)
            assert total == 1
            assert found[0].id == someone.id
    finally:
        target.dispose()


def test_verify_reads_the_whole_file_and_names_every_table(source: tuple[Database, Path]) -> None:
    database, path = source
    summary = verify_backup(path, PASSPHRASE)
    assert {t.name for t in summary.tables} == {t.name for t in Base.metadata.sorted_tables}
    counts = {t.name: t.rows for t in summary.tables}
    with database.read_session() as session:
        assert counts["customers"] == session.scalar(select(func.count(Customer.id))) == 120


def _damaged(path: Path, folder: Path, how: str) -> Path:
    data = bytearray(path.read_bytes())
    if how == "flipped":
        data[len(data) // 2] ^= 0x01
    elif how == "truncated":
        del data[-200:]
    elif how == "cut at a chunk boundary":
        data = data[: data.index(b"\n") + 1]
    copy = folder / f"{how}.backup"
    copy.write_bytes(bytes(data))
    return copy


@pytest.mark.parametrize("how", ["flipped", "truncated", "cut at a chunk boundary", "passphrase"])
def test_a_damaged_backup_or_a_wrong_passphrase_is_refused_and_nothing_changes(
    source: tuple[Database, Path], tmp_path: Path, how: str
) -> None:
    database, path = source
    secret = "not the passphrase" if how == "passphrase" else PASSPHRASE
    damaged = path if how == "passphrase" else _damaged(path, tmp_path, how)
    with pytest.raises(BackupDamagedError):
        verify_backup(damaged, secret)
    url = f"sqlite:///{tmp_path / 'target.db'}"
    with pytest.raises(BackupDamagedError):
        open_restore_target(_target(database, url, tmp_path), damaged, secret)
    assert not (tmp_path / "target.db").exists()  # checked before anything was written


def test_a_database_that_is_not_empty_is_refused(
    source: tuple[Database, Path], sqlite_database: Database
) -> None:
    database, path = source
    settings = sqlite_database.settings.model_copy(
        update={"master_key": database.settings.master_key}
    )
    target = Database(settings)
    with target.session() as session:
        build_demo(session, customers=10, seed=1, end_date=dt.date(2026, 6, 30))
    before = _checksums(target)
    with pytest.raises(ConflictError, match="not empty"):
        restore_backup(target, path, PASSPHRASE)
    assert _checksums(target) == before
    target.dispose()
