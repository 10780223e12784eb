"""Frame helpers shared by the analytics modules (private to the package).

pandas and Polars are imported inside the functions: the purchase models import
:func:`to_output` and must not pay for either library at import time (see the package
docstring); the modules that work on frames (``rfm``, ``metrics``, ``validation``) import both
anyway, so the deferred imports cost them nothing.
"""

from __future__ import annotations

import datetime as dt
from typing import TYPE_CHECKING, Any

import numpy as np

from .errors import AnalyticsError

if TYPE_CHECKING:
    import pandas as pd
    import polars as pl

    from ._math import FloatArray

__all__ = ["date_expr", "pandas_column", "to_datetime", "to_output", "to_polars"]


def pandas_column(series: pd.Series, name: str) -> pl.Series:
    """One pandas column as a polars Series without needing pyarrow."""
    import pandas as pd
    import polars as pl

    dtype = series.dtype
    if isinstance(dtype, pd.DatetimeTZDtype):
        series = series.dt.tz_convert("UTC").dt.tz_localize(None)
        dtype = series.dtype
    if isinstance(dtype, np.dtype) and dtype.kind == "M":
        return pl.Series(name, series.to_numpy().astype("datetime64[us]"))
    if isinstance(dtype, np.dtype) and dtype.kind in "biuf":
        return pl.Series(name, series.to_numpy())
    return pl.Series(name, series.to_numpy(dtype=object).tolist())


def to_polars(transactions: Any, columns: list[str]) -> pl.DataFrame:
    """``columns`` of a pandas or polars (lazy) frame as a polars DataFrame."""
    import pandas as pd
    import polars as pl

    if isinstance(transactions, pl.LazyFrame):
        transactions = transactions.select(columns).collect()
    if isinstance(transactions, pd.DataFrame):
        missing = [c for c in columns if c not in transactions.columns]
        if missing:
            raise AnalyticsError(f"transactions has no column(s) {missing}")
        return pl.DataFrame([pandas_column(transactions[c], c) for c in columns])
    if isinstance(transactions, pl.DataFrame):
        missing = [c for c in columns if c not in transactions.columns]
        if missing:
            raise AnalyticsError(f"transactions has no column(s) {missing}")
        return transactions.select(columns)
    raise AnalyticsError(
        f"transactions must be a pandas or polars DataFrame, got {type(transactions).__name__}"
    )


def to_datetime(value: Any, name: str) -> dt.datetime:
    """A date-like ``value`` as a naive (UTC) datetime; ``name`` is used in error messages."""
    import pandas as pd

    try:
        ts = pd.Timestamp(value)
    except (TypeError, ValueError) as exc:
        raise AnalyticsError(f"{name} is not a date: {value!r}") from exc
    if ts is pd.NaT or pd.isna(ts):
        raise AnalyticsError(f"{name} is missing")
    if ts.tzinfo is not None:
        ts = ts.tz_convert("UTC").tz_localize(None)
    return ts.to_pydatetime()


def date_expr(frame: pl.DataFrame, col: str) -> pl.Expr:
    """Expression reading column ``col`` of ``frame`` as naive (UTC) microsecond datetimes."""
    import polars as pl

    dtype = frame.schema[col]
    expr = pl.col(col)
    if dtype == pl.String:
        expr = expr.str.to_datetime(strict=True)
    elif dtype == pl.Date:
        expr = expr.cast(pl.Datetime("us"))
    elif isinstance(dtype, pl.Datetime):
        if dtype.time_zone is not None:
            expr = expr.dt.convert_time_zone("UTC").dt.replace_time_zone(None)
        expr = expr.dt.cast_time_unit("us")
    else:
        raise AnalyticsError(f"column {col!r} must hold dates or datetimes, not {dtype}")
    return expr


def to_output(values: FloatArray, like: Any) -> Any:
    """Return ``values`` as a pandas Series if ``like`` is one (keeping its index).

    pandas is recognised by class name so that NumPy callers never import it.
    """
    if type(like).__name__ == "Series" and hasattr(like, "index"):
        import pandas as pd

        if len(like) == len(values):
            return pd.Series(values, index=like.index)
    return values
