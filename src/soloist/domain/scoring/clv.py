"""``soloist analyze``: fit the "buy till you die" models to the workspace's orders and store
per-customer scores, traceable to the model run that made them.

BG/NBD, MBG/NBD and Pareto/NBD are fitted on a calibration window and checked against the
holdout window that follows; the one that predicted the holdout best is kept, and why is stored
with the run (:mod:`soloist.domain.scoring.model_choice`). It is then refitted on all the data
and every customer is scored: probability alive, expected purchases in the next 90 days, a
Gamma-Gamma spend estimate and a discounted 12-month CLV.
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from sqlalchemy import select
from sqlalchemy.orm import Session

from soloist.analytics import (
    GammaGammaModel,
    discounted_purchase_value,
    plot_calibration_holdout,
    plot_cumulative_repeat_purchases,
    rfm_summary,
)
from soloist.domain._progress import Progress, no_progress
from soloist.domain.audit import insert_made_rows, record_audit
from soloist.domain.currencies import (
    Rates,
    converted_amounts,
    explain_missing_orders,
    paid_orders_query,
)
from soloist.domain.scoring.dates import checked_end_date, end_of_day
from soloist.domain.scoring.model_choice import (
    ALIVE_FOR_ONE_TIME_BUYERS,
    POOLED,
    PURCHASE_MODELS,
    ModelComparison,
    check_enough_purchases,
    choose_holdout_days,
    compare_purchase_models,
    fit_purchase_model,
    fit_spend_model,
)
from soloist.domain.scoring.shared_orders import shared_read
from soloist.domain.scoring.subscription_clv import analyze_subscriptions
from soloist.errors import UsageError, ValidationError
from soloist.money import minor_to_decimal, minor_units_per_unit
from soloist.storage.bulk import (
    collection_paused,
    float_column,
    int_column,
    read_in_parts,
    utc_times,
)
from soloist.storage.models import CustomerScore, ModelRun, Order, Subscription
from soloist.storage.planner import refresh_statistics, unindexed

NO_CHURN_SIGN_P_ALIVE = 0.99
HOLDOUT_LAYOUT = (
    "calibration/holdout by calendar time (Fader, Hardie & Lee 2005): every customer first seen "
    "before the calibration end is fitted on their purchases up to it and checked against their "
    "repeat purchases in the holdout days that follow"
)


@dataclass(frozen=True)
class AnalyzeOptions:
    model: str | None = None  # None: choose by evidence on the holdout
    holdout_days: int | None = None  # None: 90 days, or a third of a shorter span
    annual_discount_rate: float = 0.10
    horizon_months: int = 12
    observation_end: dt.date | None = None
    plots_dir: Path | None = None
    rates: Rates = field(default_factory=dict)  # orders in these currencies count, converted


def load_paid_orders(
    session: Session,
    currency: str,
    *,
    customer_id: int | None = None,
    rates: Rates | None = None,
) -> pd.DataFrame:
    """Paid orders in the workspace currency: customer_id, ordered_at (UTC), amount, cost
    (of one customer, with ``customer_id``); with ``rates``, also the orders paid in those
    currencies, converted (:func:`~soloist.domain.currencies.converted_amounts`).

    ``amount`` is what the customer kept paying: the total less any partial refund. Inside
    :func:`~soloist.domain.scoring.shared_orders.paid_orders_shared`, analyses run one after
    the other share one read of every customer's orders.
    """
    if customer_id is None:
        key = ("paid orders", currency, *sorted((rates or {}).items()))
        return shared_read(session, key, lambda: _read_paid_orders(session, currency, None, rates))
    return _read_paid_orders(session, currency, customer_id, rates)


def _read_paid_orders(
    session: Session, currency: str, customer_id: int | None, rates: Rates | None
) -> pd.DataFrame:
    scale = float(minor_to_decimal(1, currency))

    def frame_of(columns: list[Sequence[Any]]) -> pd.DataFrame:
        customers, times, amounts, costs, *codes = columns
        if codes and any(code != currency for code in codes[0]):
            amounts, costs = converted_amounts(amounts, costs, codes[0], currency, rates or {})
        return pd.DataFrame(
            {
                "customer_id": int_column(customers),
                "ordered_at": utc_times(times).to_numpy(dtype="datetime64[ns]"),
                "amount": int_column(amounts).astype(np.float64) * scale,
                "cost": float_column(costs) * scale,
            }
        )

    # A part at a time: ten million orders as the driver's rows alone took some 3 GB.
    query = paid_orders_query(currency, rates or {}, customer_id)
    if not rates and customer_id is None:
        query = _every_paid_order(session, currency)
    parts = read_in_parts(session, query, len(query.selected_columns), frame_of)
    return parts[0] if len(parts) == 1 else pd.concat(parts, ignore_index=True)


def _every_paid_order(session: Session, currency: str) -> Any:
    """:func:`paid_orders_query` of every paid order in ``currency`` alone, without the
    currency column (one fewer value per row to read). On SQLite the status is looked up as
    ``+status``, which keeps the planner from reading the rows through the revenue index: most
    orders are paid, and one scan of the table is quicker than the index and a lookup of each
    row in the table (1.0 s against 1.3 s for a million orders)."""
    status = unindexed(session, Order.status)
    return select(
        Order.customer_id,
        Order.ordered_at,
        Order.total_minor - Order.refunded_minor,
        Order.cost_minor,
    ).where(status == "paid", Order.currency == currency)


def observation_end(orders: pd.DataFrame, end_date: dt.date | None) -> pd.Timestamp:
    """The last moment of data an analysis uses: the end of ``end_date``, or the last order.

    Refuses an end date before the first order or after today, naming both dates.
    """
    first, last = orders["ordered_at"].min(), orders["ordered_at"].max()
    if end_date is None:
        return pd.Timestamp(last)
    if end_date < first.date():
        raise ValidationError(
            f"The end date {end_date:%Y-%m-%d} is before the first paid order "
            f"({first:%Y-%m-%d}); give a date between {first:%Y-%m-%d} and {last:%Y-%m-%d}.",
            field="end_date",
        )
    checked_end_date(end_date)
    return end_of_day(end_date)


def _gross_margin(orders: pd.DataFrame) -> float:
    """Share of revenue kept after costs, over the orders whose cost is known (1 if none)."""
    known = orders.dropna(subset=["cost"])
    revenue = float(known["amount"].sum())
    if known.empty or revenue <= 0:
        return 1.0
    return max(0.0, 1.0 - float(known["cost"].sum()) / revenue)


def _holdout_check(
    orders: pd.DataFrame, names: list[str], holdout_days: int, end: pd.Timestamp
) -> tuple[ModelComparison, dict[str, Any], pd.DataFrame]:
    """Fit each model on the calibration window, predict the holdout window, compare."""
    calibration_end = end - pd.Timedelta(days=holdout_days)
    summary = rfm_summary(
        orders,
        "customer_id",
        "ordered_at",
        "amount",
        observation_end=end,
        calibration_end=calibration_end,
    )
    check_enough_purchases(summary, f"the calibration window (to {calibration_end:%Y-%m-%d})")
    comparison = compare_purchase_models(summary, holdout_days, names)
    chosen = comparison.chosen_metrics()
    holdout = {
        "layout": HOLDOUT_LAYOUT,
        "calibration_end": calibration_end.date().isoformat(),
        "holdout_days": holdout_days,
        "customers": len(summary),
        **{k: chosen[k] for k in _HOLDOUT_KEYS},
    }
    return comparison, holdout, summary


_HOLDOUT_KEYS = (
    "predicted_repeat_purchases",
    "actual_repeat_purchases",
    "aggregate_error_percent",
    "rmse",
    "mean_absolute_error",
    "correlation",
    "by_calibration_frequency",
)


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
    """Compare the purchase models on a holdout, fit the best on all the data, score every
    customer and store it all as one model run.

    ``store`` writes the run when given (``session`` then only reads), as in
    :func:`~soloist.domain.scoring.churn.score_churn_risk`. Nothing is written before the
    models are fitted, so a write transaction begins only for the short write at the end.
    """
    opts = options or AnalyzeOptions()
    report = progress or no_progress
    if opts.model is not None and opts.model not in PURCHASE_MODELS:
        raise UsageError(
            f"Unknown model {opts.model!r}; use one of {', '.join(PURCHASE_MODELS)}.", field="model"
        )
    if not 0 <= opts.annual_discount_rate < 1:
        raise ValidationError(
            f"The discount rate is a yearly rate from 0 to 1, not {opts.annual_discount_rate}.",
            field="annual_discount_rate",
        )
    names = list(PURCHASE_MODELS) if opts.model is None else [opts.model]
    orders = load_paid_orders(session, currency, rates=opts.rates)
    if orders.empty:
        if session.scalar(
            select(Subscription.id).where(Subscription.currency == currency).limit(1)
        ):
            return analyze_subscriptions(
                session,
                currency,
                actor,
                end_date=opts.observation_end,
                annual_discount_rate=opts.annual_discount_rate,
                progress=report,
                store=store,
            )
        raise ValidationError(explain_missing_orders(session, currency, opts.rates))
    end = observation_end(orders, opts.observation_end)
    orders = orders[orders["ordered_at"] <= end]
    span_days = (end.normalize() - orders["ordered_at"].min().normalize()).days
    holdout_days = choose_holdout_days(span_days, opts.holdout_days)
    report("comparing models on the holdout", 0, 3)
    comparison, holdout, holdout_summary = _holdout_check(orders, names, holdout_days, end)
    if opts.plots_dir is not None:
        holdout["plots"] = _save_plots(
            opts.plots_dir, comparison.fits[comparison.chosen].model, holdout_summary, orders, end
        )
    report("fitting models", 1, 3)
    summary = rfm_summary(orders, "customer_id", "ordered_at", "amount", observation_end=end)
    fit = fit_purchase_model(comparison.chosen, summary)
    purchase = fit.model
    spend_model, spend_note = fit_spend_model(summary, orders)
    margin = _gross_margin(orders)
    monthly_rate = (1.0 + opts.annual_discount_rate) ** (1 / 12) - 1.0
    scores = score_summary(
        purchase, spend_model, summary, opts.horizon_months, monthly_rate, margin
    )
    p_alive, expected_90, spend, clv = (
        scores[name] for name in ("p_alive", "expected_90", "spend", "clv")
    )
    no_churn_note = _no_sign_of_churn(p_alive)
    if no_churn_note:
        p_alive[:] = np.nan
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
    # Whole columns as Python values first (indexing NumPy arrays a value at a time cost more
    # than the insert); no reasons (the column's default, one {} for every row).
    rows = (
        {
            "model_run_id": run.id,
            "customer_id": cid,
            "p_alive": alive if math.isfinite(alive) else None,
            "expected_purchases_90d": expected,
            "clv_12m_minor": round(value * per_unit),
            "spend_estimate_minor": round(estimate * per_unit),
        }
        for cid, alive, expected, value, estimate in zip(
            summary.index.to_numpy(dtype=np.int64).tolist(),
            np.asarray(p_alive, dtype=np.float64).tolist(),
            np.asarray(expected_90, dtype=np.float64).tolist(),
            np.asarray(clv, dtype=np.float64).tolist(),
            np.asarray(spend, dtype=np.float64).tolist(),
            strict=True,
        )
    )
    with collection_paused():  # rows made by the thousand: no collector walking them
        insert_made_rows(session, CustomerScore, rows, actor, f"clv run {run.id}")
    refresh_statistics(session)  # a run's scores: statistics for the planner
    pooled = comparison.chosen == POOLED
    pooled_note = (
        {"code": "pooled_rate", "count": metrics_repeaters(summary), "text": comparison.reason}
        if pooled
        else None
    )
    alive_note = (
        None if pooled else no_churn_note or _one_time_buyers_note(comparison.chosen, summary)
    )
    notes = [n for n in (pooled_note, spend_note, alive_note) if n]
    run.params = {
        "purchase_model": comparison.chosen,
        "model_choice": comparison.reason,
        "purchase_penalizer": fit.penalizer,
        "purchase": _rounded(purchase.params_),
        "purchase_standard_errors": _rounded(getattr(purchase, "standard_errors_", {}) or {}),
        "spend_model": "gamma-gamma" if isinstance(spend_model, GammaGammaModel) else "pooled-mean",
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
        # the orders in other currencies counted, at these rates (live rescoring counts alike)
        "rates": {code: str(rate) for code, rate in sorted(opts.rates.items())},
        "notes": notes,
        "p_alive_blank": bool(no_churn_note),
    }
    known_alive = p_alive[np.isfinite(p_alive)]
    run.metrics = {
        "log_likelihood": round(float(purchase.log_likelihood_), 3),
        "spend_log_likelihood": _finite_or_none(spend_model.log_likelihood_),
        "customers": len(summary),
        "repeat_customers": int((summary["frequency"] > 0).sum()),
        "orders": len(orders),
        "holdout": holdout,
        "model_comparison": {
            "chosen": comparison.chosen,
            "reason": comparison.reason,
            "tie_break": comparison.tie_break,
            "candidates": {
                name: {k: v for k, v in c.items() if k != "by_calibration_frequency"}
                for name, c in comparison.candidates.items()
            },
            "failed": comparison.failed,
        },
        "total_clv_12m": round(float(clv.sum()), 2),
        "mean_p_alive": round(float(known_alive.mean()), 4) if known_alive.size else None,
    }
    run.status = "succeeded"
    run.finished_at = dt.datetime.now(dt.UTC)
    record_audit(session, actor, "model_run.finished", "model_run", run.id, {"kind": "clv"})
    report("done", 3, 3)
    return run


def metrics_repeaters(summary: pd.DataFrame) -> int:
    return int((summary["frequency"] > 0).sum())


def _one_time_buyers_note(model: str, summary: pd.DataFrame) -> dict[str, Any] | None:
    once = int((summary["frequency"] == 0).sum())
    if model in ALIVE_FOR_ONE_TIME_BUYERS or not once:
        return None
    return {
        "code": "one_time_buyers_unknown",
        "count": once,
        "text": f"{model} assumes nobody leaves before buying again, so it cannot say whether "
        f"the {once:,} one-time buyers are still active: their probability is left blank",
    }


def _no_sign_of_churn(p_alive: np.ndarray) -> dict[str, Any] | None:
    """A probability that is 100 % for (nearly) everyone tells nothing: the fitted dropout is
    so small that a customer who left cannot be told from one who buys rarely (a growing
    shop's first year, say). Then no P(alive) is shown rather than "100 % still active" to
    every lapsed customer; expected purchases and CLV remain."""
    known = p_alive[np.isfinite(p_alive)]
    if known.size == 0 or float(np.quantile(known, 0.05)) < NO_CHURN_SIGN_P_ALIVE:
        return None
    return {
        "code": "no_sign_of_churn",
        "text": "the data show no sign of customers leaving yet (the model gives 95% of the "
        f"customers at least {NO_CHURN_SIGN_P_ALIVE:.0%} probability of still buying), so the "
        "probability still active is left blank; see the churn risk for who is slipping away",
    }


def _finite_or_none(value: float) -> float | None:
    return round(float(value), 3) if math.isfinite(float(value)) else None


def score_summary(
    purchase: Any,
    spend_model: Any,
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
    # As arrays: the models check and convert Series on every call, and the CLV sum calls
    # them once a month of the horizon (most of the time of one customer scored again).
    x, tx, big_t, m = (
        summary[c].to_numpy(dtype=np.float64)
        for c in ("frequency", "recency", "T", "monetary_value")
    )
    spend_basis = np.where(x > 0, m, 0.0)
    p_alive = np.array(purchase.probability_alive(x, tx, big_t), dtype=float)
    if type(purchase).__name__ not in _ALIVE_MODEL_CLASSES:
        # BG/NBD's P(alive) is 1 for every one-time buyer by assumption, not by evidence.
        p_alive[np.asarray(x) == 0] = np.nan
    spend = np.asarray(spend_model.conditional_expected_average_profit(x, spend_basis), dtype=float)
    return {
        "p_alive": p_alive,
        "expected_90": np.asarray(purchase.expected_purchases(90, x, tx, big_t), dtype=float),
        "spend": spend,
        "clv": discounted_purchase_value(
            purchase,
            spend,
            x,
            tx,
            big_t,
            time=horizon_months,
            discount_rate=monthly_rate,
            margin=margin,
            freq="D",
        ),
    }


_ALIVE_MODEL_CLASSES = frozenset(
    PURCHASE_MODELS[name].__name__ for name in ALIVE_FOR_ONE_TIME_BUYERS
)


def _rounded(params: dict[str, Any]) -> dict[str, float]:
    return {k: round(float(v), 6) for k, v in params.items() if math.isfinite(float(v))}


def latest_run(session: Session, kind: str = "clv") -> ModelRun | None:
    return session.scalar(
        select(ModelRun)
        .where(ModelRun.kind == kind, ModelRun.status == "succeeded")
        .order_by(ModelRun.id.desc())
        .limit(1)
    )
