"""The line-item retail log of the UCI Online Retail data sets (I and II).

``InvoiceNo`` (or ``Invoice``), ``StockCode``, ``Description``, ``Quantity``, ``InvoiceDate``,
``UnitPrice`` (or ``Price``), ``CustomerID`` (or ``Customer ID``), ``Country``. An invoice whose
number starts with "C" is a cancellation (a credit note with negative quantities); a negative
quantity is a return. Lines without a customer cannot be attributed and are skipped.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import ClassVar

import polars as pl

from soloist.imports.base import Record, RecordColumns, TableFormat
from soloist.imports.raw import RawTable
from soloist.imports.synonyms import header_key


class RetailLineItems(TableFormat):
    name: ClassVar[str] = "retail"
    returns_aware: ClassVar[bool] = True  # negative quantities are returns (C invoices)
    label: ClassVar[str] = "Line-item retail log (UCI Online Retail layout)"
    source: ClassVar[str] = "retail"
    kinds: ClassVar[tuple[str, ...]] = ("orders",)
    columns: ClassVar[dict[str, str]] = {
        "InvoiceNo": "order_id",
        "Invoice": "order_id",
        "StockCode": "sku",
        "Description": "description",
        "Quantity": "quantity",
        "InvoiceDate": "ordered_at",
        "UnitPrice": "unit_price",
        "Price": "unit_price",
        "CustomerID": "customer_id",
        "Customer ID": "customer_id",
        "Country": "country",
    }

    def detect(self, table: RawTable) -> bool:
        keys = {header_key(column) for column in table.header}
        return (
            bool({"invoiceno", "invoice"} & keys)
            and {"stockcode", "quantity", "invoicedate", "customerid"} <= keys
            and bool({"unitprice", "price"} & keys)
        )

    def adjust(self, record: Record) -> None:
        values = record.values
        customer = values.get("customer_id", "")
        if customer.endswith(".0"):
            values["customer_id"] = customer = customer[:-2]
        if not customer:
            record.skip = "no customer id"
            return
        invoice = values.get("order_id", "")
        values["status"] = "cancelled" if invoice.upper().startswith("C") else "paid"

    def record_columns(
        self, table: RawTable, kind: str, mapping: Mapping[str, int]
    ) -> RecordColumns:
        """:meth:`adjust` on whole columns."""
        frame = RecordColumns.from_table(table, mapping).frame
        if "customer_id" in frame.columns:
            given = pl.col("customer_id")
            frame = frame.with_columns(
                pl.when(given.str.ends_with(".0"))
                .then(given.str.head(-2))
                .otherwise(given)
                .alias("customer_id")
            )
            known = pl.col("customer_id").fill_null("") != ""
        else:
            known = pl.lit(False)
        invoice = pl.col("order_id").fill_null("") if "order_id" in frame.columns else pl.lit("")
        cancelled = invoice.str.to_uppercase().str.starts_with("C")
        status = pl.col("status") if "status" in frame.columns else pl.lit(None, pl.String)
        return RecordColumns(
            frame.with_columns(
                pl.when(known)
                .then(pl.when(cancelled).then(pl.lit("cancelled")).otherwise(pl.lit("paid")))
                .otherwise(status)
                .alias("status"),
                pl.when(known)
                .then(pl.col("skip"))
                .otherwise(pl.lit("no customer id"))
                .alias("skip"),
            )
        )
