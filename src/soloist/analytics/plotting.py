"""Matplotlib figures of the validation tables (matplotlib is imported lazily, Agg backend)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import pandas as pd

from .base import PurchaseModel
from .validation import calibration_holdout_table, cumulative_repeat_purchases

if TYPE_CHECKING:
    from matplotlib.figure import Figure

__all__ = ["plot_calibration_holdout", "plot_cumulative_repeat_purchases"]


def _new_figure(title: str) -> tuple[Figure, Any]:
    try:
        import matplotlib
    except ImportError as exc:  # pragma: no cover - depends on the environment
        from .errors import AnalyticsError

        raise AnalyticsError("plotting needs matplotlib: pip install matplotlib") from exc
    matplotlib.use("Agg", force=False)
    from matplotlib.figure import Figure

    fig = Figure(figsize=(7, 4.5), layout="constrained")
    ax = fig.add_subplot()
    ax.set_title(title)
    return fig, ax


def plot_calibration_holdout(
    model: PurchaseModel, summary: pd.DataFrame, max_frequency: int = 7
) -> Figure:
    """Mean holdout repeat purchases, actual vs predicted, by calibration frequency."""
    table = calibration_holdout_table(model, summary, max_frequency)
    fig, ax = _new_figure(f"{type(model).__name__}: calibration vs holdout")
    ax.plot(table.index, table["actual"], marker="o", label="actual")
    ax.plot(table.index, table["predicted"], marker="s", linestyle="--", label="predicted")
    ax.set_xlabel("repeat purchases in calibration period")
    ax.set_ylabel("mean repeat purchases in holdout")
    ax.legend()
    return fig


def plot_cumulative_repeat_purchases(
    model: PurchaseModel,
    transactions: Any,
    customer_col: str,
    date_col: str,
    observation_end: Any,
    time_unit: str = "W",
    calibration_end_period: float | None = None,
) -> Figure:
    """Cumulative repeat purchases, actual vs predicted (FHL 2005 Figure 2 style).

    ``calibration_end_period`` (e.g. 39) draws a vertical line where the holdout starts.
    """
    curve = cumulative_repeat_purchases(
        model, transactions, customer_col, date_col, observation_end, time_unit
    )
    fig, ax = _new_figure(f"{type(model).__name__}: cumulative repeat purchases")
    ax.plot(curve.index, curve["actual"], label="actual")
    ax.plot(curve.index, curve["predicted"], linestyle="--", label="predicted")
    if calibration_end_period is not None:
        ax.axvline(calibration_end_period, color="grey", linestyle=":", label="end of calibration")
    ax.set_xlabel(str(curve.index.name))
    ax.set_ylabel("cumulative repeat purchases")
    ax.legend()
    return fig
