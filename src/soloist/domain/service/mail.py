"""The e-mail side of the desk: staff replies go out through the e-mail channel (in the
background, by the worker), and e-mail from customers becomes tickets and messages.

A reply is service mail, not marketing: it goes to any customer with an address that has not
bounced for good or complained (an unsubscribe from campaigns does not stop it), carries no
unsubscribe link, and keeps the thread: ``Re: <subject> [#<ticket id>]`` with In-Reply-To and
References naming the customer's last message, so the customer's answer finds its ticket.
Without a mail server configured, replies are recorded on the ticket (``delivery`` is
``recorded``) for the owner to send by hand.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from soloist.config import Settings
from soloist.domain.service.tickets import (
    Desk,
    add_customer_message,
    clean_subject,
    find_thread,
    message_exists,
    open_ticket,
)
from soloist.errors import ChannelNotConfiguredError, ChannelUnavailableError
from soloist.storage.models import Customer, Suppression, Ticket, TicketMessage

REPLY_JOB = "ticket-reply"
BLOCKING_SUPPRESSIONS = ("hard_bounce", "complaint")


def mail_configured(settings: Settings) -> bool:
    return bool(settings.smtp_host and settings.mail_from)


def _mail_domain(settings: Settings) -> str:
    from soloist.domain.campaigns.smtp import mail_domain

    return mail_domain(settings.mail_from)


def new_reply_id(settings: Settings) -> str:
    from soloist.domain.campaigns.audience import new_message_id

    return new_message_id(_mail_domain(settings))


def queue_reply(
    session: Session, settings: Settings, message: TicketMessage, now: dt.datetime
) -> str:
    """Send a staff reply by e-mail through the worker, or record it when it cannot go out;
    returns the delivery state it was given (``queued``, ``recorded`` or ``no_address``)."""
    from soloist.domain.jobs.queue import enqueue_job

    ticket = message.ticket
    customer = session.get(Customer, ticket.customer_id) if ticket.customer_id else None
    if message.internal:
        return "internal"
    if customer is None or not customer.email:
        message.delivery = "no_address"
    elif not mail_configured(settings):
        message.delivery = "recorded"
    else:
        message.delivery = "queued"
        # Fixed now, so a re-sent reply (the job runs at least once) keeps its Message-ID.
        message.message_id = message.message_id or new_reply_id(settings)
        enqueue_job(session, REPLY_JOB, {"message_id": message.id},
                    dedupe_key=f"{REPLY_JOB}:{message.id}", now=now)  # fmt: skip
    session.flush()
    return message.delivery


def _blocked(session: Session, customer: Customer) -> bool:
    if not customer.email_hash:
        return False
    return (
        session.scalar(
            select(Suppression.id).where(
                Suppression.channel == "email",
                Suppression.address_hash == customer.email_hash,
                Suppression.reason.in_(BLOCKING_SUPPRESSIONS),
            )
        )
        is not None
    )


def send_reply(context: Any) -> dict[str, Any]:
    """The worker's ``ticket-reply`` job: mail one staff reply. Sent once: a reply already
    marked sent is not sent again when the job runs a second time."""
    from soloist.domain.campaigns.channels import (
        OutgoingMessage,
        PermanentDeliveryError,
        TemporaryDeliveryError,
        channel_for,
    )
    from soloist.domain.jobs.handlers import JobRefusedError

    session: Session = context.session
    message = session.get(TicketMessage, int(context.payload["message_id"]))
    if message is None:
        raise JobRefusedError("The reply no longer exists.")
    if message.delivery == "sent":
        return {"skipped": "already sent"}
    ticket = message.ticket
    customer = session.get(Customer, ticket.customer_id) if ticket.customer_id else None
    if customer is None or not customer.email:
        message.delivery = "no_address"
        return {"skipped": "the customer has no e-mail address"}
    if _blocked(session, customer):
        message.delivery, message.delivery_error = "failed", "the address bounced or complained"
        return {"skipped": "suppressed"}
    settings: Settings = context.settings
    if not message.message_id:
        message.message_id = new_reply_id(settings)
    earlier = [ref for ref in session.scalars(
        select(TicketMessage.message_id)
        .where(TicketMessage.ticket_id == ticket.id, TicketMessage.message_id.is_not(None),
               TicketMessage.id != message.id)
        .order_by(TicketMessage.created_at, TicketMessage.id)
    ) if ref]  # fmt: skip
    headers: dict[str, str] = {}
    if earlier:
        headers["In-Reply-To"] = earlier[-1]
        headers["References"] = " ".join(earlier[-10:])
    try:
        channel = channel_for(settings, "email")
    except ChannelNotConfiguredError:
        message.delivery = "recorded"
        return {"skipped": "no mail server configured"}
    try:
        channel.send(
            OutgoingMessage(
                message_id=message.message_id,
                recipient=customer.email,
                recipient_name=customer.name or "",
                subject=f"Re: {clean_subject(ticket.subject)} [#{ticket.id}]",
                text=message.body,
                headers=headers,
                customer_id=customer.id,
            )
        )
    except PermanentDeliveryError as exc:
        message.delivery, message.delivery_error = "failed", str(exc)[:255]
        return {"failed": str(exc)}
    except (TemporaryDeliveryError, ChannelUnavailableError):
        raise  # the job is tried again later
    finally:
        channel.close()
    message.delivery, message.delivery_error = "sent", None
    return {"sent": message.message_id}


@dataclass(frozen=True)
class InboundMail:
    """An e-mail from a customer, as read from the mailbox."""

    sender_email: str
    sender_name: str | None
    subject: str
    body: str
    message_id: str
    references: tuple[str, ...]  # In-Reply-To first, then References
    received_at: dt.datetime


def receive_mail(
    session: Session, desk: Desk, mail: InboundMail, actor: str, *, currency: str | None = None
) -> tuple[Ticket, bool]:
    """File an e-mail: a message already filed changes nothing; a reply joins its ticket; any
    other mail opens a ticket (the sender becomes a customer if unknown). Returns the ticket
    and whether this call wrote anything."""
    from soloist.domain.intake import CustomerRef, customer_for

    existing = message_exists(session, mail.message_id)
    if existing is not None:
        return existing, False
    customer = customer_for(
        session,
        CustomerRef(email=mail.sender_email, name=(mail.sender_name or None)),
        actor,
        at=mail.received_at,
        currency=currency,
    )
    thread = find_thread(session, mail.references, mail.subject, customer.id)
    if thread is not None:
        message = add_customer_message(
            session, desk, thread.id, mail.body, actor, at=mail.received_at,
            message_id=mail.message_id,
        )  # fmt: skip
        return message.ticket, True
    ticket = open_ticket(
        session, desk, clean_subject(mail.subject), mail.body, actor, customer_id=customer.id,
        channel="email", opened_at=mail.received_at, message_id=mail.message_id,
    )  # fmt: skip
    return ticket, True
