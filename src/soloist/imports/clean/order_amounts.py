"""Which amounts of an order's records count, in integer minor units: the first usable total
(and whether a refund of all of it came with it), the first non-zero discount, and the lines.

The records arrive valid and grouped by order (``external_id``), each with its order's first
record (``first_idx``) and its amount cells as text (``{name}_cell``). Each distinct amount (or
distinct combination of quantity, unit price, amount and currency) is worked out once.
"""

from __future__ import annotations

from collections.abc import Callable
from decimal import Decimal
from typing import Any

import polars as pl

from soloist.imports.clean.order_cells import OrderRules
from soloist.imports.clean.rows import MAX_MINOR
from soloist.imports.columns import Problems, distinct_map
from soloist.imports.raw import shown
from soloist.imports.values import parse_amount, parse_int, round_to
from soloist.money import precision

MAX_QUANTITY = 2**31 - 1

# Check numbers (the order in which a record's problems are named) of the amounts read here;
# orders.py numbers the checks before them.
_TOTAL_CHECK, _DISCOUNT_CHECK, _FIRST_LINE_CHECK = 13, 14, 15


def given(name: str) -> pl.Expr:
    """Whether the record has a non-blank ``name`` cell."""
    return pl.col(f"{name}_cell").fill_null("") != ""


def _minor(cell: str | None, currency: str | None) -> tuple[int | None, bool, str | None]:
    """Minor units of an amount cell in a currency: (minor, rounded, error) — minor null when
    blank or too large."""
    text = (cell or "").strip()
    if not text or currency is None:
        return None, False, None
    amount = parse_amount(text)
    value, rounded = round_to(amount, precision(currency))
    if abs(value) >= MAX_MINOR:
        return None, rounded, f"amount {shown(str(amount), quote=False)} is too large"
    return value, rounded, None


def _line_values(
    quantity_cell: str | None,
    unit_cell: str | None,
    amount_cell: str | None,
    currency: str | None,
    derived: bool,
) -> tuple[Any, ...]:
    """One line's quantity, unit price and amount in minor units from its cells, how many of the
    given amounts were rounded, and up to three problems (unit price too large, amount too
    large, quantity too large — the last leaves the line out). A unit price worked out from the
    amount (``derived``) is not counted as rounded."""
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
    digits = precision(currency)
    problems: list[str | None] = []
    rounded = 0
    minors: list[int] = []
    for value, counted in ((unit or Decimal(0), not derived), (amount or Decimal(0), True)):
        minor, changed = round_to(value, digits)
        rounded += changed and counted
        too_large = abs(minor) >= MAX_MINOR
        problems.append(
            f"amount {shown(str(value), quote=False)} is too large" if too_large else None
        )
        minors.append(0 if abs(minor) >= MAX_MINOR else minor)
    too_many = abs(qty) > MAX_QUANTITY
    problems.append(
        f"quantity {shown(quantity_text, quote=False)} is too large" if too_many else None
    )
    return (qty if not too_many else 0, minors[0], minors[1], rounded, *problems)


_LINE_VALUES_SCHEMA = {
    "qty": pl.Int64,
    "unit_minor": pl.Int64,
    "amount_minor": pl.Int64,
    "line_rounded": pl.Int64,
    "unit_too_large": pl.String,
    "amount_too_large": pl.String,
    "quantity_too_large": pl.String,
}


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
    cells = frame.filter(given(name))
    minor = distinct_map(
        cells,
        [f"{name}_cell", "currency"],
        _minor,
        {f"{name}_minor": pl.Int64, "_rounded": pl.Boolean, "_error": pl.String},
    )
    read = _until_first(
        pl.concat([cells, minor], how="horizontal"), usable(pl.col(f"{name}_minor"))
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


def totals(frame: pl.DataFrame, rules: OrderRules, errors: Problems) -> tuple[pl.DataFrame, int]:
    """Each order's first usable total in minor units, whether a refund of all of it came
    with it, and the refunded amount given with it (minor units, or null); and how many of the
    totals read were rounded."""
    read, rounded = _read_amounts(frame, "total", pl.Expr.is_not_null, _TOTAL_CHECK, rules, errors)

    def refund(
        total_cell: str, refunded_cell: str | None, currency: str
    ) -> tuple[bool, int | None]:
        refunded_text = (refunded_cell or "").strip()
        if not refunded_text:
            return False, None
        total, refunded = parse_amount(total_cell.strip()), parse_amount(refunded_text)
        minor = round_to(abs(refunded), precision(currency))[0]
        return total > 0 and refunded >= total, min(minor, MAX_MINOR)

    first = read.filter(pl.col("total_minor").is_not_null())
    refunds = distinct_map(
        first,
        ["total_cell", "refunded_cell", "currency"],
        refund,
        {"refund": pl.Boolean, "refunded_minor": pl.Int64},
    )
    first = first.hstack(refunds)
    return first.select("external_id", "total_minor", "refund", "refunded_minor"), rounded


def discounts(frame: pl.DataFrame, rules: OrderRules, errors: Problems) -> tuple[pl.DataFrame, int]:
    """Each order's first non-zero discount in minor units; and how many of the discounts read
    up to it were rounded."""

    def nonzero(minor: pl.Expr) -> pl.Expr:
        return minor.fill_null(0) != 0

    read, rounded = _read_amounts(frame, "discount", nonzero, _DISCOUNT_CHECK, rules, errors)
    found = read.filter(nonzero(pl.col("discount_minor"))).select("external_id", "discount_minor")
    return found, rounded


def lines(
    frame: pl.DataFrame, rules: OrderRules, errors: Problems
) -> tuple[pl.DataFrame, pl.DataFrame, int]:
    """The order lines (numbered within each order), each line's (idx, row, minor) amount,
    and how many given amounts were rounded."""
    # Only the columns a line needs: the records' frame is wide, and each step below copies
    # what it is given (two million lines of forty columns are gigabytes).
    cells = frame.filter(pl.col("has_line")).select(
        "idx",
        "row",
        "external_id",
        "first_idx",
        "sku",
        "description",
        "quantity_cell",
        "unit_price_cell",
        "line_amount_cell",
        "currency",
        pl.col("unit_price_cell").is_null().alias("_derived"),
    )
    made = distinct_map(
        cells,
        ["quantity_cell", "unit_price_cell", "line_amount_cell", "currency", "_derived"],
        _line_values,
        _LINE_VALUES_SCHEMA,
    )
    cells = pl.concat([cells, made], how="horizontal")
    column = rules.column
    for check, (problem, name, reason) in enumerate(
        (
            ("unit_too_large", "unit_price", "amount too large"),
            ("amount_too_large", "line_amount", "amount too large"),
            ("quantity_too_large", "quantity", "bad quantity"),
        ),
        start=_FIRST_LINE_CHECK,
    ):
        errors.add(
            cells, pl.col(problem).is_not_null(), check, column(name), pl.col(problem), reason
        )
    rounded = int(cells["line_rounded"].sum())
    kept = cells.filter(pl.col("quantity_too_large").is_null())
    if not kept["first_idx"].is_sorted():  # an order's lines are apart in the file
        kept = kept.sort("first_idx", maintain_order=True)
    made_lines = kept.select(
        "external_id",
        pl.int_range(1, pl.len() + 1, dtype=pl.Int64).over("external_id").alias("line_no"),
        "sku",
        "description",
        pl.col("qty").alias("quantity"),
        pl.col("unit_minor").alias("unit_price_minor"),
        "amount_minor",
    )
    amounts = kept.select("idx", "row", pl.col("amount_minor").alias("minor"))
    return made_lines, amounts, rounded
