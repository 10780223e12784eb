"""The overview figures kept across a restart: sealed with the workspace key, read back only
by the same database and code."""

from __future__ import annotations

import datetime as dt
import os
import stat
from collections.abc import Iterator
from pathlib import Path

import pytest

from soloist.storage.caches import VersionedCache, clear_all_caches
from soloist.storage.crypto import Keyring, generate_master_key
from soloist.storage.kept import (
    KeptFiguresSaver,
    forget_kept_figures,
    load_kept_figures,
    save_kept_figures,
)

DATABASE = "sqlite:////shop/soloist.db"


@pytest.fixture
def kept() -> Iterator[VersionedCache[str, dict[str, object]]]:
    cache: VersionedCache[str, dict[str, object]] = VersionedCache(
        "test kept figures", maxsize=4, kept=True
    )
    yield cache
    cache.clear()


def _figures() -> dict[str, object]:
    return {"revenue_minor": 8200, "top": ["Ada Lovelace"], "at": dt.date(2026, 11, 30)}


def test_saved_figures_come_back_with_their_versions_after_the_caches_are_emptied(
    tmp_path: Path, kept: VersionedCache[str, dict[str, object]]
) -> None:
    keyring = Keyring.from_master_key(generate_master_key())
    kept.put("shop", (42, "2026-12-06 17"), _figures())
    path = tmp_path / "kept-figures.bin"
    assert save_kept_figures(path, keyring, DATABASE) >= 1
    clear_all_caches()
    assert kept.latest("shop") is None
    assert load_kept_figures(path, keyring, DATABASE) >= 1
    assert kept.get("shop", (42, "2026-12-06 17")) == _figures()  # same data: current at once
    assert kept.get("shop", (43, "2026-12-06 17")) is None  # changed since: only the latest
    assert kept.latest("shop") == _figures()


def test_the_file_holds_no_figure_in_clear_and_only_its_owner_can_read_it(
    tmp_path: Path, kept: VersionedCache[str, dict[str, object]]
) -> None:
    kept.put("shop", 1, _figures())
    path = tmp_path / "kept-figures.bin"
    save_kept_figures(path, Keyring.from_master_key(generate_master_key()), DATABASE)
    content = path.read_bytes()
    assert b"Ada" not in content
    assert b"Lovelace" not in content
    assert b"revenue" not in content
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o600


@pytest.mark.parametrize("change", ["other key", "other database", "tampered", "truncated"])
def test_a_file_of_another_workspace_or_changed_since_is_not_read(
    tmp_path: Path, kept: VersionedCache[str, dict[str, object]], change: str
) -> None:
    keyring = Keyring.from_master_key(generate_master_key())
    kept.put("shop", 1, _figures())
    path = tmp_path / "kept-figures.bin"
    save_kept_figures(path, keyring, DATABASE)
    clear_all_caches()
    reader, identity = keyring, DATABASE
    if change == "other key":
        reader = Keyring.from_master_key(generate_master_key())
    elif change == "other database":
        identity = "postgresql+psycopg://shop@db/soloist"
    elif change == "tampered":
        content = bytearray(path.read_bytes())
        content[-20] ^= 1
        path.write_bytes(bytes(content))
    else:
        path.write_bytes(path.read_bytes()[:10])
    assert load_kept_figures(path, reader, identity) == 0
    assert kept.latest("shop") is None


def test_no_file_restores_nothing_and_forgetting_deletes_it(tmp_path: Path) -> None:
    keyring = Keyring.from_master_key(generate_master_key())
    path = tmp_path / "kept-figures.bin"
    assert load_kept_figures(path, keyring, DATABASE) == 0
    save_kept_figures(path, keyring, DATABASE)
    forget_kept_figures(path)
    assert not path.exists()
    forget_kept_figures(path)  # twice is fine


def test_the_saver_writes_only_when_figures_changed_and_once_more_when_stopped(
    tmp_path: Path, kept: VersionedCache[str, dict[str, object]]
) -> None:
    keyring = Keyring.from_master_key(generate_master_key())
    path = tmp_path / "kept-figures.bin"
    saver = KeptFiguresSaver(path, keyring, DATABASE, every=3600).start()
    assert saver.save_if_changed() is False
    assert not path.exists()
    kept.put("shop", 1, _figures())
    assert saver.save_if_changed() is True
    assert saver.save_if_changed() is False
    kept.put("shop", 2, {"revenue_minor": 9000})
    saver.stop()
    clear_all_caches()
    load_kept_figures(path, keyring, DATABASE)
    assert kept.get("shop", 2) == {"revenue_minor": 9000}
