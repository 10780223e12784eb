"""Mailing a survey link: a short message in the customer's language through the e-mail channel
of the campaigns (:func:`~soloist.domain.campaigns.channels.channel_for`), and the job kind
``survey-send`` the worker runs (a CSAT survey when a ticket is resolved).

A survey is service mail, not marketing: it goes to any active customer with an e-mail address
that has not bounced for good or complained (``suppressions`` with reason ``hard_bounce`` or
``complaint``); marketing consent and an unsubscribe from campaigns do not stop it. A survey to
an address that bounces for good suppresses the address, as a campaign's would.

Sending holds no transaction open while the mail server answers: the link is made and committed
first, the message sent, then the link marked ``sent_at``. A send that fails half-way leaves an
unsent link behind, which nobody can reach (its secret was never kept).
"""

from __future__ import annotations

import datetime as dt
import secrets
from dataclasses import asdict, dataclass
from email.utils import parseaddr
from typing import TYPE_CHECKING, Any
from zoneinfo import ZoneInfo

from babel.dates import format_date
from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from soloist.config import Settings
from soloist.domain.audit import record_audit
from soloist.domain.campaigns.audience import suppressed_addresses
from soloist.domain.campaigns.channels import (
    Channel,
    OutgoingMessage,
    PermanentDeliveryError,
    TemporaryDeliveryError,
    channel_for,
)
from soloist.domain.campaigns.smtp import mail_domain
from soloist.domain.jobs.handlers import JobContext, JobRefusedError
from soloist.domain.jobs.queue import enqueue_job
from soloist.domain.surveys.links import create_survey_link, survey_settings
from soloist.errors import (
    ChannelNotConfiguredError,
    ChannelUnavailableError,
    NotFoundError,
    ValidationError,
)
from soloist.storage.database import Database
from soloist.storage.models import Customer, Order, Suppression, SurveyLink, Ticket
from soloist.storage.types import utcnow

if TYPE_CHECKING:
    from soloist.storage.models import Job

SEND_JOB = "survey-send"

# The message, in English and Simplified Chinese (the languages of the app). A customer whose
# language is neither reads English.
_SUBJECTS = {
    "en": {
        "nps": "A quick question from {business}",
        "csat": "How did we do?",
        "ces": "How easy was it?",
    },
    "zh": {
        "nps": "{business} 想问您一个问题",
        "csat": "您对我们的服务满意吗？",
        "ces": "问题解决得顺利吗？",
    },
}
_QUESTIONS = {
    "en": {
        "nps": "How likely are you to recommend {business} to a friend or colleague?",
        "csat": "How satisfied were you with {business}?",
        "csat_ticket": "How satisfied were you with the help you got with “{subject}”?",
        "csat_order": "How satisfied were you with your order {order}?",
        "ces": "How easy was it to get your issue resolved?",
    },
    "zh": {
        "nps": "您有多大可能向朋友或同事推荐 {business}？",
        "csat": "您对 {business} 的满意度如何？",
        "csat_ticket": "关于“{subject}”，您对我们提供的帮助满意吗？",
        "csat_order": "您对订单 {order} 满意吗？",
        "ces": "您的问题解决起来有多容易？",
    },
}
_BODIES = {
    "en": (
        "Hello {name},\n\n{question}\n\nOne click gives your answer:\n{url}\n\n"
        "It takes a few seconds. The link works until {until}.\n\nThank you,\n{business}\n"
    ),
    "zh": (
        "{name}，您好：\n\n{question}\n\n点击下面的链接即可回答：\n{url}\n\n"
        "只需几秒钟。链接有效期至 {until}。\n\n谢谢！\n{business}\n"
    ),
}


@dataclass(frozen=True)
class SurveySendResult:
    """What a send did: the link and when it went out, or why nothing was sent (``skipped``:
    ``no_address``, ``hard_bounce``, ``complaint``, ``inactive`` or ``already_sent``)."""

    link_id: int | None = None
    url: str | None = None
    sent_to: str | None = None
    sent_at: dt.datetime | None = None
    skipped: str | None = None


def business_name(settings: Settings) -> str:
    """Who the customer knows the sender as: the From's name, else its address, else the host
    of the public address."""
    name, address = parseaddr(settings.mail_from or "")
    return name or address or settings.public_url.split("://", 1)[-1]


def _language(customer_language: str | None, default: str) -> str:
    return "zh" if (customer_language or default or "").lower().startswith("zh") else "en"


