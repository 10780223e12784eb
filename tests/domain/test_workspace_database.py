"""A workspace made on a server database remembers it: later commands need no ``--db``."""

from __future__ import annotations

import tomllib
from pathlib import Path

import pytest
from sqlalchemy import make_url

from soloist.config import load_settings
from soloist.domain.workspace import init_workspace, open_workspace


def test_a_new_workspace_keeps_the_database_it_was_made_with(
    empty_database_url: str, tmp_path: Path, master_key: str
) -> None:
    folder = tmp_path / "shop"
    environ = {"SOLOIST_MASTER_KEY": master_key}
    init_workspace(
        load_settings(workspace=folder, database_url=empty_database_url, environ=environ)
    )
    written = tomllib.loads((folder / "soloist.toml").read_text(encoding="utf-8"))["soloist"]
    assert written["database_url"] == empty_database_url
    later = load_settings(workspace=folder, environ=environ)  # no --db
    assert later.resolved_database_url == empty_database_url
    open_workspace(later).dispose()  # the schema is there: no "run soloist init first"
    if not empty_database_url.startswith("sqlite"):
        assert not (folder / "soloist.db").exists()  # no empty SQLite file made beside it


def test_a_password_in_the_url_stays_out_of_the_file(
    empty_database_url: str, tmp_path: Path, master_key: str
) -> None:
    url = make_url(empty_database_url)
    if url.get_backend_name() != "postgresql":
        pytest.skip("SQLite has no passwords; the test MariaDB's root has none")
    with_password = url.set(password="not-in-the-file").render_as_string(hide_password=False)
    folder = tmp_path / "shop"
    environ = {"SOLOIST_MASTER_KEY": master_key}
    init_workspace(load_settings(workspace=folder, database_url=with_password, environ=environ))
    text = (folder / "soloist.toml").read_text(encoding="utf-8")
    assert "not-in-the-file" not in text
    assert "database_url" not in tomllib.loads(text)["soloist"]
