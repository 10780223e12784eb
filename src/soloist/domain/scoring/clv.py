"""``soloist analyze``: fit the "buy till you die" models to the workspace's orders and store
per-customer scores, traceable to the model run that made them.

The purchase model (BG/NBD by default, or Pareto/NBD) is first fitted on a calibration window
and checked against the following holdout window; the figures of that check are kept with the run.
Then it is refitted on all the data and every customer is scored: probability alive, expected
purchases in the next 90 days, a Gamma-Gamma spend estimate and a discounted 12-month CLV.
"""

from __future__ import annotations

import datetime as dt
import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from sqlalchemy import select
from sqlalchemy.orm import Session

from soloist.analytics import (
    BetaGeoModel,
    GammaGammaModel,
    ModifiedBetaGeoModel,
    ParetoNBDModel,
    calibration_holdout_table,
    plot_calibration_holdout,
    plot_cumulative_repeat_purchases,
    rfm_summary,
)
from soloist.domain._progress import Progress, no_progress
from soloist.domain.audit import insert_rows, record_audit
from soloist.errors import ValidationError
from soloist.money import minor_to_decimal
from soloist.storage.models import CustomerScore, ModelRun, Order

PURCHASE_MODELS = {
    "bg-nbd": BetaGeoModel,
    "mbg-nbd": ModifiedBetaGeoModel,
    "pareto-nbd": ParetoNBDModel,
}
SCORE_CHUNK = 20_000


@dataclass(frozen=True)
class AnalyzeOptions:
    model: str = "bg-nbd"
    holdout_days: int = 90
    annual_discount_rate: float = 0.10
    horizon_months: int = 12
    observation_end: dt.date | None = None
    plots_dir: Path | None = None


def load_paid_orders(
    session: Session, currency: str, *, customer_id: int | None = None
) -> pd.DataFrame:
    """Paid orders in the workspace currency: customer_id, ordered_at (UTC), amount, cost
    (of one customer, with ``customer_id``).

    ``amount`` is what the customer kept paying: the total less any partial refund.
    """
    query = select(
        Order.customer_id,
        Order.ordered_at,
        Order.total_minor - Order.refunded_minor,
        Order.cost_minor,
    ).where(Order.status == "paid", Order.currency == currency)
    if customer_id is not None:
        query = query.where(Order.customer_id == customer_id)
    rows = session.execute(query).all()
    scale = float(minor_to_decimal(1, currency))
    frame = pd.DataFrame(rows, columns=["customer_id", "ordered_at", "amount", "cost"])
    frame["ordered_at"] = pd.to_datetime(frame["ordered_at"], utc=True).dt.tz_localize(None)
    frame["amount"] = frame["amount"].astype("float64") * scale
    frame["cost"] = frame["cost"].astype("float64") * scale
    return frame


def _gross_margin(orders: pd.DataFrame) -> float:
    """Share of revenue kept after costs, over the orders whose cost is known (1 if none)."""
    known = orders.dropna(subset=["cost"])
    revenue = float(known["amount"].sum())
    if known.empty or revenue <= 0:
        return 1.0
    return max(0.0, 1.0 - float(known["cost"].sum()) / revenue)


def _fit_purchase_model(name: str, summary: pd.DataFrame) -> Any:
    """Customers first seen on the last day (T = 0) carry no information and are left out."""
    seen = summary[summary["T"] > 0]
    return PURCHASE_MODELS[name]().fit(seen["frequency"], seen["recency"], seen["T"])


