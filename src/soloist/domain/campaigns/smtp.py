"""E-mail over SMTP (``smtplib``): one connection kept open for a whole send, STARTTLS or TLS,
and the server's answers sorted into what they mean for the message.

- a 4xx to a recipient or to the data: try that message later;
- a 5xx to a recipient: a hard bounce (the address is suppressed); a 5xx to the data: that
  message failed for good;
- a refused login, a refused sender, or a server that cannot be reached: nothing more is sent
  now (:class:`~soloist.errors.ChannelUnavailableError`; its ``in_doubt`` detail is False when
  the message certainly did not reach the server, so it is queued again as it was).

A connection that drops in the middle of a message leaves it in doubt (the server may have
taken it); it is sent once more on a new connection, with the same Message-ID.
"""

from __future__ import annotations

import datetime as dt
import smtplib
import ssl
from email.message import EmailMessage
from email.policy import SMTP
from email.utils import format_datetime, formataddr, parseaddr

from soloist.config import Settings
from soloist.domain.campaigns.channels import (
    OutgoingMessage,
    PermanentDeliveryError,
    TemporaryDeliveryError,
)
from soloist.errors import ChannelNotConfiguredError, ChannelUnavailableError


def mail_domain(mail_from: str | None) -> str:
    """The domain of the From address (the right side of our Message-IDs)."""
    address = parseaddr(mail_from or "")[1]
    return address.rpartition("@")[2] or "soloist.invalid"


# Lines up to RFC 5322's 998 characters: the default 78 makes the standard library fold the long
# unsubscribe URL token by token, which takes it seconds (or forever) per message.
MAIL_POLICY = SMTP.clone(max_line_length=998)


def build_email(message: OutgoingMessage, mail_from: str, reply_to: str | None) -> EmailMessage:
    mail = EmailMessage(policy=MAIL_POLICY)
    mail["From"] = mail_from
    mail["To"] = (
        formataddr((message.recipient_name, message.recipient))
        if message.recipient_name
        else message.recipient
    )
    if reply_to:
        mail["Reply-To"] = reply_to
    mail["Subject"] = message.subject
    mail["Date"] = format_datetime(dt.datetime.now(dt.UTC))
    mail["Message-ID"] = message.message_id
    for name, value in message.headers.items():
        mail[name] = value
    mail.set_content(message.text, cte="quoted-printable")
    if message.html is not None:
        mail.add_alternative(message.html, subtype="html", cte="quoted-printable")
    for filename, mime_type, content in message.attachments:
        maintype, _, subtype = mime_type.partition("/")
        mail.add_attachment(content, maintype=maintype, subtype=subtype, filename=filename)
    return mail


