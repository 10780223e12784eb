"""/api/v1/campaigns: write a campaign to a segment (one version per language, and A/B
variants), preview it, send a test, send it (the background worker does), schedule, pause or
cancel it, read its results; and /api/v1/campaigns/feedback for a mail provider's complaint and
bounce reports. The A/B test, the holdout's effect and the sample-size guide are in
:mod:`soloist.api.experiments`.

Reads need a read token, everything that changes a campaign or sends a message a write token.
Errors have the one shape of :mod:`soloist.api.errors`: a template that does not compile answers
422 ``template_error`` with the part and the line; a state that does not allow the change 409
``campaign_state``; a channel whose settings are missing 503 ``channel_not_configured``.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Path, status
from pydantic import AwareDatetime, BaseModel, ConfigDict, Field
from sqlalchemy.orm import Session

from soloist.api.deps import (
    DatabaseDep,
    Principal,
    Reader,
    ReadSession,
    Writer,
    WriteSession,
    current_principal,
)
from soloist.api.errors import ErrorPublic
from soloist.domain.campaigns import (
    LANGUAGES,
    campaign_results,
    campaign_summary,
    cancel_campaign,
    contents_of,
    count_audience,
    create_campaign,
    get_campaign,
    list_campaigns,
    message_by_header,
    pause_campaign,
    preview_campaign,
    queue_campaign,
    record_bounce,
    record_complaint,
    schedule_campaign,
    send_test_message,
    set_content,
    unschedule_campaign,
    update_campaign,
)
from soloist.errors import NotFoundError, PermissionDeniedError, ValidationError
from soloist.storage.types import utcnow

router = APIRouter(prefix="/api/v1/campaigns", tags=["campaigns"])

CampaignId = Annotated[int, Path(ge=1, le=2**63 - 1, description="The campaign's id.")]
Channel = Literal["email", "sms", "webhook"]
ERRORS: dict[int | str, dict[str, Any]] = {
    404: {"model": ErrorPublic, "description": "No such campaign."},
    409: {"model": ErrorPublic, "description": "The campaign's state does not allow this."},
    422: {"model": ErrorPublic, "description": "Bad input, or a template that does not compile."},
}
SEND_ERRORS: dict[int | str, dict[str, Any]] = {
    **ERRORS,
    503: {
        "model": ErrorPublic,
        "description": "The channel's settings are missing (channel_not_configured) or its "
        "server cannot be reached (channel_unavailable).",
    },
}


# --- schemas ---------------------------------------------------------------------------------


class CampaignPublic(BaseModel):
    id: int
    name: str
    channel: str
    status: str = Field(description="draft, scheduled, sending, paused, sent or cancelled.")
    segment: str | None
    segment_id: int | None
    languages: list[str] = Field(description="The languages it has a version in.")
    default_language: str = Field(description="What a customer without their own gets.")
    attribution_days: int = Field(description="Orders within this many days count for it.")
    holdout_share: float = Field(
        description="The share of the list drawn at random to get nothing (0: no holdout)."
    )
    send_time: str = Field(
        description="now, or optimised: each recipient's best hour within send_window_hours."
    )
    send_window_hours: int = Field(description="The hours an optimised send spreads over.")
    variants: list[str] = Field(description="Its A/B variants (A, the control, first).")
    scheduled_at: dt.datetime | None
    started_at: dt.datetime | None = Field(description="When its recipient list was frozen.")
    sent_at: dt.datetime | None
    created_at: dt.datetime | None
    last_error: str | None
    messages: dict[str, int] = Field(
        description="Messages by status: queued, sending, sent, failed, bounced, suppressed."
    )


class CampaignList(BaseModel):
    items: list[CampaignPublic]


class ContentPublic(BaseModel):
    subject: str
    html: str | None = Field(description="The HTML template.")
    text: str | None = Field(description="The plain-text template (none: made from the HTML).")


class CampaignDetail(CampaignPublic):
    contents: dict[str, ContentPublic] = Field(description="The version of each language.")
    variant_contents: dict[str, dict[str, ContentPublic]] = Field(
        description="The other A/B variants (B, C …): the version of each language."
    )
    audience: dict[str, int] = Field(
        description="Its segment now: `segment` (customers), `reachable`, and how many would "
        "be left out and why (no_consent, no_address, unsubscribed, hard_bounce, complaint)."
    )


class CampaignCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str = Field(min_length=1, max_length=128)
    segment: str | int = Field(description="The segment's name or id.")
    channel: Channel = "email"
    subject: str = Field(max_length=255, description="A template: `{{ customer.first_name }}`.")
    body: str = Field(
        max_length=1_000_000,
        description="HTML, or plain text (its paragraphs become HTML); a Jinja2 template with "
        "`customer` (name, first_name, points, tier, …) and `unsubscribe_url`.",
    )
    text_body: str | None = Field(
        default=None, max_length=1_000_000, description="A plain-text part of your own."
    )
    language: str = Field(default="en", description=f"One of {', '.join(LANGUAGES)}.")
    attribution_days: int | None = Field(
        default=None, ge=1, le=365, description="Default: the workspace's setting."
    )


class CampaignUpdate(BaseModel):
    """The fields to change (a draft or a scheduled campaign only)."""

    model_config = ConfigDict(extra="forbid")

    name: str | None = Field(default=None, min_length=1, max_length=128)
    segment: str | int | None = None
    channel: Channel | None = None
    attribution_days: int | None = Field(default=None, ge=1, le=365)
    default_language: str | None = None
    holdout_share: float | None = Field(
        default=None, ge=0, le=0.5, description="A share drawn to get nothing (0.1: 10%)."
    )
    send_time: Literal["now", "optimised"] | None = None
    send_window_hours: int | None = Field(default=None, ge=1, le=168)


class ContentIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    subject: str = Field(max_length=255)
    body: str = Field(max_length=1_000_000, description="HTML or plain text; a template.")
    text_body: str | None = Field(default=None, max_length=1_000_000)


class PreviewRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    customer: str | int | None = Field(
        default=None, description="As this customer (id or e-mail) gets it; none: a sample."
    )
    language: str | None = Field(default=None, description="Default: the customer's.")


class PreviewCustomer(BaseModel):
    id: int | None
    name: str | None


class PreviewPublic(BaseModel):
    campaign_id: int
    customer: PreviewCustomer
    language: str
    languages: list[str]
    subject: str
    html: str | None
    text: str
    headers: dict[str, str]


class TestSendRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    to: str = Field(max_length=254, description="Your own address.")
    customer: str | int | None = None
    language: str | None = None


class TestSendPublic(BaseModel):
    sent_to: str
    subject: str
    language: str


class ScheduleIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    at: AwareDatetime = Field(description="When to send, with its offset.")


class GroupResults(BaseModel):
    sent: int
    clicked: int
    opened: int
    buyers: int
    orders: int
    revenue: str
    conversion_rate: float | None


class DayResults(BaseModel):
    day: int
    clicks: int
    orders: int


class CampaignResults(BaseModel):
    """What the campaign did. ``orders`` and ``revenue`` (a decimal string) are the paid
    orders of its recipients within ``attribution_days`` of their message; opens are
    unreliable (``opens_note``)."""

    id: int
    name: str
    status: str
    currency: str
    attribution_days: int
    recipients: int
    queued: int
    sent: int
    failed: int
    bounced: int
    suppressed: int
    suppressed_by_reason: dict[str, int]
    held_out: int = Field(description="Drawn at random to receive nothing (the holdout).")
    waiting: int = Field(description="The A/B test's remainder, waiting for the winner.")
    unsubscribed: int
    complained: int
    clicked: int
    opened: int
    machine_opens: int
    opens_reliable: bool
    opens_note: str
    buyers: int
    orders: int
    revenue: str
    conversion_rate: float | None
    by_variant: dict[str, GroupResults]
    by_language: dict[str, GroupResults]
    by_segment: dict[str, GroupResults]
    daily: list[DayResults]


class FeedbackIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    message_id: str = Field(
        min_length=3, max_length=255, description="The Message-ID header of the message."
    )
    kind: Literal["complaint", "bounce"]
    detail: str | None = Field(default=None, max_length=255, description="The provider's words.")


class FeedbackPublic(BaseModel):
    message_id: str
    kind: str
    campaign_id: int | None
    status: str = Field(description="The message's status now.")


# --- helpers ---------------------------------------------------------------------------------


def sender(principal: Annotated[Principal, Depends(current_principal)]) -> Principal:
    """A caller allowed to send (a write token), without holding a write turn: a test send
    writes nothing and waits on the mail server, not the database."""
    if not principal.can_write:
        raise PermissionDeniedError("This needs a write token (or a staff or owner account).")
    return principal


Sender = Annotated[Principal, Depends(sender)]


@contextmanager
def _refused_input(field: str) -> Iterator[None]:
    """A segment or customer named in the body that does not exist is bad input (422)."""
    try:
        yield
    except NotFoundError as exc:
        if "campaign_id" in exc.details:  # the campaign itself: 404
            raise
        raise ValidationError(exc.message, field=field) from exc


def _public(session: Session, campaign_id: int) -> CampaignPublic:
    return CampaignPublic(**campaign_summary(session, get_campaign(session, campaign_id)))


def _contents(session: Session, campaign_id: int, variant: str) -> dict[str, ContentPublic]:
    return {
        language: ContentPublic(subject=c.subject, html=c.html_body, text=c.text_body)
        for language, c in sorted(contents_of(session, campaign_id, variant).items())
    }


def campaign_detail(session: Session, campaign_id: int, currency: str) -> CampaignDetail:
    """The campaign, its versions (of each variant) and who its segment reaches now."""
    campaign = get_campaign(session, campaign_id)
    summary = campaign_summary(session, campaign)
    return CampaignDetail(
        **summary,
        contents=_contents(session, campaign_id, "A"),
        variant_contents={
            variant: _contents(session, campaign_id, variant)
            for variant in summary["variants"]
            if variant != "A"
        },
        audience=count_audience(session, campaign, currency),
    )


# --- routes ----------------------------------------------------------------------------------


@router.get("", response_model=CampaignList)
def read_campaigns(session: ReadSession, _: Reader) -> CampaignList:
    """Every campaign, newest first, with its state and its messages by status."""
    return CampaignList(
        items=[CampaignPublic(**campaign_summary(session, c)) for c in list_campaigns(session)]
    )


@router.post(
    "", response_model=CampaignDetail, status_code=status.HTTP_201_CREATED, responses=ERRORS
)
def post_campaign(
    data: CampaignCreate, database: DatabaseDep, session: WriteSession, who: Writer
) -> CampaignDetail:
    """Create a draft campaign to a segment with its first language's version. The templates
    are compiled at once: an error answers 422 ``template_error`` naming the part and line."""
    settings = database.settings
    with _refused_input("segment"):
        campaign = create_campaign(
            session,
            name=data.name,
            segment=data.segment,
            subject=data.subject,
            body=data.body,
            actor=who.actor,
            channel=data.channel,
            language=data.language,
            text_body=data.text_body,
            attribution_days=data.attribution_days or settings.attribution_days,
        )
    return campaign_detail(session, campaign.id, settings.currency)


@router.post("/feedback", response_model=FeedbackPublic, responses={404: {"model": ErrorPublic}})
def post_feedback(data: FeedbackIn, session: WriteSession, who: Writer) -> FeedbackPublic:
    """A mail provider's report on a message it took, found by its Message-ID header: a
    ``complaint`` (the recipient marked it as spam) or a ``bounce`` (it could not be delivered
    after all). Either way the address is suppressed for every later campaign; a bounce also
    marks the message bounced. An unknown Message-ID answers 404."""
    message = message_by_header(session, data.message_id)
    if message is None or message.campaign_id is None:
        raise NotFoundError(
            f"No campaign message has the Message-ID {data.message_id!r}.",
            message_id=data.message_id,
        )
    now = utcnow()
    source = f"feedback:{who.actor}"
    if data.kind == "complaint":
        record_complaint(session, message.id, now, who.actor, source)
    else:
        record_bounce(session, message.id, now, who.actor, source, data.detail)
    return FeedbackPublic(
        message_id=str(message.message_id),
        kind=data.kind,
        campaign_id=message.campaign_id,
        status=message.status,
    )


@router.get("/{campaign_id}", response_model=CampaignDetail, responses={404: ERRORS[404]})
def read_campaign(
    campaign_id: CampaignId, database: DatabaseDep, session: ReadSession, _: Reader
) -> CampaignDetail:
    """One campaign: its state, its version per language, and who its segment reaches now."""
    return campaign_detail(session, campaign_id, database.settings.currency)


@router.patch("/{campaign_id}", response_model=CampaignDetail, responses=ERRORS)
def patch_campaign(
    campaign_id: CampaignId,
    data: CampaignUpdate,
    database: DatabaseDep,
    session: WriteSession,
    who: Writer,
) -> CampaignDetail:
    """Change the fields given of a draft or a scheduled campaign (409 once it is sending):
    its holdout (``holdout_share``, 0 to 0.5) and send time (``send_time`` now or optimised,
    within ``send_window_hours``) among them."""
    with _refused_input("segment"):
        update_campaign(
            session,
            campaign_id,
            who.actor,
            name=data.name,
            segment=data.segment,
            channel=data.channel,
            attribution_days=data.attribution_days,
            default_language=data.default_language,
            holdout_share=data.holdout_share,
            send_time=data.send_time,
            send_window_hours=data.send_window_hours,
        )
    return campaign_detail(session, campaign_id, database.settings.currency)


@router.put("/{campaign_id}/contents/{language}", response_model=CampaignDetail, responses=ERRORS)
def put_content(
    campaign_id: CampaignId,
    language: Annotated[str, Path(description=f"One of {', '.join(LANGUAGES)}.")],
    data: ContentIn,
    database: DatabaseDep,
    session: WriteSession,
    who: Writer,
) -> CampaignDetail:
    """Add or replace the version in ``language``; customers who read it get this one."""
    set_content(
        session, campaign_id, language, data.subject, data.body, who.actor, text_body=data.text_body
    )
    return campaign_detail(session, campaign_id, database.settings.currency)


@router.put(
    "/{campaign_id}/variants/{variant}/contents/{language}",
    response_model=CampaignDetail,
    responses=ERRORS,
)
def put_variant_content(
    campaign_id: CampaignId,
    variant: Annotated[
        str,
        Path(
            pattern="^[A-Z]$",
            description="One capital letter: B, C … (A is the campaign's own text).",
        ),
    ],
    language: Annotated[str, Path(description=f"One of {', '.join(LANGUAGES)}.")],
    data: ContentIn,
    database: DatabaseDep,
    session: WriteSession,
    who: Writer,
) -> CampaignDetail:
    """Add or replace an A/B variant's version in ``language``. An A/B test
    (``PUT …/experiment``) sends the variants; without one, only A is sent."""
    set_content(
        session,
        campaign_id,
        language,
        data.subject,
        data.body,
        who.actor,
        text_body=data.text_body,
        variant=variant,
    )
    return campaign_detail(session, campaign_id, database.settings.currency)


@router.post("/{campaign_id}/preview", response_model=PreviewPublic, responses=ERRORS)
def post_preview(
    campaign_id: CampaignId,
    data: PreviewRequest,
    database: DatabaseDep,
    session: ReadSession,
    _: Reader,
) -> PreviewPublic:
    """The message as a customer (or a sample customer) would get it; nothing is stored."""
    with _refused_input("customer"):
        found = preview_campaign(
            session,
            campaign_id,
            database.settings,
            database.keyring,
            utcnow(),
            customer=data.customer,
            language=data.language,
        )
    return PreviewPublic(**found)


@router.post("/{campaign_id}/test", response_model=TestSendPublic, responses=SEND_ERRORS)
def post_test_send(
    campaign_id: CampaignId, data: TestSendRequest, database: DatabaseDep, _: Sender
) -> TestSendPublic:
    """Send the message, as a customer would get it, to your own address ``to``; its subject
    starts with [Test] and its unsubscribe link changes nothing."""
    with _refused_input("customer"):
        sent = send_test_message(
            database, campaign_id, data.to, customer=data.customer, language=data.language
        )
    return TestSendPublic(**sent)


@router.post(
    "/{campaign_id}/send",
    response_model=CampaignPublic,
    status_code=status.HTTP_202_ACCEPTED,
    responses=SEND_ERRORS,
)
def post_send(
    campaign_id: CampaignId, database: DatabaseDep, session: WriteSession, who: Writer
) -> CampaignPublic:
    """Send now: the recipient list is frozen (those without consent, unsubscribed, bounced
    or complained are left out and counted) and the background worker sends it (202). A
    paused campaign resumes; one sending already answers as it is."""
    queue_campaign(session, campaign_id, who.actor, database.settings, utcnow())
    return _public(session, campaign_id)


@router.post("/{campaign_id}/schedule", response_model=CampaignPublic, responses=ERRORS)
def post_schedule(
    campaign_id: CampaignId, data: ScheduleIn, session: WriteSession, who: Writer
) -> CampaignPublic:
    """Schedule the campaign for ``at``; the background worker sends it then."""
    schedule_campaign(session, campaign_id, data.at, who.actor, utcnow())
    return _public(session, campaign_id)


@router.delete("/{campaign_id}/schedule", response_model=CampaignPublic, responses=ERRORS)
def delete_schedule(campaign_id: CampaignId, session: WriteSession, who: Writer) -> CampaignPublic:
    """Take a scheduled campaign back to a draft."""
    unschedule_campaign(session, campaign_id, who.actor)
    return _public(session, campaign_id)


@router.post("/{campaign_id}/pause", response_model=CampaignPublic, responses=ERRORS)
def post_pause(campaign_id: CampaignId, session: WriteSession, who: Writer) -> CampaignPublic:
    """Pause a campaign that is sending; ``send`` resumes it."""
    pause_campaign(session, campaign_id, who.actor)
    return _public(session, campaign_id)


@router.post("/{campaign_id}/cancel", response_model=CampaignPublic, responses=ERRORS)
def post_cancel(campaign_id: CampaignId, session: WriteSession, who: Writer) -> CampaignPublic:
    """Cancel the campaign for good; what was sent stays sent."""
    cancel_campaign(session, campaign_id, who.actor)
    return _public(session, campaign_id)


@router.get("/{campaign_id}/results", response_model=CampaignResults, responses={404: ERRORS[404]})
def read_results(
    campaign_id: CampaignId, database: DatabaseDep, session: ReadSession, _: Reader
) -> CampaignResults:
    """What the campaign did: recipients, sent, failed, bounced, left out (by reason),
    unsubscribes, complaints, clicks (people, not scanners), and the orders and revenue that
    followed within its attribution window, in total and by language and segment."""
    return CampaignResults(**campaign_results(session, campaign_id, database.settings.currency))
