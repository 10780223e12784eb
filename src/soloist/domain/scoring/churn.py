"""Churn risk, next purchase and satisfaction drivers of the workspace, stored as a model run.

``score_churn_risk`` compares the churn models on a time-split holdout (see
:mod:`soloist.analytics.churn`), scores every customer with the best one, adds the subscription
view when the workspace has subscriptions, compares CLV models on the holdout and estimates the
drivers of CSAT and NPS. It stores one ``model_runs`` row (kind ``churn``) holding the whole
comparison, and one ``customer_scores`` row per customer with ``churn_risk``,
``next_purchase_days`` and the reasons in plain words.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import numpy as np
import pandas as pd
from sqlalchemy import select
from sqlalchemy.orm import Session

from soloist.analytics.churn import score_churn
from soloist.analytics.drivers import satisfaction_drivers
from soloist.analytics.errors import AnalyticsError
from soloist.analytics.next_purchase import compare_clv_models
from soloist.analytics.subscription_churn import score_subscription_churn
from soloist.domain._progress import Progress, no_progress
from soloist.domain.audit import insert_rows, record_audit
from soloist.domain.scoring.reasons import Reason, stored_reasons
from soloist.domain.scoring.segments import load_transactions
from soloist.errors import ValidationError
from soloist.money import minor_to_decimal
from soloist.storage.models import (
    CustomerScore,
    ModelRun,
    Subscription,
    SurveyResponse,
    Ticket,
)

CHUNK = 20_000


def _subscriptions(session: Session) -> pd.DataFrame:
    rows = session.execute(
        select(
            Subscription.id, Subscription.customer_id, Subscription.started_at,
            Subscription.cancelled_at, Subscription.price_minor, Subscription.currency,
            Subscription.billing_interval, Subscription.plan,
        )
    ).all()  # fmt: skip
    frame = pd.DataFrame(
        rows,
        columns=["id", "customer_id", "started_at", "cancelled_at", "price_minor", "currency",
                 "billing_interval", "plan"],
    ).set_index("id")  # fmt: skip
    frame["price"] = [
        float(minor_to_decimal(int(p), c))
        for p, c in zip(frame["price_minor"], frame["currency"], strict=True)
    ]
    return frame


def satisfaction_driver_tables(session: Session, orders: pd.DataFrame) -> dict[str, Any]:
    """Drivers of CSAT (per ticket) and NPS (per customer), each a ranked list or a message."""
    surveys = pd.DataFrame(
        session.execute(
            select(SurveyResponse.customer_id, SurveyResponse.kind, SurveyResponse.score,
                   SurveyResponse.responded_at).where(SurveyResponse.customer_id.is_not(None))
        ).all(),
        columns=["customer_id", "kind", "score", "responded_at"],
    )  # fmt: skip
    tickets = pd.DataFrame(
        session.execute(
            select(Ticket.customer_id, Ticket.category, Ticket.priority, Ticket.opened_at,
                   Ticket.first_response_at, Ticket.resolved_at)
            .where(Ticket.customer_id.is_not(None))
        ).all(),
        columns=["customer_id", "category", "priority", "opened_at", "first_response_at",
                 "resolved_at"],
    )  # fmt: skip
    per_customer = orders.groupby("customer_id")["amount"].agg(["mean", "size"])
    per_customer.columns = ["average_order_value", "orders"]
    results: dict[str, Any] = {}
    for col in ("responded_at",):
        surveys[col] = pd.to_datetime(surveys[col], utc=True)
    for col in ("opened_at", "first_response_at", "resolved_at"):
        tickets[col] = pd.to_datetime(tickets[col], utc=True)
    csat = surveys[surveys["kind"] == "csat"].sort_values("responded_at")
    if not csat.empty and not tickets.empty:
        tickets = tickets.dropna(subset=["resolved_at"]).sort_values("resolved_at")
        linked = pd.merge_asof(
            csat, tickets, left_on="responded_at", right_on="resolved_at", by="customer_id",
            direction="backward",
        )  # fmt: skip
        hour = pd.Timedelta(hours=1)
        frame = pd.DataFrame(
            {
                "csat": linked["score"].astype(np.float64),
                "response_hours": (linked["first_response_at"] - linked["opened_at"]) / hour,
                "resolution_hours": (linked["resolved_at"] - linked["opened_at"]) / hour,
                "ticket_category": linked["category"],
                "priority": linked["priority"],
                "average_order_value": linked["customer_id"].map(
                    per_customer["average_order_value"]
                ),
            }
        )
        results["csat"] = _drivers(frame, "csat")
    nps = surveys[surveys["kind"] == "nps"]
    if not nps.empty:
        ticket_counts = tickets["customer_id"].value_counts()
        frame = pd.DataFrame(
            {
                "nps": nps["score"].astype(np.float64).to_numpy(),
                "average_order_value": nps["customer_id"].map(per_customer["average_order_value"]),
                "orders": nps["customer_id"].map(per_customer["orders"]).astype(np.float64),
                "tickets": nps["customer_id"].map(ticket_counts).fillna(0).astype(np.float64),
            }
        )
        results["nps"] = _drivers(frame, "nps")
    return results


def _drivers(frame: pd.DataFrame, outcome: str) -> dict[str, Any]:
    try:
        table = satisfaction_drivers(frame, outcome)
    except AnalyticsError as exc:
        return {"message": str(exc), "drivers": []}
    drivers = [
        {k: (None if isinstance(v, float) and not np.isfinite(v) else v) for k, v in row.items()}
        for row in table.assign(
            effect=table["effect"].round(4), ci_lower=table["ci_lower"].round(4),
            ci_upper=table["ci_upper"].round(4), std_error=table["std_error"].round(4),
            p_value=table["p_value"].round(5), significant=table["significant"].astype(bool),
        ).to_dict(orient="records")
    ]  # fmt: skip
    return {"n": table.attrs["n"], "r2": round(table.attrs["r2"], 4), "drivers": drivers}


def score_churn_risk(
    session: Session,
    currency: str,
    actor: str,
    *,
    horizon_days: int = 90,
    random_state: int = 0,
    progress: Progress | None = None,
    store: Session | None = None,
) -> ModelRun:
    """Compare churn models, score every customer, store the run; returns the run.

    ``store`` writes the run when given (``session`` then only reads): the background refit
    reads and fits with no write lock held, and writes in a short transaction at the end.
    """
    reader = session
    session = store or session
    report = progress or no_progress
    if horizon_days < 7:
        raise ValidationError("The horizon must be at least 7 days.", field="horizon_days")
    orders, end = load_transactions(reader, currency)
    report("comparing churn models", 0, 4)
    churn = score_churn(orders, end, horizon_days=horizon_days, random_state=random_state)
    report("comparing CLV models", 1, 4)
    clv = compare_clv_models(orders, end, horizon_days=horizon_days, random_state=random_state)
    report("subscriptions and satisfaction", 2, 4)
    subscription_summary: dict[str, Any] | None = None
    subscription_reasons: dict[int, list[Reason]] = {}
    subs = _subscriptions(reader)
    if len(subs) >= 20:
        try:
            sub = score_subscription_churn(subs, end, horizon_days=horizon_days)
            subscription_summary = sub.summary()
            for _, row in sub.scores.iterrows():
                subscription_reasons[int(row["customer_id"])] = _subscription_reasons(row)
        except AnalyticsError as exc:
            subscription_summary = {"message": str(exc)}
    drivers = satisfaction_driver_tables(reader, orders)
    run = ModelRun(
        kind="churn",
        status="running",
        data_start=orders["date"].min().to_pydatetime().replace(tzinfo=dt.UTC),
        data_end=end.to_pydatetime().replace(tzinfo=dt.UTC),
        params={
            "horizon_days": horizon_days,
            "random_state": random_state,
            "currency": currency,
            # The chosen scorer, to score one customer again between runs (scoring/live.py).
            "scorer": churn.scorer_state,
        },
        metrics={},
    )
    session.add(run)
    session.flush()
    report("storing scores", 3, 4)
    scores = churn.scores
    rows = []
    for cid, risk, nxt, reasons in zip(
        scores.index, scores["churn_risk"], scores["next_purchase_days"], scores["reasons"],
        strict=True,
    ):  # fmt: skip
        why = {"churn": [Reason.from_stored(r) for r in reasons]}
        if int(cid) in subscription_reasons:
            why["subscription"] = subscription_reasons[int(cid)]
        rows.append(
            {
                "model_run_id": run.id,
                "customer_id": int(cid),
                "churn_risk": round(float(risk), 6),
                "next_purchase_days": _finite(nxt),
                "reasons": stored_reasons(why),
            }
        )
    for start in range(0, len(rows), CHUNK):
        insert_rows(session, CustomerScore, rows[start : start + CHUNK], actor, f"churn {run.id}")
    risk = scores["churn_risk"].to_numpy()
    run.metrics = {
        **churn.summary(),
        "mean_churn_risk": round(float(risk.mean()), 4),
        "high_risk_customers": int((risk >= 0.7).sum()),
        "clv_comparison": clv,
        "subscription": subscription_summary,
        "satisfaction_drivers": drivers,
    }
    run.status = "succeeded"
    run.finished_at = dt.datetime.now(dt.UTC)
    record_audit(session, actor, "model_run.finished", "model_run", run.id, {"kind": "churn"})
    report("done", 4, 4)
    return run


def _finite(value: Any) -> float | None:
    v = float(value)
    return round(v, 3) if np.isfinite(v) else None


def _subscription_reasons(row: Any) -> list[Reason]:
    """The subscription model's risk and expected remaining periods, then its own reasons."""
    risk = float(row["churn_risk"])
    reasons = [
        Reason(
            feature="subscription_risk",
            text=f"{risk:.0%} risk of cancelling within the horizon",
            value=round(risk, 4),
        )
    ]
    remaining = _finite(row["expected_remaining_periods"])
    if remaining is not None:
        reasons.append(
            Reason(
                feature="expected_remaining_periods",
                text=f"about {remaining:.1f} more billing periods expected",
                value=remaining,
            )
        )
    reasons.extend(Reason.from_stored(r) for r in row["reasons"])
    return reasons
