"""/api/v1/orders: orders with their totals, filterable by customer, status and time; orders
posted by a shop's other systems, their status changes and refunds (write tokens)."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import TYPE_CHECKING, Annotated, Literal

from fastapi import APIRouter, Path, Query, Response, status
from pydantic import BaseModel, ConfigDict, Field, model_validator
from sqlalchemy.orm import Session

from soloist.api.deps import DatabaseDep, Reader, ReadSession, Writer
from soloist.api.errors import ErrorPublic
from soloist.domain.intake import OrderIn, change_order_status, receive_order, refund_order
from soloist.domain.orders import get_order, list_orders
from soloist.money import minor_to_decimal
from soloist.storage.retry import run_in_transaction

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
    refunded: str = Field(description="Refunded so far (partial refunds add up).")
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
            refunded=str(minor_to_decimal(order.refunded_minor or 0, order.currency)),
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


OrderId = Annotated[int, Path(ge=1, le=2**63 - 1)]


class OrderUpdate(BaseModel):
    """A status change or a refund; give one of them."""

    model_config = ConfigDict(extra="forbid")

    status: Literal["paid", "refunded", "cancelled"] | None = Field(
        default=None, description="refunded or cancelled give the order's points back at once."
    )
    refund_amount: Decimal | None = Field(
        default=None,
        gt=0,
        le=Decimal("1e12"),
        description="A (partial) refund, added to what was refunded; points go back pro rata.",
    )

    @model_validator(mode="after")
    def _one(self) -> OrderUpdate:
        if (self.status is None) == (self.refund_amount is None):
            raise ValueError("give either status or refund_amount")
        return self


@router.post(
    "",
    response_model=OrderDetail,
    status_code=status.HTTP_201_CREATED,
    responses={
        200: {
            "model": OrderDetail,
            "description": "An order with this external_id "
            "exists already: it is returned, nothing changed.",
        },
        404: {"model": ErrorPublic},
    },
)
def post_order(
    data: OrderIn, response: Response, database: DatabaseDep, who: Writer
) -> OrderDetail:
    """Record an order from a shop's other systems; the customer is named by `customer_id` or
    by `customer` {`email`, `name`} (found, or created and enrolled). A paid order earns its
    loyalty points at once and the customer's scores are brought up to date, in the same
    transaction. The same `external_id` again answers 200 with the stored order."""

    def work(session: Session) -> tuple[OrderDetail, bool]:
        received = receive_order(session, data, who.actor, currency=database.settings.currency)
        return _detail(received.order), received.created

    detail, created = run_in_transaction(database, work)
    if not created:
        response.status_code = status.HTTP_200_OK
    return detail


@router.patch("/{order_id}", response_model=OrderDetail, responses={409: {"model": ErrorPublic}})
def patch_order(
    order_id: OrderId, data: OrderUpdate, database: DatabaseDep, who: Writer
) -> OrderDetail:
    """Mark an order paid, refunded or cancelled, or refund part of it (`refund_amount`).

    Points go back at once: all of them for a refunded or cancelled order, the refunded share
    for a partial refund. A refunded or cancelled order cannot be paid again (409).
    """

    def work(session: Session) -> OrderDetail:
        if data.refund_amount is not None:
            return _detail(refund_order(session, order_id, data.refund_amount, who.actor))
        assert data.status is not None
        return _detail(change_order_status(session, order_id, data.status, who.actor))

    return run_in_transaction(database, work)


@router.get("/{order_id}", response_model=OrderDetail)
def read_order(order_id: OrderId, session: ReadSession, _: Reader) -> OrderDetail:
    """One order with its lines; amounts are decimal strings in the order's currency."""
    return _detail(get_order(session, order_id))


def _detail(order: Order) -> OrderDetail:
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
