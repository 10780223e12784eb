"""A database's rows as portable JSON lines, and their checksums.

Rows are read through the models' column types, so they leave in the same Python values on
every engine (UTC datetimes, decimals, booleans; encrypted fields decrypted, to be encrypted
again under the same master key on the way in) and can go into any of the three engines.
Values JSON cannot hold travel tagged: ``{"$t": "2026-12-05T10:00:00+00:00"}`` (datetime),
``{"$d": …}`` (date), ``{"$n": "12.50"}`` (decimal), ``{"$b": …}`` (bytes, base64), and
``{"$j": …}`` wraps a JSON column's own value so that its keys are never mistaken for tags.
A table's checksum is the SHA-256 of its encoded rows in primary-key order.
"""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import json
from collections.abc import Iterator
from decimal import Decimal
from typing import Any

from sqlalchemy import JSON, Column, Table, select
from sqlalchemy.engine import Connection

from soloist.storage.types import EncryptedJSON

BATCH = 1000


def encode(value: Any, column_is_json: bool = False) -> Any:
    if value is None:
        return None
    if column_is_json:
        return {"$j": value}
    if isinstance(value, bool | int | float | str):
        return value
    if isinstance(value, dt.datetime):
        if value.tzinfo is not None:
            value = value.astimezone(dt.UTC)
        return {"$t": value.isoformat()}
    if isinstance(value, dt.date):
        return {"$d": value.isoformat()}
    if isinstance(value, Decimal):
        return {"$n": str(value)}
    if isinstance(value, bytes | bytearray | memoryview):
        return {"$b": base64.b64encode(bytes(value)).decode("ascii")}
    raise TypeError(f"Cannot back up a value of type {type(value).__name__}")


def decode(value: Any) -> Any:
    if not isinstance(value, dict):
        return value
    ((tag, inner),) = value.items()
    if tag == "$j":
        return inner
    if tag == "$t":
        return dt.datetime.fromisoformat(inner)
    if tag == "$d":
        return dt.date.fromisoformat(inner)
    if tag == "$n":
        return Decimal(inner)
    if tag == "$b":
        return base64.b64decode(inner)
    raise ValueError(f"Unknown value tag {tag!r}")


def _json_columns(columns: list[Column[Any]]) -> list[bool]:
    return [isinstance(column.type, JSON | EncryptedJSON) for column in columns]


def encoded_rows(
    connection: Connection, table: Table, names: list[str] | None = None
) -> Iterator[list[Any]]:
    """The table's rows in primary-key order, each a list of encoded values in column order
    (of the columns ``names`` only, in that order, when given)."""
    columns = [table.c[name] for name in names] if names is not None else list(table.columns)
    flags = _json_columns(columns)
    order = list(table.primary_key.columns) or list(table.columns)
    query = select(*columns).order_by(*order)
    result = connection.execution_options(yield_per=BATCH).execute(query)
    for row in result:
        yield [encode(value, flag) for value, flag in zip(row, flags, strict=True)]


def line_of(row: list[Any]) -> bytes:
    return json.dumps(row, ensure_ascii=False, sort_keys=True, separators=(",", ":")).encode()


def table_checksum(
    connection: Connection, table: Table, names: list[str] | None = None
) -> tuple[int, str]:
    """How many rows the table holds and the SHA-256 of their encoded lines (of the columns
    ``names`` only, when given: a backup of an older schema revision is checked on its own)."""
    digest, count = hashlib.sha256(), 0
    for row in encoded_rows(connection, table, names):
        digest.update(line_of(row) + b"\n")
        count += 1
    return count, digest.hexdigest()


class RowTally:
    """An order-free fingerprint of rows: their count and the sum of their lines' SHA-256
    (mod 2^256). A backup of an earlier schema revision comes back in today's key order (a
    sealed tag sorts elsewhere than its text), so it is checked row set against row set."""

    def __init__(self) -> None:
        self.count, self.total = 0, 0

    def add(self, row: list[Any]) -> None:
        self.count += 1
        digest = hashlib.sha256(line_of(row)).digest()
        self.total = (self.total + int.from_bytes(digest, "big")) % 2**256

    def counting(self, rows: Iterator[list[Any]]) -> Iterator[list[Any]]:
        for row in rows:
            self.add(row)
            yield row

    @classmethod
    def of_table(cls, connection: Connection, table: Table, names: list[str]) -> RowTally:
        tally = cls()
        for row in encoded_rows(connection, table, names):
            tally.add(row)
        return tally
