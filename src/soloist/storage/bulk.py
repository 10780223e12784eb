"""Batch inserts and reads for large volumes (the demo, imports, the analyses).

:func:`bulk_insert` goes straight to the driver's fastest path for hundreds of thousands of
rows (an import's order lines); :func:`fetch_raw` and :func:`utc_times` read a million orders
for a model fit in a third of the time SQLAlchemy's typed rows take.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import gc
import threading
from collections.abc import Callable, Iterable, Iterator, Sequence
from typing import TYPE_CHECKING, Any, TypeVar

import numpy as np
import polars as pl
from sqlalchemy import (
    ARRAY,
    ColumnElement,
    Dialect,
    any_,
    bindparam,
    func,
    insert,
    select,
)
from sqlalchemy.orm import Session
from sqlalchemy.schema import AddConstraint, DropConstraint
from sqlalchemy.sql.expression import Executable

from soloist.storage.types import (
    RANDOMISED_TYPES,
    UTCDateTime,
    as_utc,
    encrypted_bind_values,
)

if TYPE_CHECKING:
    import pandas as pd

T = TypeVar("T")
Encrypt = Callable[[Sequence[Any]], list[Any]]  # an encrypted column's values -> bind values
CHUNK = 5000  # keys per IN (...) lookup: few round trips, well under every engine's limits
# SQLite's page cache while a bulk insert runs (KiB): the indexes of a million new rows stay
# in memory instead of being spilled to the write-ahead log page by page (2× faster).
SQLITE_BULK_CACHE_KIB = 262_144
#: How SQLAlchemy's SQLite ``DATETIME`` stores a time, in Polars' ``strftime`` spelling.
SQLITE_DATETIME_FORMAT = "%Y-%m-%d %H:%M:%S%.6f"
BULK_REINDEX_ROWS = 20_000  # see _indexes_rebuilt


def chunks(values: Sequence[T], size: int = CHUNK) -> Iterator[Sequence[T]]:
    for start in range(0, len(values), size):
        yield values[start : start + size]


def among(session: Session, column: Any, values: Sequence[Any]) -> ColumnElement[bool]:
    """``column IN (values)`` for a lookup of thousands of keys. On PostgreSQL it is
    ``column = ANY(array)``: one parameter instead of thousands, which the driver would otherwise
    parse out of the statement one by one."""
    if session.get_bind().dialect.name == "postgresql":
        return column == any_(bindparam(None, list(values), type_=ARRAY(column.type)))
    result: ColumnElement[bool] = column.in_(values)
    return result


def fetch_raw(session: Session, statement: Executable) -> list[Any]:
    """The rows of ``statement`` as the database driver returns them, without SQLAlchemy's
    per-value result processing: on SQLite a timestamp stays its stored text, which
    :func:`utc_times` parses for a whole column at once (row by row, the parsing and the typed
    rows were two thirds of reading a million orders). The garbage collector pauses meanwhile
    (see :data:`collection_paused`)."""
    with collection_paused():
        result = session.connection().execute(statement)
        try:
            rows: list[Any] = list(result.cursor.fetchall())
        finally:
            result.close()
    return rows


#: Rows read at a time by :func:`read_in_parts`: their Python objects take about 150 MB.
READ_PART = 500_000


def read_in_parts(
    session: Session,
    statement: Executable,
    width: int,
    convert: Callable[[list[Sequence[Any]]], T],
    *,
    part: int | None = None,
) -> list[T]:
    """:func:`fetch_raw` and :func:`columns_of`, a part of :data:`READ_PART` rows at a time,
    each part's ``width`` columns passed to ``convert`` (at least once: with empty columns
    when there is no row). Ten million orders as the driver's rows took some 3 GB; a part's,
    150 MB, and ``convert`` keeps what it makes of them (numeric arrays, or sums)."""
    size = part or READ_PART
    made: list[T] = []
    with collection_paused():
        result = session.connection().execute(statement)
        try:
            while rows := result.cursor.fetchmany(size):
                made.append(convert(columns_of(rows, width)))
                del rows
        finally:
            result.close()
    if not made:
        made.append(convert(columns_of([], width)))
    return made


def columns_of(rows: Sequence[Sequence[Any]], width: int) -> list[Sequence[Any]]:
    """:func:`fetch_raw`'s rows as ``width`` columns (empty ones when there is no row). The
    garbage collector pauses meanwhile: each full collection would walk the million rows being
    turned into columns (0.49 s against 0.15 s for a million orders of three columns)."""
    if not rows:
        return [() for _ in range(width)]
    with collection_paused():
        return list(zip(*rows, strict=True))


def utc_times(values: Sequence[Any]) -> pd.Series:
    """A column of timestamps from :func:`fetch_raw` (SQLite's text, the server drivers'
    datetimes, naive or aware) as naive UTC ``datetime64`` values."""
    import pandas as pd  # only the analyses need it, not every import's start

    series = pd.Series(values, dtype=object)
    if len(series) and isinstance(series.iloc[0], str):
        times = pd.to_datetime(series, utc=True, format="ISO8601")
    else:
        times = pd.to_datetime(series, utc=True)
    return times.dt.tz_localize(None)


def utc_nanosecond_column(values: Sequence[Any]) -> np.ndarray:
    """:func:`utc_times` as int64 nanoseconds since the epoch (comparable with
    :func:`utc_nanoseconds`), for arithmetic on whole columns."""
    return utc_times(values).to_numpy(dtype="datetime64[ns]").astype(np.int64)


def utc_nanoseconds(moment: dt.datetime) -> int:
    """``moment`` (naive: UTC) as nanoseconds since the epoch, as :func:`utc_times`'s values
    are once viewed as int64."""
    import pandas as pd  # only the analyses need it, not every import's start

    return int(pd.Timestamp(as_utc(moment)).tz_convert(None).value)


def int_column(values: Sequence[Any]) -> np.ndarray:
    """Whole numbers from :func:`fetch_raw` as int64 (they must all be present)."""
    return np.fromiter(values, dtype=np.int64, count=len(values))


def float_column(values: Sequence[Any]) -> np.ndarray:
    """Numbers from :func:`fetch_raw` as float64, NULL as NaN."""
    return np.array([np.nan if v is None else v for v in values], dtype=np.float64)


class _CollectorPause:
    """Counts the bulk loads under way, so the collector comes back on after the last one."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.loads = 0
        self.was_enabled = False

    @contextlib.contextmanager
    def __call__(self) -> Iterator[None]:
        with self.lock:
            if self.loads == 0:
                self.was_enabled = gc.isenabled()
                gc.disable()
            self.loads += 1
        try:
            yield
        finally:
            with self.lock:
                self.loads -= 1
                if self.loads == 0 and self.was_enabled:
                    gc.enable()


