"""/api/v1/orders: orders with their totals, filterable by customer, status and time."""

from __future__ import annotations

import datetime as dt
from typing import TYPE_CHECKING, Annotated

from fastapi import APIRouter, Query
from pydantic import BaseModel

from soloist.api.deps import Reader, ReadSession
from soloist.domain.orders import get_order, list_orders
from soloist.money import minor_to_decimal

if TYPE_CHECKING:
    from soloist.storage.models import Order

router = APIRouter(prefix="/api/v1/orders", tags=["orders"])


class OrderLinePublic(BaseModel):
    line_no: int
    sku: str | None
    description: str | None
    quantity: int
    unit_price: str
    amount: str


class OrderPublic(BaseModel):
    id: int
    external_id: str
    customer_id: int
    status: str
    currency: str
    total: str
    discount: str
    ordered_at: dt.datetime
    channel: str | None
    source: str | None

    @classmethod
    def of(cls, order: Order) -> OrderPublic:
        return cls(
            id=order.id,
            external_id=order.external_id,
            customer_id=order.customer_id,
            status=order.status,
            currency=order.currency,
            total=str(minor_to_decimal(order.total_minor, order.currency)),
            discount=str(minor_to_decimal(order.discount_minor or 0, order.currency)),
            ordered_at=order.ordered_at,
            channel=order.channel,
            source=order.source,
        )


class OrderDetail(OrderPublic):
    lines: list[OrderLinePublic]


class OrderPage(BaseModel):
    items: list[OrderPublic]
    total: int
    limit: int
    offset: int


@router.get("", response_model=OrderPage)
def read_orders(
    session: ReadSession,
    _: Reader,
    customer_id: Annotated[int | None, Query(description="Only this customer's orders.")] = None,
    status: Annotated[str | None, Query(description="paid, pending, refunded, cancelled")] = None,
    since: Annotated[dt.datetime | None, Query(description="Ordered at or after.")] = None,
    until: Annotated[dt.datetime | None, Query(description="Ordered before.")] = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
    offset: Annotated[int, Query(ge=0)] = 0,
) -> OrderPage:
    """Orders, newest first. Amounts are decimal strings in the order's currency."""
    items, total = list_orders(
        session,
        customer_id=customer_id,
        status=status,
        since=since.replace(tzinfo=since.tzinfo or dt.UTC) if since else None,
        until=until.replace(tzinfo=until.tzinfo or dt.UTC) if until else None,
        limit=limit,
        offset=offset,
    )
    return OrderPage(
        items=[OrderPublic.of(o) for o in items], total=total, limit=limit, offset=offset
    )


@router.get("/{order_id}", response_model=OrderDetail)
def read_order(order_id: int, session: ReadSession, _: Reader) -> OrderDetail:
    """One order with its lines; amounts are decimal strings in the order's currency."""
    order = get_order(session, order_id)
    lines = [
        OrderLinePublic(
            line_no=line.line_no,
            sku=line.sku,
            description=line.description,
            quantity=line.quantity,
            unit_price=str(minor_to_decimal(line.unit_price_minor, order.currency)),
            amount=str(minor_to_decimal(line.amount_minor, order.currency)),
        )
        for line in order.lines
    ]
    return OrderDetail(**OrderPublic.of(order).model_dump(), lines=lines)
