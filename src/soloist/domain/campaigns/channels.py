"""Message channels behind one small Protocol: e-mail over SMTP (:mod:`.smtp`), a webhook that
POSTs each message as signed JSON, and SMS through a gateway interface.

A channel's ``send`` returns the provider's id of the message (or None) once the channel has
accepted it, and says what went wrong by the exception it raises:

- :class:`TemporaryDeliveryError`: try this message again later (an SMTP 4xx, an HTTP 429/5xx);
- :class:`PermanentDeliveryError`: never again (an SMTP 5xx); with ``bounce`` the address itself
  is refused, and it is suppressed for good;
- :class:`~soloist.errors.ChannelUnavailableError`: the server cannot be reached or refuses us;
  the send stops and continues later where it stopped.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import json
import os
import time
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol

from soloist.config import Settings
from soloist.errors import ChannelNotConfiguredError, ChannelUnavailableError, ValidationError


@dataclass(frozen=True)
class OutgoingMessage:
    """One rendered message to one recipient."""

    message_id: str  # RFC 5322 Message-ID, angle brackets included; kept across re-sends
    recipient: str  # the address: e-mail, phone number, or the customer id for the webhook
    recipient_name: str
    subject: str
    text: str
    html: str | None = None
    headers: dict[str, str] = field(default_factory=dict)
    customer_id: int | None = None
    campaign_id: int | None = None
    # (file name, MIME type such as "text/html", content): e-mail only (the owner's report)
    attachments: tuple[tuple[str, str, bytes], ...] = ()


class TemporaryDeliveryError(Exception):
    """The channel could not take this message now; it may later."""


class PermanentDeliveryError(Exception):
    """The channel refused this message for good; ``bounce``: the address is refused."""

    def __init__(self, message: str, *, bounce: bool) -> None:
        super().__init__(message)
        self.bounce = bounce


class Channel(Protocol):
    name: str

    def send(self, message: OutgoingMessage) -> str | None: ...

    def close(self) -> None: ...


# --- webhook ---------------------------------------------------------------------------------

SIGNATURE_HEADER = "X-Soloist-Signature"


def sign_webhook(secret: bytes, body: bytes, timestamp: int) -> str:
    """``t=<unix seconds>,v1=<hex HMAC-SHA256 of "<t>.<body>">``, Stripe's scheme: the receiver
    recomputes it and refuses stale timestamps, so a captured delivery cannot be replayed."""
    digest = hmac.new(secret, f"{timestamp}.".encode() + body, hashlib.sha256).hexdigest()
    return f"t={timestamp},v1={digest}"


class WebhookChannel:
    """POSTs each message as JSON to one URL, signed with ``X-Soloist-Signature``."""

    name = "webhook"

    def __init__(self, url: str, secret: bytes, timeout_s: float = 10.0) -> None:
        self.url, self.secret, self.timeout_s = url, secret, timeout_s

    def send(self, message: OutgoingMessage) -> str | None:
        body = json.dumps(
            {
                "message_id": message.message_id,
                "campaign_id": message.campaign_id,
                "customer_id": message.customer_id,
                "recipient": message.recipient,
                "subject": message.subject,
                "text": message.text,
                "html": message.html,
            },
            ensure_ascii=False,
        ).encode("utf-8")
        request = urllib.request.Request(
            self.url,
            data=body,
            method="POST",
            headers={
                "Content-Type": "application/json; charset=utf-8",
                "Idempotency-Key": message.message_id,
                SIGNATURE_HEADER: sign_webhook(self.secret, body, int(time.time())),
            },
        )
        try:
            with urllib.request.urlopen(request, timeout=self.timeout_s) as response:
                response.read()
        except urllib.error.HTTPError as exc:
            if exc.code in (408, 429) or exc.code >= 500:
                raise TemporaryDeliveryError(f"HTTP {exc.code} from the webhook") from exc
            raise PermanentDeliveryError(f"HTTP {exc.code} from the webhook", bounce=False) from exc
        except (urllib.error.URLError, TimeoutError, OSError) as exc:
            raise ChannelUnavailableError(
                f"The webhook {self.url} cannot be reached: {exc}"
            ) from exc
        return None

    def close(self) -> None:
        return None


# --- SMS -------------------------------------------------------------------------------------


class SmsGateway(Protocol):
    def send_sms(self, to: str, text: str, reference: str) -> str: ...


class FileSmsGateway:
    """Writes each SMS as a JSON line to a file (no SMS gateway can be reached from here); a
    real gateway implements the same ``send_sms``."""

    def __init__(self, path: Path) -> None:
        self.path = path

    def send_sms(self, to: str, text: str, reference: str) -> str:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        line = json.dumps(
            {
                "to": to,
                "text": text,
                "reference": reference,
                "at": dt.datetime.now(dt.UTC).isoformat(),
            },
            ensure_ascii=False,
        )
        with self.path.open("a", encoding="utf-8") as handle:
            handle.write(line + "\n")
            handle.flush()
            os.fsync(handle.fileno())
        return reference


class SmsChannel:
    name = "sms"

    def __init__(self, gateway: SmsGateway) -> None:
        self.gateway = gateway

    def send(self, message: OutgoingMessage) -> str | None:
        return self.gateway.send_sms(message.recipient, message.text.strip(), message.message_id)

    def close(self) -> None:
        return None


def channel_for(settings: Settings, name: str) -> Channel:
    """The configured channel called ``name``; a clear error when its settings are missing."""
    if name == "email":
        from soloist.domain.campaigns.smtp import SmtpChannel

        return SmtpChannel.from_settings(settings)
    if name == "sms":
        return SmsChannel(FileSmsGateway(settings.sms_outbox_path))
    if name == "webhook":
        if not settings.webhook_channel_url or settings.webhook_channel_secret is None:
            raise ChannelNotConfiguredError(
                "The webhook channel needs SOLOIST_WEBHOOK_CHANNEL_URL and "
                "SOLOIST_WEBHOOK_CHANNEL_SECRET (or _FILE)."
            )
        secret = settings.webhook_channel_secret.get_secret_value().encode("utf-8")
        return WebhookChannel(settings.webhook_channel_url, secret)
    raise ValidationError(f"Unknown channel {name!r}; use email, sms or webhook.", field="channel")
