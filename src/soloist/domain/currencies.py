"""Currencies: revenue per currency, and conversion into the workspace currency at given rates.

An order keeps the currency it was paid in. A total (``soloist status``, the dashboard, the
analyses) counts an order in another currency only at a rate the owner gave:
``soloist rates set EUR 0.85`` means 1 EUR is worth 0.85 of the workspace currency, kept in the
workspace's soloist.toml as the ``[soloist.rates]`` table (or ``SOLOIST_RATES``). An order in a
currency without a rate is never converted silently, nor dropped silently: it is left out of the
converted total, and every total that leaves it out says so.

Conversion is exact in ``Decimal`` and rounds once, half to even, to the workspace currency's
minor unit: a currency's total is converted as one sum, an order's amount (for the analyses)
order by order.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Any, NamedTuple

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from soloist.config import Settings, write_config_values
from soloist.errors import ValidationError
from soloist.money import check_currency, check_rate, convert_minor, minor_to_decimal
from soloist.storage.models import Order

Rates = Mapping[str, Decimal]
RATES_TABLE = "soloist.rates"


@dataclass(frozen=True)
class CurrencyRevenue:
    """The paid orders in one currency: their count and sum in that currency, the rate into the
    workspace currency (1 for the workspace currency itself, None when the owner gave none) and
    the sum converted (None without a rate)."""

    currency: str
    orders: int
    amount_minor: int
    rate: Decimal | None
    converted_minor: int | None

    @property
    def amount(self) -> Decimal:
        return minor_to_decimal(self.amount_minor, self.currency)


@dataclass(frozen=True)
class RevenueTotals:
    """Paid revenue of a workspace: ``total_minor`` in ``currency`` (its own orders and those
    converted at a rate), and each currency's part."""

    currency: str
    total_minor: int
    parts: tuple[CurrencyRevenue, ...]

    @property
    def total(self) -> Decimal:
        return minor_to_decimal(self.total_minor, self.currency)

    @property
    def orders(self) -> int:
        """Paid orders counted in ``total_minor``."""
        return sum(p.orders for p in self.parts if p.converted_minor is not None)

    @property
    def unconverted(self) -> list[CurrencyRevenue]:
        """Currencies with paid orders and no rate: outside ``total_minor``."""
        return [p for p in self.parts if p.converted_minor is None]

    @property
    def rates_used(self) -> dict[str, Decimal]:
        return {
            p.currency: p.rate
            for p in self.parts
            if p.rate is not None and p.currency != self.currency
        }

    def by_currency(self) -> dict[str, str]:
        """Each currency's sum in its own currency, as decimal strings."""
        return {p.currency: str(p.amount) for p in self.parts}


class PaidOrderAmount(NamedTuple):
    """One paid order in the workspace currency (converted when it was paid in another):
    what it is worth net of refunds, and its cost when known, in minor units."""

    customer_id: int
    ordered_at: dt.datetime
    amount_minor: int
    cost_minor: int | None


def count_orders(count: int, kind: str = "") -> str:
    """``1 order``, ``1,400 paid orders``."""
    words = f"{kind} order" if kind else "order"
    return f"{count:,} {words}{'' if count == 1 else 's'}"


def describe_rate(code: str, rate: Decimal, currency: str) -> str:
    """``1 EUR = 0.85 GBP``."""
    return f"1 {code} = {rate} {currency}"


def in_currency(amount_minor: int, code: str, currency: str, rates: Rates) -> int | None:
    """``amount_minor`` of ``code`` in minor units of ``currency``: itself when the same,
    converted at ``rates[code]`` otherwise, None when there is no rate."""
    if code == currency:
        return amount_minor
    rate = rates.get(code)
    return None if rate is None else convert_minor(amount_minor, code, currency, rate)


