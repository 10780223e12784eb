"""Reading one record's cells, shared by the cleaners of every kind read row by row.

Every failure becomes an :class:`~soloist.imports.clean.drafts.Issue` naming the row, the file's
column and a countable reason.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterable, Iterator, Mapping
from decimal import Decimal
from typing import TypeVar

from babel.numbers import list_currencies

from soloist.imports.base import ImportFormat, Record
from soloist.imports.clean.drafts import Cleaned, CleanOptions
from soloist.imports.raw import RawTable, shown
from soloist.imports.values import clean_text, parse_datetime, round_to
from soloist.money import precision

T = TypeVar("T")
CURRENCIES = frozenset(list_currencies())
MAX_MINOR = 10**15  # amounts are stored as integer minor units below this
MAX_WHOLE = 2**31 - 1  # counts (quantities, scores) are stored as 32-bit integers
NO_CUSTOMER = "no customer id, e-mail, phone or name"


class Row:
    """Typed access to one record's cells; every failure becomes an Issue naming the column."""

    def __init__(self, record: Record, columns: Mapping[str, str], out: Cleaned) -> None:
        self.record, self.columns, self.out = record, columns, out
        self.ok = True

    def text(self, name: str) -> str | None:
        return clean_text(self.record.values.get(name))

    def typed(self, name: str, parse: Callable[[str], T], reason: str) -> T | None:
        raw = self.record.values.get(name, "").strip()
        if not raw:
            return None
        try:
            value = parse(raw)
        except (ValueError, ArithmeticError) as exc:
            self.fail(name, str(exc), reason)
            return None
        if isinstance(value, int) and not isinstance(value, bool) and abs(value) > MAX_WHOLE:
            self.fail(name, f"{shown(raw, quote=False)} is too large a number", reason)
            return None
        return value

    def need(self, name: str, value: T | None, what: str) -> T | None:
        if value is None and self.record.values.get(name, "").strip() == "":
            self.fail(name, f"{what} is missing", f"missing {what}")
        return value

    def fail(self, name: str | None, message: str, reason: str) -> None:
        column = self.columns.get(name) if name else None
        self.out.add_error(self.record.row, column or name, message, reason)
        self.ok = False

    def missing_customer(self, name: str | None = "customer_id") -> None:
        """Report that the row names nobody, unless it is already invalid."""
        if self.ok:
            self.fail(name, NO_CUSTOMER, "no customer")


def column_names(table: RawTable, mapping: Mapping[str, int]) -> dict[str, str]:
    """Field -> the file's name of the column that feeds it."""
    return {name: table.header[index] for name, index in mapping.items()}


def kept_rows(
    table: RawTable, fmt: ImportFormat, mapping: Mapping[str, int], out: Cleaned
) -> Iterator[Row]:
    """The rows to clean; rows a format marked to skip are only counted, by reason."""
    columns = column_names(table, mapping)
    records: Iterable[Record] = fmt.records(table, out.kind, mapping)
    for record in records:
        if record.skip:
            out.skipped[record.skip] += 1
            continue
        yield Row(record, columns, out)


def default_currency(options: CleanOptions, fmt: ImportFormat) -> str:
    """The currency of an amount whose row names none: ``--currency`` when given, else the
    format's own (Shopify's shop currency …), else the workspace's."""
    if options.currency_given or fmt.default_currency is None:
        return options.currency
    return fmt.default_currency


def currency_error(code: str) -> str | None:
    """Why ``code`` (upper case) is not a currency, or None."""
    if code in CURRENCIES:
        return None
    return f"unknown currency {code!r} (use an ISO 4217 code such as USD)"


def currency(row: Row, options: CleanOptions, fmt: ImportFormat) -> str | None:
    code = row.text("currency")
    if code is None:
        return default_currency(options, fmt)
    code = code.upper()
    if problem := currency_error(code):
        row.fail("currency", problem, "unknown currency")
        return None
    return code


def minor_units(row: Row, name: str, amount: Decimal | None, currency: str) -> int | None:
    """``amount`` in integer minor units of ``currency`` (counted in the quality report when it
    had to be rounded); None, reported, when too large to store."""
    if amount is None:
        return None
    minor, rounded = round_to(amount, precision(currency))
    if rounded:
        row.out.rounded_amounts += 1
    if abs(minor) >= MAX_MINOR:
        row.fail(name, f"amount {shown(str(amount), quote=False)} is too large", "amount too large")
        return None
    return minor


def moment(row: Row, name: str, options: CleanOptions) -> dt.datetime | None:
    """The cell as a UTC time; a time without an offset is read in the row's own timezone
    column, else the import's."""
    tz = row.record.values.get("timezone") or options.timezone
    return row.typed(
        name, lambda t: parse_datetime(t, dayfirst=options.dayfirst, tz=tz), "bad date"
    )
