"""One campaign message for one customer: the language version they read, rendered with their
fields, the links sent through the click counter, the open pixel, and the unsubscribe headers
of RFC 8058 (``List-Unsubscribe`` with an HTTPS URL, and ``List-Unsubscribe-Post:
List-Unsubscribe=One-Click``), which Gmail and Yahoo require of bulk senders since 2024.
"""

from __future__ import annotations

import datetime as dt
import html
import urllib.parse
from typing import Any

from sqlalchemy.orm import Session

from soloist.config import Settings
from soloist.domain.campaigns.authoring import contents_of, variants_of
from soloist.domain.campaigns.channels import OutgoingMessage
from soloist.domain.campaigns.links import (
    CLICK,
    OPEN,
    UNSUBSCRIBE,
    CampaignLinks,
    LinkSigner,
    rewrite_links,
)
from soloist.domain.campaigns.personal import PersonalFields
from soloist.domain.campaigns.smtp import mail_domain
from soloist.domain.campaigns.templates import CompiledContent
from soloist.errors import ValidationError
from soloist.storage.crypto import Keyring
from soloist.storage.models import Campaign

TEST_MESSAGE = 0  # the message id in the links of a test send: they lead to a page, not a change


class Composer:
    """Compiles a campaign's templates once and renders them for one customer at a time."""

    def __init__(
        self,
        session: Session,
        campaign: Campaign,
        settings: Settings,
        keyring: Keyring,
        now: dt.datetime,
        *,
        track: bool = True,
    ) -> None:
        self.campaign_id = campaign.id
        self.default_language = campaign.default_language
        self.variants: dict[str, dict[str, CompiledContent]] = {}
        sources: list[str] = []
        for variant in variants_of(session, campaign.id):
            contents = contents_of(session, campaign.id, variant)
            self.variants[variant] = {
                language: CompiledContent(c.subject, c.html_body, c.text_body)
                for language, c in contents.items()
            }
            sources += [
                f"{c.subject} {c.html_body or ''} {c.text_body or ''}" for c in contents.values()
            ]
        if not self.variants.get("A"):
            raise ValidationError("The campaign has no content to send.", field="body")
        self.compiled = self.variants["A"]
        self.signer = LinkSigner(keyring.link_key, settings.public_url)
        # Fitting the recommender is worth it only for a template that shows its offers.
        self.fields = PersonalFields(
            session, now, offers=any("recommendation" in source for source in sources)
        )
        self.links = CampaignLinks(session, campaign.id) if track else None
        self.domain = mail_domain(settings.mail_from)
        self.unsubscribe_mailto = settings.unsubscribe_mailto
        self.unsubscribe_base = f"{settings.public_url}/u/"

    def bind(self, session: Session) -> None:
        """Store new links through ``session`` (the transaction of the batch being rendered)."""
        if self.links is not None:
            self.links.session = session

    def language_for(self, language: str | None, variant: str | None = None) -> str:
        compiled = self.variants.get(variant or "A", self.compiled)
        if language in compiled:
            return str(language)
        return self.default_language if self.default_language in compiled else next(iter(compiled))

    def compose(
        self,
        customer: dict[str, Any],
        *,
        message_row: int,
        message_id: str,
        recipient: str,
        language: str | None,
        variant: str | None = None,
    ) -> OutgoingMessage:
        """The message for ``customer`` in their language, of A/B ``variant`` (A by default)."""
        compiled = self.variants.get(variant or "A", self.compiled)
        version = self.language_for(language or customer.get("language"), variant)
        unsubscribe_url = self.signer.url(UNSUBSCRIBE, message_row)
        context = {"customer": customer, "unsubscribe_url": unsubscribe_url}
        rendered = compiled[version].render(context)
        html_part, text_part = rendered.html, rendered.text
        if self.links is not None:
            links = self.links

            def tracked(url: str) -> str:
                return self.signer.url(CLICK, message_row, links.id_of(url))

            html_part, text_part = rewrite_links(
                html_part, text_part, tracked, self.unsubscribe_base
            )
            if html_part is not None:
                pixel = (
                    f'<img src="{html.escape(self.signer.url(OPEN, message_row))}" width="1" '
                    'height="1" alt="" style="display:none">'
                )
                closing = html_part.lower().rfind("</body>")
                html_part = (
                    html_part[:closing] + pixel + html_part[closing:]
                    if closing >= 0
                    else html_part + pixel
                )
        unsubscribe = [f"<{unsubscribe_url}>"]
        if self.unsubscribe_mailto:
            token = self.signer.token(UNSUBSCRIBE, message_row)
            subject = urllib.parse.quote(f"unsubscribe {token}")
            unsubscribe.append(f"<mailto:{self.unsubscribe_mailto}?subject={subject}>")
        headers = {
            "List-Unsubscribe": ", ".join(unsubscribe),
            "List-Unsubscribe-Post": "List-Unsubscribe=One-Click",
            "X-Soloist-Campaign": str(self.campaign_id),
        }
        return OutgoingMessage(
            message_id=message_id,
            recipient=recipient,
            recipient_name=str(customer.get("name") or ""),
            subject=rendered.subject,
            text=text_part,
            html=html_part,
            headers=headers,
            customer_id=customer.get("id"),
            campaign_id=self.campaign_id,
        )
