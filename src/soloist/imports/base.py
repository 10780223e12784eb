"""The seam every import format plugs into: a small Protocol and a registry.

A format recognises a file from its header and shape (:meth:`ImportFormat.detect`), says which
column holds which field (:meth:`ImportFormat.map_columns`) and turns rows into records of text
values keyed by field (:meth:`ImportFormat.records`). Typing the values (dates, amounts …) is left
to :mod:`soloist.imports.clean`, the same for every format.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any, ClassVar, Protocol

import polars as pl

from soloist.imports.raw import RawTable
from soloist.imports.synonyms import header_key, map_by_synonyms


@dataclass
class Record:
    """One row as text values keyed by field; ``skip`` gives a reason to leave it out."""

    row: int
    values: dict[str, str]
    skip: str | None = None


@dataclass
class RecordColumns:
    """The records of a table column by column, as a Polars frame: ``row`` (the spreadsheet
    row), ``skip`` (a reason to leave the record out, or null) and one text column per field
    (null where a record has no such field)."""

    frame: pl.DataFrame

    @classmethod
    def from_records(cls, records: Iterable[Record]) -> RecordColumns:
        records = list(records)
        names: dict[str, None] = {}
        for record in records:
            names.update(dict.fromkeys(record.values))
        data: dict[str, Any] = {
            "row": pl.Series("row", [record.row for record in records], dtype=pl.Int64),
            "skip": pl.Series("skip", [record.skip for record in records], dtype=pl.String),
        }
        for name in names:
            data[name] = pl.Series(
                name, [record.values.get(name) for record in records], dtype=pl.String
            )
        return cls(pl.DataFrame(data))

    @classmethod
    def from_table(cls, table: RawTable, mapping: Mapping[str, int]) -> RecordColumns:
        """Every record of ``table`` with its mapped cells stripped of surrounding whitespace."""
        count = len(table.rows)
        columns = [
            pl.Series("row", table.row_numbers, dtype=pl.Int64),
            pl.repeat(None, count, dtype=pl.String, eager=True).alias("skip"),
        ]
        for target, index in mapping.items():
            columns.append(table.stripped_series(index).alias(target))
        return cls(pl.DataFrame(columns))


class ImportFormat(Protocol):
    @property
    def name(self) -> str: ...

    @property
    def label(self) -> str: ...

    @property
    def source(self) -> str:
        """Prefix of the external ids this format's records get (``shopify:#1001``)."""
        ...

    @property
    def kinds(self) -> tuple[str, ...]: ...

    @property
    def default_currency(self) -> str | None: ...

    def detect(self, table: RawTable) -> bool: ...

    def map_columns(self, table: RawTable, kind: str) -> dict[str, int]: ...

    def records(
        self, table: RawTable, kind: str, mapping: Mapping[str, int]
    ) -> Iterator[Record]: ...

    def record_columns(
        self, table: RawTable, kind: str, mapping: Mapping[str, int]
    ) -> RecordColumns: ...


class TableFormat:
    """A format defined by its column names; subclasses name the columns they know."""

    name: ClassVar[str] = "generic"
    label: ClassVar[str] = "Generic table"
    source: ClassVar[str] = "file"
    kinds: ClassVar[tuple[str, ...]] = ()
    default_currency: ClassVar[str | None] = None
    required: ClassVar[tuple[str, ...]] = ()  # header keys that must all be present
    columns: ClassVar[dict[str, str]] = {}  # column name -> field, before the synonyms
    # Whether the layout records returns as negative quantities or amounts (a retail log's
    # credit notes); elsewhere a line below zero is refused, as it would count as revenue.
    returns_aware: ClassVar[bool] = False

    def detect(self, table: RawTable) -> bool:
        keys = {header_key(column) for column in table.header}
        return bool(self.required) and all(header_key(c) in keys for c in self.required)

    def map_columns(self, table: RawTable, kind: str) -> dict[str, int]:
        mapping: dict[str, int] = {}
        known = {header_key(name): target for name, target in self.columns.items()}
        for index, column in enumerate(table.header):
            target = known.get(header_key(column))
            if target is not None and target not in mapping:
                mapping[target] = index
        for target, index in map_by_synonyms(kind, table.header).items():
            if target not in mapping and index not in mapping.values():
                mapping[target] = index
        return mapping

    def records(self, table: RawTable, kind: str, mapping: Mapping[str, int]) -> Iterator[Record]:
        items = list(mapping.items())
        for number, row in zip(table.row_numbers, table.rows, strict=True):
            values = {target: row[index].strip() for target, index in items if index < len(row)}
            record = Record(number, values)
            self.adjust(record)
            yield record

    def adjust(self, record: Record) -> None:
        """Hook for a format's own rules on one record (statuses, ids)."""

    def record_columns(
        self, table: RawTable, kind: str, mapping: Mapping[str, int]
    ) -> RecordColumns:
        """The same records as :meth:`records`, column by column. Formats whose rules are per
        row (``adjust``, order-level fields) go through :meth:`records`; plain tables and the
        formats that override this are read whole columns at a time."""
        cls = type(self)
        if cls.records is not TableFormat.records or cls.adjust is not TableFormat.adjust:
            return RecordColumns.from_records(self.records(table, kind, mapping))
        return RecordColumns.from_table(table, mapping)


@dataclass
class Registry:
    formats: list[ImportFormat] = field(default_factory=list)
    aliases: dict[str, str] = field(default_factory=dict)

    def register(self, fmt: ImportFormat, *aliases: str) -> None:
        self.formats.append(fmt)
        for alias in aliases:
            self.aliases[alias] = fmt.name

    def get(self, name: str) -> ImportFormat | None:
        name = self.aliases.get(name.lower(), name.lower())
        return next((fmt for fmt in self.formats if fmt.name == name), None)

    def names(self) -> list[str]:
        return [fmt.name for fmt in self.formats]

    def detect(self, table: RawTable) -> ImportFormat:
        """The first specific format that recognises the table; the generic one otherwise."""
        for fmt in self.formats:
            if fmt.name != "generic" and fmt.detect(table):
                return fmt
        generic = self.get("generic")
        assert generic is not None
        return generic
