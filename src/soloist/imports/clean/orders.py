"""Orders and their lines from a file's records, whole columns at a time.

The records arrive as a Polars frame of text (:class:`~soloist.imports.base.RecordColumns`).
Every cell is typed by the same parsers as every other import (:mod:`soloist.imports.values`),
once per distinct value (or distinct combination, such as quantity, price, amount and
currency); the rules that combine the typed values into orders — which record opens an order,
which total and discount count, which lines an order has — are frame operations. Python runs
per distinct value, never per record, so a million lines of a few thousand products take
seconds. Each problem names the spreadsheet row and the file's column, in the order the
columns are checked.

The rules, record by record in file order:

- a record the format marked (``skip``), or that names no customer, is only counted;
- a record with a ``failed`` status is a payment that never happened: counted, not imported;
- a record with a bad or missing date, an unknown status or currency, or a cell that is not a
  number, is invalid (and named);
- the order is the record's order number (with the format's prefix), or — where the file has
  no order numbers — the customer, the time and a running count, one order per record;
- the first valid record of an order gives its customer, time, status, currency and channel;
  a later record in another currency is invalid; the first total given is the order's total
  (a refund of all of it makes a paid order ``refunded``), the first non-zero discount its
  discount, and without a total the order's total is the sum of its lines;
- a record with any line cell (SKU, description, quantity, price, amount) is a line of its
  order, numbered in file order.
"""

from __future__ import annotations

import datetime as dt
from collections import Counter
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

import polars as pl

from soloist.imports.base import ImportFormat, RecordColumns
from soloist.imports.columns import (
    UTC_TIME,
    Problems,
    cell_errors,
    distinct_map,
    iso_utc_times,
    text_column,
    typed_column,
)
from soloist.imports.values import (
    parse_amount,
    parse_datetime,
    parse_int,
    parse_order_status,
    round_to,
)

NO_CUSTOMER = "no customer (needs an id, e-mail, phone or name)"
MAX_MINOR = 10**15  # amounts are stored as integer minor units below this
MAX_QUANTITY = 2**31 - 1
HUGE_FACTOR = 100  # an amount over 100 × the median is reported as an outlier
_AMOUNTS = ("unit_price", "line_amount", "total", "discount", "refunded")
_LINE_FIELDS = ("sku", "description", "quantity", "unit_price", "line_amount")
ORDER_SCHEMA = pl.Schema(
    {
        "external_id": pl.String(),
        "row": pl.Int64(),
        "customer": pl.String(),  # CustomerRef.key
        "ordered_at": UTC_TIME,
        "status": pl.String(),
        "currency": pl.String(),
        "total_minor": pl.Int64(),
        "discount_minor": pl.Int64(),
        "channel": pl.String(),
    }
)
LINE_SCHEMA = pl.Schema(
    {
        "external_id": pl.String(),  # the order's
        "line_no": pl.Int64(),
        "sku": pl.String(),
        "description": pl.String(),
        "quantity": pl.Int64(),
        "unit_price_minor": pl.Int64(),
        "amount_minor": pl.Int64(),
    }
)


@dataclass
class OrderRules:
    """What the cleaning of orders needs from the rest of the cleaning."""

    fmt: ImportFormat
    names: Mapping[str, str]  # field -> the file's column
    dayfirst: bool
    timezone: str
    default_currency: str
    currencies: frozenset[str]
    precision: Callable[[str], int]  # decimals of a currency's minor unit
    text: Callable[[str | None], str | None]  # a cell as the cleaning reads text

    def column(self, name: str) -> str:
        return self.names.get(name) or name


@dataclass
class CleanedOrders:
    orders: pl.DataFrame  # ORDER_SCHEMA, in the order of each order's first record
    lines: pl.DataFrame  # LINE_SCHEMA, in file order
    errors: pl.DataFrame  # row, column, message, reason — sorted by record, then check
    skipped: Counter[str]
    rounded_amounts: int
    amounts: pl.DataFrame  # row, minor: each line's amount, or the order total of a record
    first_seen: dict[str, dt.datetime]  # customer key -> first order time


