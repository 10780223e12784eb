"""Churn risk, next purchase and satisfaction drivers of the workspace, stored as a model run.

``score_churn_risk`` compares the churn models on a time-split holdout (see
:mod:`soloist.analytics.churn`), scores every customer with the best one, adds the subscription
view when the workspace has subscriptions, compares CLV models on the holdout and estimates the
drivers of CSAT and NPS. It stores one ``model_runs`` row (kind ``churn``) holding the whole
comparison, and one ``customer_scores`` row per customer with ``churn_risk``,
``next_purchase_days`` and the reasons in plain words.

Every model is tried on its own: one that cannot be fitted is listed under ``failed`` with its
reason and the others still report. A subscription business needs no paid orders: with none
(or too few to learn from), the subscription model scores the subscribers and the run says so
(``basis``: ``orders`` or ``subscriptions``); subscribers without paid orders get the
subscription model's risk in a workspace that has both.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterator
from typing import Any, cast

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
from soloist.domain.audit import insert_made_rows, record_audit
from soloist.domain.currencies import Rates
from soloist.domain.scoring.dates import end_of_day
from soloist.domain.scoring.reasons import FEEDBACK_FEATURE, Reason, stored_form, stored_reasons
from soloist.domain.scoring.segments import load_transactions
from soloist.errors import ValidationError
from soloist.money import minor_to_decimal
from soloist.storage.bulk import collection_paused
from soloist.storage.models import (
    Customer,
    CustomerScore,
    ModelRun,
    Subscription,
    SurveyResponse,
    Ticket,
)
from soloist.storage.planner import refresh_statistics

CHUNK = 20_000
#: fewer subscriptions than this are not enough to learn anything from
MIN_SUBSCRIPTIONS = 20


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


def customer_fields(session: Session, customer_ids: Any) -> pd.DataFrame | None:
    """The customers' own fields (``custom_fields``) as columns, indexed by customer id: numbers
    where every given value is one, text otherwise; None when nobody has any."""
    ids = sorted({int(c) for c in customer_ids})
    records: dict[int, dict[str, Any]] = {}
    for start in range(0, len(ids), CHUNK):
        part = ids[start : start + CHUNK]
        rows = session.execute(
            select(Customer.id, Customer.custom_fields).where(Customer.id.in_(part))
        ).all()
        for row in rows:
            cid, fields = cast(tuple[int, dict[str, Any] | None], tuple(row))
            if fields:
                records[cid] = {str(k): v for k, v in fields.items()}
    if not records:
        return None
    frame = pd.DataFrame.from_dict(records, orient="index")
    for col in frame.columns:
        numbers = pd.to_numeric(frame[col], errors="coerce")
        given = frame[col].notna() & (frame[col].astype("string").str.strip() != "")
        if bool(numbers[given].notna().all()):
            frame[col] = numbers.astype(np.float64)
        else:
            frame[col] = frame[col].astype("string")
    return frame


def satisfaction_driver_tables(
    session: Session, orders: pd.DataFrame, until: pd.Timestamp | None = None
) -> dict[str, Any]:
    """Drivers of CSAT (per ticket) and NPS (per customer), each a ranked list or a message;
    with ``until`` (naive UTC), only the answers and tickets before it."""
    survey_query = select(
        SurveyResponse.customer_id, SurveyResponse.kind, SurveyResponse.score,
        SurveyResponse.responded_at,
    ).where(SurveyResponse.customer_id.is_not(None))  # fmt: skip
    ticket_query = select(
        Ticket.customer_id, Ticket.category, Ticket.priority, Ticket.opened_at,
        Ticket.first_response_at, Ticket.resolved_at, Ticket.id,
    ).where(Ticket.customer_id.is_not(None))  # fmt: skip
    if until is not None:
        limit = until.to_pydatetime().replace(tzinfo=dt.UTC)
        survey_query = survey_query.where(SurveyResponse.responded_at < limit)
        ticket_query = ticket_query.where(Ticket.opened_at < limit)
    surveys = pd.DataFrame(
        session.execute(survey_query).all(),
        columns=["customer_id", "kind", "score", "responded_at"],
    )
    tickets = pd.DataFrame(
        session.execute(ticket_query).all(),
        columns=["customer_id", "category", "priority", "opened_at", "first_response_at",
                 "resolved_at", "ticket_id"],
    )  # fmt: skip
    # How the customer's own messages in the ticket read (soloist.domain.feedback_text).
    from soloist.domain.feedback_text import ticket_sentiment

    moods = ticket_sentiment(session, tickets["ticket_id"].tolist()) if not tickets.empty else {}
    tickets["ticket_sentiment"] = tickets["ticket_id"].map(moods)
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
                "ticket_sentiment": linked["ticket_sentiment"].fillna(0.0).astype(np.float64),
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
                # their tickets' mean sentiment; 0 (neutral) for customers without tickets
                "ticket_sentiment": nps["customer_id"]
                .map(tickets.groupby("customer_id")["ticket_sentiment"].mean())
                .fillna(0.0)
                .astype(np.float64),
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
    observation_end: dt.date | None = None,
    rates: Rates | None = None,
) -> ModelRun:
    """Compare churn models, score every customer, store the run; returns the run.

    ``observation_end`` uses only the data up to the end of that day (orders, subscriptions,
    surveys and tickets), and the run's ``data_end`` says so; by default the data end at the
    last paid order (or, with no orders, the last subscription start or cancellation).

    ``store`` writes the run when given (``session`` then only reads): the background refit
    reads and fits with no write lock held, and writes in a short transaction at the end.
    """
    reader = session
    session = store or session
    report = progress or no_progress
    if horizon_days < 7:
        raise ValidationError("The horizon must be at least 7 days.", field="horizon_days")
    orders, end = load_transactions(reader, currency, observation_end, required=False, rates=rates)
    subs = _subscriptions(reader)
    if orders.empty and subs.empty:
        raise ValidationError(
            f"There are no paid orders in {currency} and no subscriptions to score"
            + (f" on or before {observation_end}" if observation_end else "")
            + "; import some first."
        )
    report("comparing churn models", 0, 4)
    churn, order_message = None, None
    if orders.empty:
        order_message = f"no paid orders in {currency}"
    else:
        try:
            churn = score_churn(orders, end, horizon_days=horizon_days, random_state=random_state)
        except AnalyticsError as exc:
            if len(subs) < MIN_SUBSCRIPTIONS:
                raise ValidationError(f"Churn cannot be scored from the orders: {exc}.") from exc
            order_message = str(exc)
    report("comparing CLV models", 1, 4)
    clv = _clv_comparison(orders, end, horizon_days, random_state)
    report("subscriptions and satisfaction", 2, 4)
    if orders.empty:
        end = _subscription_end(subs, observation_end)
    sub, subscription_summary = _subscription_view(reader, subs, end, horizon_days, random_state)
    if churn is None and sub is None:
        why = (subscription_summary or {}).get("message") or f"{len(subs)} subscriptions"
        raise ValidationError(
            f"Churn cannot be scored: {order_message}, and the subscriptions give no model "
            f"({why}; at least {MIN_SUBSCRIPTIONS} subscriptions with 10 cancellations are needed)."
        )
    until = end.floor("D") + pd.Timedelta(days=1) if observation_end is not None else None
    drivers = satisfaction_driver_tables(reader, orders, until)
    starts = [_naive(orders["date"].min())] if not orders.empty else []
    starts += [_naive(subs["started_at"].min())] if sub is not None else []
    run = ModelRun(
        kind="churn",
        status="running",
        data_start=_utc(min(pd.Timestamp(t) for t in starts)),
        data_end=_utc(end),
        params={
            "horizon_days": horizon_days,
            "random_state": random_state,
            "currency": currency,
            "observation_end": observation_end.isoformat() if observation_end else None,
            # The chosen scorer, to score one customer again between runs (scoring/live.py).
            "scorer": churn.scorer_state if churn is not None else None,
        },
        metrics={},
    )
    session.add(run)
    session.flush()
    report("storing scores", 3, 4)
    # Made, given their feedback reason and written a chunk at a time: a million customers'
    # rows with their reasons, all held at once, took gigabytes.
    with_feedback = _feedback_reasons(reader, end)
    risks: list[float] = []

    def rows() -> Iterator[dict[str, Any]]:
        for row in _score_rows(run.id, churn, sub):
            risks.append(row["churn_risk"])
            yield with_feedback(row)

    with collection_paused():  # rows and risks of a million customers: no collector walking them
        insert_made_rows(session, CustomerScore, rows(), actor, f"churn {run.id}", chunk=CHUNK)
    refresh_statistics(session)  # a run's scores: statistics for the planner
    risk = np.array(risks, dtype=np.float64)
    from soloist.domain.feedback_text import workspace_scorer

    summary: dict[str, Any] = (
        churn.summary()
        if churn is not None
        else {"chosen": f"subscription {sub.chosen}" if sub else None,
              "horizon_days": horizon_days, "comparison": {}, "failed": {}}
    )  # fmt: skip
    run.metrics = {
        **summary,
        "basis": "orders" if churn is not None else "subscriptions",
        "order_churn_message": order_message,
        "customers_scored": len(risks),
        "mean_churn_risk": round(float(risk.mean()), 4) if risk.size else None,
        "high_risk_customers": int((risk >= 0.7).sum()),
        "clv_comparison": clv,
        "subscription": subscription_summary,
        "satisfaction_drivers": drivers,
        # The feedback scorer the reasons and drivers read the texts with: the next process
        # takes it from here instead of cross-validating again (soloist.domain.feedback_text).
        "sentiment": workspace_scorer(reader).record(),
    }
    run.status = "succeeded"
    run.finished_at = dt.datetime.now(dt.UTC)
    record_audit(session, actor, "model_run.finished", "model_run", run.id, {"kind": "churn"})
    report("done", 4, 4)
    return run


FEEDBACK_WINDOW_DAYS = 180


def _feedback_reasons(
    session: Session, end: pd.Timestamp
) -> Callable[[dict[str, Any]], dict[str, Any]]:
    """What adds a churn reason to a score row whose customer's comments, reviews and ticket
    messages of the last 180 days read negative on average (the model does not use them: the
    reason says what the customer said, beside what their purchases say)."""
    from soloist.domain.feedback_text import NEGATIVE_BELOW, customer_sentiment

    until = _utc(end) + dt.timedelta(days=1)
    moods = customer_sentiment(session, until - dt.timedelta(days=FEEDBACK_WINDOW_DAYS), until)
    typical = float(np.median(list(moods.values()))) if moods else 0.0

    def add(row: dict[str, Any]) -> dict[str, Any]:
        mood = moods.get(row["customer_id"])
        if mood is None or mood >= NEGATIVE_BELOW:
            return row
        reason = Reason(
            feature=FEEDBACK_FEATURE,
            text=f"what they wrote lately reads negative (sentiment {mood:+.2f}, "
            f"typical {typical:+.2f})",
            value=round(mood, 4),
            typical=round(typical, 4),
        )
        stored = dict(row["reasons"])
        stored["churn"] = [*stored.get("churn", []), reason.to_stored()]
        row["reasons"] = stored
        return row

    return add


def _naive(moment: Any) -> pd.Timestamp:
    """A moment as a naive UTC timestamp (the analytics' convention)."""
    stamp = pd.Timestamp(moment)
    return stamp.tz_convert("UTC").tz_localize(None) if stamp.tzinfo is not None else stamp


def _utc(moment: pd.Timestamp) -> dt.datetime:
    return _naive(moment).to_pydatetime().replace(tzinfo=dt.UTC)


def _clv_comparison(
    orders: pd.DataFrame, end: pd.Timestamp, horizon_days: int, random_state: int
) -> dict[str, Any] | None:
    """The CLV models on the holdout; a message instead when the orders cannot hold one."""
    if orders.empty:
        return None
    try:
        return compare_clv_models(orders, end, horizon_days=horizon_days, random_state=random_state)
    except AnalyticsError as exc:
        return {"message": str(exc), "comparison": {}, "failed": {}, "chosen": None}


def _subscription_end(subs: pd.DataFrame, observation_end: dt.date | None) -> pd.Timestamp:
    """The end of a subscription-only workspace's data: the given day, or the last event."""
    if observation_end is not None:
        return end_of_day(observation_end)
    events = pd.concat([subs["started_at"], subs["cancelled_at"].dropna()])
    return _naive(pd.to_datetime(events, utc=True).max())


def _subscription_view(
    reader: Session, subs: pd.DataFrame, end: pd.Timestamp, horizon_days: int, random_state: int
) -> tuple[Any, dict[str, Any] | None]:
    """The subscription model's result and summary; (None, None) without enough subscriptions,
    (None, message) when it cannot be fitted."""
    if len(subs) < MIN_SUBSCRIPTIONS:
        return None, None
    try:
        sub = score_subscription_churn(
            subs,
            end,
            horizon_days=horizon_days,
            extra_features=customer_fields(reader, subs["customer_id"]),
            random_state=random_state,
        )
    except AnalyticsError as exc:
        return None, {"message": str(exc)}
    return sub, sub.summary()


def _score_rows(run_id: int, churn: Any, sub: Any) -> Iterator[dict[str, Any]]:
    """One row per customer: the order model's risk with its reasons and the subscription
    view; a subscriber the order model did not score gets the subscription model's risk."""
    subscription_reasons: dict[int, list[Reason]] = {}
    subscription_risk: dict[int, float] = {}
    if sub is not None:
        for _, row in sub.scores.iterrows():
            cid = int(row["customer_id"])
            if float(row["churn_risk"]) >= subscription_risk.get(cid, -1.0):
                subscription_risk[cid] = float(row["churn_risk"])
                subscription_reasons[cid] = _subscription_reasons(row)
    scored: set[int] = set()
    if churn is not None:
        scores = churn.scores
        for cid, risk, nxt, reasons in zip(
            scores.index, scores["churn_risk"], scores["next_purchase_days"], scores["reasons"],
            strict=True,
        ):  # fmt: skip
            # stored_reasons() of the reasons, made straight from the classifier's dicts
            why = {"churn": [stored_form(r) for r in reasons]}
            if int(cid) in subscription_reasons:
                why["subscription"] = [r.to_stored() for r in subscription_reasons[int(cid)]]
            scored.add(int(cid))
            yield {
                "model_run_id": run_id,
                "customer_id": int(cid),
                "churn_risk": round(float(risk), 6),
                "next_purchase_days": _finite(nxt),
                "reasons": why,
            }
    for cid, risk in subscription_risk.items():
        if cid not in scored:
            yield {
                "model_run_id": run_id,
                "customer_id": cid,
                "churn_risk": round(risk, 6),
                "next_purchase_days": None,
                "reasons": stored_reasons({"subscription": subscription_reasons[cid]}),
            }


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
