"""The line-item retail log of the UCI Online Retail data sets (I and II).

``InvoiceNo`` (or ``Invoice``), ``StockCode``, ``Description``, ``Quantity``, ``InvoiceDate``,
``UnitPrice`` (or ``Price``), ``CustomerID`` (or ``Customer ID``), ``Country``. An invoice whose
number starts with "C" is a cancellation (a credit note with negative quantities); a negative
quantity is a return. Lines without a customer cannot be attributed and are skipped.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import ClassVar

from soloist.imports.base import Record, RecordColumns, TableFormat
from soloist.imports.synonyms import header_key
from soloist.imports.table import RawTable


class RetailLineItems(TableFormat):
    name: ClassVar[str] = "retail"
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
        columns = self.plain_columns(table, mapping)
        values = columns.values
        count = len(columns.skip)
        if "customer_id" in values:
            customers = [c[:-2] if c and c.endswith(".0") else c for c in values["customer_id"]]
            values["customer_id"] = customers
        else:
            customers = [None] * count
        invoices: Sequence[str | None] = values.get("order_id") or [""] * count
        given = values.get("status")
        status: list[str | None] = []
        skip = columns.skip
        for index, (customer, invoice) in enumerate(zip(customers, invoices, strict=True)):
            if not customer:
                skip[index] = "no customer id"
                status.append(given[index] if given is not None else None)
            else:
                cancelled = bool(invoice) and invoice.upper().startswith("C")  # type: ignore[union-attr]
                status.append("cancelled" if cancelled else "paid")
        values["status"] = status
        return columns
