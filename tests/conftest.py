"""Shared fixtures: a fresh workspace per test on SQLite, PostgreSQL and MariaDB.

A SQLite database is a copy of one migrated per test process; a server database is migrated
once per process and emptied before each test (only the tables the last test touched).

Server databases come from ``SOLOIST_TEST_POSTGRES_URL`` and ``SOLOIST_TEST_MARIADB_URL``. When a
URL is not set, tests on that engine are skipped with a message; with
``SOLOIST_TEST_REQUIRE_SERVERS=1``
(as in CI) a missing or unreachable server fails instead.
"""

from __future__ import annotations

import os
import sqlite3
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.engine import Connection, make_url

from soloist.config import DATABASE_FILE_NAME, Settings, load_settings
from soloist.domain.caches import clear_derived_caches
from soloist.storage.crypto import generate_master_key
from soloist.storage.database import Database
from soloist.storage.migrate import upgrade_database
from soloist.storage.models import (
    DEFAULT_DEAL_STAGES,
    DEFAULT_SLA_MINUTES,
    Base,
    DealStage,
    SlaPolicy,
)

ENGINES = ("sqlite", "postgresql", "mariadb")
SERVER_URL_VARIABLES = {
    "postgresql": "SOLOIST_TEST_POSTGRES_URL",
    "mariadb": "SOLOIST_TEST_MARIADB_URL",
}
DATA_DIR = Path(__file__).parent / "data"


def servers_required() -> bool:
    return os.environ.get("SOLOIST_TEST_REQUIRE_SERVERS", "") not in ("", "0")


def _server_url(engine_name: str) -> str:
    variable = SERVER_URL_VARIABLES[engine_name]
    url = os.environ.get(variable)
    if not url:
        message = f"{variable} is not set: tests on {engine_name} are skipped"
        if servers_required():
            pytest.fail(message.replace("are skipped", "cannot run"))
        pytest.skip(message)
    return url


