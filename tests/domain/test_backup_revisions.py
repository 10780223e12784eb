"""A backup made by an earlier Soloist (schema revision 8d2f4b6a1c3e, before names were
encrypted) restores into today's schema on every engine: the same people, orders and tags,
names now encrypted and found by the blind index; a backup of an unknown (newer) revision is
refused with nothing written.

``tests/data/backups/demo-8d2f4b6a1c3e.backup`` was written by ``soloist demo --customers 25
--seed 3`` then ``soloist backup`` at commit 206ec4b, passphrase below; its master key is
inside it, as in every backup."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from sqlalchemy import func, select

from soloist.config import load_settings
from soloist.domain.backups import open_restore_target, restore_backup, verify_backup
from soloist.domain.customers import CustomerFilters, list_customers
from soloist.errors import ValidationError
from soloist.storage.crypto import generate_master_key
from soloist.storage.models import Customer, CustomerTag, Order, SearchToken

OLD = Path(__file__).parents[1] / "data" / "backups" / "demo-8d2f4b6a1c3e.backup"
PASSPHRASE = "old backup passphrase"


def _settings(url: str, folder: Path):  # type: ignore[no-untyped-def]
    return load_settings(workspace=folder, database_url=url, environ={})


def test_an_earlier_revisions_backup_restores_into_every_engine(
    empty_database_url: str, tmp_path: Path
) -> None:
    assert verify_backup(OLD, PASSPHRASE).revision == "8d2f4b6a1c3e"
    target = open_restore_target(_settings(empty_database_url, tmp_path / "new"), OLD, PASSPHRASE)
    try:
        restore_backup(target, OLD, PASSPHRASE)
        with target.read_session() as session:
            assert session.scalar(select(func.count(Customer.id))) == 25
            assert session.scalar(select(func.count(Order.id))) == 170
            vip = select(func.count()).select_from(CustomerTag).where(CustomerTag.tag == "vip")
            assert session.scalar(vip) == 2
            lucas = session.get(Customer, 2)
            assert lucas is not None
            assert (lucas.name, lucas.email) == ("Lucas Adams", "lucas.adams2@example.gb")
            assert lucas.tag_names == ["market", "newsletter", "vip"]
            assert lucas.custom_fields == {"favourite_brew": "filter"}
            assert session.scalar(select(func.count()).select_from(SearchToken)) > 100
            found, _ = list_customers(session, CustomerFilters(q="adam"))
            assert 2 in [row.id for row in found]
        with target.engine.connect() as connection:
            raw = connection.exec_driver_sql("SELECT name FROM customers WHERE id = 2").scalar()
        assert b"Lucas" not in bytes(raw)  # stored encrypted, as today's schema wants
    finally:
        target.dispose()


def test_a_backup_from_a_newer_soloist_is_refused(tmp_path: Path) -> None:
    from soloist.domain.backups.archive import SealedWriter

    path = tmp_path / "future.backup"
    key = generate_master_key()
    meta = {"schema_revision": "f00dfeedbeef", "engine": "sqlite", "created_at": "2030-01-01"}
    with path.open("wb") as handle:
        out = SealedWriter(handle, PASSPHRASE, meta)
        out.write(json.dumps({"kind": "workspace", "master_key": key}).encode() + b"\n")
        out.close()
    target = open_restore_target(
        _settings(f"sqlite:///{tmp_path / 'new.db'}", tmp_path / "ws"), path, PASSPHRASE
    )
    try:
        with pytest.raises(ValidationError, match="newer Soloist"):
            restore_backup(target, path, PASSPHRASE)
        with target.read_session() as session:
            assert session.scalar(select(func.count(Customer.id))) == 0
    finally:
        target.dispose()