def survey_email(
    kind: str,
    language: str | None,
    *,
    name: str,
    url: str,
    business: str,
    expires_at: dt.datetime,
    timezone: str = "UTC",
    ticket_subject: str | None = None,
    order_reference: str | None = None,
) -> tuple[str, str]:
    """The subject and plain text of a survey message in ``language`` (Chinese for any ``zh``
    code, else English)."""
    lang = _language(language, "en")
    key = kind
    if kind == "csat" and ticket_subject:
        key = "csat_ticket"
    elif kind == "csat" and order_reference:
        key = "csat_order"
    question = _QUESTIONS[lang][key].format(
        business=business, subject=ticket_subject, order=order_reference
    )
    day = expires_at.astimezone(ZoneInfo(timezone)).date()
    until = format_date(day, "long", locale="zh_Hans_CN" if lang == "zh" else "en_US")
    greeting_name = name.strip() or ("客户" if lang == "zh" else "there")
    text = _BODIES[lang].format(
        name=greeting_name, question=question, url=url, until=until, business=business
    )
    return _SUBJECTS[lang][kind].format(business=business), text


def _exclusion(session: Session, customer: Customer) -> str | None:
    if customer.status != "active":
        return "inactive"
    if not customer.email or not customer.email_hash:
        return "no_address"
    suppressed = suppressed_addresses(session, "email", [customer.email_hash])
    return suppressed.get(customer.email_hash)


def _sent_before(
    session: Session,
    customer_id: int,
    kind: str,
    ticket_id: int | None,
    order_id: int | None,
    campaign_id: int | None,
) -> bool:
    """Whether a link for this occasion went out (or was answered) already."""
    query = select(SurveyLink.id).where(
        SurveyLink.customer_id == customer_id,
        SurveyLink.kind == kind,
        or_(SurveyLink.sent_at.is_not(None), SurveyLink.submitted_at.is_not(None)),
    )
    for column, value in (
        (SurveyLink.ticket_id, ticket_id),
        (SurveyLink.order_id, order_id),
        (SurveyLink.campaign_id, campaign_id),
    ):
        query = query.where(column.is_(None) if value is None else column == value)
    return session.scalar(query.limit(1)) is not None


def send_survey_link(
    database: Database,
    *,
    customer_id: int,
    kind: str,
    actor: str,
    ticket_id: int | None = None,
    order_id: int | None = None,
    campaign_id: int | None = None,
    channel: Channel | None = None,
    now: dt.datetime | None = None,
    once: bool = False,
    expires_in: dt.timedelta | None = None,
    edit_minutes: int | None = None,
) -> SurveySendResult:
    """Make a survey link for the customer (``expires_in`` and ``edit_minutes`` as
    :func:`~soloist.domain.surveys.links.create_survey_link`) and mail it; with ``once``, do
    nothing when a link for the same occasion went out before. A refused address raises
    :class:`~soloist.errors.ValidationError` (and a hard bounce suppresses it); a server that
    cannot take the message now raises :class:`~soloist.errors.ChannelUnavailableError`."""
    settings = database.settings
    moment = now or utcnow()
    sender = channel or channel_for(settings, "email")  # refuses a missing configuration first
    try:
        with database.session() as session:
            customer = session.get(Customer, customer_id)
            if customer is None:
                raise NotFoundError(f"No customer with id {customer_id}.", field="customer_id")
            excluded = _exclusion(session, customer)
            if excluded is not None:
                return SurveySendResult(skipped=excluded)
            if once and _sent_before(session, customer_id, kind, ticket_id, order_id, campaign_id):
                return SurveySendResult(skipped="already_sent")
            link, url = create_survey_link(
                session,
                database.keyring,
                settings.public_url,
                customer_id=customer_id,
                kind=kind,
                actor=actor,
                ticket_id=ticket_id,
                order_id=order_id,
                campaign_id=campaign_id,
                now=moment,
                expires_in=expires_in,
                edit_minutes=edit_minutes,
            )
            ticket = session.get(Ticket, ticket_id) if ticket_id is not None else None
            order = session.get(Order, order_id) if order_id is not None else None
            subject, text = survey_email(
                kind,
                customer.language or settings.locale,
                name=customer.name,
                url=url,
                business=business_name(settings),
                expires_at=link.expires_at,
                timezone=settings.timezone,
                ticket_subject=ticket.subject if ticket else None,
                order_reference=order.external_id if order else None,
            )
            recipient, recipient_name, link_id = str(customer.email), customer.name, link.id
            address_hash = customer.email_hash
        message = OutgoingMessage(
            message_id=f"<{secrets.token_hex(12)}@{mail_domain(settings.mail_from)}>",
            recipient=recipient,
            recipient_name=recipient_name,
            subject=subject,
            text=text,
            headers={"Auto-Submitted": "auto-generated"},  # RFC 3834: no auto-replies, please
            customer_id=customer_id,
        )
        try:
            sender.send(message)
        except PermanentDeliveryError as exc:
            if exc.bounce:
                _suppress(database, customer_id, address_hash, str(exc), moment)
            raise ValidationError(
                f"The mail server refused the survey to customer {customer_id}: {exc}",
                field="customer_id",
            ) from exc
        except TemporaryDeliveryError as exc:
            raise ChannelUnavailableError(
                f"The mail server could not take the survey now: {exc}; try again later."
            ) from exc
    finally:
        if channel is None:
            sender.close()
    with database.session() as session:
        stored = session.get(SurveyLink, link_id)
        if stored is not None:
            stored.sent_at = moment
        record_audit(
            session,
            actor,
            "survey.sent",
            "survey_link",
            link_id,
            {"kind": kind, "customer_id": customer_id},
        )
    return SurveySendResult(link_id=link_id, url=url, sent_to=recipient, sent_at=moment)


