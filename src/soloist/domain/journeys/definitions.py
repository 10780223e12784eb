"""Creating, changing, starting and pausing journeys.

A journey's message is written like a campaign's (templates, languages, the personal fields),
in a campaign of its own that never ends: :func:`journey_campaign`. Its text can be changed
while the journey runs; the next messages use the new text.
"""

from __future__ import annotations

import datetime as dt
import secrets
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from soloist.domain.audit import record_audit
from soloist.domain.campaigns.audience import find_segment
from soloist.domain.campaigns.authoring import normalise_language, set_content
from soloist.errors import ConflictError, NotFoundError, ValidationError
from soloist.storage.models import (
    CAMPAIGN_CHANNELS,
    JOURNEY_ACTIONS,
    JOURNEY_TRIGGERS,
    Campaign,
    Journey,
    Segment,
)

# What each trigger's ``trigger_days`` means, and its default.
TRIGGER_DAYS = {
    "welcome": 0,
    "order": 14,  # days after the order (a review request when it has arrived)
    "birthday": 0,  # days before the birthday
    "tier_change": 0,
    "points_expiring": 14,  # points expiring within this many days
    "churn_risk": 90,  # at most once in this many days per customer
    "subscription_cancelled": 0,
}
DEFAULT_THRESHOLD = 0.6


def get_journey(session: Session, journey_id: int) -> Journey:
    journey = session.get(Journey, journey_id)
    if journey is None:
        raise NotFoundError(f"No journey {journey_id}.", journey_id=journey_id)
    return journey


def find_journey(session: Session, reference: str | int) -> Journey:
    """A journey by id or by name."""
    text = str(reference).strip()
    journey = session.get(Journey, int(text)) if text.isdigit() and len(text) < 12 else None
    if journey is None:
        journey = session.scalar(select(Journey).where(Journey.name == text))
    if journey is None:
        raise NotFoundError(f"No journey {text!r}; `soloist journey list` shows them.")
    return journey


def list_journeys(session: Session) -> list[Journey]:
    return list(session.scalars(select(Journey).order_by(Journey.id)))


def journey_campaign(session: Session, journey: Journey) -> Campaign | None:
    return None if journey.campaign_id is None else session.get(Campaign, journey.campaign_id)


def create_journey(
    session: Session,
    *,
    name: str,
    trigger: str,
    actor: str,
    action: str = "message",
    channel: str = "email",
    subject: str | None = None,
    body: str | None = None,
    language: str = "en",
    trigger_days: int | None = None,
    threshold: float | None = None,
    minimum_value: float | None = None,
    wait_hours: int = 0,
    segment: str | int | None = None,
    task_title: str | None = None,
    holdout_share: float = 0.1,
    attribution_days: int = 7,
) -> Journey:
    """A new journey (a draft: it runs once started)."""
    name = name.strip()
    if not name or len(name) > 128:
        raise ValidationError("A journey name has 1 to 128 characters.", field="name")
    if session.scalar(select(Journey.id).where(Journey.name == name)) is not None:
        raise ConflictError(f"A journey is already called {name!r}.", field="name")
    if trigger not in JOURNEY_TRIGGERS:
        raise ValidationError(
            f"trigger must be one of {', '.join(JOURNEY_TRIGGERS)}.", field="trigger"
        )
    if action not in JOURNEY_ACTIONS:
        raise ValidationError(
            f"action must be one of {', '.join(JOURNEY_ACTIONS)}.", field="action"
        )
    if channel not in CAMPAIGN_CHANNELS:
        raise ValidationError(
            f"channel must be one of {', '.join(CAMPAIGN_CHANNELS)}.", field="channel"
        )
    journey = Journey(
        name=name,
        trigger=trigger,
        action=action,
        channel=channel,
        status="draft",
        assignment_seed=secrets.randbelow(2**31),
        trigger_days=TRIGGER_DAYS[trigger],
        threshold=DEFAULT_THRESHOLD if trigger == "churn_risk" else None,
    )
    session.add(journey)
    _apply(
        session,
        journey,
        trigger_days=trigger_days,
        threshold=threshold,
        minimum_value=minimum_value,
        wait_hours=wait_hours,
        segment=segment,
        task_title=task_title,
        holdout_share=holdout_share,
    )
    if action == "task" and not journey.task_title:
        raise ValidationError("A task journey needs a task title.", field="task_title")
    session.flush()
    campaign = Campaign(
        name=f"Journey: {name}"[:128],
        channel=channel,
        journey=trigger,
        status="draft",
        default_language=normalise_language(language),
        attribution_days=attribution_days,
    )
    session.add(campaign)
    session.flush()
    journey.campaign_id = campaign.id
    if action == "message":
        if not subject or not body:
            raise ValidationError("A message journey needs a subject and a body.", field="body")
        set_content(session, campaign.id, language, subject, body, actor)
    record_audit(
        session,
        actor,
        "journey.created",
        "journey",
        journey.id,
        {"name": name, "trigger": trigger, "action": action},
    )
    return journey