def _holdout_check(
    orders: pd.DataFrame, options: AnalyzeOptions, end: pd.Timestamp
) -> tuple[dict[str, Any], Any, pd.DataFrame]:
    """Fit on the calibration window, predict the holdout window, compare with what happened."""
    calibration_end = end - pd.Timedelta(days=options.holdout_days)
    summary = rfm_summary(
        orders,
        "customer_id",
        "ordered_at",
        "amount",
        observation_end=end,
        calibration_end=calibration_end,
    )
    model = _fit_purchase_model(options.model, summary)
    predicted = np.asarray(
        model.expected_purchases(
            options.holdout_days, summary["frequency"], summary["recency"], summary["T"]
        ),
        dtype=float,
    )
    actual = summary["frequency_holdout"].to_numpy(dtype=float)
    total_actual = float(actual.sum())
    by_frequency = calibration_holdout_table(model, summary)
    metrics = {
        "calibration_end": calibration_end.date().isoformat(),
        "holdout_days": options.holdout_days,
        "customers": len(summary),
        "predicted_repeat_purchases": round(float(predicted.sum()), 1),
        "actual_repeat_purchases": int(total_actual),
        "aggregate_error_percent": round(
            100 * (float(predicted.sum()) - total_actual) / total_actual, 2
        )
        if total_actual
        else None,
        "mean_absolute_error": round(float(np.mean(np.abs(predicted - actual))), 4),
        "correlation": round(float(np.corrcoef(predicted, actual)[0, 1]), 4)
        if actual.std() > 0 and predicted.std() > 0
        else None,
        "by_calibration_frequency": [
            {"frequency": str(index), **{k: round(float(v), 4) for k, v in row.items()}}
            for index, row in by_frequency.iterrows()
        ],
    }
    return metrics, model, summary


def _save_plots(
    folder: Path, model: Any, summary: pd.DataFrame, orders: pd.DataFrame, end: pd.Timestamp
) -> list[str]:
    """The calibration/holdout and cumulative-purchases figures as PNG files in ``folder``."""
    folder.mkdir(parents=True, exist_ok=True)
    holdout_starts = (end.normalize() - orders["ordered_at"].min().normalize()).days - (
        int(summary["duration_holdout"].max()) if "duration_holdout" in summary else 0
    )
    figures = {
        "calibration_holdout.png": plot_calibration_holdout(model, summary),
        "cumulative_repeat_purchases.png": plot_cumulative_repeat_purchases(
            model,
            orders,
            "customer_id",
            "ordered_at",
            end,
            time_unit="D",
            calibration_end_period=holdout_starts,
        ),
    }
    saved = []
    for name, figure in figures.items():
        figure.savefig(folder / name, dpi=120, bbox_inches="tight")
        saved.append(str(folder / name))
    return saved


def analyze_workspace(
    session: Session,
    currency: str,
    actor: str,
    options: AnalyzeOptions | None = None,
    progress: Progress | None = None,
    store: Session | None = None,
) -> ModelRun:
    """Fit, validate, score every customer and store it all as one model run.

    ``store`` writes the run when given (``session`` then only reads), as in
    :func:`~soloist.domain.scoring.churn.score_churn_risk`. Nothing is written before the
    models are fitted, so a write transaction begins only for the short write at the end.
    """
    opts = options or AnalyzeOptions()
    report = progress or no_progress
    if opts.model not in PURCHASE_MODELS:
        raise ValidationError(
            f"Unknown model {opts.model!r}; use one of {', '.join(PURCHASE_MODELS)}.", field="model"
        )
    if opts.holdout_days < 7:
        raise ValidationError("The holdout must be at least 7 days.", field="holdout_days")
    orders = load_paid_orders(session, currency)
    if orders.empty:
        raise ValidationError(
            f"There are no paid orders in {currency} to analyse; import some first."
        )
    end = (
        pd.Timestamp(opts.observation_end) + pd.Timedelta(hours=23, minutes=59)
        if opts.observation_end
        else orders["ordered_at"].max()
    )
    orders = orders[orders["ordered_at"] <= end]
    report("validating on holdout", 0, 3)
    holdout, holdout_model, holdout_summary = _holdout_check(orders, opts, end)
    if opts.plots_dir is not None:
        holdout["plots"] = _save_plots(opts.plots_dir, holdout_model, holdout_summary, orders, end)
    report("fitting models", 1, 3)
    summary = rfm_summary(orders, "customer_id", "ordered_at", "amount", observation_end=end)
    purchase = _fit_purchase_model(opts.model, summary)
    repeaters = summary[(summary["frequency"] > 0) & (summary["monetary_value"] > 0)]
    spend_model = GammaGammaModel().fit(repeaters["frequency"], repeaters["monetary_value"])
    margin = _gross_margin(orders)
    monthly_rate = (1.0 + opts.annual_discount_rate) ** (1 / 12) - 1.0
    scores = score_summary(
        purchase, spend_model, summary, opts.horizon_months, monthly_rate, margin
    )
    p_alive, expected_90, spend, clv = (
        scores[name] for name in ("p_alive", "expected_90", "spend", "clv")
    )
    report("storing scores", 2, 3)
    session = store or session
    run = ModelRun(
        kind="clv",
        status="running",
        data_start=orders["ordered_at"].min().to_pydatetime().replace(tzinfo=dt.UTC),
        data_end=end.to_pydatetime().replace(tzinfo=dt.UTC),
        params={},
        metrics={},
    )
    session.add(run)
    session.flush()
    per_unit = minor_units_per_unit(currency)
    rows = [
        {
            "model_run_id": run.id,
            "customer_id": int(cid),
            "p_alive": float(p_alive[i]),
            "expected_purchases_90d": float(expected_90[i]),
            "clv_12m_minor": round(clv[i] * per_unit),
            "spend_estimate_minor": round(spend[i] * per_unit),
            "reasons": {},
        }
        for i, cid in enumerate(summary.index)
    ]
    for start in range(0, len(rows), SCORE_CHUNK):
        insert_rows(
            session, CustomerScore, rows[start : start + SCORE_CHUNK], actor, f"clv run {run.id}"
        )
    run.params = {
        "purchase_model": opts.model,
        "purchase": _rounded(purchase.params_),
        "purchase_standard_errors": _rounded(getattr(purchase, "standard_errors_", {}) or {}),
        "spend": _rounded(spend_model.params_),
        # Full precision, for scoring one customer again later from this fit (scoring/live.py).
        "fit": {
            "purchase": {k: float(v) for k, v in purchase.params_.items()},
            "spend": {k: float(v) for k, v in spend_model.params_.items()},
        },
        "margin": round(margin, 4),
        "annual_discount_rate": opts.annual_discount_rate,
        "horizon_months": opts.horizon_months,
        "time_unit": "days",
        "currency": currency,
    }
    run.metrics = {
        "log_likelihood": round(float(purchase.log_likelihood_), 3),
        "spend_log_likelihood": round(float(spend_model.log_likelihood_), 3),
        "customers": len(summary),
        "repeat_customers": len(repeaters),
        "orders": len(orders),
        "holdout": holdout,
        "total_clv_12m": round(float(clv.sum()), 2),
        "mean_p_alive": round(float(p_alive.mean()), 4),
    }
    run.status = "succeeded"
    run.finished_at = dt.datetime.now(dt.UTC)
    record_audit(session, actor, "model_run.finished", "model_run", run.id, {"kind": "clv"})
    report("done", 3, 3)
    return run


