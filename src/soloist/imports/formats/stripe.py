"""Stripe dashboard exports: payments (charges), customers and subscriptions.

Amounts in these exports are in major units ("12.50"); ids are Stripe's own (``ch_…``, ``cus_…``,
``sub_…``) and become the external ids, so a charge finds the customer of a customers export.
"""

from __future__ import annotations

from typing import ClassVar

from soloist.imports.base import Record, TableFormat
from soloist.imports.values import parse_amount


class StripeCharges(TableFormat):
    name: ClassVar[str] = "stripe-charges"
    label: ClassVar[str] = "Stripe payments (charges) export"
    source: ClassVar[str] = "stripe"
    kinds: ClassVar[tuple[str, ...]] = ("orders",)
    required: ClassVar[tuple[str, ...]] = ("id", "Created (UTC)", "Amount", "Amount Refunded")
    columns: ClassVar[dict[str, str]] = {
        "id": "order_id",
        "Created (UTC)": "ordered_at",
        "Created date (UTC)": "ordered_at",
        "Amount": "total",
        "Amount Refunded": "refunded",
        "Currency": "currency",
        "Status": "status",
        "Customer ID": "customer_id",
        "Customer Email": "email",
        "Customer Description": "name",
        "Card Name": "name",
        "Card Address Country": "country",
        "Card Issue Country": "country",
    }

    def adjust(self, record: Record) -> None:
        values = record.values
        status = values.get("status", "").lower()
        if status in ("failed", "blocked", "canceled"):
            record.skip = f"{status} payment"
            return
        try:
            total = parse_amount(values.get("total", "") or "0")
            refunded = parse_amount(values.get("refunded", "") or "0")
        except ValueError:
            return  # the cleaning step names the bad cell
        if total > 0 and refunded >= total:
            values["status"] = "refunded"
        elif status in ("paid", "succeeded", "refunded", "partially refunded", ""):
            values["status"] = "paid"
        values["timezone"] = "UTC"


class StripeCustomers(TableFormat):
    name: ClassVar[str] = "stripe-customers"
    label: ClassVar[str] = "Stripe customers export"
    source: ClassVar[str] = "stripe"
    kinds: ClassVar[tuple[str, ...]] = ("customers",)
    required: ClassVar[tuple[str, ...]] = ("id", "Email", "Created (UTC)", "Delinquent")
    columns: ClassVar[dict[str, str]] = {
        "id": "customer_id",
        "Email": "email",
        "Name": "name",
        "Phone": "phone",
        "Created (UTC)": "created_at",
        "Address Line1": "address",
        "Address Country": "country",
        "Card Address Country": "country",
        "Preferred Locales": "language",
        "Description": "notes",
    }

    def adjust(self, record: Record) -> None:
        values = record.values
        if not values.get("name") and values.get("notes"):
            values["name"] = values["notes"]
        values["timezone"] = "UTC"


class StripeSubscriptions(TableFormat):
    name: ClassVar[str] = "stripe-subscriptions"
    label: ClassVar[str] = "Stripe subscriptions export"
    source: ClassVar[str] = "stripe"
    kinds: ClassVar[tuple[str, ...]] = ("subscriptions",)
    required: ClassVar[tuple[str, ...]] = ("id", "Customer ID", "Plan", "Status")
    columns: ClassVar[dict[str, str]] = {
        "id": "subscription_id",
        "Customer ID": "customer_id",
        "Customer Email": "email",
        "Customer Name": "name",
        "Customer Description": "name",
        "Plan": "plan",
        "Quantity": "quantity",
        "Interval": "interval",
        "Amount": "price",
        "Currency": "currency",
        "Status": "status",
        "Start (UTC)": "started_at",
        "Start Date (UTC)": "started_at",
        "Created (UTC)": "started_at",
        "Canceled At (UTC)": "cancelled_at",
        "Ended At (UTC)": "cancelled_at",
    }

    def adjust(self, record: Record) -> None:
        record.values["timezone"] = "UTC"
