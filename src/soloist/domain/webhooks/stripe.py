"""Stripe events: a completed Checkout is an order, a refunded charge refunds it, and
``customer.subscription.*`` keep the customer's subscription as Stripe has it.

Keys, as the Stripe exports' imports make them (``imports/formats/stripe.py``): customers
``stripe:cus_…``, subscriptions ``stripe:sub_…``, orders ``stripe:ch_…`` (a charges export). A
Checkout names no charge, so its order is ``stripe:pi_…`` (the PaymentIntent, which the charge
names too), or ``stripe:cs_…`` when it has none; a refunded charge looks for either.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from decimal import Decimal
from typing import Any

from pydantic import SecretStr
from sqlalchemy import select
from sqlalchemy.orm import Session

from soloist.domain.audit import record_audit
from soloist.domain.intake import (
    OrderIn,
    change_order_status,
    find_order,
    receive_order,
    set_refunded_total,
)
from soloist.domain.subscriptions import upsert_subscription
from soloist.domain.webhooks.events import Delivery, keep_key, recall_key
from soloist.domain.webhooks.payloads import (
    NoCustomerError,
    currency_of,
    customer_ref,
    integer,
    lower_keys,
    mapping,
    minor_amount,
    need,
    objects,
    order_in,
    parse_json,
    text,
    unix_time,
)
from soloist.domain.webhooks.signatures import (
    STRIPE_TOLERANCE_SECONDS,
    secret_of,
    verify_stripe_signature,
)
from soloist.errors import ValidationError
from soloist.imports.values import SUBSCRIPTION_SYNONYMS
from soloist.storage.models import Customer, Order
from soloist.vocabulary import WIDTHS

PROVIDER = "stripe"
ACTOR = "webhook:stripe"
PREFIX = "stripe:"
SUBSCRIPTION_EVENTS = (
    "customer.subscription.created",
    "customer.subscription.updated",
    "customer.subscription.deleted",
)
HANDLED = ("checkout.session.completed", "charge.refunded", *SUBSCRIPTION_EVENTS)


def read_stripe_delivery(
    body: bytes,
    headers: Mapping[str, str],
    secret: SecretStr | str | None,
    *,
    tolerance: int = STRIPE_TOLERANCE_SECONDS,
    now: float | None = None,
) -> Delivery:
    """The verified event of a Stripe delivery (its raw body and headers)."""
    key = secret_of(PROVIDER, secret)
    verify_stripe_signature(
        body, lower_keys(headers).get("stripe-signature"), key, tolerance=tolerance, now=now
    )
    event = parse_json(PROVIDER, body)
    event_id = text(need(event, "id", "Stripe event"), 255)
    return Delivery(PROVIDER, event_id, text(event.get("type"), 64) or "unknown", event)


def _object(event: Mapping[str, Any]) -> dict[str, Any]:
    data = event.get("data")
    obj = data.get("object") if isinstance(data, dict) else None
    if not isinstance(obj, dict):
        raise ValidationError("The Stripe event has no data.object.", field="data.object")
    return obj


def _id_of(value: Any) -> str | None:
    """An id that Stripe sends as a string, or as the object when expanded."""
    if isinstance(value, dict):
        return text(value.get("id"))
    return text(value)


def order_of_checkout(
    checkout: Mapping[str, Any], customer_id: int | None = None
) -> OrderIn | None:
    """The order of a completed Checkout Session (for ``customer_id``, else the customer its
    e-mail names); None when it took no money (setup mode, a free trial's zero total)."""
    if checkout.get("mode") == "setup" or checkout.get("payment_status") == "no_payment_required":
        return None
    currency = currency_of(need(checkout, "currency", "Checkout Session"))
    total = minor_amount(checkout.get("amount_total"), currency, "amount_total")
    if total <= 0:
        return None
    key = _id_of(checkout.get("payment_intent")) or text(need(checkout, "id", "Checkout Session"))
    details = mapping(checkout.get("customer_details"), "customer_details")
    discount = mapping(checkout.get("total_details"), "total_details").get("amount_discount")
    return order_in(
        customer_id,
        customer_ref(details.get("email") or checkout.get("customer_email"), details.get("name")),
        external_id=f"{PREFIX}{key}",
        ordered_at=unix_time(need(checkout, "created", "Checkout Session")),
        currency=currency,
        status="paid" if checkout.get("payment_status") == "paid" else "pending",
        total=total,
        discount=minor_amount(discount, currency, "total_details.amount_discount"),
        channel="stripe",
        source=PROVIDER,
    )


def order_of_charge(charge: Mapping[str, Any], customer_id: int | None = None) -> OrderIn:
    """The order of a charge Soloist had not seen (paid outside Checkout), as refunded so far."""
    currency = currency_of(need(charge, "currency", "charge"))
    total = minor_amount(charge.get("amount"), currency, "amount")
    refunded = minor_amount(charge.get("amount_refunded"), currency, "amount_refunded")
    billing = mapping(charge.get("billing_details"), "billing_details")
    key = _id_of(charge.get("payment_intent")) or text(need(charge, "id", "charge"))
    return order_in(
        customer_id,
        customer_ref(billing.get("email") or charge.get("receipt_email"), billing.get("name")),
        external_id=f"{PREFIX}{key}",
        ordered_at=unix_time(need(charge, "created", "charge")),
        currency=currency,
        status="refunded" if charge.get("refunded") or refunded >= total else "paid",
        total=total,
        refunded=min(refunded, total),
        channel="stripe",
        source=PROVIDER,
    )


def find_stripe_customer(session: Session, stripe_customer_id: str | None) -> Customer | None:
    """The customer whose external id is this Stripe customer's (a customers export, or an
    earlier Checkout that named it)."""
    if not stripe_customer_id:
        return None
    query = select(Customer).where(Customer.external_id == f"{PREFIX}{stripe_customer_id}")
    return session.scalars(query).first()


def _link_stripe_customer(session: Session, customer_id: int, stripe_customer_id: str) -> None:
    """Give a customer without an external id the Stripe customer's id, so later subscription
    events (which name the customer by id only) find them."""
    external = f"{PREFIX}{stripe_customer_id}"[: WIDTHS["customers.external_id"]]
    customer = session.get(Customer, customer_id)
    if customer is None or customer.external_id is not None:
        return
    if session.scalars(select(Customer.id).where(Customer.external_id == external)).first():
        return
    customer.external_id = external
    record_audit(
        session, ACTOR, "customer.updated", "customer", customer_id, {"external_id": external}
    )


def _checkout_completed(
    session: Session, checkout: Mapping[str, Any], at: dt.datetime, currency: str | None
) -> str:
    stripe_customer = _id_of(checkout.get("customer"))
    known = find_stripe_customer(session, stripe_customer)
    try:
        data = order_of_checkout(checkout, known.id if known else None)
    except NoCustomerError:
        return "ignored: no customer e-mail"
    if data is None:
        return "ignored: no payment"
    received = receive_order(session, data, ACTOR, currency=currency, at=at)
    if stripe_customer and known is None:
        _link_stripe_customer(session, received.order.customer_id, stripe_customer)
    verb = "created" if received.created else "unchanged: known already"
    return f"order {data.external_id} {verb}"


def _find_charge_order(session: Session, charge: Mapping[str, Any]) -> Order | None:
    for key in (text(charge.get("id")), _id_of(charge.get("payment_intent"))):
        if key and (order := find_order(session, f"{PREFIX}{key}", lock=True)) is not None:
            return order
    return None


def _charge_refunded(
    session: Session, charge: Mapping[str, Any], at: dt.datetime, currency: str | None
) -> str:
    order = _find_charge_order(session, charge)
    if order is None:
        known = find_stripe_customer(session, _id_of(charge.get("customer")))
        try:
            data = order_of_charge(charge, known.id if known else None)
        except NoCustomerError:
            return "ignored: unknown order"
        receive_order(session, data, ACTOR, update_existing=True, currency=currency, at=at)
        return f"order {data.external_id} created, refunded {data.refunded}"
    refunded = minor_amount(charge.get("amount_refunded"), order.currency, "amount_refunded")
    before: Decimal = order.refunded
    status = order.status
    order = set_refunded_total(session, order.id, min(refunded, order.total), ACTOR, at=at)
    if charge.get("refunded") and order.status in ("paid", "pending"):
        order = change_order_status(session, order.id, "refunded", ACTOR, at=at)
    if order.refunded == before and order.status == status:
        return f"order {order.external_id} unchanged: refunded {before} already"
    return f"order {order.external_id} refunded {order.refunded} in all"


_INTERVALS = {("day", 7): "week", ("week", 1): "week", ("month", 1): "month"}
_INTERVALS |= {("month", 3): "quarter", ("month", 12): "year", ("year", 1): "year"}


def _price_of(item: Mapping[str, Any]) -> dict[str, Any]:
    """An item's price (``plan`` in older API versions)."""
    return mapping(item.get("price") or item.get("plan"), "items.data.price")


def plan_of_subscription(subscription: Mapping[str, Any]) -> tuple[str, Decimal, str, str]:
    """(plan, price per interval, currency, interval) of a subscription's items."""
    items = objects(mapping(subscription.get("items"), "items").get("data"), "items.data")
    if not items:
        raise ValidationError("The subscription has no items.", field="items")
    price = _price_of(items[0])
    currency = currency_of(price.get("currency") or subscription.get("currency"))
    total = Decimal(0)
    for item in items:
        item_price = _price_of(item)
        unit = minor_amount(
            item_price.get("unit_amount", item_price.get("amount")), currency, "price.unit_amount"
        )
        total += unit * integer(item.get("quantity") or 1, "items.data.quantity")
    recurring = mapping(price.get("recurring"), "price.recurring")
    interval = text(recurring.get("interval") or price.get("interval")) or "month"
    count = integer(
        recurring.get("interval_count") or price.get("interval_count") or 1,
        "price.recurring.interval_count",
    )
    plan = (
        text(price.get("nickname"))
        or text(price.get("lookup_key"))
        or _id_of(price.get("product"))
        or text(price.get("id"))
        or "Stripe subscription"
    )
    billing = _INTERVALS.get(
        (interval, count), interval if interval in ("week", "year") else "month"
    )
    return plan[: WIDTHS["subscriptions.plan"]], total, currency, billing


def _last_applied(value: str | None) -> tuple[dt.datetime, str] | None:
    """(time, status) of the newest subscription event applied, as ``keep_key`` stored them
    (``"<Unix seconds> <status>"``), or None."""
    stamp, _, status = (value or "").partition(" ")
    if not stamp.isdigit():
        return None
    return dt.datetime.fromtimestamp(int(stamp), dt.UTC), status


def _subscription_changed(
    session: Session, subscription: Mapping[str, Any], deleted: bool, at: dt.datetime
) -> str:
    stripe_customer = _id_of(subscription.get("customer"))
    customer = find_stripe_customer(session, stripe_customer)
    if customer is None:
        return "ignored: unknown customer"
    subscription_id = text(need(subscription, "id", "subscription"))
    external = f"{PREFIX}{subscription_id}"
    plan, price, currency, interval = plan_of_subscription(subscription)
    status = (
        "cancelled"
        if deleted
        else SUBSCRIPTION_SYNONYMS.get(
            str(subscription.get("status") or "active").lower(), "active"
        )
    )
    # Stripe does not promise to deliver events in order: a late "updated" must not revive a
    # subscription that a newer event cancelled. The newest applied event's time is kept (in
    # seconds, as Stripe gives it: within one second, a cancellation is the later event).
    key = f"subscription-event-at:{subscription_id}"
    last = _last_applied(recall_key(session, PROVIDER, key, lock=True))
    if last is not None:
        last_at, last_status = last
        if at < last_at or (at == last_at and last_status == "cancelled" and status != "cancelled"):
            return f"ignored: older than the event of {last_at.isoformat()} applied already"
    cancelled_at = None
    reason = None
    if status == "cancelled":
        moment = subscription.get("ended_at") or subscription.get("canceled_at")
        cancelled_at = unix_time(moment, "ended_at") if moment else at
        details = mapping(subscription.get("cancellation_details"), "cancellation_details")
        reason = text(
            details.get("feedback") or details.get("reason") or details.get("comment"),
            WIDTHS["subscriptions.cancel_reason"],
        )
    started = subscription.get("start_date") or subscription.get("created")
    change = upsert_subscription(
        session,
        external[: WIDTHS["subscriptions.external_id"]],
        customer.id,
        plan,
        price,
        currency,
        ACTOR,
        billing_interval=interval,
        status=status,
        started_at=unix_time(started, "start_date") if started else at,
        cancelled_at=cancelled_at,
        cancel_reason=reason,
    )
    keep_key(session, PROVIDER, key, f"{int(at.timestamp())} {status}")
    return f"subscription {external} {change}"


def handle_stripe_event(session: Session, delivery: Delivery, currency: str | None = None) -> str:
    """Do what the event says; the outcome in words (``ignored: …`` for kinds not handled)."""
    kind = delivery.event_type
    if kind not in HANDLED:
        return "ignored: event type not handled"
    event = delivery.body
    at = unix_time(event["created"]) if event.get("created") else delivery.received_at
    obj = _object(event)
    if kind == "checkout.session.completed":
        return _checkout_completed(session, obj, at, currency)
    if kind == "charge.refunded":
        return _charge_refunded(session, obj, at, currency)
    return _subscription_changed(session, obj, kind == "customer.subscription.deleted", at)
