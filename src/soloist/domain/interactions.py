"""Interactions: e-mails, calls, meetings, chats, social messages and notes on a customer."""

from __future__ import annotations

import datetime as dt

from sqlalchemy.orm import Session

from soloist.domain.audit import record_audit
from soloist.domain.customers.records import get_customer
from soloist.errors import ValidationError
from soloist.storage.models import INTERACTION_CHANNELS, INTERACTION_DIRECTIONS, Interaction


def log_interaction(
    session: Session,
    customer_id: int,
    channel: str,
    actor: str,
    *,
    direction: str = "outbound",
    subject: str | None = None,
    body: str | None = None,
    occurred_at: dt.datetime | None = None,
    user_id: int | None = None,
) -> Interaction:
    if channel not in INTERACTION_CHANNELS:
        raise ValidationError(
            f"Unknown channel {channel!r}; use one of {', '.join(INTERACTION_CHANNELS)}.",
            field="channel",
        )
    if direction not in INTERACTION_DIRECTIONS:
        raise ValidationError(
            f"Unknown direction {direction!r}; use one of {', '.join(INTERACTION_DIRECTIONS)}.",
            field="direction",
        )
    get_customer(session, customer_id)
    interaction = Interaction(
        customer_id=customer_id,
        channel=channel,
        direction=direction,
        subject=subject,
        body=body,
        occurred_at=(occurred_at or dt.datetime.now(dt.UTC)).astimezone(dt.UTC),
        user_id=user_id,
    )
    session.add(interaction)
    session.flush()
    record_audit(
        session,
        actor,
        "interaction.logged",
        "customer",
        customer_id,
        {"channel": channel, "interaction_id": interaction.id},
    )
    return interaction