#: ``with collection_paused():`` (or as a decorator) — Python's cyclic garbage collector off
#: while a bulk load runs, on again when the last load under way ends. A load keeps hundreds of
#: thousands of rows alive, and every full collection walks all of them: encrypting a column of
#: 100,000 values took four times as long with the collector on. Reference counting still frees
#: everything that is not in a cycle.
collection_paused = _CollectorPause()


@collection_paused()
def bulk_insert(
    session: Session,
    model: Any,
    names: Sequence[str],
    rows: Sequence[tuple[Any, ...]] | pl.DataFrame,
    *,
    live_table: bool = False,
) -> None:
    """Insert ``rows`` (tuples of the columns ``names``, or a frame of those columns) through
    the database's bulk path, in the session's transaction: ``executemany`` on SQLite, ``COPY``
    on PostgreSQL, multi-row ``VALUES`` (PyMySQL's executemany) on MariaDB/MySQL.

    A ``live_table`` (an analysis' scores and segment members, written while its own reading
    transaction and the web app's stay open) keeps its indexes and keys: making them again
    after the load (:func:`_indexes_rebuilt`) takes locks that wait for every reader, and on
    PostgreSQL dropping a foreign key locks the table it refers to (``model_runs``) as well,
    which the analysis' own reader holds: it waited for ever.

    Values go through each column type's own bind processing (so encrypted columns are
    encrypted with the workspace keyring, times stored as UTC), and the columns' Python-side
    defaults (``created_at`` …) are filled in as SQLAlchemy would. A frame whose columns need
    neither is streamed to the driver without becoming a list of tuples first."""
    count = rows.height if isinstance(rows, pl.DataFrame) else len(rows)
    if not count:
        return
    connection = session.connection()
    dialect = connection.dialect
    table = model.__table__
    columns = [table.c[name] for name in names]
    constants: list[Any] = []
    for column in table.columns:
        default = column.default
        if column.name in names or column.primary_key or default is None:
            continue
        if getattr(default, "is_scalar", False):
            columns.append(column)
            constants.append(default.arg)
        elif getattr(default, "is_callable", False):
            columns.append(column)
            constants.append(default.arg(None))
    processors = [_bind_processor(column, dialect) for column in columns]
    secret = [_randomised(column.type, dialect) for column in columns]
    values: Iterable[tuple[Any, ...]]
    processed: pl.DataFrame | None = None
    if isinstance(rows, pl.DataFrame):
        frame = rows.select(names).with_columns(
            pl.lit(value).alias(column.name)
            for column, value in zip(columns[len(names) :], constants, strict=True)
        )
        processed = _processed_frame(frame, processors, secret, columns, dialect)
        values = _frame_rows(processed)
    else:
        tail = tuple(constants)
        listed = [row + tail for row in rows] if tail else rows
        values = _processed(listed, processors, secret) if any(processors) else listed
    quote = dialect.identifier_preparer.quote
    target = f"{quote(table.name)} ({', '.join(quote(c.name) for c in columns)})"
    raw = connection.connection.driver_connection
    assert raw is not None
    reindexed = (
        contextlib.nullcontext() if live_table else _indexes_rebuilt(connection, table, count)
    )
    if dialect.name == "sqlite":
        sql = f"INSERT INTO {target} VALUES ({', '.join('?' * len(columns))})"
        with _sqlite_cache(raw, count), reindexed:
            raw.executemany(sql, values)
    elif dialect.name == "postgresql" and dialect.driver == "psycopg":
        with reindexed, raw.cursor() as cursor:
            if processed is not None and _writes_as_csv(processed):
                _copy_as_csv(cursor, target, processed)
            else:
                with cursor.copy(f"COPY {target} FROM STDIN") as copy:
                    for row in values:
                        copy.write_row(row)
    elif dialect.name in ("mysql", "mariadb") and dialect.driver == "pymysql":
        sql = f"INSERT INTO {target} VALUES ({', '.join(['%s'] * len(columns))})"
        with raw.cursor() as cursor:
            for part in _batches(values, 20_000):
                cursor.executemany(sql, part)
    else:
        keys = [column.key for column in columns]
        for part in _batches(values, 5000):
            connection.execute(insert(table), [dict(zip(keys, row, strict=True)) for row in part])


