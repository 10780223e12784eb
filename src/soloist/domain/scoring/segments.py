"""RFM segments and behaviour clusters of the workspace's customers, stored as a model run.

``segment_customers`` reads paid orders, order lines with product categories, survey answers
and tickets; scores RFM and (optionally) clusters customers; and stores one ``model_runs`` row
(kind ``segments``) with the summaries, one ``customer_scores`` row per customer (``segment``,
``cluster`` and the reasons), and the members of the ``rfm`` and ``cluster`` segments.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator, Sequence
from typing import Any

import numpy as np
import pandas as pd
from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from soloist.analytics.clustering import METHODS, ClusteringResult, cluster_customers
from soloist.analytics.customer_features import transaction_features
from soloist.analytics.segmentation import (
    RFM_SEGMENTS,
    rfm_caveats,
    rfm_scores,
    segment_summary,
    segment_transitions,
)
from soloist.domain._progress import Progress, no_progress
from soloist.domain.audit import insert_made_rows, record_audit
from soloist.domain.currencies import Rates
from soloist.domain.scoring.clv import load_paid_orders
from soloist.domain.scoring.dates import checked_end_date, end_of_day
from soloist.domain.scoring.reasons import Reason, stored_reasons
from soloist.domain.scoring.scores import current_runs
from soloist.domain.scoring.subscription_clv import renewal_payments
from soloist.errors import UsageError, ValidationError
from soloist.money import minor_to_decimal
from soloist.storage.bulk import among, chunks, collection_paused, int_column, read_in_parts
from soloist.storage.models import (
    CustomerScore,
    ModelRun,
    Order,
    OrderLine,
    Product,
    Segment,
    SegmentMember,
    SurveyResponse,
    Ticket,
)
from soloist.storage.planner import refresh_statistics, unindexed

SEGMENT_METHODS = ("rfm", *(m for m in METHODS if m != "dbscan"))
CLUSTER_FEATURES = (
    "recency_days",
    "orders",
    "total_spent",
    "average_order_value",
    "tenure_days",
    "interpurchase_days",
)
CHUNK = 20_000


def load_transactions(
    session: Session,
    currency: str,
    observation_end: dt.date | None = None,
    *,
    required: bool = True,
    rates: Rates | None = None,
) -> tuple[pd.DataFrame, pd.Timestamp]:
    """Paid orders as ``customer_id``, ``date``, ``amount``, and the end of the data.

    The end is the last order's time, or with ``observation_end`` the end of that day (the
    orders after it left out). No order is an error unless ``required`` is false. With
    ``rates``, orders in those currencies count too, converted.
    """
    orders = load_paid_orders(session, currency, rates=rates).rename(columns={"ordered_at": "date"})
    orders = orders[["customer_id", "date", "amount"]]
    observation_end = checked_end_date(observation_end)
    if observation_end is not None:
        end = end_of_day(observation_end)
        orders = orders[orders["date"] <= end]
    if orders.empty and required:
        when = f" on or before {observation_end}" if observation_end is not None else ""
        raise ValidationError(
            f"There are no paid orders in {currency}{when} to analyse; import some."
        )
    if observation_end is None:
        end = orders["date"].max() if not orders.empty else pd.Timestamp("NaT")
    return orders, end


def load_behaviour(
    session: Session, currency: str, orders: pd.DataFrame, end: pd.Timestamp
) -> pd.DataFrame:
    """Per-customer behaviour: purchase features, category shares, CSAT, NPS, tickets (what
    happened by the end of ``end``'s day)."""
    now = end.floor("D") + pd.Timedelta(days=1)
    until = now.to_pydatetime().replace(tzinfo=dt.UTC)
    features = transaction_features(orders, now).loc[:, list(CLUSTER_FEATURES)]
    scale = float(minor_to_decimal(1, currency))

    # Raw driver rows turned into columns (typed row by row, a million and a half order lines
    # took several seconds to read and as long again to become a frame), and summed per
    # customer and category a part at a time: the 17 million lines of a million customers
    # would take some 3 GB as rows. The lines' products become categories here, by number,
    # not by a join: whole numbers are quicker to read and to group by than the names.
    names, category_of = _category_codes(session)

    def spend_of(columns: list[Sequence[Any]]) -> pd.DataFrame:
        bought_by, products, amounts = columns
        codes = category_of[int_column(products)]
        kept = codes >= 0  # a product without a category counts for none
        part = pd.DataFrame(
            {
                "customer_id": int_column(bought_by)[kept],
                "category": codes[kept],
                "amount": np.maximum(int_column(amounts)[kept].astype(np.float64), 0.0) * scale,
            }
        )
        return part.groupby(["customer_id", "category"], sort=False).sum()

    # The orders in the table's own order and each one's lines beside it: through the revenue
    # index (status, currency, time) the orders and their lines were looked up at random
    # places in the file (4 µs a line among the 18 million of a million customers; at 100,000
    # in memory, 2.6-3.2 s against 1.7-2.0 s for 1.7 million lines).
    lines_query = (
        select(Order.customer_id, OrderLine.product_id, OrderLine.amount_minor)
        .join(OrderLine, OrderLine.order_id == Order.id)
        .where(
            unindexed(session, Order.status) == "paid",
            unindexed(session, Order.currency) == currency,
            unindexed(session, Order.ordered_at) < until,
            OrderLine.product_id.is_not(None),
        )
    )
    sums = pd.concat(read_in_parts(session, lines_query, 3, spend_of))
    if not sums.empty:
        lines = sums.groupby(level=["customer_id", "category"]).sum().reset_index()
        lines["category"] = names[lines["category"].to_numpy()]
        spend = lines.pivot_table(
            index="customer_id", columns="category", values="amount", aggfunc="sum", fill_value=0
        )
        shares = spend.div(spend.sum(axis=1).replace(0.0, np.nan), axis=0).fillna(0.0)
        shares.columns = [f"share_{c}" for c in shares.columns]
        features = features.join(shares, how="left")
        features[list(shares.columns)] = features[list(shares.columns)].fillna(0.0)
    surveys = pd.DataFrame(
        session.execute(
            select(SurveyResponse.customer_id, SurveyResponse.kind, SurveyResponse.score).where(
                SurveyResponse.customer_id.is_not(None),
                SurveyResponse.kind.in_(("csat", "nps")),
                SurveyResponse.responded_at < until,
            )
        ).all(),
        columns=["customer_id", "kind", "score"],
    )
    for kind in ("csat", "nps"):
        means = surveys[surveys["kind"] == kind].groupby("customer_id")["score"].mean()
        features[kind] = means.reindex(features.index).astype(np.float64)
    tickets = pd.Series(
        [
            row[0]
            for row in session.execute(select(Ticket.customer_id).where(Ticket.opened_at < until))
        ],
        dtype="Int64",
    ).value_counts()
    features["tickets"] = tickets.reindex(features.index).fillna(0).astype(np.float64)
    return features.loc[:, features.notna().any()]


def _category_codes(session: Session) -> tuple[np.ndarray, np.ndarray]:
    """The product categories' names (sorted) and, indexed by product id, the number of each
    product's category in them (-1: none)."""
    products = session.execute(select(Product.id, Product.category)).all()
    names = np.array(sorted({c for _, c in products if c is not None}), dtype=object)
    number = {name: i for i, name in enumerate(names)}
    category_of = np.full(max((pid for pid, _ in products), default=0) + 1, -1, dtype=np.int64)
    for pid, category in products:
        if category is not None:
            category_of[pid] = number[category]
    return names, category_of


def _previous_segments(session: Session) -> tuple[int | None, pd.Series]:
    run = session.scalar(
        select(ModelRun)
        .where(ModelRun.kind == "segments", ModelRun.status == "succeeded")
        .order_by(ModelRun.id.desc())
        .limit(1)
    )
    if run is None:
        return None, pd.Series(dtype=object)
    rows = session.execute(
        select(CustomerScore.customer_id, CustomerScore.segment).where(
            CustomerScore.model_run_id == run.id
        )
    ).all()
    return run.id, pd.Series({cid: seg for cid, seg in rows if seg is not None}, dtype=object)


def _clv_by_customer(session: Session, currency: str) -> pd.Series | None:
    run_id = current_runs(session).get("clv_12m_minor")
    if run_id is None:
        return None
    rows = session.execute(
        select(CustomerScore.customer_id, CustomerScore.clv_12m_minor).where(
            CustomerScore.model_run_id == run_id
        )
    ).all()
    scale = float(minor_to_decimal(1, currency))
    return pd.Series({cid: float(v) * scale for cid, v in rows if v is not None})


def _store_members(
    session: Session, kind: str, groups: dict[str, tuple[str, list[int]]], run_id: int, actor: str
) -> None:
    """Bring the members of every segment of ``kind`` to ``groups`` (creating segments as
    needed). Only the customers who joined or left a segment are written: a run on much the
    same data moves few of them, and deleting and inserting every member again (two million
    at a million customers) was a large part of storing a run. A member keeps the run that
    put them there (``model_run_id``)."""
    existing = {s.name: s for s in session.scalars(select(Segment).where(Segment.kind == kind))}
    held: dict[int, set[int]] = {segment.id: set() for segment in existing.values()}
    if held:
        members = select(SegmentMember.segment_id, SegmentMember.customer_id).where(
            SegmentMember.segment_id.in_(list(held))
        )
        for segment_id, customer_id in session.execute(members):
            held[segment_id].add(customer_id)
    for segment in existing.values():
        if segment.name not in groups:
            segment.description = "(no customers in the latest run)"
    taken = set(session.scalars(select(Segment.name).where(Segment.kind != kind)))
    for name, (description, customers) in groups.items():
        if name in taken:
            continue  # a rule segment already uses the name; leave it alone
        found = existing.get(name)
        if found is None:
            segment = Segment(name=name, kind=kind, description=description)
            session.add(segment)
            session.flush()
        else:
            segment = found
        segment.description = description
        before = held.pop(segment.id, set())
        staying = before.intersection(customers)
        _remove_members(session, segment.id, before - staying)
        joining = (
            {"segment_id": segment.id, "customer_id": c, "model_run_id": run_id}
            for c in customers
            if c not in staying
        )
        insert_made_rows(session, SegmentMember, joining, actor, f"{kind} {name}", chunk=CHUNK)
    for segment_id, leaving in held.items():  # segments the run left empty
        _remove_members(session, segment_id, leaving)


def _remove_members(session: Session, segment_id: int, customers: set[int]) -> None:
    for part in chunks(sorted(customers)):
        session.execute(
            delete(SegmentMember).where(
                SegmentMember.segment_id == segment_id,
                among(session, SegmentMember.customer_id, part),
            )
        )


def segment_customers(
    session: Session,
    currency: str,
    actor: str,
    method: str = "rfm",
    *,
    random_state: int = 0,
    progress: Progress | None = None,
    store: Session | None = None,
    observation_end: dt.date | None = None,
    rates: Rates | None = None,
) -> ModelRun:
    """Score RFM segments (and clusters unless ``method`` is ``rfm``) and store them.

    ``observation_end`` uses only the data up to the end of that day (orders, their lines,
    surveys and tickets); recency is counted to it, and the run's ``data_end`` says so.
    ``store`` writes the run when given (``session`` then only reads), as in
    :func:`~soloist.domain.scoring.churn.score_churn_risk`.
    """
    reader = session
    session = store or session
    report = progress or no_progress
    if method not in SEGMENT_METHODS:
        raise UsageError(
            f"Unknown method {method!r}; use one of {', '.join(SEGMENT_METHODS)}.", field="method"
        )
    orders, end = load_transactions(reader, currency, observation_end, required=False, rates=rates)
    basis = "orders"
    if orders.empty:
        # a subscription business: each paid billing period is a purchase
        cut = end_of_day(observation_end) if observation_end is not None else None
        orders = renewal_payments(reader, currency, cut)
        end = cut if cut is not None else orders["date"].max()
        basis = "subscriptions"
        if orders.empty:
            load_transactions(reader, currency, observation_end)  # raises the plain error
    report("reading behaviour", 0, 4)
    behaviour = load_behaviour(reader, currency, orders, end)
    table = pd.DataFrame(
        {
            "recency_days": behaviour["recency_days"],
            "frequency": behaviour["orders"],
            "monetary": behaviour["total_spent"],
        }
    )
    clv = _clv_by_customer(reader, currency)
    if clv is not None:
        table["clv"] = clv.reindex(table.index)
    rfm = rfm_scores(table)
    report("clustering", 1, 4)
    clusters = None
    if method != "rfm":
        clusters = cluster_customers(behaviour, method, random_state=random_state)
    previous_id, previous = _previous_segments(reader)
    run = ModelRun(
        kind="segments",
        status="running",
        data_start=orders["date"].min().to_pydatetime().replace(tzinfo=dt.UTC),
        data_end=end.to_pydatetime().replace(tzinfo=dt.UTC),
        params={
            "basis": basis,
            "method": method,
            "random_state": random_state,
            "currency": currency,
            "observation_end": observation_end.isoformat() if observation_end else None,
        },
        metrics={},
    )
    session.add(run)
    session.flush()
    report("storing scores", 2, 4)
    _store_scores(session, run.id, rfm, clusters, actor, report)
    refresh_statistics(session)  # a run's scores and members: statistics for the planner
    summary = segment_summary(rfm, clv_col="clv" if "clv" in rfm.columns else None)
    metrics: dict[str, Any] = {
        "customers": len(rfm),
        "rfm": _records(summary),
        # what the data cannot support, in plain words (``code`` for the web app to translate)
        "warnings": rfm_caveats(rfm),
        "movement": None,
    }
    if previous_id is not None:
        moved = segment_transitions(previous, rfm["segment"])
        metrics["movement"] = {
            "previous_run_id": previous_id,
            "changed": int(moved.to_numpy().sum() - np.trace(moved.to_numpy())),
            "table": {
                str(k): {str(c): int(v) for c, v in row.items() if v} for k, row in moved.iterrows()
            },
        }
    if clusters is not None:
        metrics["clusters"] = clusters.to_dict()
        groups = clusters.labels.groupby(clusters.labels).groups
        _store_members(
            session,
            "cluster",
            {f"cluster {c}": (clusters.descriptions.get(int(c), ""), [int(x) for x in ids])
             for c, ids in groups.items()},
            run.id,
            actor,
        )  # fmt: skip
    run.metrics = metrics
    run.status = "succeeded"
    run.finished_at = dt.datetime.now(dt.UTC)
    record_audit(session, actor, "model_run.finished", "model_run", run.id, {"kind": "segments"})
    report("done", 4, 4)
    return run


@collection_paused()  # a million rows made and written: no collector walking them
def _store_scores(
    session: Session,
    run_id: int,
    rfm: pd.DataFrame,
    clusters: ClusteringResult | None,
    actor: str,
    report: Progress,
) -> None:
    """The run's score row of every customer (segment, cluster, their reasons), then the RFM
    segments' members."""
    cluster_of = clusters.labels.to_dict() if clusters is not None else {}

    def rows() -> Iterator[dict[str, Any]]:
        # Column by column: iterrows() over a hundred thousand customers took seconds.
        for cid, segment, code, recency, frequency, monetary in zip(
            rfm.index,
            rfm["segment"],
            rfm["rfm_code"],
            rfm["recency_days"],
            rfm["frequency"],
            rfm["monetary"],
            strict=True,
        ):
            why = {"segment": [_segment_reason(code, recency, frequency, monetary)]}
            cluster = None
            if clusters is not None:
                cluster = int(cluster_of[cid])
                description = clusters.descriptions.get(cluster, "")
                if description:
                    why["cluster"] = [Reason(feature="cluster", text=description, value=cluster)]
            yield {
                "model_run_id": run_id,
                "customer_id": int(cid),
                "segment": str(segment),
                "cluster": cluster,
                "reasons": stored_reasons(why),
            }

    insert_made_rows(session, CustomerScore, rows(), actor, f"segments {run_id}", chunk=CHUNK)
    report("storing segments", 3, 4)
    by_segment = rfm.groupby("segment").groups
    _store_members(
        session,
        "rfm",
        {name: (f"RFM segment: {name}", [int(c) for c in by_segment.get(name, [])])
         for name in RFM_SEGMENTS if name in by_segment},
        run_id,
        actor,
    )  # fmt: skip


def _records(frame: pd.DataFrame) -> list[dict[str, Any]]:
    out = []
    for name, row in frame.iterrows():
        item: dict[str, Any] = {"segment": str(name)}
        for col, value in row.items():
            item[str(col)] = None if pd.isna(value) else round(float(value), 4)
        item["customers"] = int(row["customers"])
        out.append(item)
    return out


def _segment_reason(code: Any, recency: float, frequency: float, monetary: float) -> Reason:
    return Reason(
        feature="rfm",
        text=f"RFM {code}: last order {recency:.0f} days ago, "
        f"{frequency:.0f} orders, spent {monetary:,.2f}",
    )
