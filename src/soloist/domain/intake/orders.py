"""Orders arriving live — through the API and the shops' webhooks — and what follows at once.

Each use case runs in the caller's transaction and does everything an order implies in it: the
customer is found by e-mail or created (and enrolled when the programme's rules say so), the
order is stored, its points are earned or given back (:mod:`soloist.domain.loyalty.order_points`)
and the customer's scores are worked out again from the stored fit
(:mod:`soloist.domain.scoring.live`). A failure anywhere rolls all of it back.

The same ``external_id`` twice changes nothing: :func:`receive_order` returns the stored order.
Two deliveries of the same new order at the same moment are settled by the unique key on
``orders.external_id``: the loser's insert is rolled back to a savepoint and it answers with the
winner's order.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from decimal import Decimal
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from soloist.domain.audit import record_audit
from soloist.domain.customers.records import get_customer
from soloist.domain.intake.customers import CustomerRef, customer_for
from soloist.domain.loyalty.ledger import MEMBER
from soloist.domain.loyalty.order_points import settle_order_points
from soloist.domain.orders import AwareTime, OrderCreate, OrderLineCreate, record_order
from soloist.domain.scoring.live import rescore_scores
from soloist.errors import ConflictError, NotFoundError, ValidationError
from soloist.money import decimal_to_minor, minor_to_decimal
from soloist.storage.models import Customer, LoyaltyAccount, Order
from soloist.storage.types import utcnow

LiveStatus = Literal["paid", "pending", "refunded", "cancelled"]
EARLIEST = dt.datetime(1970, 1, 1, tzinfo=dt.UTC)
MAX_AMOUNT = Decimal("1e12")


class LineIn(BaseModel):
    """One line of an order as another system sends it; money as a decimal string."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    sku: str | None = Field(default=None, max_length=64)
    name: str | None = Field(default=None, max_length=255)
    quantity: int = Field(default=1, ge=-1_000_000, le=1_000_000)
    unit_price: Decimal = Field(ge=0, le=Decimal("1e12"))


