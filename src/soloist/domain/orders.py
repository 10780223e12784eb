"""Products and orders. Amounts are Decimals at the edge and integer minor units in storage."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal, InvalidOperation
from typing import Annotated

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, field_validator
from sqlalchemy import select
from sqlalchemy.orm import Session

from soloist.domain.audit import record_audit
from soloist.domain.customers.records import get_customer
from soloist.errors import ConflictError, NotFoundError, ValidationError
from soloist.money import decimal_to_minor
from soloist.storage.models import (
    ORDER_STATUSES,
    Order,
    OrderLine,
    Product,
)


def _to_minor(amount: Decimal, currency: str, field: str) -> int:
    try:
        return decimal_to_minor(amount, currency)
    except (ValueError, InvalidOperation) as exc:
        raise ValidationError(str(exc), field=field) from exc


def _aware_utc(value: dt.datetime) -> dt.datetime:
    if value.tzinfo is None:
        raise ValueError("needs a time zone (e.g. 2026-12-05T10:00:00+00:00)")
    return value.astimezone(dt.UTC)


# A moment as a request gives it: with its time zone, kept in UTC.
AwareTime = Annotated[dt.datetime, AfterValidator(_aware_utc)]


class ProductCreate(BaseModel):
    model_config = ConfigDict(str_strip_whitespace=True, extra="forbid")

    sku: str = Field(min_length=1, max_length=64)
    name: str = Field(min_length=1, max_length=255)
    category: str | None = Field(default=None, max_length=100)
    price: Decimal = Field(ge=0)
    cost: Decimal | None = Field(default=None, ge=0)
    currency: str = Field(min_length=3, max_length=3)


class OrderLineCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    sku: str | None = None
    description: str | None = Field(default=None, max_length=255)
    quantity: int = 1
    unit_price: Decimal
    cost: Decimal | None = None


class OrderCreate(BaseModel):
    """An order; ``total`` defaults to the sum of the lines."""

    model_config = ConfigDict(extra="forbid")

    external_id: str = Field(min_length=1, max_length=128)
    customer_id: int
    ordered_at: AwareTime
    currency: str = Field(min_length=3, max_length=3)
    status: str = "paid"
    total: Decimal | None = None
    discount: Decimal = Decimal(0)
    channel: str | None = None
    source: str | None = None
    lines: list[OrderLineCreate] = Field(default_factory=list)

    @field_validator("status")
    @classmethod
    def _status(cls, value: str) -> str:
        if value not in ORDER_STATUSES:
            raise ValueError(f"status must be one of {', '.join(ORDER_STATUSES)}")
        return value

    @field_validator("currency")
    @classmethod
    def _currency(cls, value: str) -> str:
        return value.upper()


def create_product(session: Session, data: ProductCreate, actor: str) -> Product:
    if session.scalar(select(Product.id).where(Product.sku == data.sku)) is not None:
        raise ConflictError(f"A product with SKU {data.sku!r} exists already.", sku=data.sku)
    currency = data.currency.upper()
    product = Product(
        sku=data.sku,
        name=data.name,
        category=data.category,
        price_minor=_to_minor(data.price, currency, "price"),
        cost_minor=None if data.cost is None else _to_minor(data.cost, currency, "cost"),
        currency=currency,
        active=True,
    )
    session.add(product)
    session.flush()
    record_audit(session, actor, "product.created", "product", product.id, {"sku": data.sku})
    return product


def _line_rows(
    session: Session, data: OrderCreate
) -> tuple[list[dict[str, object]], int, int | None]:
    skus = {line.sku for line in data.lines if line.sku}
    products = (
        dict(session.execute(select(Product.sku, Product.id).where(Product.sku.in_(skus))).all())
        if skus
        else {}
    )
    rows: list[dict[str, object]] = []
    total, cost, cost_known = 0, 0, bool(data.lines)
    for number, line in enumerate(data.lines, start=1):
        unit = _to_minor(line.unit_price, data.currency, f"lines[{number}].unit_price")
        line_cost = None if line.cost is None else _to_minor(line.cost, data.currency, "lines.cost")
        cost_known = cost_known and line_cost is not None
        amount = unit * line.quantity
        total += amount
        cost += (line_cost or 0) * line.quantity
        rows.append(
            {
                "line_no": number,
                "product_id": products.get(line.sku) if line.sku else None,
                "sku": line.sku,
                "description": line.description,
                "quantity": line.quantity,
                "unit_price_minor": unit,
                "amount_minor": amount,
                "cost_minor": line_cost,
            }
        )
    return rows, total, (cost if cost_known else None)


def record_order(session: Session, data: OrderCreate, actor: str) -> Order:
    """Add one order with its lines. Refuses an ``external_id`` that exists already."""
    get_customer(session, data.customer_id)
    if session.scalar(select(Order.id).where(Order.external_id == data.external_id)) is not None:
        raise ConflictError(
            f"Order {data.external_id!r} exists already.", external_id=data.external_id
        )
    lines, lines_total, cost = _line_rows(session, data)
    total = _to_minor(data.total, data.currency, "total") if data.total is not None else lines_total
    order = Order(
        external_id=data.external_id,
        customer_id=data.customer_id,
        status=data.status,
        currency=data.currency,
        total_minor=total,
        discount_minor=_to_minor(data.discount, data.currency, "discount"),
        cost_minor=cost,
        ordered_at=data.ordered_at,
        channel=data.channel,
        source=data.source,
        lines=[OrderLine(**row) for row in lines],
    )
    session.add(order)
    session.flush()
    record_audit(
        session,
        actor,
        "order.created",
        "order",
        order.id,
        {
            "external_id": data.external_id,
            "customer_id": data.customer_id,
            "total": str(order.total),
        },
    )
    return order


def set_order_status(session: Session, order_id: int, status: str, actor: str) -> Order:
    """Mark an order refunded or cancelled (or paid again); audited."""
    if status not in ORDER_STATUSES:
        raise ValidationError(
            f"Unknown order status {status!r}; use one of {', '.join(ORDER_STATUSES)}.",
            field="status",
        )
    order = session.get(Order, order_id)
    if order is None:
        raise NotFoundError(f"No order with id {order_id}.", order_id=order_id)
    if order.status != status:
        record_audit(
            session,
            actor,
            "order.status_changed",
            "order",
            order.id,
            {"status": [order.status, status]},
        )
        order.status = status
    return order


def list_orders(
    session: Session,
    *,
    customer_id: int | None = None,
    status: str | None = None,
    since: dt.datetime | None = None,
    until: dt.datetime | None = None,
    limit: int = 50,
    offset: int = 0,
) -> tuple[list[Order], int]:
    """Orders, newest first, with optional filters; returns one page and the total count."""
    from sqlalchemy import func

    if status is not None and status not in ORDER_STATUSES:
        raise ValidationError(
            f"Unknown order status {status!r}; use one of {', '.join(ORDER_STATUSES)}.",
            field="status",
        )
    where = []
    if customer_id is not None:
        where.append(Order.customer_id == customer_id)
    if status is not None:
        where.append(Order.status == status)
    if since is not None:
        where.append(Order.ordered_at >= since)
    if until is not None:
        where.append(Order.ordered_at < until)
    total = int(session.scalar(select(func.count(Order.id)).where(*where)) or 0)
    items = session.scalars(
        select(Order)
        .where(*where)
        .order_by(Order.ordered_at.desc(), Order.id.desc())
        .limit(limit)
        .offset(offset)
    )
    return list(items), total


def get_order(session: Session, order_id: int) -> Order:
    order = session.get(Order, order_id)
    if order is None:
        raise NotFoundError(f"No order with id {order_id}.", order_id=order_id)
    return order
