"""Typing whole columns of text: each distinct cell (or combination of cells) worked out once
by the cleaning's own parsers, the answers joined back row for row; the shapes common enough to
read in one vectorised pass; and the problems found, kept in the order they are checked.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

import polars as pl

UTC_TIME = pl.Datetime("us", "UTC")


def distinct_map(
    frame: pl.DataFrame,
    keys: list[str],
    compute: Callable[..., tuple[Any, ...]],
    schema: Mapping[str, Any],
    quick: pl.Expr | None = None,
) -> pl.DataFrame:
    """``compute(*values)`` once per distinct combination of the ``keys`` columns, as the
    columns of ``schema``, one row per row of ``frame`` in its order.

    ``quick``, an expression over the key columns, is a vectorised reading tried first on the
    distinct combinations: where it gives a value, that value is the first output (the others
    null) and ``compute`` is not called."""
    hidden = {f"__{index}": dtype for index, dtype in enumerate(schema.values())}
    distinct = frame.select(keys).unique()
    answered: pl.DataFrame | None = None
    if quick is not None:
        first, *others = hidden
        tried = distinct.with_columns(quick.cast(hidden[first]).alias(first))
        answered = tried.filter(pl.col(first).is_not_null()).with_columns(
            pl.lit(None, hidden[name]).alias(name) for name in others
        )
        distinct = tried.filter(pl.col(first).is_null()).select(keys)
    results = [compute(*values) for values in distinct.iter_rows()]
    made = pl.DataFrame(results, schema=hidden, orient="row")
    mapping = pl.concat([distinct, made], how="horizontal")
    if answered is not None:
        mapping = pl.concat([mapping, answered.select(mapping.columns)])
    joined = frame.select(keys).join(
        mapping, on=keys, how="left", nulls_equal=True, maintain_order="left"
    )
    return joined.select(
        pl.col(name).alias(target) for name, target in zip(hidden, schema, strict=True)
    )


# Printable ASCII words with single spaces between them: text the cleaning leaves as it is.
_PLAIN_TEXT = r"^[!-~]+(?: [!-~]+)*$"


def text_column(
    frame: pl.DataFrame, name: str, text: Callable[[str | None], str | None]
) -> pl.Series:
    """``text`` (the cleaning's reading of a text cell) of every cell of column ``name``: cells
    of plain ASCII words are already what it would make of them; the others (blank ones too) go
    through it once per distinct cell."""
    if name not in frame.columns:
        return pl.repeat(None, frame.height, dtype=pl.String, eager=True).alias(name)
    cells = pl.col(name)
    plain = pl.when(cells.str.contains(_PLAIN_TEXT)).then(cells)
    done = distinct_map(frame, [name], lambda v: (text(v),), {name: pl.String}, quick=plain)
    return done.to_series()


def typed_column(
    frame: pl.DataFrame,
    name: str,
    parse: Callable[..., Any],
    dtype: Any,
    *,
    more: tuple[str, ...] = (),
    quick: pl.Expr | None = None,
) -> pl.DataFrame:
    """Columns ``{name}`` (the typed value, null when blank or bad) and ``{name}_error``:
    ``parse(text, *more)`` of each distinct stripped cell, where ``more`` names further columns
    the reading depends on (a time zone); ``quick`` as for :func:`distinct_map`."""
    if name not in frame.columns:
        return pl.DataFrame(
            {
                name: pl.repeat(None, frame.height, dtype=dtype, eager=True),
                f"{name}_error": pl.repeat(None, frame.height, dtype=pl.String, eager=True),
            }
        )

    def typed(cell: str | None, *context: Any) -> tuple[Any, str | None]:
        raw = (cell or "").strip()
        if not raw:
            return None, None
        try:
            return parse(raw, *context), None
        except (ValueError, ArithmeticError) as exc:
            return None, str(exc)

    schema = {name: dtype, f"{name}_error": pl.String}
    return distinct_map(frame, [name, *more], typed, schema, quick=quick)


def cell_errors(frame: pl.DataFrame, name: str, parse: Callable[[str], Any]) -> pl.Series:
    """``{name}_error``: why each cell of ``name`` does not parse (null when it does)."""

    def checked(text: str) -> None:
        parse(text)

    return typed_column(frame, name, checked, pl.Null)[f"{name}_error"]


_ISO_SHAPE = r"^[0-9]{4}-[0-9]{2}-[0-9]{2}(?:[ T](?:[01][0-9]|2[0-3]):[0-5][0-9](?::[0-5][0-9])?)?$"


_ISO_FORMATS = {10: "%Y-%m-%d", 16: "%Y-%m-%d %H:%M", 19: "%Y-%m-%d %H:%M:%S"}


def iso_utc_times(texts: pl.Expr) -> pl.Expr:
    """The times of cells in the commonest shapes — ``2024-01-05``, ``2024-01-05 10:14`` and
    ``2024-01-05 10:14:12`` (or with a ``T``) — read as UTC in one vectorised pass; null for every
    other cell (and for impossible dates), which :func:`parse_datetime` then reads. For the cells
    it reads it gives what :func:`parse_datetime` gives (checked by a property test)."""
    fits = texts.str.contains(_ISO_SHAPE) & ~texts.str.starts_with("0000")  # Python has no year 0
    shaped = pl.when(fits).then(texts.str.replace("T", " ", literal=True))
    length = shaped.str.len_bytes()
    parsed = pl.coalesce(
        pl.when(length == size).then(shaped.str.strptime(pl.Datetime("us"), form, strict=False))
        for size, form in _ISO_FORMATS.items()
    )
    return parsed.dt.replace_time_zone("UTC")


class Problems:
    """Problems found, each at a record (``idx``) and a check number that orders a record's
    problems as the checks run."""

    def __init__(self) -> None:
        self.parts: list[pl.DataFrame] = []

    def add(
        self,
        frame: pl.DataFrame,
        where: pl.Expr,
        check: int,
        column: str,
        message: pl.Expr,
        reason: str,
    ) -> None:
        found = frame.filter(where).select(
            pl.col("idx"),
            pl.col("row"),
            pl.lit(check).alias("check"),
            pl.lit(column).alias("column"),
            message.cast(pl.String).alias("message"),
            pl.lit(reason).alias("reason"),
        )
        if found.height:
            self.parts.append(found)

    def frame(self) -> pl.DataFrame:
        if not self.parts:
            return pl.DataFrame(
                schema={
                    "row": pl.Int64,
                    "column": pl.String,
                    "message": pl.String,
                    "reason": pl.String,
                }
            )
        every = pl.concat(self.parts, how="vertical_relaxed")
        return every.sort("idx", "check", maintain_order=True).drop("idx", "check")

    def rows(self) -> pl.Series:
        return (
            pl.concat([p["row"] for p in self.parts])
            if self.parts
            else pl.Series([], dtype=pl.Int64)
        )
