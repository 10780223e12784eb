"""WooCommerce events: ``order.created`` and ``order.updated`` bring the order to what the shop
says (status, what was refunded).

An order's key is ``woo:`` and its number, as the WooCommerce exports' imports make it
(``imports/formats/woocommerce.py``), so an order imported earlier is found. When a webhook is
saved, WooCommerce first sends a ping (a form body ``webhook_id=N``, unsigned): it is answered
and nothing is written.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Mapping
from decimal import Decimal
from typing import Any

from pydantic import SecretStr
from sqlalchemy.orm import Session

from soloist.domain.intake import OrderIn, find_order, receive_order
from soloist.domain.webhooks.events import PING, Delivery
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

PROVIDER = "woocommerce"
ACTOR = "webhook:woocommerce"
PREFIX = "woo:"  # the WooCommerce import format's source
HANDLED = ("order.created", "order.updated")
STATUSES = {
    "processing": "paid",
    "completed": "paid",
    "refunded": "refunded",
    "cancelled": "cancelled",
    "pending": "pending",
    "on-hold": "pending",
}
_PING = re.compile(rb"webhook_id=\d+")


def read_woocommerce_delivery(
    body: bytes, headers: Mapping[str, str], secret: SecretStr | str | None
) -> Delivery:
    """The verified event of a WooCommerce delivery; its id is ``X-WC-Webhook-Delivery-ID``."""
    key = secret_of(PROVIDER, secret)
    names = lower_keys(headers)
    signature = names.get("x-wc-webhook-signature")
    if signature is None and _PING.fullmatch(body.strip()):
        return Delivery(PROVIDER, None, PING)
    verify_base64_hmac(body, signature, key, PROVIDER)
    event_id = text(names.get("x-wc-webhook-delivery-id"), 255)
    if event_id is None:
        raise ValidationError("The WooCommerce delivery has no X-WC-Webhook-Delivery-ID header.")
    topic = text(names.get("x-wc-webhook-topic"), 64) or "unknown"
    return Delivery(PROVIDER, event_id, topic, parse_json(PROVIDER, body))


def status_of_woocommerce(order: Mapping[str, Any]) -> str | None:
    """Soloist's status for a WooCommerce order's; None for one to leave alone (a failed
    payment, a checkout draft, an order in the bin)."""
    word = str(order.get("status") or "").lower().removeprefix("wc-")
    return STATUSES.get(word)


def external_id_of_woocommerce(order: Mapping[str, Any]) -> str:
    """``woo:`` and the order's number, as the WooCommerce exports' import keys it."""
    number = text(order.get("number")) or text(need(order, "id", "WooCommerce order"))
    return f"{PREFIX}{number}"[: WIDTHS["orders.external_id"]]


def order_of_woocommerce(
    order: Mapping[str, Any], customer_id: int | None = None
) -> OrderIn | None:
    """Soloist's order for a WooCommerce order object (for ``customer_id``, else the customer
    its billing e-mail names); None when its status is one to leave alone."""
    status = status_of_woocommerce(order)
    if status is None:
        return None
    currency = currency_of(need(order, "currency", "WooCommerce order"))
    billing = mapping(order.get("billing"), "billing")
    parts = (text(billing.get("first_name")), text(billing.get("last_name")))
    name = " ".join(part for part in parts if part)
    created = order.get("date_created_gmt") or need(order, "date_created", "WooCommerce order")
    lines = [
        line_in(
            "line_items",
            sku=text(item.get("sku"), WIDTHS["order_lines.sku"]),
            name=text(item.get("name"), WIDTHS["order_lines.description"]),
            quantity=integer(item.get("quantity") or 1, "line_items.quantity"),
            unit_price=amount(item.get("price") or 0, currency, "line_items.price"),
        )
        for item in objects(order.get("line_items"), "line_items")
    ]
    total = amount(need(order, "total", "WooCommerce order"), currency, "total")
    refunds = objects(order.get("refunds"), "refunds")
    refunded = sum(
        (abs(amount(r.get("total") or 0, currency, "refunds.total")) for r in refunds),
        Decimal(0),
    )
    return order_in(
        customer_id,
        customer_ref(billing.get("email"), name),
        external_id=external_id_of_woocommerce(order),
        ordered_at=iso_time(created, "date_created_gmt"),
        currency=currency,
        status=status,
        lines=lines,
        total=total,
        discount=amount(order.get("discount_total") or 0, currency, "discount_total"),
        refunded=min(refunded, total),
        channel=text(order.get("created_via"), WIDTHS["orders.channel"]),
        source="woo",
    )


def changed_at_of_woocommerce(order: Mapping[str, Any], received: dt.datetime) -> dt.datetime:
    """When the shop says the order last changed (``date_modified_gmt``; else when received)."""
    moment = order.get("date_modified_gmt")
    return iso_time(moment, "date_modified_gmt") if moment else received


def handle_woocommerce_event(
    session: Session, delivery: Delivery, currency: str | None = None
) -> str:
    """Do what the event says; the outcome in words (``ignored: …`` for topics not handled)."""
    if delivery.event_type not in HANDLED:
        return "ignored: event type not handled"
    update = delivery.event_type == "order.updated"
    stored = find_order(session, external_id_of_woocommerce(delivery.body), lock=update)
    try:
        data = order_of_woocommerce(delivery.body, stored.customer_id if stored else None)
    except NoCustomerError:
        return "ignored: no customer e-mail"
    if data is None:
        return f"ignored: order status {text(delivery.body.get('status'), 40)!r}"
    received = receive_order(
        session,
        data,
        ACTOR,
        update_existing=update,
        currency=currency,
        at=changed_at_of_woocommerce(delivery.body, delivery.received_at),
    )
    if received.created:
        return f"order {data.external_id} created"
    return f"order {data.external_id} {'updated' if received.changed else 'unchanged'}"
