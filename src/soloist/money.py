"""Money: integer minor units in storage, ``Decimal`` at the edges, in each currency's precision.

A neutral module: storage, the domain, the import cleaners and the interfaces all use it, and it
imports nothing of Soloist.
"""

from __future__ import annotations

from decimal import ROUND_HALF_EVEN, Decimal, localcontext
from functools import lru_cache

from babel.numbers import get_currency_precision, list_currencies

CURRENCY_EXAMPLES = "USD, EUR, GBP, CNY, JPY"


@lru_cache(maxsize=256)
def precision(currency: str) -> int:
    """Digits after the decimal point in ``currency`` (JPY 0, USD 2, KWD 3), from CLDR."""
    return int(get_currency_precision(currency))


def minor_to_decimal(amount_minor: int, currency: str) -> Decimal:
    """Integer minor units to a Decimal in the currency's own precision (JPY 0, USD 2, KWD 3)."""
    return Decimal(amount_minor).scaleb(-precision(currency))


def minor_units_per_unit(currency: str) -> int:
    """100 for USD (cents), 1 for JPY: how many minor units make one currency unit."""
    return 10 ** precision(currency)


def decimal_to_minor(amount: Decimal, currency: str) -> int:
    """A Decimal amount to integer minor units; refuses amounts finer than the currency allows."""
    digits = precision(currency)
    scaled = amount.scaleb(digits)
    if scaled != scaled.to_integral_value():
        raise ValueError(f"{amount} has more than {digits} decimal places for {currency}")
    return int(scaled)


@lru_cache(maxsize=1)
def currency_codes() -> frozenset[str]:
    """Every ISO 4217 code CLDR knows (Babel's list)."""
    return frozenset(list_currencies())


def check_currency(code: str) -> str:
    """``code`` as an upper-case ISO 4217 code; ``ValueError`` naming it when it is not one.

    >>> check_currency(" gbp ")
    'GBP'
    """
    text = code.strip().upper()
    if text not in currency_codes():
        raise ValueError(
            f"{code.strip()!r} is not an ISO 4217 currency code (such as {CURRENCY_EXAMPLES})"
        )
    return text


def check_rate(value: object) -> Decimal:
    """An exchange rate as a positive, finite Decimal (``"0.85"``, ``0.85``, ``Decimal``);
    ``ValueError`` otherwise. A float is read by its shortest repr, so 0.85 is exactly 0.85."""
    text = str(value).strip() if not isinstance(value, Decimal) else None
    try:
        rate = value if isinstance(value, Decimal) else Decimal(text or "")
    except ArithmeticError:
        raise ValueError(f"{value!r} is not a number") from None
    if not rate.is_finite() or rate <= 0:
        raise ValueError(f"a rate must be a number above 0, got {value!r}")
    return rate


def convert_minor(amount_minor: int, source: str, target: str, rate: Decimal) -> int:
    """Minor units of ``source`` in minor units of ``target``, where 1 ``source`` = ``rate``
    ``target``; exact in Decimal, rounded once, half to even, to the target's minor unit.

    >>> convert_minor(12345, "GBP", "USD", Decimal("1.2650"))  # 123.45 GBP = 156.16425 USD
    15616
    >>> convert_minor(1000, "JPY", "EUR", Decimal("0.0061"))  # 1,000 JPY
    610
    """
    with localcontext() as context:
        context.prec = 60
        value = Decimal(amount_minor).scaleb(precision(target) - precision(source)) * rate
        return int(value.to_integral_value(rounding=ROUND_HALF_EVEN))
