"""Money: integer minor units in storage, ``Decimal`` at the edges, in each currency's precision.

A neutral module: storage, the domain, the import cleaners and the interfaces all use it, and it
imports nothing of Soloist.
"""

from __future__ import annotations

from decimal import Decimal
from functools import lru_cache

from babel.numbers import get_currency_precision


@lru_cache(maxsize=256)
def precision(currency: str) -> int:
    """Digits after the decimal point in ``currency`` (JPY 0, USD 2, KWD 3), from CLDR."""
    return int(get_currency_precision(currency))


def minor_to_decimal(amount_minor: int, currency: str) -> Decimal:
    """Integer minor units to a Decimal in the currency's own precision (JPY 0, USD 2, KWD 3)."""
    return Decimal(amount_minor).scaleb(-precision(currency))


def decimal_to_minor(amount: Decimal, currency: str) -> int:
    """A Decimal amount to integer minor units; refuses amounts finer than the currency allows."""
    digits = precision(currency)
    scaled = amount.scaleb(digits)
    if scaled != scaled.to_integral_value():
        raise ValueError(f"{amount} has more than {digits} decimal places for {currency}")
    return int(scaled)