class SmtpChannel:
    name = "email"

    def __init__(
        self,
        host: str,
        port: int,
        security: str,
        mail_from: str,
        *,
        username: str | None = None,
        password: str | None = None,
        reply_to: str | None = None,
        timeout_s: float = 30.0,
        ssl_context: ssl.SSLContext | None = None,
    ) -> None:
        self.host, self.port, self.security = host, port, security
        self.mail_from, self.reply_to = mail_from, reply_to
        self.username, self.password = username, password
        self.timeout_s = timeout_s
        self.ssl_context = ssl_context or ssl.create_default_context()
        self.envelope_from = parseaddr(mail_from)[1]
        self._connection: smtplib.SMTP | None = None

    @classmethod
    def from_settings(cls, settings: Settings) -> SmtpChannel:
        if not settings.smtp_host:
            raise ChannelNotConfiguredError(
                "E-mail cannot be sent: set SOLOIST_SMTP_HOST (and SOLOIST_SMTP_PORT, "
                "SOLOIST_SMTP_SECURITY, SOLOIST_SMTP_USERNAME, SOLOIST_SMTP_PASSWORD)."
            )
        if not settings.mail_from or "@" not in parseaddr(settings.mail_from)[1]:
            raise ChannelNotConfiguredError(
                "E-mail cannot be sent: set SOLOIST_MAIL_FROM to the sender's address, "
                'e.g. "Ada <ada@example.com>".'
            )
        password = settings.smtp_password.get_secret_value() if settings.smtp_password else None
        return cls(
            settings.smtp_host,
            settings.smtp_port_or_default,
            settings.smtp_security,
            settings.mail_from,
            username=settings.smtp_username,
            password=password,
            reply_to=settings.mail_reply_to,
            timeout_s=settings.smtp_timeout_s,
        )

    def _connect(self) -> smtplib.SMTP:
        try:
            if self.security == "tls":
                connection: smtplib.SMTP = smtplib.SMTP_SSL(
                    self.host, self.port, timeout=self.timeout_s, context=self.ssl_context
                )
            else:
                connection = smtplib.SMTP(self.host, self.port, timeout=self.timeout_s)
                if self.security == "starttls":
                    connection.starttls(context=self.ssl_context)
            if self.username:
                connection.login(self.username, self.password or "")
        except smtplib.SMTPAuthenticationError as exc:
            raise ChannelUnavailableError(
                f"The SMTP server {self.host} refused the login of {self.username!r}: "
                f"{exc.smtp_code} {_text(exc.smtp_error)}",
                in_doubt=False,
            ) from exc
        except (smtplib.SMTPException, OSError) as exc:
            raise ChannelUnavailableError(
                f"The SMTP server {self.host}:{self.port} ({self.security}) cannot be reached: "
                f"{exc}",
                in_doubt=False,
            ) from exc
        return connection

    def send(self, message: OutgoingMessage) -> str | None:
        try:
            mail = build_email(message, self.mail_from, self.reply_to)
            mail.as_bytes()  # an address this message cannot carry fails here, not mid-send
        except (UnicodeError, ValueError) as exc:
            # e.g. a non-ASCII local part (josé@…), which needs SMTPUTF8: never deliverable as is
            raise PermanentDeliveryError(
                f"The message to {message.recipient!r} cannot be written: {exc}", bounce=False
            ) from exc
        try:
            self._deliver(mail, message.recipient)
        except smtplib.SMTPServerDisconnected:
            # In doubt: the server may have taken it before the line dropped. Once more, on a
            # new connection, with the same Message-ID.
            self.close()
            try:
                self._deliver(mail, message.recipient)
            except smtplib.SMTPServerDisconnected as exc:
                self.close()
                raise ChannelUnavailableError(
                    f"The SMTP server {self.host} hung up: {exc}", in_doubt=True
                ) from exc
            except ChannelUnavailableError as exc:  # the first try may have reached it
                raise ChannelUnavailableError(exc.message, in_doubt=True) from exc
        return None

    def _deliver(self, mail: EmailMessage, recipient: str) -> None:
        if self._connection is None:
            self._connection = self._connect()
        try:
            self._connection.send_message(mail, from_addr=self.envelope_from, to_addrs=[recipient])
        except smtplib.SMTPRecipientsRefused as exc:
            code, answer = next(iter(exc.recipients.values()))
            detail = f"{code} {_text(answer)}"
            if 400 <= code < 500:
                raise TemporaryDeliveryError(detail) from exc
            raise PermanentDeliveryError(detail, bounce=True) from exc
        except smtplib.SMTPSenderRefused as exc:
            raise ChannelUnavailableError(
                f"The SMTP server refused the sender {self.envelope_from}: "
                f"{exc.smtp_code} {_text(exc.smtp_error)}",
                in_doubt=False,
            ) from exc
        except smtplib.SMTPResponseException as exc:  # the data, or anything else it answered
            detail = f"{exc.smtp_code} {_text(exc.smtp_error)}"
            if 400 <= exc.smtp_code < 500:
                raise TemporaryDeliveryError(detail) from exc
            raise PermanentDeliveryError(detail, bounce=False) from exc
        except smtplib.SMTPServerDisconnected:
            raise
        except OSError as exc:
            self.close()
            raise smtplib.SMTPServerDisconnected(str(exc)) from exc

    def close(self) -> None:
        connection, self._connection = self._connection, None
        if connection is not None:
            try:
                connection.quit()
            except (smtplib.SMTPException, OSError):
                connection.close()


def _text(answer: bytes | str) -> str:
    return answer.decode("utf-8", "replace") if isinstance(answer, bytes) else str(answer)
