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
  number, is invalid (and named); so is one with a quantity, price, line amount or total below
  zero, unless its format records returns as negative lines (the retail log's credit notes) —
  elsewhere a negative line would count as paid revenue;
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
from collections.abc import Mapping
from dataclasses import dataclass

import polars as pl

from soloist.imports.base import ImportFormat, RecordColumns
from soloist.imports.clean.customers import customer_keys
from soloist.imports.clean.drafts import LINE_SCHEMA, ORDER_SCHEMA, Cleaned, CleanOptions
from soloist.imports.clean.order_amounts import discounts, given, lines, totals
from soloist.imports.clean.order_cells import (
    OrderRules,
    currencies,
    dates,
    raw,
    records_returns,
    statuses,
)
from soloist.imports.clean.quality import amount_outliers
from soloist.imports.clean.rows import MAX_WHOLE, column_names, default_currency
from soloist.imports.columns import Problems, text_column, typed_column
from soloist.imports.raw import RawTable, shown
from soloist.imports.values import clean_text, parse_amount, parse_int
from soloist.vocabulary import WIDTHS

# The reason a record naming nobody is counted among the skipped (not refused).
NO_CUSTOMER = "no customer (needs an id, e-mail, phone or name)"
_AMOUNTS = ("unit_price", "line_amount", "total", "discount", "refunded")
_LINE_FIELDS = ("sku", "description", "quantity", "unit_price", "line_amount")
# The cells that may not go below zero (but where a format records returns), as messages name
# them: a negative line would count as paid revenue.
_NOT_BELOW_ZERO = {
    "quantity": "quantity",
    "unit_price": "unit price",
    "line_amount": "line amount",
    "total": "total",
}


@dataclass
class CleanedOrders:
    orders: pl.DataFrame  # ORDER_SCHEMA, in the order of each order's first record
    lines: pl.DataFrame  # LINE_SCHEMA, in file order
    errors: pl.DataFrame  # row, column, message, reason — sorted by record, then check
    skipped: Counter[str]
    rounded_amounts: int
    amounts: pl.DataFrame  # row, minor: each line's amount, or the order total of a record
    first_seen: dict[str, dt.datetime]  # customer key -> first order time


def clean_orders(
    table: RawTable,
    fmt: ImportFormat,
    mapping: Mapping[str, int],
    options: CleanOptions,
    out: Cleaned,
) -> None:
    """An orders file: its orders and lines, with the problems and quality measures added to
    ``out``."""
    columns = fmt.record_columns(table, out.kind, mapping)
    names = column_names(table, mapping)
    customers = customer_keys(fmt, columns, names, out)
    rules = OrderRules(
        fmt=fmt,
        names=names,
        dayfirst=options.dayfirst,
        timezone=options.timezone,
        default_currency=default_currency(options, fmt),
    )
    done = orders_of_records(columns, customers, rules)
    for row, column, message, reason in done.errors.iter_rows():
        out.add_error(row, column, message, reason)
    out.skipped.update(done.skipped)
    out.rounded_amounts += done.rounded_amounts
    for key, first in done.first_seen.items():
        ref = out.customers[key]
        if ref.first_seen is None or first < ref.first_seen:
            ref.first_seen = first
    out.orders, out.order_lines = done.orders, done.lines
    out.outliers = amount_outliers(done.amounts)


def _text(frame: pl.DataFrame, name: str, field: str) -> pl.Series:
    """The text of column ``name`` cut to the width of ``field`` ("table.column")."""
    return text_column(frame, name, clean_text).str.head(WIDTHS[field])


def _quantity(text: str) -> int:
    quantity = parse_int(text)
    if abs(quantity) > MAX_WHOLE:
        raise ValueError(f"quantity {shown(text, quote=False)} is too large")
    return quantity


def _sign(text: str) -> int:
    amount = parse_amount(text)
    return (amount > 0) - (amount < 0)


def _below_zero(rules: OrderRules) -> dict[str, pl.Expr]:
    """Field -> whether a record's cell of it is below zero, for the fields that may not be
    (none in a format whose files record returns as negative lines)."""
    if records_returns(rules.fmt):
        return {}
    signs = {name: pl.col(f"{name}_sign") for name in _NOT_BELOW_ZERO if name != "quantity"}
    return {
        name: (expr < 0).fill_null(False)
        for name, expr in {"quantity": pl.col("quantity"), **signs}.items()
    }


def _typed(source: pl.DataFrame, rules: OrderRules) -> pl.DataFrame:
    """Every cell of the records typed (``x`` and ``x_error``; the sign of each amount,
    ``x_sign``), the amount cells kept as text (``x_cell``) for
    :mod:`~soloist.imports.clean.order_amounts`, and whether each record is a line
    (``has_line``)."""
    frame = source.select("idx", "row", "key", "customer_failed")
    frame = frame.hstack(dates(source, rules))
    frame = frame.hstack(statuses(source))
    frame = frame.hstack(currencies(source, rules))
    frame = frame.hstack(typed_column(source, "quantity", _quantity, pl.Int64))
    for name in _AMOUNTS:
        signs = typed_column(source, name, _sign, pl.Int8)
        frame = frame.hstack([signs[name].alias(f"{name}_sign"), signs[f"{name}_error"]])
    cells = source.select(
        *(raw(source, name).alias(f"{name}_cell") for name in (*_AMOUNTS, "quantity")),
        pl.any_horizontal(
            *(raw(source, name).fill_null("") != "" for name in _LINE_FIELDS),
        ).alias("has_line"),
    )
    return frame.hstack(cells).with_columns(
        text_column(source, "order_id", clean_text).alias("order_text"),
        _text(source, "sku", "order_lines.sku").alias("sku"),
        _text(source, "description", "order_lines.description").alias("description"),
        _text(source, "channel", "orders.channel").alias("channel"),
    )


def orders_of_records(
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
    frame = _typed(every.filter(pl.col("skip").is_null()), rules)
    del every, counted  # the typed records are all that is read from here on

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
    below = _below_zero(rules)
    for check, (name, reason) in enumerate(checks, start=4):
        errors.add(
            frame,
            pl.col(f"{name}_error").is_not_null(),
            check,
            column(name),
            pl.col(f"{name}_error"),
            reason,
        )
        if name in below:
            message = pl.format(
                "{} {} is below zero: a return or refund is not read as a negative line in "
                "this layout; give the order the status refunded instead",
                pl.lit(_NOT_BELOW_ZERO[name]),
                pl.col(f"{name}_cell").str.strip_chars().str.head(40),
            )
            errors.add(frame, below[name], check, column(name), message, "negative amount")
    valid = (
        ~pl.col("customer_failed")
        & pl.col("key").is_not_null()
        & pl.col("ordered_at").is_not_null()
        & pl.col("status").is_not_null()
        & pl.col("currency").is_not_null()
        & pl.all_horizontal(*(pl.col(f"{n}_error").is_null() for n, _ in checks))
        & ~pl.any_horizontal(pl.lit(False), *below.values())
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

    order_totals, rounded_totals = totals(frame, rules, errors)
    order_discounts, rounded_discounts = discounts(frame, rules, errors)
    order_lines, amounts, rounded_lines = lines(frame, rules, errors)
    rounded = rounded_totals + rounded_discounts + rounded_lines

    heads = frame.filter(pl.col("idx") == pl.col("first_idx")).select(
        "external_id",
        "row",
        pl.col("key").alias("customer"),
        "ordered_at",
        "status",
        "currency",
        "channel",
    )
    line_sums = order_lines.group_by("external_id").agg(pl.col("amount_minor").sum().alias("_sum"))
    orders = (
        heads.join(order_totals, on="external_id", how="left", maintain_order="left")
        .join(order_discounts, on="external_id", how="left", maintain_order="left")
        .join(line_sums, on="external_id", how="left", maintain_order="left")
        .with_columns(
            pl.when(pl.col("refund") & (pl.col("status") == "paid"))
            .then(pl.lit("refunded"))
            .otherwise(pl.col("status"))
            .alias("status"),
            pl.coalesce("total_minor", "_sum", pl.lit(0, pl.Int64)).alias("total_minor"),
            pl.col("discount_minor").fill_null(0),
        )
        .with_columns(_refunded().alias("refunded_minor"))
        .select(list(ORDER_SCHEMA))
        .cast(ORDER_SCHEMA)
    )
    # A record without a line of its own counts its order's given total as its amount.
    without_line = frame.filter(~pl.col("has_line") & given("total"))
    total_amounts = without_line.join(
        order_totals.select("external_id", "total_minor"),
        on="external_id",
        how="left",
        maintain_order="left",
    ).select("idx", "row", pl.col("total_minor").fill_null(0).alias("minor"))
    amounts = pl.concat([amounts, total_amounts]).sort("idx").drop("idx")
    first_seen = dict(orders.group_by("customer").agg(pl.col("ordered_at").min()).iter_rows())
    error_frame = errors.frame()
    invalid = error_frame["row"].unique()
    orders = orders.filter(~pl.col("row").is_in(invalid.implode()))
    order_lines = order_lines.join(
        orders.select("external_id"), on="external_id", how="semi", maintain_order="left"
    )
    return CleanedOrders(
        orders=orders,
        lines=order_lines.select(list(LINE_SCHEMA)).cast(LINE_SCHEMA),
        errors=error_frame,
        skipped=skipped,
        rounded_amounts=rounded,
        amounts=amounts,
        first_seen=first_seen,
    )


def _refunded() -> pl.Expr:
    """What an order gave back: all of it when refunded, else the refunded amount its file
    gives (a partial refund of a paid order), at most its total."""
    total = pl.col("total_minor")
    given_back = pl.col("refunded_minor").fill_null(0)
    return (
        pl.when(pl.col("status") == "refunded")
        .then(total)
        .otherwise(pl.min_horizontal(given_back, pl.max_horizontal(total, pl.lit(0))))
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
        text = pl.col("order_text")
        ids = frame.select(
            pl.when(text.str.starts_with(prefix)).then(text).otherwise(pl.lit(prefix) + text)
        ).to_series()
    ids = ids.alias("external_id")
    too_long = ids.str.len_chars() > WIDTHS["orders.external_id"]
    errors.add(
        frame.with_columns(too_long.alias("_long")),
        pl.col("_long"),
        11,
        column("order_id"),
        pl.lit(f"order number longer than {WIDTHS['orders.external_id']} characters"),
        "bad order number",
    )
    return pl.select(pl.when(too_long).then(None).otherwise(ids)).to_series().alias("external_id")
