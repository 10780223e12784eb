"""The demo's conversations: surveys, reviews, interactions and (:mod:`.service`) support tickets,
in en and zh."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import asdict
from typing import Any

import numpy as np
from sqlalchemy.orm import Session

from soloist.demo import vocabulary as vocab
from soloist.demo.service import build_service_demo
from soloist.domain.audit import insert_rows
from soloist.storage.models import Interaction, Review, SurveyResponse

ACTOR = "system:demo"


def _at(start: dt.datetime, day: float) -> dt.datetime:
    return start + dt.timedelta(minutes=round(day * 1440))


def _pick(rng: np.random.Generator, options: list[Any]) -> Any:
    return options[int(rng.integers(len(options)))]


def write_feedback(
    session: Session,
    rng: np.random.Generator,
    customer_ids: list[int],
    chinese: np.ndarray,
    order_customer: np.ndarray,
    order_day: np.ndarray,
    order_ids: np.ndarray,
    start: dt.datetime,
    horizon_days: int,
    progress: Callable[[str, int, int], None],
    *,
    timezone: str = "UTC",
    owner_id: int | None = None,
) -> dict[str, int]:
    """Surveys, reviews and interactions; the service desk's tickets (:mod:`.service`)."""
    n = len(customer_ids)
    # A latent satisfaction per customer drives every score, so scores agree with each other.
    satisfaction = rng.normal(0.0, 1.0, n)
    first_order = np.full(n, np.inf)
    np.minimum.at(first_order, order_customer, order_day)

    surveys: list[dict[str, Any]] = []
    for i in np.flatnonzero(rng.random(n) < 0.3):
        day = first_order[i] + rng.uniform(7, 60)
        if day >= horizon_days:
            continue
        score = int(np.clip(np.round(8.2 + 1.6 * satisfaction[i] + rng.normal(0, 1)), 0, 10))
        group = "promoter" if score >= 9 else "passive" if score >= 7 else "detractor"
        comments = vocab.NPS_COMMENTS_ZH if chinese[i] else vocab.NPS_COMMENTS_EN
        surveys.append(
            {
                "customer_id": customer_ids[i],
                "kind": "nps",
                "score": score,
                "comment": _pick(rng, comments[group]) if rng.random() < 0.45 else None,
                "language": "zh" if chinese[i] else "en",
                "responded_at": _at(start, day),
            }
        )

    reviews: list[dict[str, Any]] = []
    for k in np.flatnonzero(rng.random(order_day.size) < 0.08):
        buyer = int(order_customer[k])
        day = order_day[k] + rng.uniform(3, 20)
        if day >= horizon_days:
            continue
        rating = int(np.clip(np.round(4.2 + 0.9 * satisfaction[buyer] + rng.normal(0, 0.6)), 1, 5))
        texts = vocab.REVIEWS_ZH if chinese[buyer] else vocab.REVIEWS_EN
        reviews.append(
            {
                "customer_id": customer_ids[buyer],
                "order_id": int(order_ids[k]),
                "rating": rating,
                "body": _pick(rng, texts[rating]),
                "language": "zh" if chinese[buyer] else "en",
                "source": "shop",
                "published_at": _at(start, day),
            }
        )
    insert_rows(session, Review, reviews, ACTOR, "demo reviews")
    progress("reviews", len(reviews), len(reviews))

    insert_rows(session, SurveyResponse, surveys, ACTOR, "demo survey answers")
    # The desk has a generator of its own, seeded from this one: its draws leave the rest alone.
    service = build_service_demo(
        session,
        np.random.default_rng(int(rng.integers(2**63))),
        customer_ids=customer_ids,
        chinese=chinese,
        satisfaction=satisfaction,
        first_order=first_order,
        start=start,
        now=_at(start, horizon_days),
        timezone=timezone,
        owner_id=owner_id,
        progress=progress,
    )

    interactions: list[dict[str, Any]] = []
    counts = rng.poisson(1.2, n)
    for i in np.flatnonzero(counts):
        for _ in range(int(counts[i])):
            day = first_order[i] + rng.uniform(0, 200)
            if day >= horizon_days:
                continue
            channel, subject = _pick(rng, vocab.INTERACTION_NOTES)
            interactions.append(
                {
                    "customer_id": customer_ids[i],
                    "channel": channel,
                    "direction": "internal"
                    if channel == "note"
                    else "outbound"
                    if channel == "email"
                    else "inbound",
                    "subject": subject,
                    "body": f"{subject}.",
                    "occurred_at": _at(start, day),
                    "created_at": _at(start, day),
                }
            )
    insert_rows(session, Interaction, interactions, ACTOR, "demo interactions")
    progress("interactions", len(interactions), len(interactions))
    return {
        "survey_responses": len(surveys) + service.survey_responses,
        "reviews": len(reviews),
        "interactions": len(interactions),
    } | {name: value for name, value in asdict(service).items() if name != "survey_responses"}
