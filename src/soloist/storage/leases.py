"""Locks a process holds for as long as it does one long piece of work (sending a campaign),
released by the operating system or the database server the moment that process dies.

That last property is the point: a sender killed with SIGKILL leaves no stale lock, so the next
sender may take over at once instead of waiting for a lease to expire.

- SQLite: ``flock`` on a file beside the database (``<db>.locks/<name>``), taken without
  waiting; the kernel drops it when the file's last descriptor closes, as on any process death.
- PostgreSQL: a session-level ``pg_try_advisory_lock`` on a connection of its own (autocommit,
  so no transaction stays open), in a key space apart from the transaction locks of
  :mod:`soloist.storage.locks`.
- MariaDB/MySQL: ``GET_LOCK(name, 0)`` on a connection of its own; its names are server-wide,
  so the name carries the database's (two workspaces on one server do not block each other).
"""

from __future__ import annotations

import fcntl
import hashlib
import os
import threading
import zlib
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from sqlalchemy import Engine, text

LEASE_CLASS = 0x5010  # PostgreSQL's two-key advisory locks: (this class, the name's crc32)
_MEMORY_LOCKS: dict[str, threading.Lock] = {}
_MEMORY_GUARD = threading.Lock()


@contextmanager
def hold_process_lock(engine: Engine, name: str) -> Iterator[bool]:
    """Try to take ``name`` without waiting; yields whether it was taken, and holds it until
    the ``with`` block ends (or the process dies)."""
    backend = engine.dialect.name
    if backend == "sqlite":
        with _sqlite_lock(engine, name) as held:
            yield held
    elif backend == "postgresql":
        key = zlib.crc32(name.encode("utf-8"))
        key = key - 2**32 if key >= 2**31 else key  # int4
        with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as connection:
            held = bool(
                connection.scalar(
                    text("SELECT pg_try_advisory_lock(:c, :k)"), {"c": LEASE_CLASS, "k": key}
                )
            )
            try:
                yield held
            finally:
                if held:
                    connection.execute(
                        text("SELECT pg_advisory_unlock(:c, :k)"), {"c": LEASE_CLASS, "k": key}
                    )
    else:
        scoped = f"{engine.url.database or ''}/{name}"  # GET_LOCK's names span the server
        lock_name = "soloist-lease:" + hashlib.sha1(scoped.encode("utf-8")).hexdigest()[:40]
        with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as connection:
            held = connection.scalar(text("SELECT GET_LOCK(:n, 0)"), {"n": lock_name}) == 1
            try:
                yield held
            finally:
                if held:
                    connection.execute(text("SELECT RELEASE_LOCK(:n)"), {"n": lock_name})


@contextmanager
def _sqlite_lock(engine: Engine, name: str) -> Iterator[bool]:
    database = engine.url.database
    if not database or database == ":memory:":  # one process only: a lock in memory suffices
        with _MEMORY_GUARD:
            lock = _MEMORY_LOCKS.setdefault(f"{id(engine)}:{name}", threading.Lock())
        held = lock.acquire(blocking=False)
        try:
            yield held
        finally:
            if held:
                lock.release()
        return
    folder = Path(database).resolve().parent / (Path(database).name + ".locks")
    folder.mkdir(exist_ok=True)
    safe = "".join(c if c.isalnum() or c in "-_." else "_" for c in name)
    descriptor = os.open(folder / safe, os.O_RDWR | os.O_CREAT, 0o600)
    try:
        try:
            fcntl.flock(descriptor, fcntl.LOCK_EX | fcntl.LOCK_NB)
            held = True
        except BlockingIOError:
            held = False
        yield held
    finally:
        os.close(descriptor)  # releases the flock
