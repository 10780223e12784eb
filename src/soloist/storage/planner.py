"""The query planner's statistics, and conditions it should not answer from an index.

SQLite keeps none until ``ANALYZE`` runs, and without them it guesses: at 100,000 customers it
chose the customers' status index (every active customer) over a name search's few matches,
and walked every score of a run to count a search's matches (340 ms instead of 12). ``ANALYZE``
with an analysis limit samples each index instead of reading it whole: 10 ms on a 1.3 GB
workspace. It runs after every import that changed data, after each analysis stores its
scores, after the demo is built, at ``soloist init`` (a new workspace or an upgraded one), and
with the worker's nightly refit.
PostgreSQL and MariaDB keep their statistics themselves (autovacuum, InnoDB's persistent
statistics), but PostgreSQL's autovacuum sees only committed rows: a long transaction that
grows a table and queries it (the demo's months of journeys in one transaction) is planned
on the table's old statistics or on guesses, and can pick an index that reads the whole table.
:func:`catch_up_statistics` is for such a transaction.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import Connection, literal_column
from sqlalchemy.orm import InstrumentedAttribute, Session

from soloist.storage.models import Base

#: rows of each index that ANALYZE samples (SQLite's own suggestion is 100 to 1000)
SQLITE_ANALYSIS_LIMIT = 1000


def refresh_statistics(bind: Session | Connection) -> bool:
    """Bring the planner's statistics up to date, inside the caller's transaction; whether
    there was anything to do (SQLite only)."""
    connection = bind.connection() if isinstance(bind, Session) else bind
    if connection.dialect.name != "sqlite":
        return False
    connection.exec_driver_sql(f"PRAGMA analysis_limit={SQLITE_ANALYSIS_LIMIT}")
    connection.exec_driver_sql("ANALYZE")
    return True


def catch_up_statistics(bind: Session | Connection, tables: Sequence[str] = ()) -> None:
    """Statistics for the ``tables`` (every table of the workspace when none are named) that
    the caller's transaction has grown, taken inside it: ``ANALYZE`` on PostgreSQL, which
    samples the transaction's own new rows; :func:`refresh_statistics` on SQLite; nothing on
    MariaDB, where ``ANALYZE TABLE`` would commit the transaction. Without it, PostgreSQL
    guessed that a thousand customer ids match every row and read each journey's whole list
    of entries to find a thousand (1.7 s a query at 100,000 customers, against 2 ms).

    The tables are always named: a bare ``ANALYZE`` would also take the system catalogs,
    the shared ones among them, and hold their locks until the transaction ends, so the
    server's other databases would wait for it to analyse theirs. ``ANALYZE`` holds a lock on
    each table named that lets reads and writes through but keeps autovacuum out until the
    commit."""
    connection = bind.connection() if isinstance(bind, Session) else bind
    dialect = connection.dialect
    if dialect.name == "sqlite":
        refresh_statistics(connection)
    elif dialect.name == "postgresql":
        names = tables or [table.name for table in Base.metadata.sorted_tables]
        quote = dialect.identifier_preparer.quote
        connection.exec_driver_sql(f"ANALYZE {', '.join(map(quote, names))}")


def unindexed(bind: Session | Connection, column: InstrumentedAttribute[Any]) -> Any:
    """``column`` as a condition SQLite's planner cannot answer from an index (``+table.col``;
    the column itself elsewhere). For reading most of a table: SQLite picks an index on any
    column compared, and reads the rows in that index's order, each a lookup in the table
    (and, in a join, each joined row's too) at a random place in the file. Scanning the table
    in its own order reads each page once. The server databases' planners weigh that
    themselves."""
    dialect = bind.get_bind().dialect if isinstance(bind, Session) else bind.dialect
    if dialect.name != "sqlite":
        return column
    table = column.class_.__table__.name
    return literal_column(f"+{table}.{column.key}", column.type)
