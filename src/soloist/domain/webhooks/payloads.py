"""Reading the values of a provider's JSON: amounts, times and text, with errors one can act on."""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Mapping
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from typing import Any

from pydantic import ValidationError as PydanticValidationError

from soloist.domain.intake import CustomerRef, LineIn, OrderIn
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
    if isinstance(value, bool) or not isinstance(value, (str, int, float, Decimal, type(None))):
        raise ValidationError(f"Not an amount: {value!r}.", field=field)
    try:
        number = Decimal(str(value).strip() or "0")
        if not number.is_finite():
            raise InvalidOperation
        # A figure too large for the precision (1e400) raises InvalidOperation here too.
        return number.quantize(Decimal(1).scaleb(-precision(currency)), rounding=ROUND_HALF_UP)
    except (InvalidOperation, ValueError, TypeError) as exc:
        raise ValidationError(f"Not an amount: {_shown(value)}.", field=field) from exc


def minor_amount(value: Any, currency: str, field: str = "amount") -> Decimal:
    """Integer minor units (Stripe's ``amount_total``: cents, or yen for JPY) as a Decimal."""
    number = _whole_number(value or 0, 15)
    if number is None:
        raise ValidationError(f"Not an amount in minor units: {_shown(value)}.", field=field)
    return minor_to_decimal(number, currency)


def integer(value: Any, field: str, *, width: int = 9) -> int:
    """A whole number sent as a JSON number or a string of digits (a sign allowed), of at most
    ``width`` digits; 2.0 is 2, but 2.5, ``"1_000"``, ``"abc"`` and ``true`` are refused."""
    number = _whole_number(value, width)
    if number is None:
        raise ValidationError(f"Not a whole number: {_shown(value)}.", field=field)
    return number


def _whole_number(value: Any, width: int) -> int | None:
    number: int | None = None
    if isinstance(value, bool):
        number = None
    elif isinstance(value, int):
        number = value
    elif isinstance(value, float) and value.is_integer():
        number = int(value)
    elif isinstance(value, str):
        digits = value.strip().removeprefix("-").removeprefix("+")
        if digits.isascii() and digits.isdigit() and len(digits) <= width:
            number = int(value.strip())
    if number is None or abs(number) >= 10**width:
        return None
    return number


def unix_time(value: Any, field: str = "created") -> dt.datetime:
    number = _whole_number(value, 12)
    try:
        if number is None:
            raise ValueError(value)
        return dt.datetime.fromtimestamp(number, dt.UTC)
    except (ValueError, OverflowError, OSError) as exc:
        raise ValidationError(f"Not a Unix time: {_shown(value)}.", field=field) from exc


def iso_time(value: Any, field: str) -> dt.datetime:
    """An ISO 8601 time; one without an offset is UTC (WooCommerce's ``…_gmt`` fields)."""
    try:
        if not isinstance(value, str):
            raise TypeError(value)
        moment = dt.datetime.fromisoformat(value.strip())
        if moment.tzinfo is None:
            moment = moment.replace(tzinfo=dt.UTC)
        return moment.astimezone(dt.UTC)
    except (TypeError, ValueError, OverflowError) as exc:
        raise ValidationError(f"Not an ISO 8601 time: {_shown(value)}.", field=field) from exc


def mapping(value: Any, field: str) -> dict[str, Any]:
    """A JSON object the payload may leave out (``None``, ``{}``, ``[]`` and ``""`` read as an
    empty one); anything else is refused, naming ``field``."""
    if isinstance(value, dict):
        return value
    if value is None or value == "" or value == []:
        return {}
    raise ValidationError(f"{field} is not a JSON object: {_shown(value)}.", field=field)


def objects(value: Any, field: str) -> list[dict[str, Any]]:
    """A JSON array of objects the payload may leave out (``None`` or empty)."""
    if value is None or value == "" or value == {}:
        return []
    if not isinstance(value, list):
        raise ValidationError(f"{field} is not a JSON array: {_shown(value)}.", field=field)
    for item in value:
        if not isinstance(item, dict):
            raise ValidationError(f"{field} holds a non-object: {_shown(item)}.", field=field)
    return value


def _shown(value: Any, width: int = 60) -> str:
    """``repr(value)`` clipped, for a message."""
    shown = repr(value)
    return shown if len(shown) <= width else shown[: width - 1] + "…"


def _problems(exc: PydanticValidationError) -> tuple[str, str]:
    """(the first field named, every problem in words) of a pydantic error."""
    fields = [".".join(str(part) for part in error["loc"]) for error in exc.errors()]
    problems = "; ".join(
        f"{name}: {error['msg']}" for name, error in zip(fields, exc.errors(), strict=True)
    )
    return (fields[0] if fields and fields[0] else "body"), problems


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
        field, problems = _problems(exc)
        raise ValidationError(f"The order cannot be read: {problems}.", field=field) from exc


def line_in(field: str, **fields: Any) -> LineIn:
    """A ``LineIn`` of a provider's line item; errors as Soloist's, naming ``field`` (the
    payload's list, e.g. ``line_items``) and the line's own."""
    try:
        return LineIn(**fields)
    except PydanticValidationError as exc:
        name, problems = _problems(exc)
        raise ValidationError(
            f"A line of {field} cannot be read: {problems}.", field=f"{field}.{name}"
        ) from exc
