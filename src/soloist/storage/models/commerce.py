"""Products, orders, order lines and subscriptions. Money is integer minor units + ISO currency."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

from sqlalchemy import Boolean, ForeignKey, Index, Integer, String
from sqlalchemy.orm import Mapped, mapped_column, relationship

from soloist.money import minor_to_decimal
from soloist.storage.models.base import Base, IdMixin, Money, TimestampMixin
from soloist.storage.types import utcnow

ORDER_STATUSES = ("pending", "paid", "refunded", "cancelled")
SUBSCRIPTION_STATUSES = ("trialing", "active", "past_due", "paused", "cancelled")
BILLING_INTERVALS = ("week", "month", "quarter", "year")


class Product(IdMixin, TimestampMixin, Base):
    __tablename__ = "products"

    sku: Mapped[str] = mapped_column(String(64), unique=True)
    name: Mapped[str] = mapped_column(String(255))
    category: Mapped[str | None] = mapped_column(String(100), index=True)
    price_minor: Mapped[int] = mapped_column(Money)
    cost_minor: Mapped[int | None] = mapped_column(Money)
    currency: Mapped[str] = mapped_column(String(3))
    active: Mapped[bool] = mapped_column(Boolean, default=True)

    @property
    def price(self) -> Decimal:
        return minor_to_decimal(self.price_minor, self.currency)


class Order(IdMixin, Base):
    """An order. ``external_id`` is the source's own order number, the key of idempotent imports."""

    __tablename__ = "orders"

    external_id: Mapped[str] = mapped_column(String(128), unique=True)
    customer_id: Mapped[int] = mapped_column(ForeignKey("customers.id"))
    status: Mapped[str] = mapped_column(String(16), default="paid")
    currency: Mapped[str] = mapped_column(String(3))
    total_minor: Mapped[int] = mapped_column(Money)
    discount_minor: Mapped[int] = mapped_column(Money, default=0)
    cost_minor: Mapped[int | None] = mapped_column(Money)
    ordered_at: Mapped[dt.datetime] = mapped_column()
    channel: Mapped[str | None] = mapped_column(String(32))
    source: Mapped[str | None] = mapped_column(String(32))
    import_batch_id: Mapped[int | None] = mapped_column(ForeignKey("import_batches.id"))
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    # What was given back so far (partial refunds add up); the order turns ``refunded`` when it
    # reaches the total. ``refunded_at`` is the moment of the latest refund or cancellation.
    refunded_minor: Mapped[int] = mapped_column(Money, default=0, server_default="0")
    refunded_at: Mapped[dt.datetime | None] = mapped_column()

    lines: Mapped[list[OrderLine]] = relationship(
        back_populates="order", cascade="all, delete-orphan", order_by="OrderLine.line_no"
    )

    __table_args__ = (
        Index("ix_orders_customer_ordered", "customer_id", "ordered_at"),
        Index("ix_orders_ordered_at", "ordered_at"),
        Index("ix_orders_created_at", "created_at"),  # journeys read the orders of the minute
        Index("ix_orders_status", "status"),
        # The dashboard's per-customer and per-month aggregates read these indexes alone (the
        # revenue net of refunds too: refunded_minor is in it, migration 5d2b8e4f7a61).
        Index("ix_orders_status_customer_ordered", "status", "customer_id", "ordered_at"),
        Index(
            "ix_orders_revenue", "status", "currency", "ordered_at", "total_minor", "refunded_minor"
        ),
    )

    @property
    def total(self) -> Decimal:
        return minor_to_decimal(self.total_minor, self.currency)

    @property
    def refunded(self) -> Decimal:
        return minor_to_decimal(self.refunded_minor or 0, self.currency)


class OrderLine(IdMixin, Base):
    """One line of an order; a negative quantity is a return."""

    __tablename__ = "order_lines"

    order_id: Mapped[int] = mapped_column(ForeignKey("orders.id", ondelete="CASCADE"))
    line_no: Mapped[int] = mapped_column(Integer)
    product_id: Mapped[int | None] = mapped_column(ForeignKey("products.id"), index=True)
    sku: Mapped[str | None] = mapped_column(String(64))
    description: Mapped[str | None] = mapped_column(String(255))
    quantity: Mapped[int] = mapped_column(Integer, default=1)
    unit_price_minor: Mapped[int] = mapped_column(Money)
    amount_minor: Mapped[int] = mapped_column(Money)
    cost_minor: Mapped[int | None] = mapped_column(Money)

    order: Mapped[Order] = relationship(back_populates="lines")

    # A unique index rather than a table constraint: a bulk load can drop it and build it once
    # after the load (soloist.storage.bulk), which SQLite cannot do with a constraint.
    __table_args__ = (Index("uq_order_lines_order_id_line_no", "order_id", "line_no", unique=True),)


class Subscription(IdMixin, TimestampMixin, Base):
    __tablename__ = "subscriptions"

    external_id: Mapped[str | None] = mapped_column(String(128), unique=True)
    customer_id: Mapped[int] = mapped_column(ForeignKey("customers.id"), index=True)
    plan: Mapped[str] = mapped_column(String(100))
    status: Mapped[str] = mapped_column(String(16), default="active")
    billing_interval: Mapped[str] = mapped_column(String(16), default="month")
    price_minor: Mapped[int] = mapped_column(Money)
    currency: Mapped[str] = mapped_column(String(3))
    started_at: Mapped[dt.datetime] = mapped_column()
    cancelled_at: Mapped[dt.datetime | None] = mapped_column()
    cancel_reason: Mapped[str | None] = mapped_column(String(255))
