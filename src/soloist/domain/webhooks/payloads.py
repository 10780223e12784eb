"""Reading the values of a provider's JSON: amounts, times and text, with errors one can act on."""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Mapping
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from typing import Any

from pydantic import ValidationError as PydanticValidationError

from soloist.domain.intake import CustomerRef, OrderIn
from soloist.errors import ValidationError
from soloist.money import minor_to_decimal, precision


def parse_json(provider: str, body: bytes) -> dict[str, Any]:
    try:
        value = json.loads(body)
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ValidationError(f"The {provider} delivery is not JSON: {exc}.") from exc
    if not isinstance(value, dict):
        raise ValidationError(f"The {provider} delivery is not a JSON object.")
    return value


def lower_keys(headers: Mapping[str, str]) -> dict[str, str]:
    return {name.lower(): value for name, value in headers.items()}


def text(value: Any, width: int | None = None) -> str | None:
    """A non-empty stripped string (clipped to ``width``), or None."""
    if value is None:
        return None
    result = str(value).strip()
    if not result:
        return None
    return result[:width] if width else result


def need(mapping: Mapping[str, Any], name: str, what: str) -> Any:
    value = mapping.get(name)
    if value is None or value == "":
        raise ValidationError(f"The {what} has no {name!r}.", field=name)
    return value


def currency_of(value: Any) -> str:
    code = text(value)
    if code is None or len(code) != 3 or not code.isalpha():
        raise ValidationError(f"Not an ISO currency code: {value!r}.", field="currency")
    return code.upper()


def amount(value: Any, currency: str, field: str = "amount") -> Decimal:
    """A decimal amount ("12.50", 12.5) in the currency's precision (half up, as shops round)."""
    try:
        number = Decimal(str(value).strip() or "0")
    except InvalidOperation as exc:
        raise ValidationError(f"Not an amount: {value!r}.", field=field) from exc
    if not number.is_finite():
        raise ValidationError(f"Not an amount: {value!r}.", field=field)
    return number.quantize(Decimal(1).scaleb(-precision(currency)), rounding=ROUND_HALF_UP)


def minor_amount(value: Any, currency: str, field: str = "amount") -> Decimal:
    """Integer minor units (Stripe's ``amount_total``: cents, or yen for JPY) as a Decimal."""
    try:
        return minor_to_decimal(int(value or 0), currency)
    except (TypeError, ValueError) as exc:
        raise ValidationError(f"Not an amount in minor units: {value!r}.", field=field) from exc


def unix_time(value: Any, field: str = "created") -> dt.datetime:
    try:
        return dt.datetime.fromtimestamp(int(value), dt.UTC)
    except (TypeError, ValueError, OverflowError, OSError) as exc:
        raise ValidationError(f"Not a Unix time: {value!r}.", field=field) from exc


def iso_time(value: Any, field: str) -> dt.datetime:
    """An ISO 8601 time; one without an offset is UTC (WooCommerce's ``…_gmt`` fields)."""
    try:
        moment = dt.datetime.fromisoformat(str(value).strip())
    except ValueError as exc:
        raise ValidationError(f"Not an ISO 8601 time: {value!r}.", field=field) from exc
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=dt.UTC)
    return moment.astimezone(dt.UTC)


class NoCustomerError(ValidationError):
    """An order naming no known customer and no e-mail: nobody to give it to."""

    code = "webhook_no_customer"


def customer_ref(email: Any, name: Any) -> CustomerRef | None:
    """The customer an order names; None without a usable e-mail (a malformed address is as good
    as none: the shop keeps sending the order, and refusing it would stop its webhook)."""
    address = text(email, 320)
    if address is None:
        return None
    try:
        return CustomerRef(email=address, name=text(name, 200))
    except PydanticValidationError:
        return None


def order_in(customer_id: int | None, customer: CustomerRef | None, **fields: Any) -> OrderIn:
    """An ``OrderIn`` for the customer by id, else by e-mail; errors as Soloist's."""
    if customer_id is None and (customer is None or not customer.email):
        raise NoCustomerError("The order names no customer e-mail and no known customer.")
    try:
        return OrderIn(
            customer_id=customer_id,
            customer=None if customer_id is not None else customer,
            **fields,
        )
    except PydanticValidationError as exc:
        problems = "; ".join(
            f"{'.'.join(str(p) for p in error['loc'])}: {error['msg']}" for error in exc.errors()
        )
        raise ValidationError(f"The order cannot be read: {problems}.") from exc