def _suppress(
    database: Database, customer_id: int, address_hash: str | None, detail: str, now: dt.datetime
) -> None:
    if not address_hash:
        return
    with database.session() as session:
        exists = session.scalar(
            select(Suppression.id).where(
                Suppression.channel == "email",
                Suppression.address_hash == address_hash,
                Suppression.reason == "hard_bounce",
            )
        )
        if exists is None:
            session.add(
                Suppression(
                    channel="email",
                    address_hash=address_hash,
                    reason="hard_bounce",
                    customer_id=customer_id,
                    source="survey",
                    detail=detail[:255] or None,
                    created_at=now,
                )
            )


def queue_csat_for_resolved_ticket(
    session: Session, ticket: Ticket, now: dt.datetime, *, settings: Settings | None = None
) -> Job | None:
    """Queue the ``survey-send`` job of a CSAT survey for a ticket just resolved, when the
    survey settings ask for it and the ticket's customer has an e-mail address (and, given the
    workspace ``settings``, an SMTP server is configured). Once per ticket: the job's dedupe
    key is ``survey:csat:ticket:<id>``. Returns the job, or None when nothing is queued."""
    if ticket.customer_id is None or not survey_settings(session).csat_on_resolve:
        return None
    if settings is not None and not settings.smtp_host:
        return None
    customer = session.get(Customer, ticket.customer_id)
    if customer is None or customer.status != "active" or not customer.email:
        return None
    payload = {"customer_id": customer.id, "kind": "csat", "ticket_id": ticket.id}
    return enqueue_job(
        session, SEND_JOB, payload, dedupe_key=f"survey:csat:ticket:{ticket.id}", now=now
    )


def _optional_id(payload: dict[str, Any], name: str) -> int | None:
    value = payload.get(name)
    return None if value is None else int(value)


def run_survey_send_job(context: JobContext) -> dict[str, Any]:
    """The ``survey-send`` job: payload ``customer_id``, ``kind`` and optionally ``ticket_id``,
    ``order_id``, ``campaign_id``. Idempotent: a link for the occasion that went out already
    means nothing is sent again."""
    payload = context.payload
    try:
        customer_id, kind = int(payload["customer_id"]), str(payload["kind"])
        ticket_id, order_id = _optional_id(payload, "ticket_id"), _optional_id(payload, "order_id")
        campaign_id = _optional_id(payload, "campaign_id")
    except (KeyError, TypeError, ValueError) as exc:
        raise JobRefusedError(f"A survey-send job needs customer_id and kind: {exc}") from exc
    if context.database is None:
        raise JobRefusedError("A survey-send job runs in the worker, which gives it the database.")
    try:
        result = send_survey_link(
            context.database,
            customer_id=customer_id,
            kind=kind,
            actor=context.actor,
            now=context.now,
            once=True,
            ticket_id=ticket_id,
            order_id=order_id,
            campaign_id=campaign_id,
        )
    except (ValidationError, NotFoundError, ChannelNotConfiguredError) as exc:
        raise JobRefusedError(f"The survey cannot be sent: {exc.message}") from exc
    summary = {key: value for key, value in asdict(result).items() if value is not None}
    summary.pop("url", None)  # the link is the customer's key: not kept in the job's result
    summary.pop("sent_to", None)
    if result.sent_at is not None:
        summary["sent_at"] = result.sent_at.isoformat()
    return summary
