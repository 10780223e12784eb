"""WooCommerce order exports: the "Advanced Order Export" layout (one row per item, columns such
as ``Order Number``, ``Email (Billing)``) and the snake_case layout of the WebToffee
exporter (``order_number``, ``billing_email``, ``order_total``)."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import ClassVar

from soloist.imports.base import Record, TableFormat
from soloist.imports.formats.shopify import ORDER_LEVEL
from soloist.imports.raw import RawTable
from soloist.imports.synonyms import header_key


class WooCommerceOrders(TableFormat):
    name: ClassVar[str] = "woocommerce"
    label: ClassVar[str] = "WooCommerce orders export"
    source: ClassVar[str] = "woo"
    kinds: ClassVar[tuple[str, ...]] = ("orders",)
    columns: ClassVar[dict[str, str]] = {
        "Order Number": "order_id",
        "order_number": "order_id",
        "order_id": "order_id",
        "Order ID": "order_id",
        "Order Date": "ordered_at",
        "order_date": "ordered_at",
        "Order Status": "status",
        "status": "status",
        "Email (Billing)": "email",
        "billing_email": "email",
        "First Name (Billing)": "first_name",
        "billing_first_name": "first_name",
        "Last Name (Billing)": "last_name",
        "billing_last_name": "last_name",
        "Company (Billing)": "company",
        "billing_company": "company",
        "Phone (Billing)": "phone",
        "billing_phone": "phone",
        "Country Code (Billing)": "country",
        "billing_country": "country",
        "Order Total Amount": "total",
        "order_total": "total",
        "Order Currency": "currency",
        "order_currency": "currency",
        "Cart Discount Amount": "discount",
        "cart_discount": "discount",
        "discount_total": "discount",
        "Order Refund Amount": "refunded",
        "refunded_total": "refunded",
        "SKU": "sku",
        "Item Name": "description",
        "Quantity (- Refund)": "quantity",
        "Quantity": "quantity",
        "Item Cost": "unit_price",
    }

    def detect(self, table: RawTable) -> bool:
        keys = {header_key(column) for column in table.header}
        aoe = {"ordernumber", "orderstatus", "emailbilling"} <= keys
        webtoffee = {"billingemail", "ordertotal"} <= keys and bool(
            {"ordernumber", "orderid"} & keys
        )
        return aoe or webtoffee

    def records(self, table: RawTable, kind: str, mapping: Mapping[str, int]) -> Iterator[Record]:
        first: dict[str, dict[str, str]] = {}
        for record in super().records(table, kind, mapping):
            head = first.setdefault(record.values.get("order_id", ""), record.values)
            if head is not record.values:
                for key in (*ORDER_LEVEL, "first_name", "last_name"):
                    if not record.values.get(key) and head.get(key):
                        record.values[key] = head[key]
            yield record
