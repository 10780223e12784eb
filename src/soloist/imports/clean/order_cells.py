"""Typing the cells of order records, whole columns at a time: times, statuses, currencies.

Each distinct cell is read once by the parsers every import uses (:mod:`soloist.imports.values`)
and the answer joined back record for record, with the problem (or null) beside it.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass

import polars as pl

from soloist.imports.base import ImportFormat
from soloist.imports.clean.rows import currency_error
from soloist.imports.columns import UTC_TIME, distinct_map, iso_utc_times, typed_column
from soloist.imports.values import clean_text, parse_datetime, parse_order_status


@dataclass
class OrderRules:
    """What the cleaning of orders needs to know of the file and the import."""

    fmt: ImportFormat
    names: Mapping[str, str]  # field -> the file's column
    dayfirst: bool
    timezone: str
    default_currency: str

    def column(self, name: str) -> str:
        return self.names.get(name) or name


def records_returns(fmt: ImportFormat) -> bool:
    """Whether ``fmt``'s files record returns and cancellations as negative lines (a retail
    log's credit notes: ``returns_aware`` on the format), which are then kept."""
    return bool(getattr(fmt, "returns_aware", False))


def raw(frame: pl.DataFrame, name: str) -> pl.Expr:
    """The column ``name`` of the records, or nulls where the file has none (as many as there
    are records, none for none: a bare literal would make a one-row column of an empty frame)."""
    return pl.col(name) if name in frame.columns else pl.repeat(None, pl.len(), dtype=pl.String)


def dates(frame: pl.DataFrame, rules: OrderRules) -> pl.DataFrame:
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


def _constant(frame: pl.DataFrame, name: str, value: str) -> pl.DataFrame:
    return pl.DataFrame(
        {
            name: pl.repeat(value, frame.height, eager=True),
            f"{name}_error": pl.repeat(None, frame.height, dtype=pl.String, eager=True),
        }
    )


def statuses(frame: pl.DataFrame) -> pl.DataFrame:
    """``status`` and ``status_error``: a record without a status is paid."""

    def typed(cell: str | None) -> tuple[str | None, str | None]:
        if clean_text(cell) is None:
            return "paid", None
        try:
            return parse_order_status((cell or "").strip()), None
        except ValueError as exc:
            return None, str(exc)

    if "status" not in frame.columns:
        return _constant(frame, "status", "paid")
    schema = {"status": pl.String, "status_error": pl.String}
    return distinct_map(frame, ["status"], typed, schema)


def currencies(frame: pl.DataFrame, rules: OrderRules) -> pl.DataFrame:
    """``currency`` and ``currency_error``: a record without a currency is in the default one."""

    def typed(cell: str | None) -> tuple[str | None, str | None]:
        code = clean_text(cell)
        if code is None:
            return rules.default_currency, None
        code = code.upper()
        if problem := currency_error(code):
            return None, problem
        return code, None

    if "currency" not in frame.columns:
        return _constant(frame, "currency", rules.default_currency)
    schema = {"currency": pl.String, "currency_error": pl.String}
    return distinct_map(frame, ["currency"], typed, schema)
