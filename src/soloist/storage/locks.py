"""Named locks held until the transaction ends, on each database in its own way.

For rows that do not exist yet (a customer arriving by e-mail address for the first time) there
is no row to lock, so concurrent arrivals of one new address are made to wait on a name:

- SQLite: nothing to do; write transactions are serialised already (``BEGIN IMMEDIATE``).
- PostgreSQL: ``pg_advisory_xact_lock`` on a hash of the name, released by the commit.
- MariaDB/MySQL: ``GET_LOCK``, whose locks belong to the connection, not the transaction, so
  they are released when the connection goes back to the pool — after the commit or rollback.
  (Under READ COMMITTED a locking read of a missing key locks nothing; under REPEATABLE READ it
  takes a gap lock that two arrivals of *different* new addresses deadlock on.)

A lock not granted within ``timeout_s`` raises :class:`~soloist.errors.BusyError` (503): the
request may be tried again, and nothing was written.
"""

from __future__ import annotations

import hashlib
import zlib
from typing import Any
from weakref import WeakSet

from sqlalchemy import Engine, event, text
from sqlalchemy.orm import Session

from soloist.errors import BusyError

HELD = "soloist_named_locks"
_RELEASING: WeakSet[Engine] = WeakSet()


MYSQL_NAME_LENGTH = 64


def _release_on_checkin(engine: Engine) -> None:
    if engine in _RELEASING:
        return

    @event.listens_for(engine, "checkin")
    def _release(dbapi_connection: Any, record: Any) -> None:
        if record is not None and record.info.pop(HELD, False):
            cursor = dbapi_connection.cursor()
            try:
                cursor.execute("DO RELEASE_ALL_LOCKS()")
            finally:
                cursor.close()

    _RELEASING.add(engine)


def hold_named_lock(session: Session, name: str, *, timeout_s: int = 30) -> None:
    """Wait until no other transaction holds ``name``, and hold it until this one ends."""
    dialect = session.get_bind().dialect.name
    if dialect == "postgresql":
        key = zlib.crc32(name.encode("utf-8"))
        session.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": key})
    elif dialect in ("mysql", "mariadb"):
        connection = session.connection()
        _release_on_checkin(connection.engine)
        if len(name) > MYSQL_NAME_LENGTH:
            name = hashlib.sha1(name.encode("utf-8")).hexdigest()
        granted = session.scalar(
            text("SELECT GET_LOCK(:name, :timeout)"), {"name": name, "timeout": timeout_s}
        )
        if granted != 1:
            raise BusyError(f"Waited {timeout_s} s for another writer; try again.", lock=name)
        connection.info[HELD] = True
