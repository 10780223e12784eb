"""Creating, upgrading and opening a workspace."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from soloist.config import CONFIG_FILE_NAME, Settings
from soloist.storage.crypto import generate_master_key
from soloist.storage.database import Database
from soloist.storage.migrate import current_revision, head_revision, upgrade_database

CONFIG_TEMPLATE = """\
# Soloist workspace settings. Every key can also be set as SOLOIST_<KEY> in the environment.
[soloist]
currency = "{currency}"
locale = "en"
timezone = "UTC"
# database_url = "postgresql+psycopg://user@127.0.0.1/soloist"
"""


@dataclass(frozen=True)
class InitResult:
    workspace: Path
    database_url: str
    backend: str
    created_key: bool
    previous_revision: str | None
    revision: str | None


def _write_private(path: Path, text: str) -> None:
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w", encoding="ascii") as handle:
        handle.write(text + "\n")


def init_workspace(settings: Settings) -> InitResult:
    """Create the workspace folder, its master key and settings file, and migrate the database.

    Safe to run again: an existing key and settings file are kept, the schema is upgraded.
    """
    settings.workspace.mkdir(parents=True, exist_ok=True)
    created_key = False
    if settings.master_key is None and not settings.key_file.exists():
        _write_private(settings.key_file, generate_master_key())
        created_key = True
    config_file = settings.workspace / CONFIG_FILE_NAME
    if not config_file.exists():
        config_file.write_text(CONFIG_TEMPLATE.format(currency=settings.currency), encoding="utf-8")
    database = Database(settings)
    try:
        before = current_revision(database.engine)
        upgrade_database(database.engine)
        return InitResult(
            workspace=settings.workspace,
            database_url=database.engine.url.render_as_string(hide_password=True),
            backend=database.backend,
            created_key=created_key,
            previous_revision=before,
            revision=head_revision(),
        )
    finally:
        database.dispose()


def open_workspace(settings: Settings) -> Database:
    """The workspace's database, refusing one whose schema is older than this Soloist."""
    from soloist.errors import ConfigurationError

    database = Database(settings)
    revision = current_revision(database.engine)
    if revision != head_revision():
        database.dispose()
        if revision is None:
            raise ConfigurationError(
                f"The database {settings.resolved_database_url} has no Soloist schema; "
                "run `soloist init` first."
            )
        raise ConfigurationError(
            f"The database schema is at revision {revision}; run `soloist init` to upgrade it."
        )
    return database
