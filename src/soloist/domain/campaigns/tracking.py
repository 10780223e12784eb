"""What recipients do with a message: open it (the pixel), click a link, unsubscribe, complain.

Opens are unreliable and are marked so: Apple Mail Privacy Protection fetches every image of
every delivered message through a proxy, and security scanners fetch links and images seconds
after delivery. An open is counted as a *machine* open when it comes within
:data:`MACHINE_SECONDS` of the send or from a known proxy or scanner (Mautic's bot filter uses
the same two signals, ``BotRatioHelper``). Clicks by scanners are filtered the same way. Opens
never decide anything on their own; the report leads with clicks and orders.
"""

from __future__ import annotations

import datetime as dt
import re

from sqlalchemy import select
from sqlalchemy.orm import Session

from soloist.domain.audit import record_audit
from soloist.domain.campaigns.audience import UNSUBSCRIBE_SOURCE
from soloist.domain.campaigns.sending import suppress_recipient
from soloist.domain.customers.consents import current_consents, record_consent
from soloist.storage.models import CampaignLink, Message, MessageEvent

MACHINE_SECONDS = 2.0
_MACHINE_AGENTS = re.compile(
    r"(?i)googleimageproxy|yahoomailproxy|bot\b|crawler|spider|scanner|preview|barracuda|"
    r"mimecast|proofpoint|python-|curl/|wget/|go-http-client|headless"
)


def is_machine(user_agent: str | None, seconds_after_send: float | None) -> bool:
    if seconds_after_send is not None and seconds_after_send < MACHINE_SECONDS:
        return True
    return bool(user_agent and _MACHINE_AGENTS.search(user_agent))


def _event(
    session: Session,
    message: Message,
    kind: str,
    now: dt.datetime,
    user_agent: str | None,
    *,
    link_id: int | None = None,
    detail: str | None = None,
) -> MessageEvent:
    after = (now - message.sent_at).total_seconds() if message.sent_at else None
    event = MessageEvent(
        message_id=message.id,
        kind=kind,
        link_id=link_id,
        occurred_at=now,
        seconds_after_send=after,
        user_agent=(user_agent or "")[:255] or None,
        machine=is_machine(user_agent, after) if kind in ("open", "click") else False,
        detail=detail,
    )
    session.add(event)
    session.flush()
    return event


def record_open(
    session: Session, message_row: int, user_agent: str | None, now: dt.datetime
) -> bool:
    message = session.get(Message, message_row)
    if message is None or message.campaign_id is None:
        return False
    event = _event(session, message, "open", now, user_agent)
    if not event.machine and message.opened_at is None:
        message.opened_at = now
    return True


def record_click(
    session: Session, message_row: int, link_id: int, user_agent: str | None, now: dt.datetime
) -> str | None:
    """The link's address (where to redirect), or None when the link is not the message's."""
    message = session.get(Message, message_row)
    link = session.get(CampaignLink, link_id)
    if message is None or link is None or link.campaign_id != message.campaign_id:
        return None
    event = _event(session, message, "click", now, user_agent, link_id=link_id)
    if not event.machine and message.clicked_at is None:
        message.clicked_at = now
    return link.url


def find_message(session: Session, message_row: int) -> Message | None:
    message = session.get(Message, message_row)
    return message if message is not None and message.campaign_id is not None else None


def is_unsubscribed(session: Session, message: Message) -> bool:
    return not current_consents(session, message.customer_id).get(message.channel, False)


def unsubscribe(session: Session, message_row: int, now: dt.datetime, how: str) -> Message | None:
    """Withdraw the recipient's consent for the message's channel (once; a second request
    changes nothing) and count it against the campaign."""
    message = find_message(session, message_row)
    if message is None:
        return None
    if message.unsubscribed_at is None:
        message.unsubscribed_at = now
        _event(session, message, "unsubscribe", now, None, detail=how)
    if not is_unsubscribed(session, message):
        record_consent(
            session,
            message.customer_id,
            message.channel,
            False,
            f"unsubscribe:campaign:{message.campaign_id}",
            source=UNSUBSCRIBE_SOURCE,
            evidence=f"{how}, message {message.id}",
            recorded_at=now,
        )
    suppress_recipient(session, message, "unsubscribed", source=how, detail=None, now=now)
    return message


def record_complaint(
    session: Session, message_row: int, now: dt.datetime, actor: str, source: str
) -> Message | None:
    """A recipient reported the message as spam: the address is suppressed for good."""
    message = find_message(session, message_row)
    if message is None:
        return None
    if message.complained_at is None:
        message.complained_at = now
        _event(session, message, "complaint", now, None, detail=source)
    suppress_recipient(session, message, "complaint", source=source, detail=None, now=now)
    record_audit(session, actor, "campaign.complaint", "customer", message.customer_id,
                 {"message": message.id})  # fmt: skip
    return message


def record_bounce(
    session: Session,
    message_row: int,
    now: dt.datetime,
    actor: str,
    source: str,
    detail: str | None = None,
) -> Message | None:
    """A bounce the provider reported after accepting the message (a delayed DSN): the message
    is marked bounced and its address suppressed for good (``hard_bounce``)."""
    message = find_message(session, message_row)
    if message is None:
        return None
    if message.status != "bounced":
        message.status = "bounced"
        message.error = (detail or f"bounce reported by {source}")[:255]
        _event(session, message, "bounce", now, None, detail=detail or source)
    suppress_recipient(session, message, "hard_bounce", source=source, detail=detail, now=now)
    record_audit(session, actor, "campaign.bounce", "customer", message.customer_id,
                 {"message": message.id})  # fmt: skip
    return message


def message_by_header(session: Session, message_id: str) -> Message | None:
    """A campaign message by its Message-ID header (as a bounce or complaint report quotes it)."""
    value = message_id.strip()
    if not value.startswith("<"):
        value = f"<{value}>"
    return session.scalar(select(Message).where(Message.message_id == value))
