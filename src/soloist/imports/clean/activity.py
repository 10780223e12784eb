"""Subscriptions, interactions and feedback: one draft per valid row, read row by row."""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping

from soloist.imports.base import ImportFormat
from soloist.imports.clean.customers import customer_of
from soloist.imports.clean.drafts import (
    Cleaned,
    CleanOptions,
    FeedbackDraft,
    InteractionDraft,
    SubscriptionDraft,
)
from soloist.imports.clean.rows import (
    Row,
    column_names,
    currency,
    kept_rows,
    minor_units,
    moment,
)
from soloist.imports.raw import RawTable
from soloist.imports.synonyms import CHANNEL_SYNONYMS, DIRECTION_SYNONYMS, header_key
from soloist.imports.values import (
    INTERVAL_SYNONYMS,
    SUBSCRIPTION_SYNONYMS,
    parse_amount,
    parse_choice,
    parse_int,
)
from soloist.vocabulary import SURVEY_SCALES, WIDTHS, clipped

REVIEW_SCALE = (1, 5)  # stars
# A feedback row becomes a survey answer or a review: its language must fit either.
_FEEDBACK_LANGUAGE = min(WIDTHS["survey_responses.language"], WIDTHS["reviews.language"])


def _customer(row: Row, fmt: ImportFormat) -> str | None:
    """The row's customer key; a row that names nobody is invalid."""
    customer = customer_of(row, fmt)
    if customer is None:
        row.missing_customer()
    return customer


def clean_subscriptions(
    table: RawTable,
    fmt: ImportFormat,
    mapping: Mapping[str, int],
    options: CleanOptions,
    out: Cleaned,
) -> None:
    """Subscriptions, keyed by the file's subscription id — or, without one, by customer, plan,
    start day and a running count."""
    seen: Counter[str] = Counter()
    # A snapshot's format reads its own cells first: a tenure and churn make the start, status
    # and cancellation (soloist.imports.formats.snapshot).
    snapshot = getattr(fmt, "read_snapshot", None)
    for row in kept_rows(table, fmt, mapping, out):
        customer = _customer(row, fmt)
        if snapshot is not None:
            snapshot(row)
        plan = row.need("plan", row.text("plan"), "plan")
        price = row.need("price", row.typed("price", parse_amount, "bad amount"), "price")
        quantity = row.typed("quantity", parse_int, "bad quantity")
        code = currency(row, options, fmt)
        interval = row.typed(
            "interval", lambda t: parse_choice(t, INTERVAL_SYNONYMS, "interval"), "unknown interval"
        )
        status = row.typed(
            "status", lambda t: parse_choice(t, SUBSCRIPTION_SYNONYMS, "status"), "unknown status"
        )
        started = row.need("started_at", moment(row, "started_at", options), "start date")
        cancelled = moment(row, "cancelled_at", options)
        if (
            not row.ok
            or customer is None
            or plan is None
            or price is None
            or code is None
            or started is None
        ):
            continue
        price_minor = minor_units(row, "price", price * (quantity or 1), code)
        if price_minor is None:
            continue
        source_id = row.text("subscription_id")
        if source_id:
            external = f"{fmt.source}:{source_id}"
        else:
            base = f"{customer}:{plan}:{started:%Y%m%d}"
            seen[base] += 1
            external = f"{base}:{seen[base]}"
        if status is None:
            status = "cancelled" if cancelled else "active"
        out.subscriptions.append(
            SubscriptionDraft(
                external_id=external[: WIDTHS["subscriptions.external_id"]],
                row=row.record.row,
                customer=customer,
                plan=plan[: WIDTHS["subscriptions.plan"]],
                price_minor=price_minor,
                currency=code,
                interval=interval or "month",
                status=status,
                started_at=started,
                cancelled_at=cancelled if status == "cancelled" or cancelled else None,
                cancel_reason=clipped(row.text("cancel_reason"), "subscriptions.cancel_reason"),
            )
        )


def clean_interactions(
    table: RawTable,
    fmt: ImportFormat,
    mapping: Mapping[str, int],
    options: CleanOptions,
    out: Cleaned,
) -> None:
    """Interactions: a channel and a time each; without a direction, a note is internal and
    anything else outbound."""
    for row in kept_rows(table, fmt, mapping, out):
        customer = _customer(row, fmt)
        channel = row.need(
            "channel",
            row.typed(
                "channel", lambda t: parse_choice(t, CHANNEL_SYNONYMS, "channel"), "unknown channel"
            ),
            "channel",
        )
        direction = row.typed(
            "direction",
            lambda t: parse_choice(t, DIRECTION_SYNONYMS, "direction"),
            "unknown direction",
        )
        occurred = row.need("occurred_at", moment(row, "occurred_at", options), "date")
        if not row.ok or customer is None or channel is None or occurred is None:
            continue
        out.interactions.append(
            InteractionDraft(
                row=row.record.row,
                customer=customer,
                channel=channel,
                direction=direction or ("internal" if channel == "note" else "outbound"),
                subject=clipped(row.text("subject"), "interactions.subject"),
                body=row.record.values.get("body", "").strip() or None,
                occurred_at=occurred,
            )
        )


def _survey(
    row: Row, score_column: str, rating: int | None, score: int | None
) -> tuple[str, int | None, tuple[int, int]] | None:
    """(kind, score, scale) of a feedback row: a rating makes a review; otherwise the survey
    column, or a score column named for its survey (``NPS``), says which survey. None, reported,
    when neither says."""
    if rating is not None:
        return "review", rating, REVIEW_SCALE
    kind = (row.text("survey") or "").lower() or (
        score_column if score_column in SURVEY_SCALES else ""
    )
    if kind not in SURVEY_SCALES:
        if row.ok:
            row.fail(
                "survey",
                f"unknown survey {kind or '(none)'!r}: use csat, nps or ces, "
                "or give a rating column for reviews",
                "unknown survey",
            )
        return None
    if score is None and row.ok:
        row.fail("score", "score is missing", "missing score")
    return kind, score, SURVEY_SCALES[kind]


def clean_feedback(
    table: RawTable,
    fmt: ImportFormat,
    mapping: Mapping[str, int],
    options: CleanOptions,
    out: Cleaned,
) -> None:
    """Survey answers (CSAT, NPS, CES) and reviews, each score checked against its scale."""
    score_column = header_key(column_names(table, mapping).get("score", ""))
    for row in kept_rows(table, fmt, mapping, out):
        customer = _customer(row, fmt)
        rating = row.typed("rating", parse_int, "bad score")
        score = row.typed("score", parse_int, "bad score")
        at = row.need("responded_at", moment(row, "responded_at", options), "date")
        survey = _survey(row, score_column, rating, score)
        if survey is None:
            continue
        kind, score, (low, high) = survey
        if score is not None and not low <= score <= high:
            row.fail(
                "rating" if kind == "review" else "score",
                f"a {kind.upper()} score must be {low} to {high}, got {score}",
                "score out of range",
            )
        if not row.ok or customer is None or score is None or at is None:
            continue
        out.feedback.append(
            FeedbackDraft(
                row=row.record.row,
                customer=customer,
                kind=kind,
                score=score,
                title=clipped(row.text("title"), "reviews.title"),
                comment=row.record.values.get("comment", "").strip() or None,
                language=(row.text("language") or "")[:_FEEDBACK_LANGUAGE] or None,
                at=at,
                source=clipped(row.text("source"), "reviews.source"),
                external_id=row.text("feedback_id"),
                order=row.text("order_id"),
            )
        )