def _text_column(frame: pl.DataFrame, name: str, rules: OrderRules) -> pl.Series:
    return text_column(frame, name, rules.text)


def _dates(frame: pl.DataFrame, rules: OrderRules) -> pl.DataFrame:
    """``ordered_at`` and ``ordered_at_error``, each time read in its record's timezone."""
    if "ordered_at" not in frame.columns:
        return typed_column(frame, "ordered_at", str, UTC_TIME)
    zone = pl.col("timezone") if "timezone" in frame.columns else pl.lit(None, pl.String)
    keyed = frame.select(
        pl.col("ordered_at"),
        pl.when(zone.fill_null("") == "").then(pl.lit(rules.timezone)).otherwise(zone).alias("_tz"),
    )

    def when(text: str, tz: str) -> dt.datetime:
        return parse_datetime(text, dayfirst=rules.dayfirst, tz=tz)

    quick = pl.when(pl.col("_tz") == "UTC").then(iso_utc_times(pl.col("ordered_at")))
    return typed_column(keyed, "ordered_at", when, UTC_TIME, more=("_tz",), quick=quick)


def _statuses(frame: pl.DataFrame, rules: OrderRules) -> pl.DataFrame:
    """``status`` and ``status_error``: a record without a status is paid."""

    def typed(cell: str | None) -> tuple[str | None, str | None]:
        if rules.text(cell) is None:
            return "paid", None
        try:
            return parse_order_status((cell or "").strip()), None
        except ValueError as exc:
            return None, str(exc)

    if "status" not in frame.columns:
        return pl.DataFrame(
            {
                "status": pl.repeat("paid", frame.height, eager=True),
                "status_error": pl.repeat(None, frame.height, dtype=pl.String, eager=True),
            }
        )
    schema = {"status": pl.String, "status_error": pl.String}
    return distinct_map(frame, ["status"], typed, schema)


def _currencies(frame: pl.DataFrame, rules: OrderRules) -> pl.DataFrame:
    def typed(cell: str | None) -> tuple[str | None, str | None]:
        code = rules.text(cell)
        if code is None:
            return rules.default_currency, None
        code = code.upper()
        if code not in rules.currencies:
            return None, f"unknown currency {code!r} (use an ISO 4217 code such as USD)"
        return code, None

    if "currency" not in frame.columns:
        return pl.DataFrame(
            {
                "currency": pl.repeat(rules.default_currency, frame.height, eager=True),
                "currency_error": pl.repeat(None, frame.height, dtype=pl.String, eager=True),
            }
        )
    schema = {"currency": pl.String, "currency_error": pl.String}
    return distinct_map(frame, ["currency"], typed, schema)


def _raw(frame: pl.DataFrame, name: str) -> pl.Expr:
    return pl.col(name) if name in frame.columns else pl.lit(None, pl.String)


def _minor_of(rules: OrderRules) -> Callable[[str | None, str | None], tuple[Any, ...]]:
    """Minor units of an amount cell in a currency: (minor, rounded, error) — minor null when
    blank or too large."""

    def minor(cell: str | None, currency: str | None) -> tuple[int | None, bool, str | None]:
        raw = (cell or "").strip()
        if not raw or currency is None:
            return None, False, None
        amount = parse_amount(raw)
        value, rounded = round_to(amount, rules.precision(currency))
        if abs(value) >= MAX_MINOR:
            return None, rounded, f"amount {amount} is too large"
        return value, rounded, None

    return minor


