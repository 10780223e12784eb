"""Seeing a campaign before it goes: the message one named customer would get, in their
language or in a chosen one (:func:`preview_campaign`, or :func:`preview_draft` for text not
saved yet, as the editor shows it while the owner types), and a test send of it to the owner's
own address."""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy.orm import Session

from soloist.config import Settings
from soloist.domain.campaigns.audience import new_message_id
from soloist.domain.campaigns.authoring import get_campaign, normalise_language, split_body
from soloist.domain.campaigns.channels import (
    Channel,
    OutgoingMessage,
    PermanentDeliveryError,
    TemporaryDeliveryError,
    channel_for,
)
from soloist.domain.campaigns.compose import TEST_MESSAGE, Composer
from soloist.domain.campaigns.links import UNSUBSCRIBE, LinkSigner
from soloist.domain.campaigns.personal import PersonalFields
from soloist.domain.campaigns.smtp import mail_domain
from soloist.domain.campaigns.templates import CompiledContent, check_templates
from soloist.domain.customers.records import find_customer_by_email, get_customer
from soloist.errors import ChannelUnavailableError, NotFoundError, ValidationError
from soloist.storage.crypto import Keyring
from soloist.storage.database import Database

SAMPLE_CUSTOMER = {
    "id": 0,
    "name": "Ada Lovelace",
    "first_name": "Ada",
    "email": "ada@example.com",
    "language": "en",
    "points": 1250,
    "tier": "Gold",
    "last_product": "Espresso beans, 1 kg",
    "clv_band": "high",
    "recommendation": {"name": "Ceramic pour-over dripper", "sku": "DRIP-01"},
}


def _customer_fields(
    session: Session, fields: PersonalFields, customer: str | int | None
) -> dict[str, Any]:
    if customer is None or str(customer).strip() == "":
        return dict(SAMPLE_CUSTOMER)
    text = str(customer).strip()
    found = find_customer_by_email(session, text) if "@" in text else None
    if found is None and text.isdigit() and int(text) < 2**63:
        found = get_customer(session, int(text))
    if found is None:
        raise NotFoundError(f"No customer {text!r} (give an id or an e-mail address).")
    return fields.for_customers(session, [found.id])[found.id]


def preview_campaign(
    session: Session,
    campaign_id: int,
    settings: Settings,
    keyring: Keyring,
    now: dt.datetime,
    *,
    customer: str | int | None = None,
    language: str | None = None,
) -> dict[str, Any]:
    """The message as ``customer`` (an id or e-mail; none: a sample customer) would get it."""
    campaign = get_campaign(session, campaign_id)
    composer = Composer(session, campaign, settings, keyring, now, track=False)
    fields = _customer_fields(session, composer.fields, customer)
    chosen = normalise_language(language) if language else None
    version = composer.language_for(chosen or fields.get("language"))
    outgoing = composer.compose(
        fields,
        message_row=TEST_MESSAGE,
        message_id=f"<preview@{mail_domain(settings.mail_from)}>",
        recipient=str(fields.get("email") or ""),
        language=version,
    )
    return {
        "campaign_id": campaign_id,
        "customer": {"id": fields.get("id"), "name": fields.get("name")},
        "language": version,
        "languages": sorted(composer.compiled),
        "subject": outgoing.subject,
        "html": outgoing.html,
        "text": outgoing.text,
        "headers": outgoing.headers,
    }


def preview_draft(
    session: Session,
    settings: Settings,
    keyring: Keyring,
    now: dt.datetime,
    *,
    subject: str,
    body: str,
    language: str = "en",
    customer: str | int | None = None,
) -> dict[str, Any]:
    """A version not saved yet (``subject`` and ``body``, HTML or plain text, as the editor
    holds them) rendered as ``customer`` (an id or e-mail; none: a sample customer) would get
    it in ``language``. Nothing is stored and no link is counted; a template error raises
    :class:`~soloist.errors.TemplateError` naming the part and the line of what was typed."""
    lang = normalise_language(language)
    html_body, text_body = split_body(body)
    check_templates(subject, html_body, text_body)
    uses_offers = "recommendation" in subject + body
    fields = _customer_fields(session, PersonalFields(session, now, offers=uses_offers), customer)
    signer = LinkSigner(keyring.link_key, settings.public_url)
    context = {"customer": fields, "unsubscribe_url": signer.url(UNSUBSCRIBE, TEST_MESSAGE)}
    rendered = CompiledContent(subject, html_body, text_body).render(context)
    return {
        "customer": {"id": fields.get("id"), "name": fields.get("name")},
        "language": lang,
        "subject": rendered.subject,
        "html": rendered.html,
        "text": rendered.text,
    }


def send_test_message(
    database: Database,
    campaign_id: int,
    to: str,
    *,
    customer: str | int | None = None,
    language: str | None = None,
    channel: Channel | None = None,
    now: dt.datetime | None = None,
) -> dict[str, Any]:
    """Send the message, as ``customer`` would get it, to the address ``to`` (the owner's),
    its subject marked as a test. Its links lead to pages that change nothing."""
    if "@" not in to:
        raise ValidationError(f"{to!r} is not an e-mail address.", field="to")
    moment = now or dt.datetime.now(dt.UTC)
    with database.read_session() as session:
        preview = preview_campaign(
            session,
            campaign_id,
            database.settings,
            database.keyring,
            moment,
            customer=customer,
            language=language,
        )

    outgoing = OutgoingMessage(
        message_id=new_message_id(mail_domain(database.settings.mail_from)),
        recipient=to,
        recipient_name="",
        subject=f"[Test] {preview['subject']}",
        text=preview["text"],
        html=preview["html"],
        headers=preview["headers"],
        campaign_id=campaign_id,
    )
    own = channel is None
    sender = channel or channel_for(database.settings, "email")
    try:
        sender.send(outgoing)
    except PermanentDeliveryError as exc:  # the owner's own address refused: say so
        raise ValidationError(
            f"The mail server refused the test message to {to}: {exc}", field="to"
        ) from exc
    except TemporaryDeliveryError as exc:
        raise ChannelUnavailableError(
            f"The mail server could not take the test message now: {exc}; try again later."
        ) from exc
    finally:
        if own:
            sender.close()
    return {"sent_to": to, "subject": outgoing.subject, "language": preview["language"]}