def _writes_as_csv(frame: pl.DataFrame) -> bool:
    """Whether Polars' CSV writer spells every value of ``frame`` the way PostgreSQL's CSV
    ``COPY`` reads it back unchanged: numbers, text, booleans, dates and naive times (a null is
    an unquoted empty field, an empty text the quoted ``""``). Bytes (encrypted columns) and
    Python objects are not."""
    for dtype in frame.dtypes:
        if isinstance(dtype, pl.Datetime):
            if dtype.time_zone is not None:
                return False
        elif not (dtype.is_numeric() or dtype in (pl.String, pl.Boolean, pl.Date)):
            return False
    return True


def _copy_as_csv(cursor: Any, target: str, frame: pl.DataFrame, part: int = 100_000) -> None:
    """``frame`` into ``target`` by one CSV ``COPY``, written by Polars part by part: a
    million order lines go in 0.5–0.8 s sooner than row by row (BENCHMARKS.md)."""
    with cursor.copy(f"COPY {target} FROM STDIN WITH (FORMAT csv)") as copy:
        for start in range(0, frame.height, part):
            copy.write(frame.slice(start, part).write_csv(include_header=False))


def _bind_processor(column: Any, dialect: Dialect) -> Callable[[Any], Any] | None:
    """The function SQLAlchemy applies to ``column``'s values before they reach ``dialect``'s
    driver (``None``: the values go as they are), through the public type API. The dialect's
    implementation of the type is memoised by SQLAlchemy; the processor is built once per
    :func:`bulk_insert` call and column, not per row."""
    processor: Callable[[Any], Any] | None = column.type.dialect_impl(dialect).bind_processor(
        dialect
    )
    return processor


