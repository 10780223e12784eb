"""What a journey did and what it would do: its entries, messages and measured effect, and the
timeline of one customer's occasions (the editor's preview)."""

from __future__ import annotations

import datetime as dt
from collections import Counter
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from soloist.config import Settings
from soloist.domain.caches import current_or_previous, inputs_version
from soloist.domain.campaigns.effect import compare_groups, outcomes
from soloist.domain.campaigns.results import campaign_results
from soloist.domain.journeys.definitions import get_journey, journey_summary
from soloist.domain.journeys.triggers import find_occasions
from soloist.storage.caches import VersionedCache
from soloist.storage.crypto import Keyring
from soloist.storage.models import AuditEntry, Campaign, Journey, JourneyEntry, Order
from soloist.storage.types import utcnow

FOLLOW_UP_DAYS = 30


def journey_results(
    session: Session, journey_id: int, currency: str, now: dt.datetime | None = None
) -> dict[str, Any]:
    """Entries by state and reason, the messages' clicks and orders, and the effect against
    the journey's holdout (each customer followed for 30 days from their occasion's time;
    receivers are all due entries not held out, by assignment)."""
    now = now or utcnow()
    journey = get_journey(session, journey_id)
    entries = _entries(session, journey_id)
    states = Counter(state for _, state, _, _ in entries)
    reasons = Counter(reason for _, state, reason, _ in entries if state == "skipped" and reason)
    waiting = Counter(reason or "not_yet_due" for _, s, reason, _ in entries if s == "waiting")
    effect = _effect(session, entries, currency, now)
    messages: dict[str, Any] = {}
    if journey.campaign_id is not None and journey.action == "message":
        results = campaign_results(session, journey.campaign_id, currency)
        messages = {
            key: results[key]
            for key in (
                "sent",
                "failed",
                "bounced",
                "clicked",
                "unsubscribed",
                "buyers",
                "orders",
                "revenue",
                "conversion_rate",
            )
        }
        messages["queued"] = results["queued"]
    return {
        **journey_summary(session, journey),
        "entries": len(entries),
        "by_state": dict(states),
        "skipped_by_reason": dict(reasons),
        "waiting_by_reason": dict(waiting),
        "messages": messages,
        "effect": effect,
    }


def _entries(session: Session, journey_id: int) -> list[Any]:
    return list(
        session.execute(
            select(
                JourneyEntry.customer_id,
                JourneyEntry.state,
                JourneyEntry.reason,
                JourneyEntry.due_at,
            ).where(JourneyEntry.journey_id == journey_id)
        ).all()
    )


def _effect(
    session: Session, entries: list[Any], currency: str, now: dt.datetime
) -> dict[str, Any] | None:
    """The effect against the journey's holdout, from its entries (customer, state, reason,
    due time); None while too few are comparable."""
    window = dt.timedelta(days=FOLLOW_UP_DAYS)
    done = [(c, due) for c, _, _, due in entries if due + window <= now]
    # Only occasions whose time has come: a holdout entry recorded ahead of its time (a review
    # request for last week's order, a birthday next week) has no follow-up yet, and counting
    # it as a customer who did not buy would make any journey look as if it worked. And by
    # assignment (intention to treat): every customer not held out is a receiver, whether sent,
    # skipped for want of consent or held by the cap, as the holdout was drawn before any of
    # that was known; comparing only those sent would compare consenting customers with all.
    # One row per customer, not per occasion: the holdout is drawn per customer, so a frequent
    # buyer's many review requests are one randomised unit, followed from their first due
    # occasion (rows per occasion would count them many times and narrow the interval falsely).
    first_due: dict[int, tuple[bool, dt.datetime]] = {}
    for customer, state, _, due in entries:
        if due <= now and (customer not in first_due or due < first_due[customer][1]):
            first_due[customer] = (state == "holdout", due)
    receivers = [(c, due) for c, (held, due) in first_due.items() if not held]
    holdout = [(c, due) for c, (held, due) in first_due.items() if held]
    effect = compare_groups(
        outcomes(session, receivers, FOLLOW_UP_DAYS, currency),
        outcomes(session, holdout, FOLLOW_UP_DAYS, currency),
        currency,
    )
    if effect is not None:
        effect["days"] = FOLLOW_UP_DAYS
        effect["complete_share"] = round(len(done) / len(entries), 4) if entries else 0.0
        effect["unit"] = "customer"
    return effect


def journey_effects(
    session: Session, currency: str, now: dt.datetime | None = None
) -> dict[int, dict[str, Any] | None]:
    """Every journey's measured effect (as :func:`journey_results` gives it), by journey id."""
    now = now or utcnow()
    return {
        journey_id: _effect(session, _entries(session, journey_id), currency, now)
        for journey_id in session.scalars(select(Journey.id).order_by(Journey.id))
    }


