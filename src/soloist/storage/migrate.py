"""Schema migrations with Alembic, run in-process on the workspace's own engine."""

from __future__ import annotations

import functools
import re
from pathlib import Path
from typing import TYPE_CHECKING

from sqlalchemy import Engine, inspect, text

from soloist.storage.models import Base

if TYPE_CHECKING:
    from alembic.config import Config

MIGRATIONS_DIR = Path(__file__).parent / "migrations"
VERSION_TABLE = "alembic_version"
_REVISION = re.compile(r"""^revision: str = ["']([0-9a-f]+)["']""", re.MULTILINE)
_DOWN = re.compile(r"""^down_revision: str \| None = ["']([0-9a-f]+)["']""", re.MULTILINE)

# Alembic itself (a tenth of a second to import) loads only to migrate: opening a workspace
# reads the revisions from the scripts' own lines and the database's version table.


def alembic_config() -> Config:
    from alembic.config import Config

    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    return config


def _revisions() -> dict[str, str | None]:
    """Every migration's revision → the one it follows (None for the first)."""
    return _revisions_in(MIGRATIONS_DIR, _newest_change(MIGRATIONS_DIR))


def _newest_change(folder: Path) -> float:
    return max((p.stat().st_mtime for p in (folder / "versions").glob("*.py")), default=0.0)


@functools.cache
def _revisions_in(folder: Path, _changed: float) -> dict[str, str | None]:
    found: dict[str, str | None] = {}
    for script in (folder / "versions").glob("*.py"):
        source = script.read_text(encoding="utf-8")
        revision = _REVISION.search(source)
        if revision:
            down = _DOWN.search(source)
            found[revision.group(1)] = down.group(1) if down else None
    return found


def head_revision() -> str | None:
    """The newest migration: the one no other follows (the history is one line)."""
    revisions = _revisions()
    followed = {down for down in revisions.values() if down}
    heads = [revision for revision in revisions if revision not in followed]
    return heads[0] if len(heads) == 1 else None


def is_earlier_revision(revision: str) -> bool:
    """Whether ``revision`` is one of this Soloist's migrations before the head (a database or
    backup of an earlier version); False for the head or an unknown (newer) revision."""
    return revision != head_revision() and revision in _revisions()


def current_revision(engine: Engine) -> str | None:
    """The database's schema revision, from Alembic's version table (None: not migrated)."""
    with engine.connect() as connection:
        if not inspect(connection).has_table(VERSION_TABLE):
            return None
        return connection.execute(text(f"SELECT version_num FROM {VERSION_TABLE}")).scalar()


def upgrade_database(engine: Engine, revision: str = "head") -> None:
    """Create or upgrade the schema to ``revision`` (default: the newest)."""
    from alembic import command

    config = alembic_config()
    with engine.begin() as connection:
        config.attributes["connection"] = connection
        command.upgrade(config, revision)


def downgrade_database(engine: Engine, revision: str) -> None:
    from alembic import command

    config = alembic_config()
    with engine.begin() as connection:
        config.attributes["connection"] = connection
        command.downgrade(config, revision)


def schema_differences(engine: Engine) -> list[object]:
    """Differences between the live schema and the models (empty when migrations are complete)."""
    from alembic.autogenerate import compare_metadata
    from alembic.migration import MigrationContext

    with engine.connect() as connection:
        context = MigrationContext.configure(connection, opts={"compare_type": False})
        return list(compare_metadata(context, Base.metadata))


def autogenerate_revision(engine: Engine, message: str) -> None:
    """Write a new migration script from the difference between the models and ``engine``.

    A developer tool, for changing the schema: no command or route calls it. The migrations'
    ``env.py`` runs only with a connection handed in from here, so ``alembic revision
    --autogenerate`` on the command line does not work; this does::

        from sqlalchemy import create_engine
        from soloist.storage import migrate

        engine = create_engine("sqlite:///scratch.db")
        migrate.upgrade_database(engine)  # a scratch database at the current head
        migrate.autogenerate_revision(engine, "add customers.nickname")  # after the model change

    Read the script it writes to ``storage/migrations/versions/`` before committing it:
    autogenerate misses renames and server-side defaults.
    """
    from alembic import command

    config = alembic_config()
    with engine.begin() as connection:
        config.attributes["connection"] = connection
        command.revision(config, message=message, autogenerate=True)
