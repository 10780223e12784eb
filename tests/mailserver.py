"""A real SMTP server on loopback (aiosmtpd) for the campaign tests and the benchmark: it keeps
every message it accepts, and can refuse chosen recipients with a chosen SMTP reply."""

from __future__ import annotations

import email
import email.policy
import socket
import threading
from dataclasses import dataclass, field
from email.message import EmailMessage
from typing import Any

from aiosmtpd.controller import Controller


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass
class Received:
    mail_from: str
    rcpt_tos: list[str]
    message: EmailMessage


@dataclass
class MailHandler:
    received: list[Received] = field(default_factory=list)
    # recipient address -> SMTP reply to its RCPT TO, e.g. "550 5.1.1 no such user"
    refuse: dict[str, str] = field(default_factory=dict)
    lock: threading.Lock = field(default_factory=threading.Lock)

    async def handle_RCPT(  # noqa: N802 (aiosmtpd's hook name)
        self, server: Any, session: Any, envelope: Any, address: str, options: Any
    ) -> str:
        reply = self.refuse.get(address.lower())
        if reply is not None:
            return reply
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:  # noqa: N802
        parsed = email.message_from_bytes(envelope.content, policy=email.policy.default)
        with self.lock:
            self.received.append(
                Received(envelope.mail_from, list(envelope.rcpt_tos), parsed)  # type: ignore[arg-type]
            )
        return "250 2.0.0 Accepted"

    def messages(self) -> list[Received]:
        with self.lock:
            return list(self.received)


class SmtpServer:
    def __init__(self) -> None:
        self.handler = MailHandler()
        self.port = free_port()
        self.controller = Controller(self.handler, hostname="127.0.0.1", port=self.port)

    def __enter__(self) -> SmtpServer:
        self.controller.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.controller.stop()

    @property
    def environ(self) -> dict[str, str]:
        return {
            "SOLOIST_SMTP_HOST": "127.0.0.1",
            "SOLOIST_SMTP_PORT": str(self.port),
            "SOLOIST_SMTP_SECURITY": "none",
            "SOLOIST_MAIL_FROM": "Ada's Coffee <ada@coffee.example>",
            "SOLOIST_MAIL_RATE": "0",
            "SOLOIST_PUBLIC_URL": "https://crm.coffee.example",
            # No quiet hours unless a test sets them: a test must not depend on the hour it runs.
            "SOLOIST_QUIET_HOURS": "",
        }