_effects: VersionedCache[tuple[str, str], dict[int, dict[str, Any] | None]] = VersionedCache(
    "journey effects", maxsize=4, kept=True
)


def current_journey_effects(
    session: Session, currency: str
) -> tuple[dict[int, dict[str, Any] | None], bool]:
    """The journeys list's effects and whether they are the previous ones (then a background
    thread is working out the current ones): each reads its customers' orders of 30 days, a
    million rows at a hundred thousand customers. Kept until an order, a journey entry or an
    audited change arrives, and at most an hour."""
    url = session.get_bind().engine.url.render_as_string(hide_password=True)
    version = inputs_version(
        session,
        func.max(Order.id),
        func.max(JourneyEntry.id),
        func.count(Journey.id),
        func.max(AuditEntry.id),
    )
    return current_or_previous(
        _effects, session, (url, currency), version, lambda own: journey_effects(own, currency)
    )


def summarise_journeys(session: Session) -> list[dict[str, Any]]:
    """Every journey with its counts, as the journeys list shows them."""
    counts: dict[int, Counter[str]] = {}
    for journey_id, state, number in session.execute(
        select(JourneyEntry.journey_id, JourneyEntry.state, func.count()).group_by(
            JourneyEntry.journey_id, JourneyEntry.state
        )
    ):
        counts.setdefault(int(journey_id), Counter())[str(state)] = int(number)
    rows = []
    for journey in session.scalars(select(Journey).order_by(Journey.id)):
        row = journey_summary(session, journey)
        found = counts.get(journey.id, Counter())
        row.update(
            {
                "entries": sum(found.values()),
                "sent": found.get("sent", 0),
                "tasks": found.get("task", 0),
                "holdout": found.get("holdout", 0),
                "waiting": found.get("waiting", 0),
                "skipped": found.get("skipped", 0),
            }
        )
        rows.append(row)
    return rows


def journey_timeline(
    session: Session,
    journey_id: int,
    customer_id: int,
    settings: Settings,
    keyring: Keyring,
    now: dt.datetime | None = None,
) -> list[dict[str, Any]]:
    """What the journey did and would do for one customer: each of their occasions (past ones
    included, as if the journey had always run), its time, and what happened or would happen,
    with the subject they would read."""
    from soloist.domain.campaigns.preview import preview_campaign

    now = now or utcnow()
    journey = get_journey(session, journey_id)
    found = {
        e.occasion: e
        for e in session.scalars(
            select(JourneyEntry).where(
                JourneyEntry.journey_id == journey_id, JourneyEntry.customer_id == customer_id
            )
        )
    }
    subject = None
    campaign = session.get(Campaign, journey.campaign_id) if journey.campaign_id else None
    if journey.action == "message" and campaign is not None:
        try:
            preview = preview_campaign(
                session, campaign.id, settings, keyring, now, customer=customer_id
            )
            subject = preview.get("subject")
        except Exception as exc:  # a template error is shown in the timeline, not raised
            subject = f"⚠ {getattr(exc, 'message', exc)}"
    since = dt.datetime(1970, 1, 1, tzinfo=dt.UTC)
    occasions = find_occasions(
        session,
        journey,
        since,
        now,
        settings.currency,
        customer_id=customer_id,
        timezone=settings.timezone,
    )
    items = []
    for occasion in sorted(occasions, key=lambda o: o.due_at):
        entry = found.pop(occasion.key, None)
        items.append(
            _item(journey, occasion.key, occasion.occurred_at, occasion.due_at, entry, subject, now)
        )
    for key, entry in found.items():
        items.append(_item(journey, key, entry.occurred_at, entry.due_at, entry, subject, now))
    return sorted(items, key=lambda item: item["due_at"])


def _item(
    journey: Journey,
    occasion: str,
    occurred_at: dt.datetime,
    due_at: dt.datetime,
    entry: JourneyEntry | None,
    subject: str | None,
    now: dt.datetime,
) -> dict[str, Any]:
    if entry is not None:
        state = entry.state
    elif journey.started_at is not None and occurred_at < journey.started_at:
        state = "before_start"
    else:
        state = "would_send" if due_at > now else "would_have_sent"
    return {
        "occasion": occasion,
        "occurred_at": occurred_at.isoformat(),
        "due_at": due_at.isoformat(),
        "state": state,
        "reason": None if entry is None else entry.reason,
        "action": journey.action,
        "subject": subject if journey.action == "message" else journey.task_title,
        "message_id": None if entry is None else entry.message_id,
    }
