"""Run a unit of work again when the database chose it as a deadlock's victim.

InnoDB (MariaDB, MySQL) resolves a deadlock by rolling back one of the transactions and asking
the client to "try restarting transaction" (error 1213); PostgreSQL does the same with SQLSTATE
40P01, and 40001 for a serialization failure. Two arrivals of new customers can deadlock on
InnoDB's gap locks, however the code orders its locks. The only correct answer is to run the
whole unit of work again in a new transaction — which :func:`run_in_transaction` does, for the
callers whose unit of work is a function they can hand over (the live order and webhook paths).
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable
from typing import TYPE_CHECKING, TypeVar

from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Session

if TYPE_CHECKING:
    from soloist.storage.database import Database

T = TypeVar("T")
# MySQL/MariaDB error numbers: deadlock, lock wait timeout, and the savepoint that a deadlock's
# rollback took with it (InnoDB rolls back the whole transaction, not only the savepoint).
MYSQL_RETRYABLE = frozenset({1213, 1205, 1305})
POSTGRES_RETRYABLE = frozenset({"40P01", "40001"})


def is_deadlock(exc: BaseException) -> bool:
    """Whether ``exc``, or an error it was raised from or while handling, is a deadlock or a
    serialization failure that a new transaction may not meet again."""
    seen: set[int] = set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        if isinstance(current, DBAPIError):
            original = current.orig
            args = getattr(original, "args", ())
            if args and isinstance(args[0], int) and args[0] in MYSQL_RETRYABLE:
                return True
            if getattr(original, "sqlstate", None) in POSTGRES_RETRYABLE:
                return True
        current = current.__cause__ or current.__context__
    return False


def run_in_transaction(database: Database, work: Callable[[Session], T], *, attempts: int = 5) -> T:
    """``work(session)`` in one write transaction, committed; run again from the start, in a new
    transaction, when the database rolled it back as a deadlock's victim (with a short random
    pause, so the two do not meet again at once). ``work`` must do nothing outside the
    database that a second run would repeat."""
    for attempt in range(1, attempts + 1):
        try:
            with database.session() as session:
                return work(session)
        except DBAPIError as exc:
            if attempt == attempts or not is_deadlock(exc):
                raise
            time.sleep(random.uniform(0.005, 0.05) * attempt)
    raise AssertionError("unreachable")  # pragma: no cover
