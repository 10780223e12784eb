"""The demo's conversations: surveys, reviews, support tickets and interactions, in en and zh."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import Any

import numpy as np
from sqlalchemy.orm import Session

from soloist.demo import vocabulary as vocab
from soloist.domain.audit import insert_rows
from soloist.storage.models import Interaction, Review, SurveyResponse, Ticket, TicketMessage

SLA_HOURS = {"urgent": 4, "high": 8, "normal": 24, "low": 72}
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
) -> dict[str, int]:
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

    tickets: list[dict[str, Any]] = []
    ticket_texts: list[tuple[str, dt.datetime, dt.datetime | None]] = []
    for i in np.flatnonzero(rng.random(n) < 0.15 + 0.1 * (satisfaction < -1)):
        day = first_order[i] + rng.uniform(1, 120)
        if day >= horizon_days:
            continue
        subject, category = _pick(
            rng, vocab.TICKET_SUBJECTS_ZH if chinese[i] else vocab.TICKET_SUBJECTS_EN
        )
        priority = str(rng.choice(["low", "normal", "normal", "high", "urgent"]))
        opened = _at(start, day)
        response_hours = float(rng.exponential(6.0 if satisfaction[i] > -1 else 20.0))
        first_response = opened + dt.timedelta(hours=response_hours)
        now = _at(start, horizon_days)
        resolved = first_response + dt.timedelta(hours=float(rng.exponential(24)))
        done = resolved < now - dt.timedelta(days=2)
        tickets.append(
            {
                "customer_id": customer_ids[i],
                "subject": subject,
                "category": category,
                "priority": priority,
                "channel": "email",
                "status": "closed" if done else "open",
                "opened_at": opened,
                "first_response_at": first_response if first_response < now else None,
                "resolved_at": resolved if done else None,
                "resolution_due_at": opened + dt.timedelta(hours=SLA_HOURS[priority]),
                "created_at": opened,
                "updated_at": resolved if done else opened,
            }
        )
        ticket_texts.append((subject, opened, first_response if first_response < now else None))
        if done:
            csat = int(
                np.clip(
                    np.round(
                        4.0 + 0.8 * satisfaction[i] - 0.04 * response_hours + rng.normal(0, 0.5)
                    ),
                    1,
                    5,
                )
            )
            surveys.append(
                {
                    "customer_id": customer_ids[i],
                    "kind": "csat",
                    "score": csat,
                    "comment": None,
                    "language": "zh" if chinese[i] else "en",
                    "responded_at": resolved + dt.timedelta(hours=2),
                }
            )
            if rng.random() < 0.5:
                ces = int(
                    np.clip(np.round(5.0 + 0.8 * satisfaction[i] - 0.05 * response_hours), 1, 7)
                )
                surveys.append(
                    {
                        "customer_id": customer_ids[i],
                        "kind": "ces",
                        "score": ces,
                        "comment": None,
                        "language": "zh" if chinese[i] else "en",
                        "responded_at": resolved + dt.timedelta(hours=2),
                    }
                )
    ticket_ids = insert_rows(session, Ticket, tickets, ACTOR, "demo tickets", returning_ids=True)
    messages: list[dict[str, Any]] = []
    for ticket_id, (subject, opened, answered) in zip(ticket_ids, ticket_texts, strict=True):
        messages.append(
            {
                "ticket_id": ticket_id,
                "author_kind": "customer",
                "body": subject,
                "created_at": opened,
            }
        )
        if answered is not None:
            messages.append(
                {
                    "ticket_id": ticket_id,
                    "author_kind": "staff",
                    "created_at": answered,
                    "body": "Thanks for writing — I have looked into it and sorted it out.",
                }
            )
    insert_rows(session, TicketMessage, messages, ACTOR, "demo ticket messages")
    insert_rows(session, SurveyResponse, surveys, ACTOR, "demo survey answers")
    progress("tickets and surveys", len(tickets), len(tickets))

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
        "survey_responses": len(surveys),
        "reviews": len(reviews),
        "tickets": len(tickets),
        "interactions": len(interactions),
    }