def revenue_by_currency(
    session: Session, currency: str, rates: Rates, *where: Any
) -> RevenueTotals:
    """Paid revenue (order totals less partial refunds) per currency, and its total in
    ``currency`` with the currencies that have a rate converted; ``where``: more conditions on
    :class:`Order`.

    Each currency's sum is converted once (exact, then rounded half to even to the minor unit).
    """
    orders = Order.__table__.c  # table columns: a short command need not configure the ORM
    rows: Sequence[Any] = session.execute(
        select(
            orders.currency,
            func.count(orders.id),
            func.sum(orders.total_minor - orders.refunded_minor),
        )
        .where(orders.status == "paid", *where)
        .group_by(orders.currency)
    ).all()
    return revenue_totals(((str(c), int(n), int(t or 0)) for c, n, t in rows), currency, rates)


def revenue_totals(
    per_currency: Iterable[tuple[str, int, int]], currency: str, rates: Rates
) -> RevenueTotals:
    """:class:`RevenueTotals` of (currency code, paid orders, amount in its minor units) rows:
    each currency's sum converted once (exact, then rounded half to even to the minor unit)."""
    parts = sorted(
        (_part(code, count, total, currency, rates) for code, count, total in per_currency),
        key=lambda p: (p.currency != currency, -p.orders, p.currency),
    )
    total = sum(p.converted_minor for p in parts if p.converted_minor is not None)
    return RevenueTotals(currency=currency, total_minor=total, parts=tuple(parts))


def _part(code: str, orders: int, amount: int, currency: str, rates: Rates) -> CurrencyRevenue:
    rate = Decimal(1) if code == currency else rates.get(code)
    return CurrencyRevenue(code, orders, amount, rate, in_currency(amount, code, currency, rates))


def paid_orders_query(currency: str, rates: Rates, customer_id: int | None = None) -> Any:
    """The paid orders counted in ``currency`` (in it, or in a currency of ``rates``; of one
    customer with ``customer_id``): customer, time, total less refunds, cost, currency."""
    query = select(
        Order.customer_id,
        Order.ordered_at,
        Order.total_minor - Order.refunded_minor,
        Order.cost_minor,
        Order.currency,
    ).where(Order.status == "paid", Order.currency.in_(sorted({currency, *rates})))
    if customer_id is not None:
        query = query.where(Order.customer_id == customer_id)
    return query


def paid_order_amounts(
    session: Session, currency: str, rates: Rates, *, customer_id: int | None = None
) -> list[PaidOrderAmount]:
    """Every paid order that can be counted in ``currency``: those in it, and those in a
    currency with a rate, converted order by order (rounded half to even to the minor unit).

    ``amount_minor`` is the total less any partial refund; ``cost_minor`` None when unknown.
    Orders in a currency without a rate are left out: :func:`revenue_by_currency` (its
    ``unconverted``) or :func:`explain_missing_orders` say which and how many.
    """
    rows = session.execute(paid_orders_query(currency, rates, customer_id)).all()
    if not rows:
        return []
    customers, times, amounts, costs, codes = zip(*rows, strict=True)
    converted, converted_costs = converted_amounts(amounts, costs, codes, currency, rates)
    return [
        PaidOrderAmount(*row)
        for row in zip(customers, times, converted, converted_costs, strict=True)
    ]


def converted_amounts(
    amounts: Sequence[int],
    costs: Sequence[int | None],
    codes: Sequence[str],
    currency: str,
    rates: Rates,
) -> tuple[list[int], list[int | None]]:
    """Orders' amounts and costs (minor units of each order's currency ``codes``) in minor
    units of ``currency``, converted order by order at ``rates`` with
    :func:`~soloist.money.convert_minor`. Prices repeat, so each distinct amount is converted
    once."""
    converted: dict[tuple[int, str], int] = {}

    def one(value: int, code: str) -> int:
        if code == currency:
            return int(value)
        key = (int(value), code)
        if key not in converted:
            converted[key] = convert_minor(key[0], code, currency, rates[code])
        return converted[key]

    return (
        [one(amount, code) for amount, code in zip(amounts, codes, strict=True)],
        [
            None if cost is None else one(cost, code)
            for cost, code in zip(costs, codes, strict=True)
        ],
    )


