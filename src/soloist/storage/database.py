"""Engines and sessions for SQLite, PostgreSQL and MariaDB/MySQL.

SQLite runs in WAL mode with foreign keys on and a busy timeout, so the web app and the CLI can
use one workspace at the same time. Write transactions on SQLite begin with ``BEGIN IMMEDIATE``
so that a read-then-write (a points redemption) cannot interleave with another writer.

Many writers at once (200 concurrent API writes) queue before their transaction begins, in the
API's write turns (:mod:`soloist.api.deps`), as many at a time as :attr:`Database.max_writers`:
one on SQLite, so the busy timeout is left for another process's writer (the CLI, the worker).
"""

from __future__ import annotations

import os
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, create_engine, event
from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session, sessionmaker

from soloist.config import Settings
from soloist.errors import ConfigurationError
from soloist.storage.crypto import Keyring
from soloist.storage.types import KEYRING_ATTRIBUTE

SUPPORTED_BACKENDS = ("sqlite", "postgresql", "mysql", "mariadb")
READ_ONLY_OPTION = "soloist_read_only"
# PostgreSQL and MariaDB: 10 pooled connections + 20 overflow, of which at most 20 are writers'
# (Database.max_writers), so writers holding a connection never leave none for the readers and
# for identifying callers; 30 per server process stays well under PostgreSQL's default 100.
SERVER_POOL_SIZE, SERVER_POOL_OVERFLOW, SERVER_MAX_WRITERS = 10, 20, 20


def _configure_sqlite(engine: Engine, busy_timeout_ms: int) -> None:
    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        # Let SQLAlchemy, not the driver, decide when transactions begin.
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.execute(f"PRAGMA busy_timeout={int(busy_timeout_ms)}")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(connection: Any) -> None:
        # Readers take no lock (WAL lets them run beside the writer); writers take the write lock
        # at BEGIN, so a check-then-write (a redemption) sees the state it writes on.
        if connection.get_execution_options().get(READ_ONLY_OPTION):
            connection.exec_driver_sql("BEGIN")
        else:
            connection.exec_driver_sql("BEGIN IMMEDIATE")


def create_database_engine(
    url: str, keyring: Keyring, *, busy_timeout_ms: int = 30_000, echo: bool = False
) -> Engine:
    """An engine for ``url`` whose encrypted columns use ``keyring``."""
    try:
        parsed = make_url(url)
    except Exception as exc:  # sqlalchemy raises ArgumentError with a terse message
        raise ConfigurationError(f"Not a database URL: {url!r} ({exc})") from exc
    backend = parsed.get_backend_name()
    if backend not in SUPPORTED_BACKENDS:
        raise ConfigurationError(
            f"Unsupported database {backend!r}; use sqlite, postgresql or mysql/mariadb."
        )
    kwargs: dict[str, Any] = {"echo": echo, "future": True}
    if backend == "sqlite":
        kwargs["connect_args"] = {"check_same_thread": False, "timeout": busy_timeout_ms / 1000}
        if parsed.database and parsed.database != ":memory:":
            _private_file(Path(parsed.database))
    else:
        kwargs.update(pool_size=SERVER_POOL_SIZE, max_overflow=SERVER_POOL_OVERFLOW)
        kwargs["pool_pre_ping"] = True
        if backend in ("mysql", "mariadb"):
            kwargs["pool_recycle"] = 3600
            # As on PostgreSQL: each statement sees what was committed before it. Under InnoDB's
            # default REPEATABLE READ a transaction keeps reading the snapshot of its first read,
            # so a writer that waited for a lock would go on to read, and overwrite, the past.
            kwargs["isolation_level"] = "READ COMMITTED"
            parsed = parsed.update_query_dict({"charset": "utf8mb4"})
    engine = create_engine(parsed, **kwargs)
    setattr(engine.dialect, KEYRING_ATTRIBUTE, keyring)
    if backend == "sqlite":
        _configure_sqlite(engine, busy_timeout_ms)
    return engine


def _private_file(path: Path) -> None:
    """Create the SQLite file readable by its owner only (0600), or make an existing one so.

    SQLite gives its ``-wal`` and ``-shm`` files the database file's permissions, so they follow.
    A file someone else owns is left as it is (the open will tell whether it can be used).
    """
    try:
        if not path.exists():
            if path.parent.is_dir():
                os.close(os.open(path, os.O_WRONLY | os.O_CREAT, 0o600))
        elif path.stat().st_mode & 0o077 and path.stat().st_uid == os.getuid():
            path.chmod(0o600)
    except OSError:
        pass  # a read-only place or a missing folder: connecting will say so more clearly


#: The pause of :meth:`Database.let_writers_in`: just over SQLite's longest wait between two
#: tries for the lock (100 ms).
WRITERS_TURN_S = 0.11


class Database:
    """One workspace's database: the engine, its keyring and a session factory."""

    def __init__(self, settings: Settings, keyring: Keyring | None = None) -> None:
        self.settings = settings
        self.keyring = keyring or Keyring.from_master_key(settings.read_master_key())
        self.url = settings.resolved_database_url
        self.engine = create_database_engine(
            self.url, self.keyring, busy_timeout_ms=settings.sqlite_busy_timeout_ms
        )
        self.session_factory = sessionmaker(self.engine, expire_on_commit=False)
        self.read_session_factory = sessionmaker(
            self.engine.execution_options(**{READ_ONLY_OPTION: True}), expire_on_commit=False
        )

    @property
    def backend(self) -> str:
        return self.engine.dialect.name

    def let_writers_in(self) -> None:
        """Between two transactions of a long job, give a writer waiting for SQLite's lock its
        turn. Its busy handler tries again at most every 100 ms, so a job that commits a batch
        and begins the next at once takes the lock first every time, and a live order waits
        for the whole job (or gives up); a pause just longer than that lets the try come in.
        The server databases lock rows, not the file: nothing to do."""
        if self.backend == "sqlite":
            time.sleep(WRITERS_TURN_S)

    @property
    def max_writers(self) -> int:
        """How many write transactions may usefully run at once: 1 on SQLite (one write lock
        per file), on a server as many as the pool carries while leaving connections to readers.

        The server writers run side by side and wait only for the row locks they need (the domain
        locks the rows it reads to change, as ``update_customer`` does).
        """
        return 1 if self.backend == "sqlite" else SERVER_MAX_WRITERS

    @contextmanager
    def session(self) -> Iterator[Session]:
        """A session whose transaction commits on success and rolls back on any error."""
        with self.session_factory() as session, session.begin():
            yield session

    @contextmanager
    def read_session(self) -> Iterator[Session]:
        """A session for reading only; on SQLite it does not take the write lock."""
        with self.read_session_factory() as session, session.begin():
            yield session

    @contextmanager
    def reader_and_writer(self) -> Iterator[tuple[Session, Session]]:
        """A read session for a long computation (a model fit) and a write session for what it
        stores at the end, committed after the reading ends: on SQLite the write lock is taken
        only at the first write, so live writes do not wait for the whole computation."""
        with self.session() as writer, self.read_session() as reader:
            yield reader, writer

    def dispose(self) -> None:
        self.engine.dispose()