def score_summary(
    purchase: Any,
    spend_model: GammaGammaModel,
    summary: pd.DataFrame,
    horizon_months: int,
    monthly_rate: float,
    margin: float,
) -> dict[str, np.ndarray]:
    """Each customer's P(alive), expected purchases in 90 days, spend estimate and CLV.

    The conditional expectations of the fitted models, given each row's ``frequency``,
    ``recency``, ``T`` (days) and ``monetary_value``: no fitting happens here, so a stored fit
    scores one customer again in milliseconds (:mod:`soloist.domain.scoring.live`).
    """
    x, tx, big_t, m = (summary[c] for c in ("frequency", "recency", "T", "monetary_value"))
    spend_basis = m.where(x > 0, 0.0)
    return {
        "p_alive": np.asarray(purchase.probability_alive(x, tx, big_t), dtype=float),
        "expected_90": np.asarray(purchase.expected_purchases(90, x, tx, big_t), dtype=float),
        "spend": np.asarray(
            spend_model.conditional_expected_average_profit(x, spend_basis), dtype=float
        ),
        "clv": np.asarray(
            spend_model.customer_lifetime_value(
                purchase,
                x,
                tx,
                big_t,
                spend_basis,
                time=horizon_months,
                discount_rate=monthly_rate,
                margin=margin,
                freq="D",
            ),
            dtype=float,
        ),
    }


def minor_units_per_unit(currency: str) -> int:
    """100 for USD (cents), 1 for JPY: how many minor units make one currency unit."""
    return 10 ** -int(minor_to_decimal(1, currency).as_tuple().exponent)


def _rounded(params: dict[str, Any]) -> dict[str, float]:
    return {k: round(float(v), 6) for k, v in params.items() if math.isfinite(float(v))}


def latest_run(session: Session, kind: str = "clv") -> ModelRun | None:
    return session.scalar(
        select(ModelRun)
        .where(ModelRun.kind == kind, ModelRun.status == "succeeded")
        .order_by(ModelRun.id.desc())
        .limit(1)
    )
