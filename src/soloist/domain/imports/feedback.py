"""Writing an import's feedback: survey answers (CSAT, NPS, CES) and reviews, with their order.

Feedback the file gives an id of its own (a review id, a response id) is keyed by it, prefixed
by the format's source (``olist:7b00d98b…``): two answers of one customer at one moment stay
two, a second import of the file changes nothing, and an answer the file now tells differently
(a new score, a corrected text) is updated. Feedback without an id is the same when customer,
survey, score and time are (reviews: customer, rating, time and title).

The order a row names (``order_id``) is found among the workspace's orders by the number as
the file writes it, or with a format's prefix (``olist:…``, ``shopify:#1001``); feedback whose
order is not there is kept without it, and the report says how many.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Sequence
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from soloist.domain.audit import describe_changes, insert_rows, record_audit
from soloist.domain.imports.activity import Counts, existing_keys, known_customers, new_drafts
from soloist.domain.imports.customers import Resolved
from soloist.imports import FORMATS
from soloist.imports.clean import FeedbackDraft
from soloist.storage.bulk import among, chunks
from soloist.storage.models import Order, Review, SurveyResponse
from soloist.storage.types import as_utc
from soloist.vocabulary import WIDTHS, clipped

Keyed = Review | SurveyResponse
New = tuple[str | None, FeedbackDraft, int | None]  # stored key, draft, order id


def _external_id(draft: FeedbackDraft, source: str) -> str | None:
    """The stored key of a draft with an id of its own."""
    if not draft.external_id:
        return None
    key = draft.external_id
    if not key.startswith(f"{source}:"):
        key = f"{source}:{key}"
    return key[: WIDTHS["reviews.external_id"]]


def _order_candidates(number: str, source: str) -> list[str]:
    """The external ids an order number may be stored under, the likeliest first."""
    prefixes = [source, *(fmt.source for fmt in FORMATS.formats if fmt.source != source)]
    return [f"{source}:{number}", number, *(f"{p}:{number}" for p in prefixes[1:])]


def _orders_by_number(session: Session, numbers: Iterable[str], source: str) -> dict[str, int]:
    """Order number as the file writes it -> the id of the order it names."""
    wanted = {n: _order_candidates(n, source) for n in set(numbers)}
    every = sorted({c for candidates in wanted.values() for c in candidates})
    stored: dict[str, int] = {}
    for part in chunks(every):
        stored.update(
            session.execute(
                select(Order.external_id, Order.id).where(among(session, Order.external_id, part))
            ).all()
        )
    found: dict[str, int] = {}
    for number, candidates in wanted.items():
        order_id = next((stored[c] for c in candidates if c in stored), None)
        if order_id is not None:
            found[number] = order_id
    return found


def _values(draft: FeedbackDraft, customer_id: int | None, order_id: int | None) -> dict[str, Any]:
    """The stored columns of a draft (but the key and the source)."""
    if draft.kind == "review":
        return {
            "customer_id": customer_id,
            "rating": draft.score,
            "title": draft.title,
            "body": draft.comment,
            "language": draft.language,
            "published_at": draft.at,
            "order_id": order_id,
        }
    return {
        "customer_id": customer_id,
        "kind": draft.kind,
        "score": draft.score,
        "comment": draft.comment,
        "language": draft.language,
        "responded_at": draft.at,
        "order_id": order_id,
    }


def _held(session: Session, keys: Sequence[str]) -> dict[str, Keyed]:
    """Reviews and survey answers stored under these keys."""
    found: dict[str, Keyed] = {}
    for part in chunks(sorted(set(keys))):
        for review in session.scalars(
            select(Review).where(among(session, Review.external_id, part))
        ):
            found[str(review.external_id)] = review
        for answer in session.scalars(
            select(SurveyResponse).where(among(session, SurveyResponse.external_id, part))
        ):
            found[str(answer.external_id)] = answer
    return found


def _same(held: Keyed, values: dict[str, Any]) -> bool:
    for name, value in values.items():
        current = getattr(held, name)
        if isinstance(current, dt.datetime):
            current = as_utc(current)
        if current != value:
            return False
    return True


def _keyed(
    session: Session,
    drafts: list[tuple[str, FeedbackDraft, int | None]],
    customers: Resolved,
    counts: Counts,
    *,
    actor: str,
    apply: bool,
) -> list[New]:
    """Count and update the drafts with an id that are stored already; the new ones, to insert
    (the first of an id the file repeats)."""
    held = _held(session, [key for key, _, _ in drafts])
    new: list[New] = []
    seen: set[str] = set()
    for key, draft, order_id in drafts:
        if key in seen:
            counts.extra["feedback_ids_repeated_in_file"] = (
                counts.extra.get("feedback_ids_repeated_in_file", 0) + 1
            )
            continue
        seen.add(key)
        stored = held.get(key)
        if stored is None:
            new.append((key, draft, order_id))
            counts.imported += 1
            continue
        if (draft.kind == "review") != isinstance(stored, Review):
            counts.unchanged += 1  # a review's id now given to a survey answer: left alone
            counts.notes.append(f"{key} is stored as another kind of feedback; left as it is")
            continue
        values = _values(draft, customers.existing_id(draft.customer), order_id)
        if _same(stored, values):
            counts.unchanged += 1
            continue
        counts.updated += 1
        if apply:
            before = {name: getattr(stored, name) for name in values}
            for name, value in values.items():
                setattr(stored, name, value)
            session.flush()
            record_audit(
                session,
                actor,
                "feedback.updated_by_import",
                str(stored.__tablename__),
                stored.id,
                describe_changes(before, values),
            )
    return new


def write_feedback(
    session: Session,
    drafts: list[FeedbackDraft],
    customers: Resolved,
    *,
    actor: str,
    source: str,
    apply: bool,
) -> Counts:
    """Insert the new survey answers and reviews, update those of a known id that changed,
    count the rest; each linked to the order it names, when the workspace has it."""
    counts = Counts()
    numbers = {d.order for d in drafts if d.order}
    orders = _orders_by_number(session, numbers, source) if numbers else {}
    missing = len([d for d in drafts if d.order and d.order not in orders])
    if numbers:
        counts.extra["feedback_with_order"] = (
            len(drafts) - missing - sum(1 for d in drafts if not d.order)
        )
    if missing:
        counts.extra["feedback_order_not_found"] = missing
        counts.notes.append(
            f"{missing} answer(s) or review(s) name an order the workspace does not have; "
            "kept without it (import the orders first, or together: soloist import auto)"
        )
    with_id = [
        (key, d, orders.get(d.order or ""))
        for d in drafts
        if (key := _external_id(d, source)) is not None
    ]
    plain = [d for d in drafts if not d.external_id]
    new = _keyed(session, with_id, customers, counts, actor=actor, apply=apply)
    for draft in _plain_new(session, plain, customers, counts):
        new.append((None, draft, orders.get(draft.order or "")))
    if not apply:
        return counts
    survey_rows: list[dict[str, Any]] = []
    review_rows: list[dict[str, Any]] = []
    for key, draft, order_id in new:
        row = _values(draft, customers.id_of(draft.customer), order_id) | {"external_id": key}
        if draft.kind == "review":
            row["source"] = draft.source or clipped(source, "reviews.source")
            review_rows.append(row)
        else:
            survey_rows.append(row)
    if survey_rows:
        insert_rows(session, SurveyResponse, survey_rows, actor, f"import from {source}")
    if review_rows:
        insert_rows(session, Review, review_rows, actor, f"import from {source}")
    return counts


def _plain_new(
    session: Session, drafts: list[FeedbackDraft], customers: Resolved, counts: Counts
) -> list[FeedbackDraft]:
    """Of the drafts without an id, those not stored yet (by customer, survey, score and time;
    reviews by customer, rating, time and title)."""
    if not drafts:
        return []
    known = known_customers(drafts, customers)
    surveys = (
        SurveyResponse.customer_id,
        SurveyResponse.kind,
        SurveyResponse.score,
        SurveyResponse.responded_at,
    )
    reviews = (Review.customer_id, Review.rating, Review.published_at, Review.title)
    held = {("survey", *key) for key in existing_keys(session, surveys, known)}
    held |= {("review", *key) for key in existing_keys(session, reviews, known)}

    def key_of(draft: FeedbackDraft, customer_id: int | None) -> tuple[Any, ...]:
        if draft.kind == "review":
            return ("review", customer_id, draft.score, draft.at, draft.title)
        return ("survey", customer_id, draft.kind, draft.score, draft.at)

    return list(new_drafts(drafts, customers, key_of, held, counts))