def _line_values(
    rules: OrderRules,
) -> Callable[[str | None, str | None, str | None, str | None, bool], tuple[Any, ...]]:
    """One line's quantity, unit price and amount in minor units from its cells, how many of the
    given amounts were rounded, and up to three problems (unit price too large, amount too
    large, quantity too large — the last leaves the line out). A unit price worked out from the
    amount (``derived``) is not counted as rounded."""

    def values(
        quantity_cell: str | None,
        unit_cell: str | None,
        amount_cell: str | None,
        currency: str | None,
        derived: bool,
    ) -> tuple[Any, ...]:
        assert currency is not None
        quantity_text, unit_text = (quantity_cell or "").strip(), (unit_cell or "").strip()
        amount_text = (amount_cell or "").strip()
        quantity = parse_int(quantity_text) if quantity_text else None
        unit = parse_amount(unit_text) if unit_text else None
        amount = parse_amount(amount_text) if amount_text else None
        qty = 1 if quantity is None else quantity
        if amount is None and unit is not None:
            amount = unit * qty
        if unit is None and amount is not None:
            unit = amount / qty if qty else amount
        digits = rules.precision(currency)
        problems: list[str | None] = []
        rounded = 0
        minors: list[int] = []
        for value, counted in ((unit or Decimal(0), not derived), (amount or Decimal(0), True)):
            minor, changed = round_to(value, digits)
            rounded += changed and counted
            problems.append(f"amount {value} is too large" if abs(minor) >= MAX_MINOR else None)
            minors.append(0 if abs(minor) >= MAX_MINOR else minor)
        too_many = abs(qty) > MAX_QUANTITY
        problems.append(f"quantity {qty} is too large" if too_many else None)
        return (qty if not too_many else 0, minors[0], minors[1], rounded, *problems)

    return values


def _line_problems_schema() -> dict[str, Any]:
    return {
        "qty": pl.Int64,
        "unit_minor": pl.Int64,
        "amount_minor": pl.Int64,
        "line_rounded": pl.Int64,
        "unit_too_large": pl.String,
        "amount_too_large": pl.String,
        "quantity_too_large": pl.String,
    }


