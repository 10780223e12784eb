"""Shopify events: ``orders/create`` and ``orders/updated`` bring the order to what Shopify says,
``refunds/create`` adds one refund.

An order's key is its name (``shopify:#1001``), as Shopify's orders export has it
(``imports/formats/shopify.py``), so an order imported earlier is found. A refund event names its
order by Shopify's numeric id only: the order events remember which id is which name, and which
refunds they already counted (``events.remember_key``), so a refund is counted once whichever of
``refunds/create`` and ``orders/updated`` comes first.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping
from decimal import Decimal
from typing import Any

from pydantic import SecretStr
from sqlalchemy.orm import Session

from soloist.domain.intake import (
    CustomerRef,
    OrderIn,
    find_order,
    receive_order,
    refund_order,
)
from soloist.domain.webhooks.events import Delivery, recall_key, remember_key
from soloist.domain.webhooks.payloads import (
    NoCustomerError,
    amount,
    currency_of,
    customer_ref,
    integer,
    iso_time,
    line_in,
    lower_keys,
    mapping,
    need,
    objects,
    order_in,
    parse_json,
    text,
)
from soloist.domain.webhooks.signatures import secret_of, verify_base64_hmac
from soloist.errors import ValidationError
from soloist.vocabulary import WIDTHS

PROVIDER = "shopify"
ACTOR = "webhook:shopify"
PREFIX = "shopify:"
HANDLED = ("orders/create", "orders/updated", "refunds/create")
# financial_status → Soloist's status (a cancelled order is cancelled whatever this says).
STATUSES = {
    "paid": "paid",
    "partially_refunded": "paid",
    "refunded": "refunded",
    "voided": "cancelled",
    "expired": "cancelled",
    "pending": "pending",
    "authorized": "pending",
    "partially_paid": "pending",
}


def read_shopify_delivery(
    body: bytes, headers: Mapping[str, str], secret: SecretStr | str | None
) -> Delivery:
    """The verified event of a Shopify delivery; its id is ``X-Shopify-Webhook-Id`` (the same
    on every retry of one delivery) or ``X-Shopify-Event-Id``."""
    key = secret_of(PROVIDER, secret)
    names = lower_keys(headers)
    verify_base64_hmac(body, names.get("x-shopify-hmac-sha256"), key, PROVIDER)
    event_id = text(names.get("x-shopify-webhook-id") or names.get("x-shopify-event-id"), 255)
    if event_id is None:
        raise ValidationError("The Shopify delivery has no X-Shopify-Webhook-Id header.")
    topic = text(names.get("x-shopify-topic"), 64) or "unknown"
    return Delivery(PROVIDER, event_id, topic, parse_json(PROVIDER, body))


def _refunded(refunds: Iterable[Mapping[str, Any]], currency: str) -> Decimal:
    """What the refunds gave back: their successful ``refund`` transactions."""
    total = Decimal(0)
    for refund in refunds:
        for transaction in objects(refund.get("transactions"), "refunds.transactions"):
            if transaction.get("kind") == "refund" and transaction.get("status", "success") in (
                "success",
                None,
            ):
                total += amount(transaction.get("amount"), currency, "transactions.amount")
    return total


def _customer_of(order: Mapping[str, Any]) -> CustomerRef | None:
    customer = mapping(order.get("customer"), "customer")
    billing = mapping(order.get("billing_address"), "billing_address")
    email = order.get("email") or order.get("contact_email") or customer.get("email")
    parts = (text(customer.get("first_name")), text(customer.get("last_name")))
    full = " ".join(part for part in parts if part)
    return customer_ref(email, full or billing.get("name"))


def external_id_of_shopify(order: Mapping[str, Any]) -> str:
    """``shopify:`` and the order's name (``#1001``), as the orders export's import keys it."""
    name = text(order.get("name")) or f"#{need(order, 'order_number', 'Shopify order')}"
    return f"{PREFIX}{name}"[: WIDTHS["orders.external_id"]]


def order_of_shopify(order: Mapping[str, Any], customer_id: int | None = None) -> OrderIn:
    """Soloist's order for a Shopify order object (for ``customer_id``, else the customer its
    e-mail names)."""
    currency = currency_of(order.get("currency") or order.get("presentment_currency"))
    if order.get("cancelled_at"):
        status = "cancelled"
    else:
        status = STATUSES.get(str(order.get("financial_status") or "pending").lower(), "pending")
    lines = [
        line_in(
            "line_items",
            sku=text(item.get("sku"), WIDTHS["order_lines.sku"]),
            name=text(item.get("title") or item.get("name"), WIDTHS["order_lines.description"]),
            quantity=integer(item.get("quantity") or 1, "line_items.quantity"),
            unit_price=amount(item.get("price"), currency, "line_items.price"),
        )
        for item in objects(order.get("line_items"), "line_items")
    ]
    total = amount(need(order, "total_price", "Shopify order"), currency, "total_price")
    return order_in(
        customer_id,
        _customer_of(order),
        external_id=external_id_of_shopify(order),
        ordered_at=iso_time(need(order, "created_at", "Shopify order"), "created_at"),
        currency=currency,
        status=status,
        lines=lines,
        total=total,
        discount=amount(order.get("total_discounts") or 0, currency, "total_discounts"),
        refunded=min(_refunded(objects(order.get("refunds"), "refunds"), currency), total),
        channel=text(order.get("source_name"), WIDTHS["orders.channel"]),
        source=PROVIDER,
    )


def _changed_at(order: Mapping[str, Any], received: dt.datetime) -> dt.datetime:
    """When Shopify says the order last changed (``updated_at``; else when it was received)."""
    moment = order.get("updated_at")
    return iso_time(moment, "updated_at") if moment else received


def _order_changed(
    session: Session,
    order: Mapping[str, Any],
    topic: str,
    currency: str | None,
    received: dt.datetime,
) -> str:
    update = topic == "orders/updated"
    stored = find_order(session, external_id_of_shopify(order), lock=update)
    try:
        data = order_of_shopify(order, stored.customer_id if stored else None)
    except NoCustomerError:
        return "ignored: no customer e-mail"
    received_order = receive_order(
        session,
        data,
        ACTOR,
        update_existing=update,
        currency=currency,
        at=_changed_at(order, received),
    )
    if order.get("id") is not None:
        remember_key(session, PROVIDER, f"order-id:{text(order['id'])}", data.external_id)
    for refund in objects(order.get("refunds"), "refunds"):
        if refund.get("id") is not None:
            remember_key(session, PROVIDER, f"refund-id:{text(refund['id'])}", data.external_id)
    if received_order.created:
        return f"order {data.external_id} created"
    return f"order {data.external_id} {'updated' if received_order.changed else 'unchanged'}"


def _refund_created(session: Session, refund: Mapping[str, Any], received: dt.datetime) -> str:
    order_id = text(need(refund, "order_id", "Shopify refund"))
    external = recall_key(session, PROVIDER, f"order-id:{order_id}")
    order = find_order(session, external or f"{PREFIX}{order_id}", lock=True)
    if order is None:
        return "ignored: unknown order"
    if refund.get("id") is not None and not remember_key(
        session, PROVIDER, f"refund-id:{text(refund['id'])}", order.external_id
    ):
        return f"order {order.external_id} unchanged: refund counted already"
    given = min(_refunded([refund], order.currency), order.total - order.refunded)
    if given <= 0:
        return f"order {order.external_id} unchanged: nothing left to refund"
    moment = refund.get("created_at")
    at = iso_time(moment, "created_at") if moment else received
    order = refund_order(session, order.id, given, ACTOR, at=at)
    return f"order {order.external_id} refunded {given}"


def handle_shopify_event(session: Session, delivery: Delivery, currency: str | None = None) -> str:
    """Do what the event says; the outcome in words (``ignored: …`` for topics not handled)."""
    if delivery.event_type not in HANDLED:
        return "ignored: event type not handled"
    if delivery.event_type == "refunds/create":
        return _refund_created(session, delivery.body, delivery.received_at)
    return _order_changed(
        session, delivery.body, delivery.event_type, currency, delivery.received_at
    )
