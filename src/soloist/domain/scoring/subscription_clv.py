"""Customer value of a subscription business: `soloist analyze` where the workspace has
subscriptions and no paid orders (a Telco-style book of contracts).

Retention follows the shifted-beta-geometric model (Fader & Hardie 2007, "How to project
customer retention"), fitted to every subscription's lifetime in whole billing periods with
right-censoring for those still running, per billing interval. A subscriber who has paid ``n``
periods renews ``k`` more with probability ``S(n+k) / S(n) = B(α, β+n+k) / B(α, β+n)``
(Fader & Hardie 2010, "Customer-base valuation in a contractual setting", eq. 6's terms), so:

* ``expected_purchases_90d`` — the expected renewals falling due in the next 90 days;
* ``clv_12m`` — Σ price · margin · S(n+k)/S(n) / (1+d)^k over the renewals due within 12
  months, d the discount rate per billing period;
* ``p_alive`` — 1 while a subscription runs, 0 after the last one was cancelled: in a contract
  this is observed, not estimated.

**The check.** A book may be a snapshot, with no later window to hold out. Instead the
subscriptions are split into five folds; the model fitted on four predicts, for each
subscription of the fifth, its expected cancellations over the periods it was watched (the
sum of the hazards ``1 - r_t``), and the total is compared with the cancellations that
happened.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import numpy as np
import pandas as pd
from scipy import special
from sklearn.model_selection import KFold
from sqlalchemy import select
from sqlalchemy.orm import Session

from soloist.analytics import ShiftedBetaGeometricModel, fit_sbg_censored
from soloist.analytics.errors import AnalyticsError
from soloist.domain._progress import Progress, no_progress
from soloist.domain.audit import insert_rows, record_audit
from soloist.domain.scoring.dates import checked_end_date, end_of_day
from soloist.errors import ValidationError
from soloist.money import minor_to_decimal, minor_units_per_unit
from soloist.storage.models import CustomerScore, ModelRun, Subscription
from soloist.storage.planner import refresh_statistics

PERIOD_MONTHS = {"month": 1, "quarter": 3, "year": 12}
PERIODS_PER_YEAR = {"week": 52, "month": 12, "quarter": 4, "year": 1}
MIN_SUBSCRIPTIONS = 30
ENDED = ("cancelled", "canceled", "expired", "ended")
FOLDS = 5


def load_subscriptions(session: Session, currency: str) -> pd.DataFrame:
    """Subscriptions billed in ``currency``: customer, start, cancellation, price, interval."""
    rows = session.execute(
        select(
            Subscription.customer_id,
            Subscription.started_at,
            Subscription.cancelled_at,
            Subscription.price_minor,
            Subscription.billing_interval,
            Subscription.status,
        ).where(Subscription.currency == currency)
    ).all()
    frame = pd.DataFrame(
        rows, columns=["customer_id", "started_at", "cancelled_at", "price", "interval", "status"]
    )
    for column in ("started_at", "cancelled_at"):
        frame[column] = pd.to_datetime(frame[column], utc=True).dt.tz_localize(None)
    frame["price"] = frame["price"].astype("float64") * float(minor_to_decimal(1, currency))
    return frame


def _whole_periods(start: pd.Timestamp, end: pd.Timestamp, interval: str) -> tuple[int, bool]:
    """Whole billing periods from ``start`` to ``end``, and whether a part period follows."""
    if interval == "week":
        days = (end - start).days
        return days // 7, days % 7 > 0 or end.time() > start.time()
    months = (end.year - start.year) * 12 + end.month - start.month
    if (end.day, end.time()) < (start.day, start.time()):
        months -= 1
    whole = months // PERIOD_MONTHS[interval]
    return whole, start + pd.DateOffset(months=whole * PERIOD_MONTHS[interval]) < end


def lifetimes(subscriptions: pd.DataFrame, end: pd.Timestamp) -> pd.DataFrame:
    """Each subscription's length in whole periods as of ``end``, whether it was cancelled,
    and the periods it had lasted when cancellations began to be observed (``entry``): a
    cancelled one lasted into the period it ended in (at least 1); a running one has paid
    every period begun (its renewals so far)."""
    started = subscriptions[subscriptions["started_at"] <= end].copy()
    cancelled = started["cancelled_at"].notna() & (started["cancelled_at"] <= end)
    periods = []
    for row, gone in zip(started.itertuples(), cancelled, strict=True):
        whole, part = _whole_periods(
            row.started_at, row.cancelled_at if gone else end, row.interval
        )
        periods.append(max(1, whole + part) if gone else whole)
    started["periods"] = np.asarray(periods, dtype=np.int64)
    started["cancelled"] = cancelled.to_numpy()
    # Cancellations are observed from the first one recorded: a subscription that began
    # before it enters observation then (left truncation), so a book that lists only who left
    # last month is not read as years in which nobody left.
    watched_from = started.loc[cancelled, "cancelled_at"].min()
    entry = [
        min(_whole_periods(row.started_at, watched_from, row.interval)[0], row.periods - gone)
        if pd.notna(watched_from) and row.started_at < watched_from
        else 0
        for row, gone in zip(started.itertuples(), cancelled.astype(int), strict=True)
    ]
    started["entry"] = np.maximum(np.asarray(entry, dtype=np.int64), 0)
    return started


GEOMETRIC_SCALE = 1e6  # α + β of an sBG with (practically) no heterogeneity


def fit_retention(book: pd.DataFrame) -> tuple[ShiftedBetaGeometricModel, bool]:
    """The sBG fitted to ``book``; where α and β run off together (subscribers all alike),
    its geometric limit: one churn rate θ = cancellations / periods watched, as an sBG with
    α = θK, β = (1 − θ)K for a large K. The flag says which."""
    try:
        return fit_sbg_censored(book["periods"], book["cancelled"], book["entry"]), False
    except AnalyticsError as exc:
        watched = float((book["periods"] - book["entry"]).sum())
        cancelled = float(book["cancelled"].sum())
        if "extreme" not in str(exc) or not 0 < cancelled < watched:
            raise
    rate = cancelled / watched
    model = ShiftedBetaGeometricModel()
    model.params_ = {"alpha": rate * GEOMETRIC_SCALE, "beta": (1 - rate) * GEOMETRIC_SCALE}
    return model, True


def _expected_cancellations(
    model: ShiftedBetaGeometricModel, entry: np.ndarray, periods: np.ndarray
) -> np.ndarray:
    """Each subscription's expected number of cancellations over the periods it was watched
    at risk, entry+1 … periods: Σ (1 - r_t), the hazard of FH07 eq. 9. Summed over a book it
    must match the cancellations seen, whatever the mix of tenures."""
    a, b = model.params_["alpha"], model.params_["beta"]
    # Σ_{t=e+1}^{n} a / (a + b + t - 1) = a · (ψ(a+b+n) − ψ(a+b+e))
    return a * (special.digamma(a + b + periods) - special.digamma(a + b + entry))


def cross_validated_check(book: pd.DataFrame, random_state: int = 0) -> dict[str, Any]:
    """Predicted against actual cancellations over the periods each subscription was watched,
    every subscription predicted by a model fitted without it (5 folds)."""
    predicted = np.zeros(len(book))
    folds = KFold(n_splits=FOLDS, shuffle=True, random_state=random_state).split(book)
    for train, test in folds:
        part = book.iloc[train]
        model, _ = fit_retention(part)
        predicted[test] = _expected_cancellations(
            model, book["entry"].to_numpy()[test], book["periods"].to_numpy()[test]
        )
    actual = book["cancelled"].to_numpy(dtype=np.float64)
    total = float(actual.sum())
    return {
        "layout": "5-fold cross-validation over subscriptions: the cancellations over the "
        "periods each subscription was watched, predicted by a model fitted without it",
        "subscriptions": len(book),
        "predicted_cancellations": round(float(predicted.sum()), 1),
        "actual_cancellations": int(total),
        "aggregate_error_percent": round(100 * (float(predicted.sum()) - total) / total, 2)
        if total
        else None,
        "rmse": round(float(np.sqrt(np.mean((predicted - actual) ** 2))), 4),
    }


def billing_period(interval: str) -> pd.DateOffset:
    """One billing period of ``interval`` (week, month, quarter, year) as a calendar offset."""
    if interval == "week":
        return pd.DateOffset(weeks=1)
    return pd.DateOffset(months=PERIOD_MONTHS[interval])


def _renewals_due(row: Any, end: pd.Timestamp, days: int) -> int:
    """How many renewals of a running subscription fall due within ``days`` after ``end``."""
    step = billing_period(row.interval)
    due, count, horizon = (
        row.started_at + step * (int(row.periods) + 1),
        0,
        end + pd.Timedelta(days=days),
    )
    while due <= horizon:
        count += 1
        due += step
    return count


def value_of_running(
    model: ShiftedBetaGeometricModel,
    book: pd.DataFrame,
    end: pd.Timestamp,
    annual_discount_rate: float,
    margin: float = 1.0,
) -> pd.DataFrame:
    """Expected renewals in 90 days and 12-month CLV of each running subscription."""
    a, b = model.params_["alpha"], model.params_["beta"]
    rows = []
    for row in book.itertuples():
        n = float(row.periods)
        rate = (1.0 + annual_discount_rate) ** (1.0 / PERIODS_PER_YEAR[row.interval]) - 1.0
        k90 = np.arange(1, _renewals_due(row, end, 90) + 1, dtype=np.float64)
        k12 = np.arange(1, _renewals_due(row, end, 365) + 1, dtype=np.float64)
        # S(n+k)/S(n) = B(α, β+n+k) / B(α, β+n)
        keep90 = np.exp(special.betaln(a, b + n + k90) - special.betaln(a, b + n))
        keep12 = np.exp(special.betaln(a, b + n + k12) - special.betaln(a, b + n))
        rows.append(
            {
                "customer_id": row.customer_id,
                "expected_90": float(keep90.sum()),
                "clv": float(row.price * margin * (keep12 / (1.0 + rate) ** k12).sum()),
                "spend": float(row.price),
            }
        )
    return pd.DataFrame(rows, columns=["customer_id", "expected_90", "clv", "spend"])


def analyze_subscriptions(
    session: Session,
    currency: str,
    actor: str,
    *,
    end_date: dt.date | None = None,
    annual_discount_rate: float = 0.10,
    progress: Progress | None = None,
    store: Session | None = None,
) -> ModelRun:
    """Fit the sBG per billing interval, check it, score every subscriber, store the run."""
    report = progress or no_progress
    end_date = checked_end_date(end_date)
    subscriptions = load_subscriptions(session, currency)
    if subscriptions.empty:
        raise ValidationError(f"There are no paid orders and no subscriptions in {currency}.")
    # Ended without a date (a status "cancelled" and no cancellation day): their length is
    # unknown, so they are left out of the fit; their customers are not counted as running.
    undated = subscriptions["cancelled_at"].isna() & subscriptions["status"].isin(ENDED)
    ended_customers = set(subscriptions.loc[undated, "customer_id"])
    subscriptions = subscriptions[~undated]
    events = pd.concat([subscriptions["started_at"], subscriptions["cancelled_at"].dropna()])
    last = events.max()
    end = end_of_day(end_date) if end_date is not None else last
    if end_date is not None and end_date > last.date():
        raise ValidationError(
            f"The end date {end_date:%Y-%m-%d} is after the book's last recorded start or "
            f"cancellation ({last:%Y-%m-%d}): the months after it would count as months in "
            "which nobody left.",
            field="end_date",
        )
    if end < subscriptions["started_at"].min():
        raise ValidationError(
            f"The end date {end:%Y-%m-%d} is before the first subscription started "
            f"({subscriptions['started_at'].min():%Y-%m-%d}).",
            field="end_date",
        )
    report("fitting retention", 0, 3)
    book = lifetimes(subscriptions, end)
    fits: dict[str, Any] = {}
    checks: dict[str, Any] = {}
    skipped: dict[str, str] = {}
    constant_hazard: list[str] = []
    values = []
    for interval, group in book.groupby("interval"):
        name = str(interval)
        if len(group) < MIN_SUBSCRIPTIONS:
            skipped[name] = f"only {len(group)} subscriptions (at least {MIN_SUBSCRIPTIONS})"
            continue
        try:
            model, constant = fit_retention(group)
            checks[name] = cross_validated_check(group)
        except AnalyticsError as exc:
            skipped[name] = str(exc)
            continue
        if constant:
            constant_hazard.append(name)
        fits[name] = {k: float(v) for k, v in model.params_.items()}
        running = group[~group["cancelled"]]
        values.append(value_of_running(model, running, end, annual_discount_rate))
    if not fits:
        raise ValidationError(
            "The retention model could not be fitted to any billing interval: "
            + "; ".join(f"{k}: {v}" for k, v in skipped.items())
        )
    report("scoring", 1, 3)
    scored = (
        pd.concat(values).groupby("customer_id").sum()
        if values
        else pd.DataFrame(columns=["expected_90", "clv", "spend"])
    )
    everyone = sorted(set(book["customer_id"]) | ended_customers)
    running_customers = set(book.loc[~book["cancelled"], "customer_id"])
    session = store or session
    run = ModelRun(
        kind="clv",
        status="running",
        data_start=subscriptions["started_at"].min().to_pydatetime().replace(tzinfo=dt.UTC),
        data_end=end.to_pydatetime().replace(tzinfo=dt.UTC),
        params={},
        metrics={},
    )
    session.add(run)
    session.flush()
    per_unit = minor_units_per_unit(currency)
    rows: list[dict[str, Any]] = []
    for cid in everyone:
        valued = cid in scored.index  # running, in a billing interval the model covers
        rows.append(
            {
                "model_run_id": run.id,
                "customer_id": int(cid),
                # observed, not estimated: a subscription of theirs still runs
                "p_alive": 1.0 if cid in running_customers else 0.0,
                "expected_purchases_90d": float(scored.at[cid, "expected_90"])
                if valued
                else (None if cid in running_customers else 0.0),
                "clv_12m_minor": round(float(scored.at[cid, "clv"]) * per_unit)
                if valued
                else (None if cid in running_customers else 0),
                "spend_estimate_minor": round(float(scored.at[cid, "spend"]) * per_unit)
                if valued
                else None,
                "reasons": {},
            }
        )
    report("storing scores", 2, 3)
    insert_rows(session, CustomerScore, rows, actor, f"clv run {run.id}")
    refresh_statistics(session)  # a run's scores: statistics for the planner
    main = max(checks, key=lambda k: checks[k]["subscriptions"])
    run.params = {
        "basis": "subscriptions",
        "purchase_model": "sbg",
        "model_choice": "no paid orders: the retention of the subscriptions (shifted-beta-"
        "geometric, Fader & Hardie 2007) per billing interval",
        "purchase": {k: round(v, 6) for k, v in fits[main].items()},
        "fit": {"by_interval": fits},
        "annual_discount_rate": annual_discount_rate,
        "horizon_months": 12,
        "currency": currency,
        "notes": [
            {"code": "interval_skipped", "text": f"{k} subscriptions not modelled: {v}"}
            for k, v in skipped.items()
        ]
        + [
            {
                "code": "constant_retention",
                "text": f"{k} subscriptions: every subscriber seems to leave at the same rate, "
                "whatever their tenure, so one rate is used (the geometric limit of the model)",
            }
            for k in constant_hazard
        ],
    }
    run.metrics = {
        "customers": len(everyone),
        "running": len(running_customers),
        "subscriptions": len(book),
        "cancelled": int(book["cancelled"].sum()),
        "holdout": checks[main],
        "by_interval": checks,
        "total_clv_12m": round(float(scored["clv"].sum()) if len(scored) else 0.0, 2),
        "mean_p_alive": round(len(running_customers) / len(everyone), 4) if everyone else None,
    }
    run.status = "succeeded"
    run.finished_at = dt.datetime.now(dt.UTC)
    record_audit(session, actor, "model_run.finished", "model_run", run.id, {"kind": "clv"})
    report("done", 3, 3)
    return run


def renewal_payments(
    session: Session, currency: str, end: pd.Timestamp | None = None
) -> pd.DataFrame:
    """Each subscription's payments as purchases (``customer_id``, ``date``, ``amount``): one
    at the start of every billing period begun by ``end`` (default: the book's last event)
    and before its cancellation. A subscription business's recency, frequency and spend, for
    the RFM segments and clusters of a workspace without orders."""
    subscriptions = load_subscriptions(session, currency)
    if subscriptions.empty:
        return pd.DataFrame(columns=["customer_id", "date", "amount"])
    if end is None:
        end = pd.concat([subscriptions["started_at"], subscriptions["cancelled_at"].dropna()]).max()
    book = lifetimes(subscriptions, end)
    rows: list[tuple[Any, pd.Timestamp, float]] = []
    for row in book.itertuples():
        step = billing_period(row.interval)
        paid = max(int(row.periods), 1) if row.cancelled else int(row.periods) + 1
        rows.extend((row.customer_id, row.started_at + step * k, row.price) for k in range(paid))
    return pd.DataFrame(rows, columns=["customer_id", "date", "amount"])