@contextlib.contextmanager
def _sqlite_cache(raw: Any, rows: int) -> Iterator[None]:
    """A large page cache on this connection for a large insert, then the one it had."""
    if rows < 10_000:
        yield
        return
    (before,) = raw.execute("PRAGMA cache_size").fetchone()
    raw.execute(f"PRAGMA cache_size=-{SQLITE_BULK_CACHE_KIB}")
    try:
        yield
    finally:
        raw.execute(f"PRAGMA cache_size={int(before)}")


@contextlib.contextmanager
def _indexes_rebuilt(connection: Any, table: Any, rows: int) -> Iterator[None]:
    """Load, then index: when an insert at least doubles a table (of ``BULK_REINDEX_ROWS`` rows
    or more), the table's indexes — and on PostgreSQL its foreign keys — are dropped first and
    made again after it, in the same transaction. A unique index then checks the whole table
    when it is made again (a duplicate refuses the load there, and the transaction with it);
    unique constraints stay as they are (SQLite cannot drop one). Building an index over all
    the keys at once is cheaper than a million random insertions into it, and PostgreSQL checks
    a re-added foreign key with one join instead of a trigger per row (the bulk-loading advice
    of both engines' manuals). SQLite and PostgreSQL roll such DDL back with the transaction;
    MariaDB would commit it, so there nothing is dropped."""
    engine = connection.dialect.name
    indexes = list(table.indexes)
    keys = list(table.foreign_key_constraints) if engine == "postgresql" else []
    if engine not in ("sqlite", "postgresql") or rows < BULK_REINDEX_ROWS:
        yield
        return
    held = connection.execute(select(func.count()).select_from(table)).scalar_one()
    if held > rows:
        yield
        return
    for key in keys:
        connection.execute(DropConstraint(key))
    for index in indexes:
        index.drop(connection)
    yield
    for index in indexes:
        index.create(connection)
    for key in keys:
        connection.execute(AddConstraint(key))


def _batches(values: Iterable[T], size: int) -> Iterator[list[T]]:
    batch: list[T] = []
    for value in values:
        batch.append(value)
        if len(batch) == size:
            yield batch
            batch = []
    if batch:
        yield batch


def _randomised(column_type: Any, dialect: Dialect) -> Encrypt | None:
    """For an encrypted column, what makes its bind values (every value its own nonce)."""
    if not isinstance(column_type, RANDOMISED_TYPES):
        return None
    return lambda values: encrypted_bind_values(column_type, values, dialect)