class OrderIn(BaseModel):
    """An order from the API or a webhook: the customer by id, or by e-mail (created if new)."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    customer_id: int | None = Field(default=None, ge=1, le=2**63 - 1)
    customer: CustomerRef | None = None
    external_id: str = Field(min_length=1, max_length=128)
    ordered_at: AwareTime
    currency: str = Field(min_length=3, max_length=3)
    status: LiveStatus = "paid"
    lines: list[LineIn] = Field(default_factory=list, max_length=1000)
    total: Decimal | None = Field(default=None, ge=0, le=Decimal("1e12"))
    discount: Decimal = Field(default=Decimal(0), ge=0, le=Decimal("1e12"))
    refunded: Decimal = Field(
        default=Decimal(0), ge=0, le=Decimal("1e12"), description="Refunded so far."
    )
    channel: str | None = Field(default=None, max_length=32)
    source: str | None = Field(default=None, max_length=32)

    @field_validator("currency")
    @classmethod
    def _currency(cls, value: str) -> str:
        if not value.isalpha():
            raise ValueError("currency must be a 3-letter ISO 4217 code")
        return value.upper()

    @field_validator("ordered_at")
    @classmethod
    def _plausible(cls, value: dt.datetime) -> dt.datetime:
        if not EARLIEST <= value <= utcnow() + dt.timedelta(days=1):
            raise ValueError("ordered_at must lie between 1970 and tomorrow")
        return value

    @model_validator(mode="after")
    def _someone(self) -> OrderIn:
        if self.customer_id is None and (self.customer is None or not self.customer.email):
            raise ValueError("give customer_id, or customer with an email")
        if self.total is None and not self.lines:
            raise ValueError("give the order's lines or its total")
        if sum((line.unit_price * line.quantity for line in self.lines), Decimal(0)) > MAX_AMOUNT:
            raise ValueError(f"the lines add up to more than {MAX_AMOUNT:,}")
        if self.refunded > 0 and self.status == "pending":
            raise ValueError("a pending order has not been paid, so nothing can be refunded")
        return self


@dataclass(frozen=True)
class ReceivedOrder:
    """The stored order; ``created`` when this call made it, ``changed`` when it changed it."""

    order: Order
    created: bool
    changed: bool


def find_order(session: Session, external_id: str, *, lock: bool = False) -> Order | None:
    """The order with this external id; ``lock`` locks its row until the transaction ends
    (and reads its newest committed version)."""
    query = select(Order).where(Order.external_id == external_id)
    if lock:
        query = query.with_for_update().execution_options(populate_existing=True)
    return session.scalar(query)


def _locked_order(session: Session, order_id: int) -> Order:
    """The order, its row locked before its status or refunds are read: two changes of one
    order settle one after the other, the second seeing what the first wrote."""
    order = session.get(Order, order_id, with_for_update=True, populate_existing=True)
    if order is None:
        raise NotFoundError(f"No order with id {order_id}.", order_id=order_id)
    return order


def _after_change(session: Session, order: Order, actor: str) -> None:
    """What follows any change of an order: its points, then its customer's scores.

    The customer's row is locked first, so that two changes of one customer's orders settle
    one after the other: on PostgreSQL the second then reads the first's committed order, and
    the score it leaves counts both.
    """
    session.execute(
        select(Customer.id).where(Customer.id == order.customer_id).with_for_update()
    ).all()
    settle_order_points(session, order.id, actor)
    rescore_scores(session, order.customer_id)


def receive_order(
    session: Session,
    data: OrderIn,
    actor: str,
    *,
    update_existing: bool = False,
    currency: str | None = None,
    at: dt.datetime | None = None,
) -> ReceivedOrder:
    """Store a new order with everything it implies; the same ``external_id`` again changes
    nothing, or, with ``update_existing`` (a shop's "order updated"), brings the stored order's
    status and refunded amount to the ones sent (its lines and total stay as first stored).

    ``currency`` is the workspace's: a loyalty programme launched by this order's new customer
    starts in it. ``at`` is when the sender says the change happened (a refund's time; default
    now): the points go back as of then.
    """
    when = (at or utcnow()).astimezone(dt.UTC)
    existing = find_order(session, data.external_id, lock=update_existing)
    if existing is not None:
        return _existing(session, existing, data, actor, update_existing, when)
    try:
        with session.begin_nested():
            order = _create(session, data, actor, currency, when)
    except (IntegrityError, ConflictError):
        # Another delivery of this order committed after our first look (its insert beat ours,
        # or we waited for its customer's lock and then saw it).
        existing = find_order(session, data.external_id, lock=True)
        if existing is None:
            raise
        return _existing(session, existing, data, actor, update_existing, when)
    return ReceivedOrder(order=order, created=True, changed=True)


def _create(
    session: Session, data: OrderIn, actor: str, currency: str | None, at: dt.datetime
) -> Order:
    if data.customer_id is not None:
        customer = get_customer(session, data.customer_id)
    else:
        assert data.customer is not None  # the model's validator says so
        customer = customer_for(
            session, data.customer, actor, at=data.ordered_at, currency=currency
        )
    _join_at_first_purchase(session, customer, data.ordered_at)
    lines = [
        OrderLineCreate(
            sku=line.sku, description=line.name, quantity=line.quantity, unit_price=line.unit_price
        )
        for line in data.lines
    ]
    order = record_order(
        session,
        OrderCreate(
            external_id=data.external_id,
            customer_id=customer.id,
            ordered_at=data.ordered_at,
            currency=data.currency,
            status=data.status,
            total=data.total,
            discount=data.discount,
            channel=data.channel,
            source=data.source,
            lines=lines,
        ),
        actor,
    )
    if data.refunded > 0:
        _set_refunded(order, _minor(data.refunded, order.currency, "refunded"), at)
    if data.status in ("refunded", "cancelled"):
        order.refunded_at = max(at, order.ordered_at)
    if data.status == "refunded":
        order.refunded_minor = order.total_minor
    session.flush()
    _after_change(session, order, actor)
    return order


def _join_at_first_purchase(session: Session, customer: Customer, ordered_at: dt.datetime) -> None:
    """A customer whom an order brought in joined at their first purchase: when an earlier
    order arrives after a later one (webhooks come out of order), the membership moves back to
    it, so that order earns as it would have in order of purchase."""
    if customer.source != "api":
        return
    account = session.get(LoyaltyAccount, customer.id, with_for_update=True)
    if account is not None and account.group == MEMBER and ordered_at < account.enrolled_at:
        account.enrolled_at = ordered_at


def _existing(
    session: Session, order: Order, data: OrderIn, actor: str, update: bool, at: dt.datetime
) -> ReceivedOrder:
    if not update:
        return ReceivedOrder(order=order, created=False, changed=False)
    changed = False
    refunded = _minor(data.refunded, order.currency, "refunded")
    if refunded > (order.refunded_minor or 0):
        _record_refund(session, order, refunded, actor, at)
        changed = True
    if data.status != order.status and not (data.status == "paid" and order.status == "refunded"):
        _record_status(session, order, data.status, actor, at)
        changed = True
    if changed:
        _after_change(session, order, actor)
    return ReceivedOrder(order=order, created=False, changed=changed)


def _minor(amount: Decimal, currency: str, field: str) -> int:
    try:
        return decimal_to_minor(amount, currency)
    except (ValueError, ArithmeticError) as exc:
        raise ValidationError(str(exc), field=field) from exc


def _set_refunded(order: Order, refunded_minor: int, at: dt.datetime) -> None:
    if refunded_minor > order.total_minor:
        raise ValidationError(
            f"Order {order.external_id} totals {order.total} {order.currency}; "
            f"{minor_to_decimal(refunded_minor, order.currency)} cannot be refunded.",
            field="refund_amount",
        )
    order.refunded_minor = refunded_minor
    order.refunded_at = max(at, order.ordered_at)
    if refunded_minor == order.total_minor and order.status in ("paid", "pending"):
        order.status = "refunded"


def _record_refund(
    session: Session, order: Order, refunded_minor: int, actor: str, at: dt.datetime
) -> None:
    before = (order.status, order.refunded_minor or 0)
    _set_refunded(order, refunded_minor, at)
    record_audit(
        session,
        actor,
        "order.refunded",
        "order",
        order.id,
        {
            "refunded": [
                str(minor_to_decimal(before[1], order.currency)),
                str(order.refunded),
            ],
            "status": [before[0], order.status],
        },
    )


def _record_status(
    session: Session, order: Order, status: str, actor: str, at: dt.datetime
) -> None:
    if order.status in ("refunded", "cancelled") and status in ("paid", "pending"):
        raise ConflictError(
            f"Order {order.external_id} is {order.status}; it cannot become {status} again.",
            order_id=order.id,
            status=order.status,
        )
    record_audit(
        session,
        actor,
        "order.status_changed",
        "order",
        order.id,
        {"status": [order.status, status]},
    )
    was_paid = order.status == "paid"
    order.status = status
    if status in ("refunded", "cancelled"):
        order.refunded_at = max(at, order.ordered_at)
    if status == "refunded" or (status == "cancelled" and was_paid):
        order.refunded_minor = order.total_minor  # the money went back in full


def refund_order(
    session: Session,
    order_id: int,
    amount: Decimal | None,
    actor: str,
    *,
    at: dt.datetime | None = None,
) -> Order:
    """Refund part of an order (``amount``), or all that remains (``None``); points go back
    pro rata, and an order refunded in full turns ``refunded``."""
    order = _locked_order(session, order_id)
    if order.status in ("refunded", "cancelled"):
        raise ConflictError(
            f"Order {order.external_id} is {order.status} already.", order_id=order.id
        )
    already = order.refunded_minor or 0
    if amount is None:
        more = order.total_minor - already
    else:
        if amount <= 0:
            raise ValidationError("A refund must be more than zero.", field="refund_amount")
        more = _minor(amount, order.currency, "refund_amount")
    _record_refund(session, order, already + more, actor, at or utcnow())
    _after_change(session, order, actor)
    return order


def set_refunded_total(
    session: Session,
    order_id: int,
    refunded_total: Decimal,
    actor: str,
    *,
    at: dt.datetime | None = None,
) -> Order:
    """Bring what was refunded up to a cumulative figure (as Stripe and WooCommerce report it).

    Never lowers it: a late, older delivery changes nothing.
    """
    order = _locked_order(session, order_id)
    target = _minor(refunded_total, order.currency, "refunded")
    if target > (order.refunded_minor or 0) and order.status not in ("refunded", "cancelled"):
        _record_refund(session, order, target, actor, at or utcnow())
        _after_change(session, order, actor)
    return order


def change_order_status(
    session: Session,
    order_id: int,
    status: str,
    actor: str,
    *,
    at: dt.datetime | None = None,
) -> Order:
    """Mark an order paid, refunded or cancelled; its points follow at once.

    A refunded or cancelled order cannot be paid again (record a new order instead).
    """
    if status not in ("paid", "pending", "refunded", "cancelled"):
        raise ValidationError(
            f"Unknown order status {status!r}; use paid, pending, refunded or cancelled.",
            field="status",
        )
    order = _locked_order(session, order_id)
    if status != order.status:
        _record_status(session, order, status, actor, at or utcnow())
        _after_change(session, order, actor)
    return order
