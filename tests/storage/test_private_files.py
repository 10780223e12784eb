"""What a workspace keeps on disk is for its owner's eyes only (issue 18: the database file was
world-readable, 0644, and abandoned import-wizard uploads stayed on disk in plain text)."""

from __future__ import annotations

import os
import stat
import time
from pathlib import Path

import pytest

from soloist.config import load_settings
from soloist.domain.imports import sweep_stale_uploads, upload_folder
from soloist.http import safe_upload_name
from soloist.storage.crypto import generate_master_key
from soloist.storage.database import Database
from soloist.storage.migrate import upgrade_database


def _mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def test_the_database_and_its_wal_are_readable_by_the_owner_only(tmp_path: Path) -> None:
    previous = os.umask(0o022)  # the usual umask, under which SQLite made the file 0644
    try:
        settings = load_settings(
            workspace=tmp_path, environ={"SOLOIST_MASTER_KEY": generate_master_key()}
        )
        database = Database(settings)
        upgrade_database(database.engine)
        with database.engine.connect() as connection:
            connection.exec_driver_sql("CREATE TABLE probe (x INTEGER)")
            connection.commit()
            files = sorted(tmp_path.glob("soloist.db*"))
            assert {f.name for f in files} >= {"soloist.db", "soloist.db-wal"}
            assert {f.name: _mode(f) for f in files} == {f.name: 0o600 for f in files}
        database.dispose()
    finally:
        os.umask(previous)


def test_an_existing_world_readable_database_is_made_private(tmp_path: Path) -> None:
    path = tmp_path / "soloist.db"
    path.touch(mode=0o644)
    path.chmod(0o644)
    settings = load_settings(
        workspace=tmp_path, environ={"SOLOIST_MASTER_KEY": generate_master_key()}
    )
    Database(settings).dispose()
    assert _mode(path) == 0o600


def test_abandoned_uploads_are_swept_after_an_hour_and_fresh_ones_kept(tmp_path: Path) -> None:
    folder = upload_folder(tmp_path)
    assert _mode(folder) == 0o700
    old, fresh = folder / "a", folder / "b"
    for upload in (old, fresh):
        upload.mkdir()
        (upload / "customers.csv").write_text("name\nAda\n")
    hour_ago = time.time() - 3601
    os.utime(old, (hour_ago, hour_ago))
    assert sweep_stale_uploads(tmp_path) == 1
    assert not old.exists()
    assert (fresh / "customers.csv").exists()


@pytest.mark.parametrize(
    ("raw", "stored"),
    [
        ("..", "upload.csv"),
        (".", "upload.csv"),
        ("", "upload.csv"),
        (None, "upload.csv"),
        ("../../etc/passwd", "passwd"),
        ("C:\\Users\\me\\orders.csv", "orders.csv"),
        ("bad\x00name.csv", "badname.csv"),
        ("olist_orders_dataset.csv", "olist_orders_dataset.csv"),
        ("客户.xlsx", "客户.xlsx"),
    ],
)
def test_an_upload_name_is_stored_safely_and_keeps_what_says_its_format(
    raw: str | None, stored: str
) -> None:
    assert safe_upload_name(raw) == stored


def test_a_very_long_upload_name_is_cut_to_255_bytes_keeping_its_suffixes() -> None:
    name = safe_upload_name("订" * 200 + ".csv.gz")
    assert len(name.encode("utf-8")) <= 255
    assert name.endswith(".csv.gz")