def _processed_column(values: Sequence[Any], processor: Any, secret: Encrypt | None) -> list[Any]:
    """``values`` through their column's bind processor: each distinct value once (order times,
    statuses and currencies repeat), except in encrypted columns, where every value gets its
    own nonce. Values that do not repeat (scores, a JSON column's dicts, which cannot be
    looked up) go straight through once the first :data:`_LOOKUP_TRIAL` show it: looking each
    one up first cost more than processing it (100,000 CLV scores: 1.4 s of a 2.0 s insert)."""
    if secret is not None:
        return secret(values)
    done: dict[Any, Any] = {}
    same: dict[int, Any] = {}  # unhashable values by identity: a column default's one object
    converted: list[Any] = []
    repeats = 0
    for count, value in enumerate(values):
        if count == _LOOKUP_TRIAL and repeats * 4 < count:
            converted.extend(map(processor, values[count:]))
            break
        try:
            converted.append(done[value])
            repeats += 1
        except KeyError:
            converted.append(done.setdefault(value, processor(value)))
        except TypeError:
            if id(value) in same:
                repeats += 1
            else:
                same[id(value)] = processor(value)
            converted.append(same[id(value)])
    return converted


#: values of a column :func:`_processed_column` looks up before it judges whether they repeat
_LOOKUP_TRIAL = 1000


def _processed_frame(
    frame: pl.DataFrame,
    processors: list[Any],
    secret: list[Encrypt | None],
    columns: Sequence[Any],
    dialect: Dialect,
) -> pl.DataFrame:
    """:func:`_processed` of a frame, column by column (times on whole columns)."""
    series = frame.get_columns()
    for index, processor in enumerate(processors):
        if processor is None:
            continue
        times = _utc_times(series[index], columns[index], dialect)
        if times is not None:
            series[index] = times
            continue
        done = _processed_column(series[index].to_list(), processor, secret[index])
        series[index] = pl.Series(series[index].name, done)
    return pl.DataFrame(series)


def _utc_times(series: pl.Series, column: Any, dialect: Dialect) -> pl.Series | None:
    """A column of timezone-aware times bound for a :class:`UTCDateTime` column, as
    :meth:`UTCDateTime.process_bind_param` and the driver's own processing would make them
    value by value, on the whole column: naive UTC, and on SQLite the text SQLAlchemy's
    ``DATETIME`` stores (``2010-12-01 08:26:00.000000``). ``None`` for anything else (naive
    times go value by value, where they are refused)."""
    dtype = series.dtype
    if not isinstance(column.type, UTCDateTime) or not isinstance(dtype, pl.Datetime):
        return None
    if dtype.time_zone is None:
        return None
    naive = series.dt.convert_time_zone("UTC").dt.replace_time_zone(None)
    if dialect.name == "sqlite":
        return naive.dt.strftime(SQLITE_DATETIME_FORMAT)
    return naive


def _frame_rows(frame: pl.DataFrame, part: int = 50_000) -> Iterator[tuple[Any, ...]]:
    """The rows of ``frame`` as tuples, ``part`` rows at a time: each part's columns become
    Python lists once and are zipped, about a third cheaper than ``iter_rows`` (0.26 s against
    0.37 s for 900,000 order lines of ten columns), without holding the whole frame as lists."""
    for start in range(0, frame.height, part):
        piece = frame.slice(start, part)
        yield from zip(*(column.to_list() for column in piece.get_columns()), strict=True)


def _processed(
    rows: Sequence[tuple[Any, ...]], processors: list[Any], secret: list[Encrypt | None]
) -> list[tuple[Any, ...]]:
    """Rows with each value through its column's bind processor."""
    columns: list[Sequence[Any]] = list(zip(*rows, strict=True))
    for index, processor in enumerate(processors):
        if processor is not None:
            columns[index] = _processed_column(columns[index], processor, secret[index])
    return list(zip(*columns, strict=True))


def core_insert(
    session: Session, model: Any, rows: list[dict[str, Any]], *, live_table: bool = False
) -> None:
    """:func:`bulk_insert` of rows given as dicts (all with the same keys)."""
    if rows:
        names = list(rows[0])
        values = [tuple(row[n] for n in names) for row in rows]
        bulk_insert(session, model, names, values, live_table=live_table)