def clean_orders(
    columns: RecordColumns,
    customers: pl.DataFrame,
    rules: OrderRules,
) -> CleanedOrders:
    """Orders, lines, problems and counts of the records. ``customers`` holds, row for row,
    each record's customer ``key`` (null: names nobody) and whether its customer cells were
    refused (``customer_failed``, already reported)."""
    errors = Problems()
    skipped: Counter[str] = Counter()
    # Records only counted: marked by the format, or naming no customer.
    every = columns.frame.with_row_index("idx").hstack(customers.select("key", "customer_failed"))
    skip = (
        pl.when(pl.col("skip").is_null() & pl.col("key").is_null() & ~pl.col("customer_failed"))
        .then(pl.lit(NO_CUSTOMER))
        .otherwise(pl.col("skip"))
    )
    every = every.with_columns(skip.alias("skip"))
    counted = every.filter(pl.col("skip").is_not_null()).group_by("skip", maintain_order=True)
    skipped.update(dict(counted.len().iter_rows()))
    source = every.filter(pl.col("skip").is_null())

    frame = source.select("idx", "row", "key", "customer_failed")
    frame = frame.hstack(_dates(source, rules))
    frame = frame.hstack(_statuses(source, rules))
    frame = frame.hstack(_currencies(source, rules))
    frame = frame.hstack(typed_column(source, "quantity", parse_int, pl.Int64))
    for name in _AMOUNTS:
        frame = frame.hstack([cell_errors(source, name, parse_amount)])
    cells = source.select(
        *(_raw(source, name).alias(f"{name}_cell") for name in (*_AMOUNTS, "quantity")),
        pl.any_horizontal(
            *(_raw(source, name).fill_null("") != "" for name in _LINE_FIELDS),
        ).alias("has_line"),
    )
    frame = frame.hstack(cells).with_columns(
        _text_column(source, "order_id", rules).alias("order_text"),
        _text_column(source, "sku", rules).str.head(64).alias("sku"),
        _text_column(source, "description", rules).str.head(255).alias("description"),
        _text_column(source, "channel", rules).str.head(32).alias("channel"),
    )

    column = rules.column
    errors.add(
        frame,
        pl.col("ordered_at_error").is_not_null(),
        1,
        column("ordered_at"),
        pl.col("ordered_at_error"),
        "bad date",
    )
    errors.add(
        frame,
        pl.col("ordered_at").is_null() & pl.col("ordered_at_error").is_null(),
        1,
        column("ordered_at"),
        pl.lit("order date is missing"),
        "missing order date",
    )
    errors.add(
        frame,
        pl.col("status_error").is_not_null(),
        2,
        column("status"),
        pl.col("status_error"),
        "unknown status",
    )
    failed = pl.col("status").fill_null("") == "failed"
    if count := frame.filter(failed).height:
        skipped["failed payment"] += count
    frame = frame.filter(~failed)
    errors.add(
        frame,
        pl.col("currency_error").is_not_null(),
        3,
        column("currency"),
        pl.col("currency_error"),
        "unknown currency",
    )
    checks = [("quantity", "bad quantity")] + [(name, "bad amount") for name in _AMOUNTS]
    for check, (name, reason) in enumerate(checks, start=4):
        errors.add(
            frame,
            pl.col(f"{name}_error").is_not_null(),
            check,
            column(name),
            pl.col(f"{name}_error"),
            reason,
        )
    valid = (
        ~pl.col("customer_failed")
        & pl.col("key").is_not_null()
        & pl.col("ordered_at").is_not_null()
        & pl.col("status").is_not_null()
        & pl.col("currency").is_not_null()
        & pl.all_horizontal(*(pl.col(f"{n}_error").is_null() for n, _ in checks))
    )
    frame = frame.filter(valid)
    frame = frame.with_columns(_order_ids(frame, rules, errors))
    frame = frame.filter(pl.col("external_id").is_not_null())

    # The first record of each order opens it; a later one in another currency is refused.
    frame = frame.with_columns(
        pl.col("currency").first().over("external_id").alias("order_currency"),
        pl.col("idx").first().over("external_id").alias("first_idx"),
    )
    mixed = pl.col("currency") != pl.col("order_currency")
    errors.add(
        frame,
        mixed,
        12,
        column("currency"),
        pl.format("order {} mixes {} and {}", "external_id", "order_currency", "currency"),
        "mixed currencies",
    )
    frame = frame.filter(~mixed)
    rounded = 0

    totals, rounded_totals = _totals(frame, rules, errors)
    rounded += rounded_totals
    discounts, rounded_discounts = _discounts(frame, rules, errors)
    rounded += rounded_discounts
    lines, amounts, rounded_lines = _lines(frame, rules, errors)
    rounded += rounded_lines

    heads = frame.filter(pl.col("idx") == pl.col("first_idx")).select(
        "external_id",
        "row",
        pl.col("key").alias("customer"),
        "ordered_at",
        "status",
        "currency",
        "channel",
    )
    line_sums = lines.group_by("external_id").agg(pl.col("amount_minor").sum().alias("_sum"))
    orders = (
        heads.join(totals, on="external_id", how="left", maintain_order="left")
        .join(discounts, on="external_id", how="left", maintain_order="left")
        .join(line_sums, on="external_id", how="left", maintain_order="left")
        .with_columns(
            pl.when(pl.col("refund") & (pl.col("status") == "paid"))
            .then(pl.lit("refunded"))
            .otherwise(pl.col("status"))
            .alias("status"),
            pl.coalesce("total_minor", "_sum", pl.lit(0, pl.Int64)).alias("total_minor"),
            pl.col("discount_minor").fill_null(0),
        )
        .select(list(ORDER_SCHEMA))
        .cast(ORDER_SCHEMA)
    )
    # A record without a line of its own counts its order's given total as its amount.
    without_line = frame.filter(~pl.col("has_line") & _given("total"))
    total_amounts = without_line.join(
        totals.select("external_id", "total_minor"),
        on="external_id",
        how="left",
        maintain_order="left",
    ).select("idx", "row", pl.col("total_minor").fill_null(0).alias("minor"))
    amounts = pl.concat([amounts, total_amounts]).sort("idx").drop("idx")
    first_seen = dict(orders.group_by("customer").agg(pl.col("ordered_at").min()).iter_rows())
    error_frame = errors.frame()
    invalid = error_frame["row"].unique()
    orders = orders.filter(~pl.col("row").is_in(invalid.implode()))
    lines = lines.join(
        orders.select("external_id"), on="external_id", how="semi", maintain_order="left"
    )
    return CleanedOrders(
        orders=orders,
        lines=lines.select(list(LINE_SCHEMA)).cast(LINE_SCHEMA),
        errors=error_frame,
        skipped=skipped,
        rounded_amounts=rounded,
        amounts=amounts,
        first_seen=first_seen,
    )


