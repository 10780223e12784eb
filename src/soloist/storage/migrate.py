"""Schema migrations with Alembic, run in-process on the workspace's own engine."""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.config import Config
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Engine

from soloist.storage.models import Base

MIGRATIONS_DIR = Path(__file__).parent / "migrations"


def alembic_config() -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    return config


def head_revision() -> str | None:
    return ScriptDirectory.from_config(alembic_config()).get_current_head()


def is_earlier_revision(revision: str) -> bool:
    """Whether ``revision`` is one of this Soloist's migrations before the head (a database or
    backup of an earlier version); False for the head or an unknown (newer) revision."""
    script = ScriptDirectory.from_config(alembic_config())
    if revision == script.get_current_head():
        return False
    return any(step.revision == revision for step in script.walk_revisions())


def current_revision(engine: Engine) -> str | None:
    with engine.connect() as connection:
        return MigrationContext.configure(connection).get_current_revision()


def upgrade_database(engine: Engine, revision: str = "head") -> None:
    """Create or upgrade the schema to ``revision`` (default: the newest)."""
    config = alembic_config()
    with engine.begin() as connection:
        config.attributes["connection"] = connection
        command.upgrade(config, revision)


def downgrade_database(engine: Engine, revision: str) -> None:
    config = alembic_config()
    with engine.begin() as connection:
        config.attributes["connection"] = connection
        command.downgrade(config, revision)


def schema_differences(engine: Engine) -> list[object]:
    """Differences between the live schema and the models (empty when migrations are complete)."""
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
    config = alembic_config()
    with engine.begin() as connection:
        config.attributes["connection"] = connection
        command.revision(config, message=message, autogenerate=True)