def update_journey(session: Session, journey_id: int, actor: str, **changes: Any) -> Journey:
    """Change a journey's settings (its text goes through :func:`set_journey_content`)."""
    journey = get_journey(session, journey_id)
    name = changes.pop("name", None)
    if name is not None:
        name = str(name).strip()
        if not name or len(name) > 128:
            raise ValidationError("A journey name has 1 to 128 characters.", field="name")
        clash = session.scalar(select(Journey.id).where(Journey.name == name))
        if clash is not None and clash != journey.id:
            raise ConflictError(f"A journey is already called {name!r}.", field="name")
        journey.name = name
    _apply(session, journey, **changes)
    session.flush()
    record_audit(
        session,
        actor,
        "journey.updated",
        "journey",
        journey.id,
        {k: v for k, v in changes.items() if v is not None},
    )
    return journey


def _apply(
    session: Session,
    journey: Journey,
    *,
    trigger_days: int | None = None,
    threshold: float | None = None,
    minimum_value: float | None = None,
    wait_hours: int | None = None,
    segment: str | int | None = None,
    task_title: str | None = None,
    holdout_share: float | None = None,
) -> None:
    if trigger_days is not None:
        if not 0 <= trigger_days <= 365:
            raise ValidationError("trigger_days must be 0 to 365.", field="trigger_days")
        journey.trigger_days = trigger_days
    if threshold is not None:
        if not 0 < threshold < 1:
            raise ValidationError("threshold is a churn risk between 0 and 1.", field="threshold")
        journey.threshold = threshold
    if minimum_value is not None:
        if not 0 <= minimum_value <= 1e12:
            raise ValidationError("minimum_value must be 0 to 10¹².", field="minimum_value")
        journey.minimum_value = minimum_value
    if wait_hours is not None:
        if not 0 <= wait_hours <= 24 * 365:
            raise ValidationError("wait_hours must be 0 to 8760.", field="wait_hours")
        journey.wait_hours = wait_hours
    if segment is not None:
        journey.segment_id = None if segment == "" else find_segment(session, segment).id
    if task_title is not None:
        journey.task_title = task_title.strip()[:255] or None
    if holdout_share is not None and holdout_share != journey.holdout_share:
        if journey.started_at is not None:
            # Moving customers between the groups mid-run would compare periods, not groups.
            raise ConflictError(
                "A started journey keeps its holdout share; create a new journey to change it.",
                field="holdout_share",
            )
        if not 0 <= holdout_share <= 0.5:
            raise ValidationError("holdout_share must be 0 to 0.5.", field="holdout_share")
        journey.holdout_share = holdout_share


def set_journey_content(
    session: Session, journey_id: int, language: str, subject: str, body: str, actor: str
) -> None:
    journey = get_journey(session, journey_id)
    if journey.campaign_id is None:
        raise ValidationError("This journey has no message.", field="body")
    set_content(session, journey.campaign_id, language, subject, body, actor)


def start_journey(
    session: Session, journey_id: int, actor: str, now: dt.datetime, *, backfill_days: int = 0
) -> Journey:
    """Start (or resume) a journey: occasions from now on count (and those of the last
    ``backfill_days``, for a first start)."""
    journey = get_journey(session, journey_id)
    campaign = journey_campaign(session, journey)
    if journey.action == "message":
        from soloist.domain.campaigns.authoring import content_languages

        if campaign is None or not content_languages(session, campaign.id):
            raise ValidationError("The journey has no message text yet.", field="body")
    if journey.status == "active":
        return journey
    if journey.started_at is None:
        journey.started_at = now - dt.timedelta(days=max(0, backfill_days))
        journey.scanned_at = None  # the first pass scans from the start (dated triggers too)
    journey.status = "active"
    if campaign is not None:
        campaign.status = "sending"
        campaign.started_at = campaign.started_at or now
    record_audit(session, actor, "journey.started", "journey", journey.id, {})
    return journey


def pause_journey(session: Session, journey_id: int, actor: str) -> Journey:
    """Pause: nothing is entered or sent until it is started again (occasions meanwhile are
    picked up then, unless already past their time by a week)."""
    journey = get_journey(session, journey_id)
    if journey.status != "active":
        raise ConflictError(
            f"Journey {journey_id} is {journey.status}, not running.", status=journey.status
        )
    journey.status = "paused"
    campaign = journey_campaign(session, journey)
    if campaign is not None and campaign.status == "sending":
        campaign.status = "paused"
    record_audit(session, actor, "journey.paused", "journey", journey.id, {})
    return journey


def journey_summary(session: Session, journey: Journey) -> dict[str, Any]:
    segment = session.get(Segment, journey.segment_id) if journey.segment_id else None
    return {
        "id": journey.id,
        "name": journey.name,
        "trigger": journey.trigger,
        "trigger_days": journey.trigger_days,
        "threshold": journey.threshold,
        "minimum_value": journey.minimum_value,
        "wait_hours": journey.wait_hours,
        "segment": None if segment is None else segment.name,
        "action": journey.action,
        "channel": journey.channel,
        "task_title": journey.task_title,
        "holdout_share": journey.holdout_share,
        "status": journey.status,
        "campaign_id": journey.campaign_id,
        "started_at": journey.started_at.isoformat() if journey.started_at else None,
    }