def _order_ids(frame: pl.DataFrame, rules: OrderRules, errors: Problems) -> pl.Series:
    """Each record's order id (null where it has none, reported): the file's order number with
    the format's prefix, or, in a file without them, customer, time and a running count."""
    column = rules.column
    if "order_id" not in rules.names:
        stamp = pl.col("ordered_at").dt.strftime("%Y%m%dT%H%M%S")
        number = pl.int_range(1, pl.len() + 1).over("key", stamp).cast(pl.String)
        ids = frame.select(
            pl.concat_str("key", pl.lit(":"), stamp, pl.lit(":"), number)
        ).to_series()
    else:
        errors.add(
            frame,
            pl.col("order_text").is_null(),
            10,
            column("order_id"),
            pl.lit("order number is missing"),
            "missing order number",
        )
        prefix = rules.fmt.source + ":"
        given = pl.col("order_text")
        ids = frame.select(
            pl.when(given.str.starts_with(prefix)).then(given).otherwise(pl.lit(prefix) + given)
        ).to_series()
    ids = ids.alias("external_id")
    too_long = ids.str.len_chars() > 128
    errors.add(
        frame.with_columns(too_long.alias("_long")),
        pl.col("_long"),
        11,
        column("order_id"),
        pl.lit("order number longer than 128 characters"),
        "bad order number",
    )
    return pl.select(pl.when(too_long).then(None).otherwise(ids)).to_series().alias("external_id")


def _given(name: str) -> pl.Expr:
    """Whether the record has a non-blank ``name`` cell."""
    return pl.col(f"{name}_cell").fill_null("") != ""


def _until_first(frame: pl.DataFrame, found: pl.Expr) -> pl.DataFrame:
    """The records of each order up to and including the first where ``found`` holds (the
    later ones are never read)."""
    return frame.filter((found.cum_sum().over("external_id") - found.cast(pl.UInt32)) == 0)


def _read_amounts(
    frame: pl.DataFrame,
    name: str,
    usable: Callable[[pl.Expr], pl.Expr],
    check: int,
    rules: OrderRules,
    errors: Problems,
) -> tuple[pl.DataFrame, int]:
    """The records of each order whose ``name`` amount is read — those that give one, up to the
    first whose minor units (``{name}_minor``) are ``usable`` — with the amount's problems
    reported; and how many of the amounts read were rounded."""
    given = frame.filter(_given(name))
    minor = distinct_map(
        given,
        [f"{name}_cell", "currency"],
        _minor_of(rules),
        {f"{name}_minor": pl.Int64, "_rounded": pl.Boolean, "_error": pl.String},
    )
    read = _until_first(
        pl.concat([given, minor], how="horizontal"), usable(pl.col(f"{name}_minor"))
    )
    errors.add(
        read,
        pl.col("_error").is_not_null(),
        check,
        rules.column(name),
        pl.col("_error"),
        "amount too large",
    )
    return read, int(read["_rounded"].sum())


