"""Readable model checks: calibration/holdout table and cumulative tracking curve.

Both follow the figures of Fader, Hardie & Lee (2005) "Counting your customers the easy way":
conditional expectations by calibration frequency (their Figure 4) and weekly cumulative
repeat transactions, actual vs predicted (their Figure 2).
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import numpy as np
import pandas as pd
import polars as pl

from ._frames import date_expr, to_datetime, to_polars
from .base import PurchaseModel
from .errors import AnalyticsError

__all__ = ["calibration_holdout_table", "cumulative_repeat_purchases"]

_UNIT_DAYS = {"D": 1, "W": 7}


def calibration_holdout_table(
    model: PurchaseModel, summary: pd.DataFrame, max_frequency: int = 7
) -> pd.DataFrame:
    """Actual vs predicted holdout repeat purchases, grouped by calibration frequency.

    Parameters
    ----------
    model : fitted purchase model (BG/NBD, MBG/NBD or Pareto/NBD)
    summary : pandas.DataFrame
        Output of :func:`~soloist.analytics.rfm_summary` with ``calibration_end``: needs
        ``frequency``, ``recency``, ``T``, ``frequency_holdout`` and ``duration_holdout``.
    max_frequency : int
        Calibration frequencies ``>= max_frequency`` are pooled in a ``"7+"`` row.

    Returns
    -------
    pandas.DataFrame
        One row per frequency group (index ``"0"``, ``"1"`` ... ``"7+"``) with ``customers``,
        ``actual`` and ``predicted`` (mean holdout repeat purchases per customer) and
        ``actual_total``/``predicted_total``.
    """
    need = ["frequency", "recency", "T", "frequency_holdout", "duration_holdout"]
    missing = [c for c in need if c not in summary.columns]
    if missing:
        raise AnalyticsError(
            f"summary lacks column(s) {missing}: build it with rfm_summary(..., calibration_end=)"
        )
    if len(summary) == 0:
        raise AnalyticsError("summary is empty")
    if int(max_frequency) != max_frequency or max_frequency < 1:
        raise AnalyticsError("max_frequency must be a whole number >= 1")
    predicted = np.asarray(
        model.expected_purchases(
            summary["duration_holdout"].to_numpy(),
            summary["frequency"].to_numpy(),
            summary["recency"].to_numpy(),
            summary["T"].to_numpy(),
        ),
        dtype=np.float64,
    )
    group = np.minimum(summary["frequency"].to_numpy(), max_frequency).astype(int)
    frame = pd.DataFrame(
        {"group": group, "actual": summary["frequency_holdout"].to_numpy(), "predicted": predicted}
    )
    table = frame.groupby("group").agg(
        customers=("actual", "size"),
        actual=("actual", "mean"),
        predicted=("predicted", "mean"),
        actual_total=("actual", "sum"),
        predicted_total=("predicted", "sum"),
    )
    table.index = pd.Index(
        [f"{g}+" if g == max_frequency else str(g) for g in table.index],
        name="calibration_frequency",
    )
    return table


def cumulative_repeat_purchases(
    model: PurchaseModel,
    transactions: Any,
    customer_col: str,
    date_col: str,
    observation_end: Any,
    time_unit: str = "W",
) -> pd.DataFrame:
    """Cumulative repeat purchases per time unit since the first purchase in the data.

    Actual: same-day purchases collapse to one, first purchases excluded (rfm conventions).
    Predicted: ``Σ_customers E[X(τ_i(k))]`` where ``E[X(t)]`` is the model's unconditional
    expected repeat purchases and ``τ_i(k)`` the time from customer *i*'s first purchase to the
    last day of period ``k`` (in ``time_unit``, the unit the model was fitted in).

    Returns
    -------
    pandas.DataFrame
        Indexed by period ``1..K`` (``week``/``day``) with ``actual`` and ``predicted``.
    """
    if time_unit not in _UNIT_DAYS:
        raise AnalyticsError(f"time_unit must be 'D' or 'W', got {time_unit!r}")
    unit = _UNIT_DAYS[time_unit]
    frame = to_polars(transactions, [customer_col, date_col])
    if frame.height == 0:
        raise AnalyticsError("transactions is empty")
    end_at = to_datetime(observation_end, "observation_end")
    end = pl.lit(end_at, dtype=pl.Datetime("us"))
    days = (
        frame.lazy()
        .select(
            pl.col(customer_col).alias("_c"),
            date_expr(frame, date_col).dt.truncate("1d").alias("_d"),
        )
        .filter(pl.col("_d") <= end.dt.truncate("1d"))
        .unique()
        .with_columns(pl.col("_d").min().over("_c").alias("_first"))
        .collect()
    )
    if days.height == 0:
        raise AnalyticsError("no transaction on or before observation_end")
    start = days.get_column("_d").min()
    if not isinstance(start, dt.datetime):
        raise AnalyticsError("transaction dates could not be read as dates")
    last_day = (end_at.date() - start.date()).days
    n_periods = last_day // unit + 1
    offsets = days.with_columns(
        (pl.col("_d") - pl.lit(start)).dt.total_days().alias("_o"),
        (pl.col("_first") - pl.lit(start)).dt.total_days().alias("_fo"),
    )
    repeat_offsets = offsets.filter(pl.col("_o") > pl.col("_fo")).get_column("_o").to_numpy()
    period_of = repeat_offsets // unit
    actual = np.cumsum(np.bincount(period_of, minlength=n_periods)[:n_periods]).astype(float)
    firsts = offsets.group_by("_c").agg(pl.col("_fo").first()).get_column("_fo").to_numpy()
    first_days, counts = np.unique(firsts, return_counts=True)
    k = np.arange(1, n_periods + 1)
    exposure = np.clip((k[:, None] * unit - 1 - first_days[None, :]) / unit, 0.0, None)
    expected = np.asarray(model.expected_repeat_purchases(exposure.ravel()), dtype=np.float64)
    predicted = expected.reshape(exposure.shape) @ counts.astype(float)
    index = pd.Index(k, name="week" if time_unit == "W" else "day")
    return pd.DataFrame({"actual": actual, "predicted": predicted}, index=index)