def _create_scratch_database(admin_url: str, worker: str) -> str:
    """A new, empty database on the server for this test run; returns its URL."""
    name = f"soloist_test_{worker}_{uuid.uuid4().hex[:8]}"
    url = make_url(admin_url)
    admin = create_engine(url, isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as connection:
            connection.execute(text(f"CREATE DATABASE {name}"))
    except Exception as exc:
        admin.dispose()
        message = f"cannot reach {url.render_as_string(hide_password=True)}: {exc}"
        if servers_required():
            pytest.fail(message)
        pytest.skip(message)
    admin.dispose()
    return url.set(database=name).render_as_string(hide_password=False)


def _drop_scratch_database(admin_url: str, scratch_url: str) -> None:
    name = make_url(scratch_url).database
    admin = create_engine(make_url(admin_url), isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        if admin.dialect.name == "postgresql":
            connection.execute(text(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
        else:
            connection.execute(text(f"DROP DATABASE IF EXISTS {name}"))
    admin.dispose()


@pytest.fixture(scope="session")
def master_key() -> str:
    return generate_master_key()


class ServerDatabases:
    """Scratch databases on the servers, created on first use and migrated once."""

    def __init__(self, worker: str, master_key: str, tmp: pytest.TempPathFactory) -> None:
        self.worker, self.master_key, self.tmp = worker, master_key, tmp
        self.created: dict[str, tuple[str, str]] = {}  # engine -> (admin url, scratch url)

    def url_for(self, engine_name: str) -> str:
        if engine_name not in self.created:
            admin_url = _server_url(engine_name)
            scratch = _create_scratch_database(admin_url, self.worker)
            self.created[engine_name] = (admin_url, scratch)
            database = Database(_settings(self.tmp.mktemp(engine_name), scratch, self.master_key))
            upgrade_database(database.engine)
            database.dispose()
        return self.created[engine_name][1]

    def drop_all(self) -> None:
        for admin_url, scratch in self.created.values():
            _drop_scratch_database(admin_url, scratch)


@pytest.fixture(scope="session")
def server_databases(
    request: pytest.FixtureRequest, master_key: str, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[ServerDatabases]:
    worker = getattr(request.config, "workerinput", {}).get("workerid", "main")
    servers = ServerDatabases(worker, master_key, tmp_path_factory)
    yield servers
    servers.drop_all()


def _settings(workspace: Path, url: str | None, master_key: str) -> Settings:
    environ = {"SOLOIST_MASTER_KEY": master_key}
    if url:
        environ["SOLOIST_DATABASE_URL"] = url
    return load_settings(workspace=workspace, environ=environ)


def _used_tables(connection: Connection, names: list[str], backend: str) -> list[str]:
    """The tables the last test touched: those holding a row or whose id counter moved.

    Emptying only these keeps each test's set-up short: a TRUNCATE is DDL on both servers
    (MariaDB rebuilds the table), and most tests touch a handful of the fifty-odd tables.
    """
    probes = " UNION ALL ".join(
        f"SELECT '{name}' FROM (SELECT 1 AS one FROM {name} LIMIT 1) AS probe_{i}"
        for i, name in enumerate(names)
    )
    used = {row[0] for row in connection.execute(text(probes))}
    if backend == "postgresql":
        moved = text(
            "SELECT t.relname FROM pg_sequences q "
            "JOIN pg_class s ON s.relname = q.sequencename AND s.relkind = 'S' "
            "JOIN pg_depend d ON d.objid = s.oid AND d.deptype IN ('a', 'i') "
            "JOIN pg_class t ON t.oid = d.refobjid "
            "WHERE q.schemaname = current_schema() AND q.last_value IS NOT NULL"
        )
    else:
        moved = text(
            "SELECT table_name FROM information_schema.tables "
            "WHERE table_schema = DATABASE() AND auto_increment > 1"
        )
    used |= {row[0] for row in connection.execute(moved)}
    return [name for name in names if name in used]


def _empty_all_tables(database: Database) -> None:
    """Empty every table and restart the id counters, so each test sees a fresh database."""
    names = [table.name for table in reversed(Base.metadata.sorted_tables)]
    with database.engine.begin() as connection:
        used = _used_tables(connection, names, database.backend)
        if database.backend == "postgresql":
            if used:
                connection.execute(text(f"TRUNCATE {', '.join(used)} RESTART IDENTITY CASCADE"))
        else:
            connection.execute(text("SET FOREIGN_KEY_CHECKS=0"))
            for name in used:
                connection.execute(text(f"TRUNCATE TABLE {name}"))
            connection.execute(text("SET FOREIGN_KEY_CHECKS=1"))
        _seed_reference_rows(connection)
    clear_derived_caches()  # ids restart, so caches keyed on them would be stale


def _seed_reference_rows(connection: Connection) -> None:
    """Write back the rows the migrations seed (pipeline stages, SLA targets): an emptied
    database should look like a freshly migrated one."""
    connection.execute(
        DealStage.__table__.insert(),
        [
            {"key": key, "position": i, "probability_percent": percent, "outcome": outcome}
            for i, (key, percent, outcome) in enumerate(DEFAULT_DEAL_STAGES)
        ],
    )
    connection.execute(
        SlaPolicy.__table__.insert(),
        [
            {"priority": p, "first_response_minutes": first, "resolution_minutes": resolve}
            for p, first, resolve in DEFAULT_SLA_MINUTES
        ],
    )


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory: pytest.TempPathFactory, master_key: str) -> Path:
    """A SQLite workspace database migrated once per test process, copied for each test
    (running every migration takes seconds; copying the result, milliseconds)."""
    folder = tmp_path_factory.mktemp("sqlite-template")
    db = Database(_settings(folder, None, master_key))
    upgrade_database(db.engine)
    db.dispose()
    return folder / DATABASE_FILE_NAME


def _sqlite_copy(template: Path, folder: Path, master_key: str) -> Database:
    """A workspace database in ``folder``: a copy of the migrated template (SQLite's backup
    API, so the copy is a consistent database whatever the template's journal holds)."""
    source = sqlite3.connect(template)
    target = sqlite3.connect(folder / DATABASE_FILE_NAME)
    try:
        source.backup(target)
    finally:
        target.close()
        source.close()
    return Database(_settings(folder, None, master_key))


@pytest.fixture(params=ENGINES)
def database(
    request: pytest.FixtureRequest,
    tmp_path: Path,
    master_key: str,
    server_databases: ServerDatabases,
    sqlite_template: Path,
) -> Iterator[Database]:
    """A migrated, empty workspace database on each engine in turn."""
    engine_name: str = request.param
    if engine_name == "sqlite":
        db = _sqlite_copy(sqlite_template, tmp_path, master_key)
        clear_derived_caches()  # a new database: caches keyed on its ids would be stale
        yield db
        db.dispose()
        return
    url = server_databases.url_for(engine_name)
    db = Database(_settings(tmp_path, url, master_key))
    _empty_all_tables(db)  # only here: the next test that uses this database empties it again
    yield db
    db.dispose()


@pytest.fixture
def sqlite_database(tmp_path: Path, master_key: str, sqlite_template: Path) -> Iterator[Database]:
    """A migrated SQLite workspace database (for tests that need only one engine)."""
    folder = tmp_path / "sqlite-only"
    folder.mkdir()
    db = _sqlite_copy(sqlite_template, folder, master_key)
    clear_derived_caches()
    yield db
    db.dispose()


@pytest.fixture(params=ENGINES)
def empty_database_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """The URL of a brand-new, empty database (no schema) on each engine in turn."""
    engine_name: str = request.param
    if engine_name == "sqlite":
        yield f"sqlite:///{tmp_path / 'empty.db'}"
        return
    admin_url = _server_url(engine_name)
    scratch = _create_scratch_database(admin_url, "migration")
    yield scratch
    _drop_scratch_database(admin_url, scratch)


@pytest.fixture
def settings_for_url(master_key: str, tmp_path: Path):  # type: ignore[no-untyped-def]
    def make(url: str | None) -> Settings:
        return _settings(tmp_path, url, master_key)

    return make
