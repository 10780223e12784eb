"""Shopify's orders export (Orders → Export): one row per line item; the order's own fields
(e-mail, totals, status) are filled on its first row only."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import ClassVar

from soloist.imports.base import Record, TableFormat
from soloist.imports.raw import RawTable

ORDER_LEVEL = (
    "email",
    "status",
    "ordered_at",
    "currency",
    "total",
    "discount",
    "refunded",
    "name",
    "company",
    "country",
    "phone",
    "channel",
    "cancelled_at",
)


class ShopifyOrders(TableFormat):
    name: ClassVar[str] = "shopify"
    label: ClassVar[str] = "Shopify orders export"
    source: ClassVar[str] = "shopify"
    kinds: ClassVar[tuple[str, ...]] = ("orders",)
    required: ClassVar[tuple[str, ...]] = ("Name", "Financial Status", "Lineitem name")
    columns: ClassVar[dict[str, str]] = {
        "Name": "order_id",
        "Email": "email",
        "Financial Status": "status",
        "Created at": "ordered_at",
        "Currency": "currency",
        "Total": "total",
        "Discount Amount": "discount",
        "Refunded Amount": "refunded",
        "Lineitem quantity": "quantity",
        "Lineitem name": "description",
        "Lineitem price": "unit_price",
        "Lineitem sku": "sku",
        "Billing Name": "name",
        "Billing Company": "company",
        "Billing Country": "country",
        "Billing Phone": "phone",
        "Source": "channel",
        "Cancelled at": "cancelled_at",
    }

    def map_columns(self, table: RawTable, kind: str) -> dict[str, int]:
        mapping = super().map_columns(table, kind)
        # "Phone" (the order's) stands in when there is no billing phone.
        if "phone" not in mapping and table.column("Phone") is not None:
            mapping["phone"] = table.header.index("Phone")
        return mapping

    def records(self, table: RawTable, kind: str, mapping: Mapping[str, int]) -> Iterator[Record]:
        first: dict[str, dict[str, str]] = {}
        for record in super().records(table, kind, mapping):
            order = record.values.get("order_id", "")
            head = first.setdefault(order, record.values)
            if head is not record.values:
                for key in ORDER_LEVEL:
                    if not record.values.get(key) and head.get(key):
                        record.values[key] = head[key]
            yield record

    def adjust(self, record: Record) -> None:
        values = record.values
        if values.get("cancelled_at"):
            values["status"] = "cancelled"
        if values.get("status", "").lower() == "voided":
            values["status"] = "cancelled"