def insert_returning_ids(session: Session, model: Any, rows: list[dict[str, Any]]) -> list[int]:
    """Insert ``rows`` (all with the same keys) and return their new ids in row order.

    Through the table, not the ORM: the ORM's bulk insert groups consecutive rows by which of
    their values are None and joins each group's returned ids to all before it, so rows whose
    None values vary (customers with and without a phone) cost time quadratic in their number
    (8,000 such rows 2.2 s, against 0.07 s here). The table's insert also keeps a None as
    NULL where the ORM would put the column's default; every column with a default is NOT NULL,
    so such a row fails loudly instead.
    """
    if not rows:
        return []
    session.flush()  # what the session holds goes in first, as the ORM's insert does
    table = model.__table__
    statement = insert(table).returning(table.c.id, sort_by_parameter_order=True)
    dialect = session.get_bind().dialect.name
    if dialect == "sqlite" and len(rows) > 1:
        return _sqlite_insert_returning_ids(session, model, statement, rows)
    if dialect == "postgresql" and len(rows) >= _POSTGRESQL_IDS_AHEAD_FROM:
        ids = _postgresql_insert_with_ids(session, model, rows)
        if ids is not None:
            return ids
    return [int(value) for value in session.scalars(statement, rows)]


# Below this many rows one INSERT … RETURNING round trip is cheaper than taking ids first.
_POSTGRESQL_IDS_AHEAD_FROM = 200


def _postgresql_insert_with_ids(
    session: Session, model: Any, rows: list[dict[str, Any]]
) -> list[int] | None:
    """PostgreSQL: the ids taken from the table's sequence first, in one query, and the rows
    written with them by :func:`bulk_insert` (``COPY``); ``None`` when the id has no sequence
    or the rows bring their own. ``INSERT … RETURNING`` sends batches of a thousand rows whose
    text psycopg parses again for each batch (too long for its cache) and PostgreSQL plans
    again: the 10,000-customer demo's 100,000 orders waited 18 s for it. Ids from ``nextval``
    are never handed out twice, whatever runs beside, and each row gets the id at its place in
    the list."""
    table = model.__table__
    if "id" in rows[0]:
        return None  # the rows bring their own ids
    sequence = session.scalar(select(func.pg_get_serial_sequence(table.name, "id")))
    if sequence is None:
        return None
    taken = select(func.nextval(sequence)).select_from(func.generate_series(1, len(rows)))
    taken_ids: Sequence[Any] = session.scalars(taken).all()
    ids = [int(value) for value in taken_ids]
    names = list(rows[0])
    bulk_insert(
        session,
        model,
        ["id", *names],
        [(id_, *(row[n] for n in names)) for id_, row in zip(ids, rows, strict=True)],
    )
    return ids


def _sqlite_insert_returning_ids(
    session: Session, model: Any, first_statement: Any, rows: list[dict[str, Any]]
) -> list[int]:
    """SQLite returns ids in row order only one row per statement (55 µs a row); instead the
    first row is inserted alone, for its id, and the rest through :func:`core_insert` (one
    ``executemany`` on the driver). The write transaction holds the database's write lock, and
    SQLite gives each new row the largest id so far plus one, so the rest take the ids that
    follow; the count and the largest id are checked, and a table whose ids do not follow on
    fails instead of answering wrong ids."""
    table = model.__table__
    first = int(session.scalars(first_statement, rows[:1]).one())
    core_insert(session, model, rows[1:])
    last = first + len(rows) - 1
    written: Any = session.execute(
        select(func.count(), func.max(table.c.id)).where(table.c.id >= first)
    ).one()
    count, largest = written
    if (int(count), int(largest)) != (len(rows), last):
        raise RuntimeError(
            f"{table.name}: {len(rows)} rows inserted from id {first} did not take the ids "
            f"up to {last} ({count} rows, the largest id {largest})"
        )
    return list(range(first, last + 1))
