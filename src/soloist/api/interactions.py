"""/api/v1/interactions: e-mails, calls, meetings, chats and notes logged by other systems."""

from __future__ import annotations

import datetime as dt
from typing import Literal

from fastapi import APIRouter, status
from pydantic import AwareDatetime, BaseModel, ConfigDict, Field

from soloist.api.deps import Writer, WriteSession
from soloist.domain.interactions import log_interaction

router = APIRouter(prefix="/api/v1/interactions", tags=["interactions"])


class InteractionCreate(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    customer_id: int = Field(ge=1, le=2**63 - 1)
    channel: str = Field(description="email, call, meeting, chat, social or note.")
    direction: Literal["inbound", "outbound", "internal"] = "outbound"
    subject: str | None = Field(default=None, max_length=255)
    body: str | None = Field(default=None, max_length=100_000, description="Stored encrypted.")
    occurred_at: AwareDatetime | None = Field(default=None, description="Default: now.")


class InteractionPublic(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    customer_id: int
    channel: str
    direction: str
    subject: str | None
    occurred_at: dt.datetime


@router.post("", response_model=InteractionPublic, status_code=status.HTTP_201_CREATED)
def post_interaction(
    data: InteractionCreate, session: WriteSession, who: Writer
) -> InteractionPublic:
    """Log a conversation on the customer's timeline (the body is encrypted at rest)."""
    interaction = log_interaction(
        session,
        data.customer_id,
        data.channel,
        who.actor,
        direction=data.direction,
        subject=data.subject,
        body=data.body,
        occurred_at=data.occurred_at,
        user_id=who.user_id,
    )
    return InteractionPublic.model_validate(interaction)
