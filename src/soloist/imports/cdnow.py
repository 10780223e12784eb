"""The CDNOW purchase log of the "buy till you die" literature: whitespace-separated customer id,
date (YYYYMMDD), number of CDs and dollar value — with or without the header line, and the
five-column 1/10 sample (master id, sample id, date, CDs, dollars).

A customer may buy more than once a day, so a purchase's id is the customer, the date and its
position among that day's purchases in the file: ``cdnow:00001:19970101:1``.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from typing import ClassVar

import polars as pl

from soloist.imports.base import Record, RecordColumns, TableFormat
from soloist.imports.synonyms import header_key
from soloist.imports.table import RawTable

_DATE = re.compile(r"^(19|20)\d{6}$")
_NAMES = {"customerid", "date", "numberofcds", "dollarvalue"}


class CdnowLog(TableFormat):
    name: ClassVar[str] = "cdnow"
    label: ClassVar[str] = "CDNOW purchase log (whitespace separated)"
    source: ClassVar[str] = "cdnow"
    kinds: ClassVar[tuple[str, ...]] = ("orders",)
    default_currency: ClassVar[str | None] = "USD"

    def detect(self, table: RawTable) -> bool:
        if table.container != "whitespace":
            return False
        if {header_key(c) for c in table.header} >= _NAMES:
            return True
        width = len(table.header)
        sample = table.rows[:20]
        date_column = 1 if width == 4 else 2
        return (
            not table.has_header
            and width in (4, 5)
            and bool(sample)
            and sum(1 for row in sample if len(row) == width and _DATE.match(row[date_column]))
            >= 0.8 * len(sample)
        )

    def map_columns(self, table: RawTable, kind: str) -> dict[str, int]:
        if len(table.header) >= 5:
            return {"customer_id": 0, "ordered_at": 2, "quantity": 3, "line_amount": 4}
        return {"customer_id": 0, "ordered_at": 1, "quantity": 2, "line_amount": 3}

    def records(self, table: RawTable, kind: str, mapping: Mapping[str, int]) -> Iterator[Record]:
        seen: dict[tuple[str, str], int] = {}
        for record in super().records(table, kind, mapping):
            key = (record.values.get("customer_id", ""), record.values.get("ordered_at", ""))
            seen[key] = seen.get(key, 0) + 1
            record.values["order_id"] = f"{key[0]}:{key[1]}:{seen[key]}"
            record.values["status"] = "paid"
            yield record

    def record_columns(
        self, table: RawTable, kind: str, mapping: Mapping[str, int]
    ) -> RecordColumns:
        """:meth:`records` on whole columns."""
        frame = RecordColumns.from_table(table, mapping).frame
        blank = pl.lit("")
        customer = pl.col("customer_id").fill_null("") if "customer_id" in frame.columns else blank
        date = pl.col("ordered_at").fill_null("") if "ordered_at" in frame.columns else blank
        number = pl.int_range(1, pl.len() + 1).over(customer, date).cast(pl.String)
        return RecordColumns(
            frame.with_columns(
                pl.concat_str(customer, blank + ":", date, blank + ":", number).alias("order_id"),
                pl.lit("paid").alias("status"),
            )
        )
