"""/api/v1/surveys: survey links (NPS, CSAT, CES) to send a customer, and the answers they gave.

A link's ``url`` ends with its signed token and leads to a public page (no sign-in) where the
customer answers once; the URL is shown only when the link is made (only a hash of its secret
is kept), so a lost URL means a new link.
"""

from __future__ import annotations

import datetime as dt
from typing import TYPE_CHECKING, Annotated, Literal

from fastapi import APIRouter, Query, status
from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy.orm import Session

from soloist.api.deps import DatabaseDep, Reader, ReadSession, Writer
from soloist.api.errors import ErrorPublic
from soloist.domain.surveys import (
    create_survey_link,
    get_survey_link,
    list_survey_responses,
    send_survey_link,
)
from soloist.errors import ValidationError
from soloist.storage.retry import run_in_transaction

if TYPE_CHECKING:
    from soloist.storage.models import SurveyLink

router = APIRouter(prefix="/api/v1/surveys", tags=["surveys"])

Id = Annotated[int, Field(ge=1, le=2**63 - 1)]
ERRORS: dict[int | str, dict[str, object]] = {
    404: {"model": ErrorPublic, "description": "No such customer, ticket, order or campaign."},
    422: {"model": ErrorPublic, "description": "A field is not valid (named in `details`)."},
}
SKIPPED = {
    "no_address": "Customer {id} has no e-mail address.",
    "hard_bounce": "Customer {id}'s e-mail address bounced for good; no survey is sent to it.",
    "complaint": "Customer {id} complained about our mail; no survey is sent to them.",
    "inactive": "Customer {id} is not active.",
}


class SurveyLinkCreate(BaseModel):
    """A survey for one customer, on an occasion (a ticket, an order or a campaign) or none."""

    model_config = ConfigDict(extra="forbid")

    customer_id: Id
    kind: Literal["nps", "csat", "ces"]
    ticket_id: Id | None = None
    order_id: Id | None = None
    campaign_id: Id | None = None
    expires_in_days: int | None = Field(
        default=None, ge=1, le=365, description="Default: the survey settings' (30 days)."
    )
    edit_minutes: int | None = Field(
        default=None,
        ge=0,
        le=30 * 24 * 60,
        description="How long the first answer may be changed; default: the settings' (0).",
    )
    send: bool = Field(
        default=False, description="Mail the link to the customer now (their language)."
    )


class SurveyLinkPublic(BaseModel):
    id: int
    url: str = Field(description="The survey page; it ends with the link's token.")
    kind: str
    customer_id: int
    ticket_id: int | None
    order_id: int | None
    campaign_id: int | None
    expires_at: dt.datetime
    edit_minutes: int
    sent_at: dt.datetime | None = Field(description="When it was mailed (with `send`).")


class SurveyResponsePublic(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    kind: str
    score: int
    comment: str | None
    customer_id: int | None
    ticket_id: int | None
    order_id: int | None
    campaign_id: int | None
    survey_link_id: int | None = Field(description="Set when answered through a survey link.")
    language: str | None
    responded_at: dt.datetime
    updated_at: dt.datetime | None = Field(description="When the answer was last changed.")


class SurveyResponsePage(BaseModel):
    items: list[SurveyResponsePublic]
    total: int
    limit: int
    offset: int


@router.post(
    "/links",
    response_model=SurveyLinkPublic,
    status_code=status.HTTP_201_CREATED,
    responses=ERRORS,
)
def post_survey_link(
    data: SurveyLinkCreate, database: DatabaseDep, who: Writer
) -> SurveyLinkPublic:
    """Make a survey link (and with `send`, mail it): `url` is the public page where the
    customer answers once; it expires after `expires_in_days`."""
    expires_in = dt.timedelta(days=data.expires_in_days) if data.expires_in_days else None
    if not data.send:

        def work(session: Session) -> SurveyLinkPublic:
            link, url = create_survey_link(
                session,
                database.keyring,
                database.settings.public_url,
                customer_id=data.customer_id,
                kind=data.kind,
                actor=who.actor,
                expires_in=expires_in,
                edit_minutes=data.edit_minutes,
                ticket_id=data.ticket_id,
                order_id=data.order_id,
                campaign_id=data.campaign_id,
            )
            return _public(link, url)

        return run_in_transaction(database, work)
    sent = send_survey_link(
        database,
        customer_id=data.customer_id,
        kind=data.kind,
        actor=who.actor,
        expires_in=expires_in,
        edit_minutes=data.edit_minutes,
        ticket_id=data.ticket_id,
        order_id=data.order_id,
        campaign_id=data.campaign_id,
    )
    if sent.link_id is None or sent.url is None:
        reason = SKIPPED.get(sent.skipped or "", "No survey was sent to customer {id}.")
        raise ValidationError(reason.format(id=data.customer_id), field="customer_id")
    with database.read_session() as session:
        return _public(get_survey_link(session, sent.link_id), sent.url)


def _public(link: SurveyLink, url: str) -> SurveyLinkPublic:
    return SurveyLinkPublic(
        id=link.id,
        url=url,
        kind=link.kind,
        customer_id=link.customer_id,
        ticket_id=link.ticket_id,
        order_id=link.order_id,
        campaign_id=link.campaign_id,
        expires_at=link.expires_at,
        edit_minutes=link.edit_minutes,
        sent_at=link.sent_at,
    )


@router.get("/responses", response_model=SurveyResponsePage, responses=ERRORS)
def read_survey_responses(
    session: ReadSession,
    _: Reader,
    kind: Annotated[str | None, Query(description="nps, csat or ces.")] = None,
    customer_id: Annotated[int | None, Query(ge=1, description="Only this customer's.")] = None,
    ticket_id: Annotated[int | None, Query(ge=1, description="Only about this ticket.")] = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
    offset: Annotated[int, Query(ge=0)] = 0,
) -> SurveyResponsePage:
    """Survey answers, newest first: through survey links and imported ones, with the comment
    (decrypted) and the occasion."""
    items, total = list_survey_responses(
        session,
        kind=kind,
        customer_id=customer_id,
        ticket_id=ticket_id,
        limit=limit,
        offset=offset,
    )
    return SurveyResponsePage(
        items=[SurveyResponsePublic.model_validate(item) for item in items],
        total=total,
        limit=limit,
        offset=offset,
    )
