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


class ShopifyCustomers(TableFormat):
    """Shopify's customers export (Customers → Export): one row per customer, with the default
    address. Its orders export names customers by e-mail, which is how the two meet; the
    marketing consent columns are left out (consent is recorded where it is given)."""

    name: ClassVar[str] = "shopify-customers"
    label: ClassVar[str] = "Shopify customers export"
    source: ClassVar[str] = "shopify"
    kinds: ClassVar[tuple[str, ...]] = ("customers",)
    required: ClassVar[tuple[str, ...]] = (
        "First Name",
        "Last Name",
        "Email",
        "Total Spent",
        "Total Orders",
    )
    columns: ClassVar[dict[str, str]] = {
        "Customer ID": "customer_id",
        "First Name": "first_name",
        "Last Name": "last_name",
        "Email": "email",
        "Phone": "phone",
        "Default Address Company": "company",
        "Company": "company",
        "Default Address Address1": "address",
        "Address1": "address",
        "Default Address Country Code": "country",
        "Country Code": "country",
        "Tags": "tags",
        "Note": "notes",
    }

    def map_columns(self, table: RawTable, kind: str) -> dict[str, int]:
        mapping = super().map_columns(table, kind)
        # The default address's phone stands in when the customer has no phone of their own.
        index = table.column("Default Address Phone")
        if "phone" not in mapping and index is not None:
            mapping["phone"] = index
        return mapping