def currency_warnings(totals: RevenueTotals) -> list[str]:
    """What a reader of ``totals`` must know: which paid orders the total leaves out, and what
    to do about them (one line each)."""
    missing = totals.unconverted
    if not missing:
        return []
    currency = totals.currency
    own = any(p.currency == currency for p in totals.parts)
    if not own and len(missing) == 1 and not totals.rates_used:
        (only,) = missing
        return [
            f"All {count_orders(only.orders, 'paid')} are in {only.currency}, none in the "
            f"workspace currency {currency}: make {only.currency} the workspace currency with "
            f"`soloist init --currency {only.currency}`, or count them at a rate with "
            f"`soloist rates set {only.currency} RATE` (1 {only.currency} = RATE {currency})."
        ]
    return [
        f"{count_orders(p.orders, 'paid')} in {p.currency} ({p.amount:,} {p.currency}) not in the "
        f"{currency} total: there is no rate for {p.currency}; give one with "
        f"`soloist rates set {p.currency} RATE` (1 {p.currency} = RATE {currency})."
        for p in missing
    ]


def explain_missing_orders(session: Session, currency: str, rates: Rates) -> str:
    """Why there is nothing to analyse in ``currency``, in one line with what to do: the paid
    orders in other currencies (with no rate) when there are some, else that there are none."""
    totals = revenue_by_currency(session, currency, rates)
    if not totals.unconverted:
        return "There are no paid orders to analyse; import some first (soloist import orders)."
    found = ", ".join(f"{p.orders:,} in {p.currency}" for p in totals.unconverted)
    first = totals.unconverted[0].currency
    return (
        f"There are no paid orders in the workspace currency {currency} to analyse, but there "
        f"are paid orders in other currencies ({found}): make {first} the workspace currency "
        f"with `soloist init --currency {first}` (possible while no order is in {currency}), "
        f"or count them at a rate with `soloist rates set {first} RATE` "
        f"(1 {first} = RATE {currency})."
    )


def set_rates(settings: Settings, rates: Mapping[str, object]) -> dict[str, Decimal]:
    """Write exchange rates (1 CODE = RATE of the workspace currency) to soloist.toml's
    ``[soloist.rates]`` table; returns them, checked. Refuses a bad code or rate, the
    workspace currency itself, and rates that ``SOLOIST_RATES`` would hide."""
    checked: dict[str, Decimal] = {}
    for code, rate in rates.items():
        try:
            key = check_currency(code)
            checked[key] = check_rate(rate)
        except ValueError as exc:
            raise ValidationError(f"Rate {code} {rate}: {exc}.") from None
        if key == settings.currency:
            raise ValidationError(
                f"{key} is the workspace currency: its orders count as they are and need no rate."
            )
    _refuse_environment(settings)
    write_config_values(settings.workspace, {k: str(v) for k, v in checked.items()}, RATES_TABLE)
    return checked


def remove_rates(settings: Settings, codes: Sequence[str]) -> list[str]:
    """Remove rates from soloist.toml; returns the codes that had one."""
    _refuse_environment(settings)
    known = [code.strip().upper() for code in codes if code.strip().upper() in settings.rates]
    unknown = [code for code in codes if code.strip().upper() not in settings.rates]
    if unknown:
        raise ValidationError(
            f"No rate to remove for {', '.join(unknown)}; rates set: "
            f"{', '.join(settings.rates) or 'none'}."
        )
    write_config_values(settings.workspace, dict.fromkeys(known), RATES_TABLE)
    return known


def _refuse_environment(settings: Settings) -> None:
    if settings.from_environment("rates"):
        raise ValidationError(
            "The rates come from SOLOIST_RATES, which beats soloist.toml: change that variable "
            'instead (SOLOIST_RATES="EUR=0.85,JPY=0.0052"), or unset it to use the file.'
        )
