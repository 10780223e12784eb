"""The query planner's statistics.

SQLite keeps none until ``ANALYZE`` runs, and without them it guesses: at 100,000 customers it
chose the customers' status index (every active customer) over a name search's few matches,
and walked every score of a run to count a search's matches (340 ms instead of 12). ``ANALYZE``
with an analysis limit samples each index instead of reading it whole: 10 ms on a 1.3 GB
workspace. It runs after every import that changed data, after each analysis stores its
scores, after the demo is built, at ``soloist init`` (a new workspace or an upgraded one), and
with the worker's nightly refit.
PostgreSQL and MariaDB keep their statistics themselves (autovacuum, InnoDB's persistent
statistics).
"""

from __future__ import annotations

from sqlalchemy import Connection
from sqlalchemy.orm import Session

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
