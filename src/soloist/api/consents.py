"""Consent over the API: a customer's records (append-only history, each with the wording
version it was given under) and the published wordings."""

from __future__ import annotations

import datetime as dt
from typing import Annotated

from fastapi import APIRouter, Path, Query, status
from pydantic import AwareDatetime, BaseModel, ConfigDict, Field

from soloist.api.deps import Reader, ReadSession, Writer, WriteSession
from soloist.domain.customers import (
    consent_history,
    list_wordings,
    publish_wording,
    record_consent,
)

router = APIRouter(prefix="/api/v1", tags=["consents"])
CustomerId = Annotated[int, Path(ge=1, le=2**63 - 1)]


class ConsentCreate(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    channel: str = Field(description="email, sms, phone, post or webhook.")
    granted: bool = Field(description="true: consent given; false: withdrawn.")
    source: str = Field(
        default="api", min_length=1, max_length=32, description="Where it was given."
    )
    evidence: str | None = Field(default=None, max_length=255)
    recorded_at: AwareDatetime | None = Field(default=None, description="Default: now.")
    wording_version: str | None = Field(
        default=None,
        max_length=32,
        description="The published wording the customer saw; default: the channel's newest.",
    )


class ConsentPublic(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    customer_id: int
    channel: str
    granted: bool
    source: str
    recorded_at: dt.datetime
    wording_version: str | None


class ConsentEventOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    channel: str
    granted: bool
    recorded_at: dt.datetime
    source: str
    evidence: str | None
    wording_version: str | None
    wording: str | None = Field(description="The text of that version, in their language.")


class WordingCreate(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    channel: str = Field(description="email, sms, phone, post or webhook.")
    version: str = Field(min_length=1, max_length=32, description="v2, 2026-12 …")
    text: str = Field(min_length=1, max_length=10_000, description="The words shown.")
    language: str = Field(default="en", min_length=1, max_length=16)


class WordingOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    channel: str
    version: str
    language: str
    text: str
    published_at: dt.datetime


@router.post(
    "/customers/{customer_id}/consents",
    response_model=ConsentPublic,
    status_code=status.HTTP_201_CREATED,
)
def post_consent(
    customer_id: CustomerId, data: ConsentCreate, session: WriteSession, who: Writer
) -> ConsentPublic:
    """Record a consent given or withdrawn for one channel; earlier records stay as history."""
    record = record_consent(
        session,
        customer_id,
        data.channel,
        data.granted,
        who.actor,
        source=data.source,
        evidence=data.evidence,
        recorded_at=data.recorded_at,
        wording_version=data.wording_version,
    )
    return ConsentPublic.model_validate(record)


@router.get("/customers/{customer_id}/consents", response_model=list[ConsentEventOut])
def get_consents(customer_id: CustomerId, session: ReadSession, _: Reader) -> list[ConsentEventOut]:
    """The customer's consent history, newest first: what, when, how and which wording."""
    return [ConsentEventOut.model_validate(e) for e in consent_history(session, customer_id)]


@router.get("/consent-wordings", response_model=list[WordingOut])
def get_wordings(
    session: ReadSession,
    _: Reader,
    channel: Annotated[str | None, Query(max_length=16)] = None,
) -> list[WordingOut]:
    """The published consent wordings, newest first."""
    return [WordingOut.model_validate(w) for w in list_wordings(session, channel)]


@router.post("/consent-wordings", response_model=WordingOut, status_code=status.HTTP_201_CREATED)
def post_wording(data: WordingCreate, session: WriteSession, who: Writer) -> WordingOut:
    """Publish a version of a channel's consent wording (409 if that version exists: a new
    text is a new version, since records point at it)."""
    wording = publish_wording(
        session, data.channel, data.version, data.text, who.actor, language=data.language
    )
    return WordingOut.model_validate(wording)
