"""Declarative base with a naming convention: migrations name constraints alike on every engine."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any, ClassVar

from babel.numbers import get_currency_precision
from sqlalchemy import JSON, BigInteger, Integer, MetaData, String
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from soloist.storage.types import UTCDateTime, utcnow

NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

# Short aliases so table definitions read as a schema.
Money = BigInteger  # integer minor units (cents); see minor_to_decimal


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)
    type_annotation_map: ClassVar[dict[Any, Any]] = {
        dt.datetime: UTCDateTime(),
        dict: JSON(),
        list: JSON(),
    }


class IdMixin:
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)


class TimestampMixin:
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[dt.datetime] = mapped_column(default=utcnow, onupdate=utcnow)


def currency_column() -> Mapped[str]:
    return mapped_column(String(3), nullable=False)


def minor_to_decimal(amount_minor: int, currency: str) -> Decimal:
    """Integer minor units to a Decimal in the currency's own precision (JPY 0, USD 2, KWD 3)."""
    digits = get_currency_precision(currency)
    return Decimal(amount_minor).scaleb(-digits)


def decimal_to_minor(amount: Decimal, currency: str) -> int:
    """A Decimal amount to integer minor units; refuses amounts finer than the currency allows."""
    digits = get_currency_precision(currency)
    scaled = amount.scaleb(digits)
    if scaled != scaled.to_integral_value():
        raise ValueError(f"{amount} has more than {digits} decimal places for {currency}")
    return int(scaled)
