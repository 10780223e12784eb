"""/api/v1/journeys: a message (or a task for the owner) on an occasion in a customer's life — a
welcome, a review request after an order, a birthday, a tier change, points about to expire, a
valuable customer's churn risk, a cancelled subscription — once per customer and occasion,
with a holdout that measures what it does. The background worker runs the running journeys
each minute.

Reads need a read token, changes a write token. A name already taken or a pause of a journey
that is not running answers 409; a segment that does not exist 422.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Path, Query, status
from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy.orm import Session

from soloist.api.campaigns import ContentPublic
from soloist.api.deps import DatabaseDep, Reader, ReadSession, Writer, WriteSession
from soloist.api.errors import ErrorPublic
from soloist.api.experiments import GroupEffect
from soloist.domain.campaigns import LANGUAGES, contents_of, find_customers
from soloist.domain.journeys import (
    TRIGGER_DAYS,
    create_journey,
    get_journey,
    journey_results,
    journey_timeline,
    pause_journey,
    set_journey_content,
    start_journey,
    summarise_journeys,
    update_journey,
)
from soloist.errors import NotFoundError, ValidationError
from soloist.storage.types import utcnow

router = APIRouter(prefix="/api/v1/journeys", tags=["journeys"])

JourneyId = Annotated[int, Path(ge=1, le=2**63 - 1, description="The journey's id.")]
ERRORS: dict[int | str, dict[str, Any]] = {
    404: {"model": ErrorPublic, "description": "No such journey."},
    409: {"model": ErrorPublic, "description": "The name is taken, or the state forbids it."},
    422: {"model": ErrorPublic, "description": "Bad input, or a template that does not compile."},
}
TRIGGERS = ", ".join(TRIGGER_DAYS)


# --- schemas ---------------------------------------------------------------------------------


class JourneyPublic(BaseModel):
    id: int
    name: str
    trigger: str = Field(description=f"One of {TRIGGERS}.")
    trigger_days: int = Field(
        description="order: days after it; birthday: days before; points_expiring: within; "
        "churn_risk: at most once in this many days."
    )
    threshold: float | None = Field(description="churn_risk: the risk that counts.")
    minimum_value: float | None = Field(description="churn_risk: the 12-month value needed.")
    wait_hours: int = Field(description="Hours after the occasion before it acts.")
    segment: str | None = Field(description="Only customers of this segment (none: everyone).")
    action: str = Field(description="message or task.")
    channel: str
    task_title: str | None
    holdout_share: float = Field(description="The share drawn to get nothing, to measure it.")
    status: str = Field(description="draft, active or paused.")
    campaign_id: int | None = Field(description="The campaign that carries its messages.")
    started_at: dt.datetime | None


class JourneyListItem(JourneyPublic):
    entries: int
    sent: int
    tasks: int
    holdout: int
    waiting: int
    skipped: int


class JourneyList(BaseModel):
    items: list[JourneyListItem]


class JourneyMessages(BaseModel):
    sent: int
    queued: int
    failed: int
    bounced: int
    clicked: int
    unsubscribed: int
    buyers: int
    orders: int
    revenue: str = Field(description="Attributed: what receivers spent, a decimal string.")
    conversion_rate: float | None


class JourneyEffect(GroupEffect):
    days: int = Field(description="Each customer is followed this many days from the occasion.")
    complete_share: float = Field(description="The share of entries followed to the end.")


class JourneyDetail(JourneyPublic):
    """The journey, what it did (entries by state and reason, its messages) and its effect
    against the holdout (none until both sides have two customers)."""

    entries: int
    by_state: dict[str, int] = Field(description="waiting, sent, task, holdout, skipped.")
    skipped_by_reason: dict[str, int]
    waiting_by_reason: dict[str, int]
    messages: JourneyMessages | None = Field(description="Its messages (none for a task).")
    effect: JourneyEffect | None
    contents: dict[str, ContentPublic] = Field(description="Its message in each language.")


class JourneyCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str = Field(min_length=1, max_length=128)
    trigger: str = Field(description=f"One of {TRIGGERS}.")
    action: Literal["message", "task"] = "message"
    channel: Literal["email", "sms", "webhook"] = "email"
    subject: str | None = Field(default=None, max_length=255, description="For a message.")
    body: str | None = Field(
        default=None, max_length=1_000_000, description="For a message: a template, HTML or text."
    )
    language: str = Field(default="en", description=f"One of {', '.join(LANGUAGES)}.")
    trigger_days: int | None = Field(default=None, ge=0, le=365, description="Default: the "
                                     "trigger's own.")  # fmt: skip
    threshold: float | None = Field(default=None, gt=0, lt=1)
    minimum_value: float | None = Field(default=None, ge=0)
    wait_hours: int = Field(default=0, ge=0, le=8760)
    segment: str | int | None = Field(default=None, description="A segment's name or id.")
    task_title: str | None = Field(default=None, max_length=255, description="For a task.")
    holdout_share: float = Field(default=0.1, ge=0, le=0.5)
    attribution_days: int | None = Field(
        default=None, ge=1, le=365, description="Default: the workspace's setting."
    )


class JourneyUpdate(BaseModel):
    """The fields to change (the text goes through ``PUT …/contents/{language}``)."""

    model_config = ConfigDict(extra="forbid")

    name: str | None = Field(default=None, min_length=1, max_length=128)
    trigger_days: int | None = Field(default=None, ge=0, le=365)
    threshold: float | None = Field(default=None, gt=0, lt=1)
    minimum_value: float | None = Field(default=None, ge=0)
    wait_hours: int | None = Field(default=None, ge=0, le=8760)
    segment: str | int | None = Field(default=None, description='"" clears it.')
    task_title: str | None = Field(default=None, max_length=255)
    holdout_share: float | None = Field(default=None, ge=0, le=0.5)


class JourneyContentIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    subject: str = Field(max_length=255)
    body: str = Field(max_length=1_000_000, description="HTML or plain text; a template.")


class JourneyStart(BaseModel):
    model_config = ConfigDict(extra="forbid")

    backfill_days: int = Field(
        default=0, ge=0, le=365, description="On a first start, count past days' occasions too."
    )


class TimelineItem(BaseModel):
    occasion: str
    occurred_at: dt.datetime
    due_at: dt.datetime
    state: str = Field(
        description="The entry's state (waiting, sent, task, holdout, skipped), or would_send, "
        "would_have_sent, before_start for an occasion it has not entered."
    )
    reason: str | None
    action: str
    subject: str | None = Field(description="What the customer reads (a task: its title).")
    message_id: int | None


class JourneyTimeline(BaseModel):
    journey_id: int
    customer_id: int
    items: list[TimelineItem]


# --- helpers ---------------------------------------------------------------------------------


@contextmanager
def _segment_refused() -> Iterator[None]:
    """A segment named in the body that does not exist is bad input (422)."""
    try:
        yield
    except NotFoundError as exc:
        if "journey_id" in exc.details:
            raise
        raise ValidationError(exc.message, field="segment") from exc


def _detail(session: Session, journey_id: int, currency: str) -> JourneyDetail:
    found = journey_results(session, journey_id, currency, utcnow())
    journey = get_journey(session, journey_id)
    contents = (
        {}
        if journey.campaign_id is None
        else {
            language: ContentPublic(subject=c.subject, html=c.html_body, text=c.text_body)
            for language, c in sorted(contents_of(session, journey.campaign_id).items())
        }
    )
    return JourneyDetail(**{**found, "messages": found["messages"] or None}, contents=contents)


# --- routes ----------------------------------------------------------------------------------


@router.get("", response_model=JourneyList)
def read_journeys(session: ReadSession, _: Reader) -> JourneyList:
    """Every journey with its state and its entries by outcome."""
    return JourneyList(items=[JourneyListItem(**row) for row in summarise_journeys(session)])


@router.post(
    "", response_model=JourneyDetail, status_code=status.HTTP_201_CREATED, responses=ERRORS
)
def post_journey(
    data: JourneyCreate, database: DatabaseDep, session: WriteSession, who: Writer
) -> JourneyDetail:
    """Create a journey (a draft; ``POST …/start`` starts it). A message needs ``subject`` and
    ``body``, a task ``task_title``."""
    with _segment_refused():
        journey = create_journey(
            session,
            name=data.name,
            trigger=data.trigger,
            actor=who.actor,
            action=data.action,
            channel=data.channel,
            subject=data.subject,
            body=data.body,
            language=data.language,
            trigger_days=data.trigger_days,
            threshold=data.threshold,
            minimum_value=data.minimum_value,
            wait_hours=data.wait_hours,
            segment=data.segment,
            task_title=data.task_title,
            holdout_share=data.holdout_share,
            attribution_days=data.attribution_days or database.settings.attribution_days,
        )
    return _detail(session, journey.id, database.settings.currency)


@router.get("/{journey_id}", response_model=JourneyDetail, responses={404: ERRORS[404]})
def read_journey(
    journey_id: JourneyId, database: DatabaseDep, session: ReadSession, _: Reader
) -> JourneyDetail:
    """The journey and what it did: entries by state and reason, its messages' clicks and
    orders, and its effect against the holdout (30 days from each occasion)."""
    return _detail(session, journey_id, database.settings.currency)


@router.patch("/{journey_id}", response_model=JourneyDetail, responses=ERRORS)
def patch_journey(
    journey_id: JourneyId,
    data: JourneyUpdate,
    database: DatabaseDep,
    session: WriteSession,
    who: Writer,
) -> JourneyDetail:
    """Change the fields given; a running journey uses them from its next pass."""
    with _segment_refused():
        update_journey(session, journey_id, who.actor, **data.model_dump(exclude_none=True))
    return _detail(session, journey_id, database.settings.currency)


@router.put("/{journey_id}/contents/{language}", response_model=JourneyDetail, responses=ERRORS)
def put_journey_content(
    journey_id: JourneyId,
    language: Annotated[str, Path(description=f"One of {', '.join(LANGUAGES)}.")],
    data: JourneyContentIn,
    database: DatabaseDep,
    session: WriteSession,
    who: Writer,
) -> JourneyDetail:
    """Add or replace the message in ``language``; the next messages use it."""
    set_journey_content(session, journey_id, language, data.subject, data.body, who.actor)
    return _detail(session, journey_id, database.settings.currency)


@router.post("/{journey_id}/start", response_model=JourneyDetail, responses=ERRORS)
def post_start(
    journey_id: JourneyId,
    database: DatabaseDep,
    session: WriteSession,
    who: Writer,
    data: JourneyStart | None = None,
) -> JourneyDetail:
    """Start (or resume) the journey: occasions from now on count (and, on a first start,
    those of the last ``backfill_days``). Starting a running journey changes nothing."""
    backfill = data.backfill_days if data is not None else 0
    start_journey(session, journey_id, who.actor, utcnow(), backfill_days=backfill)
    return _detail(session, journey_id, database.settings.currency)


@router.post("/{journey_id}/pause", response_model=JourneyDetail, responses=ERRORS)
def post_pause(
    journey_id: JourneyId, database: DatabaseDep, session: WriteSession, who: Writer
) -> JourneyDetail:
    """Pause the journey: nothing is entered or sent until it starts again (409 when it is
    not running)."""
    pause_journey(session, journey_id, who.actor)
    return _detail(session, journey_id, database.settings.currency)


@router.get("/{journey_id}/timeline", response_model=JourneyTimeline, responses=ERRORS)
def read_timeline(
    journey_id: JourneyId,
    customer_id: Annotated[int, Query(ge=1, le=2**63 - 1, description="The customer's id.")],
    database: DatabaseDep,
    session: ReadSession,
    _: Reader,
) -> JourneyTimeline:
    """One customer's occasions, past ones included as if the journey had always run: what it
    did or would do, when, and the subject they read. 404 for an unknown customer."""
    get_journey(session, journey_id)
    try:
        find_customers(session, [str(customer_id)])
    except NotFoundError:
        raise NotFoundError(f"No customer {customer_id}.", customer_id=customer_id) from None
    items = journey_timeline(
        session, journey_id, customer_id, database.settings, database.keyring, utcnow()
    )
    return JourneyTimeline(
        journey_id=journey_id,
        customer_id=customer_id,
        items=[TimelineItem(**item) for item in items],
    )