def _totals(frame: pl.DataFrame, rules: OrderRules, errors: Problems) -> tuple[pl.DataFrame, int]:
    """Each order's first usable total in minor units and whether a refund of all of it came
    with it; and how many of the totals read were rounded."""
    read, rounded = _read_amounts(frame, "total", pl.Expr.is_not_null, 13, rules, errors)

    def refund(total_cell: str, refunded_cell: str | None) -> tuple[bool]:
        refunded_text = (refunded_cell or "").strip()
        if not refunded_text:
            return (False,)
        total, refunded = parse_amount(total_cell.strip()), parse_amount(refunded_text)
        return (total > 0 and refunded >= total,)

    first = read.filter(pl.col("total_minor").is_not_null())
    refunds = distinct_map(first, ["total_cell", "refunded_cell"], refund, {"refund": pl.Boolean})
    first = first.hstack(refunds)
    return first.select("external_id", "total_minor", "refund"), rounded


def _discounts(
    frame: pl.DataFrame, rules: OrderRules, errors: Problems
) -> tuple[pl.DataFrame, int]:
    """Each order's first non-zero discount in minor units; and how many of the discounts read
    up to it were rounded."""

    def nonzero(minor: pl.Expr) -> pl.Expr:
        return minor.fill_null(0) != 0

    read, rounded = _read_amounts(frame, "discount", nonzero, 14, rules, errors)
    found = read.filter(nonzero(pl.col("discount_minor"))).select("external_id", "discount_minor")
    return found, rounded


def _lines(
    frame: pl.DataFrame, rules: OrderRules, errors: Problems
) -> tuple[pl.DataFrame, pl.DataFrame, int]:
    """The order lines (numbered within each order), each line's (idx, row, minor) amount,
    and how many given amounts were rounded."""
    given = frame.filter(pl.col("has_line")).with_columns(
        pl.col("unit_price_cell").is_null().alias("_derived")
    )
    made = distinct_map(
        given,
        ["quantity_cell", "unit_price_cell", "line_amount_cell", "currency", "_derived"],
        _line_values(rules),
        _line_problems_schema(),
    )
    given = pl.concat([given, made], how="horizontal")
    column = rules.column
    for check, (problem, name, reason) in enumerate(
        (
            ("unit_too_large", "unit_price", "amount too large"),
            ("amount_too_large", "line_amount", "amount too large"),
            ("quantity_too_large", "quantity", "bad quantity"),
        ),
        start=15,
    ):
        errors.add(
            given, pl.col(problem).is_not_null(), check, column(name), pl.col(problem), reason
        )
    rounded = int(given["line_rounded"].sum())
    kept = given.filter(pl.col("quantity_too_large").is_null())
    if not kept["first_idx"].is_sorted():  # an order's lines are apart in the file
        kept = kept.sort("first_idx", maintain_order=True)
    lines = kept.select(
        "external_id",
        pl.int_range(1, pl.len() + 1, dtype=pl.Int64).over("external_id").alias("line_no"),
        "sku",
        "description",
        pl.col("qty").alias("quantity"),
        pl.col("unit_minor").alias("unit_price_minor"),
        "amount_minor",
    )
    amounts = kept.select("idx", "row", pl.col("amount_minor").alias("minor"))
    return lines, amounts, rounded


def amount_outliers(amounts: pl.DataFrame) -> dict[str, Any]:
    """Negative, zero and unusually large amounts (over ``HUGE_FACTOR`` × the median of the
    positive ones) among the ``minor`` amounts, with the first five rows of each."""
    minor = pl.col("minor")
    positive = amounts.filter(minor > 0)["minor"]
    median: float | int = 0
    if positive.len():
        value = positive.median()
        assert isinstance(value, float | int)
        median = int(value) if positive.len() % 2 else value  # as statistics.median gives it
    negative = amounts.filter(minor < 0)["row"]
    zero = amounts.filter(minor == 0)["row"]
    huge = amounts.filter(minor > HUGE_FACTOR * median)["row"] if median else negative.clear()
    return {
        "negative_amounts": negative.len(),
        "zero_amounts": zero.len(),
        "huge_amounts": huge.len(),
        "huge_threshold_minor": HUGE_FACTOR * median if median else None,
        "examples": {
            "negative": negative.head(5).to_list(),
            "zero": zero.head(5).to_list(),
            "huge": huge.head(5).to_list(),
        },
    }
