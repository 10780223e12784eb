"""The report by e-mail on the owner's schedule (``report_schedule``): the worker builds the
report of the last complete ``report_period`` and mails it to ``report_recipients`` (every
active owner when empty) through the workspace's SMTP settings, as the HTML part and as an
attached file (mail apps that strip inline SVG still open the attachment in a browser).

Rendering belongs to the web layer, so the job kind is given its renderer by whoever starts the
worker (:func:`soloist.web.reports.report_job`).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from sqlalchemy import select

from soloist.config import Settings
from soloist.domain.audit import record_audit
from soloist.domain.campaigns import OutgoingMessage, channel_for
from soloist.domain.reports.build import Report, build_report
from soloist.errors import ValidationError
from soloist.storage.models import User

if TYPE_CHECKING:
    from soloist.storage.database import Database


@dataclass(frozen=True)
class RenderedReport:
    subject: str
    text: str  # the plain-text part: the headline figures
    html: str  # the self-contained report


Renderer = Callable[[Report, Settings], RenderedReport]


def report_recipients(database: Database) -> list[str]:
    configured = [a.strip() for a in database.settings.report_recipients.split(",") if a.strip()]
    if configured:
        return configured
    with database.read_session() as session:
        return list(
            session.scalars(select(User.email).where(User.role == "owner", User.active.is_(True)))
        )


def mail_report(
    database: Database, now: dt.datetime, render: Renderer, actor: str
) -> dict[str, Any]:
    """Build, render and mail the report; what was sent, for the job's result."""
    from soloist.domain.campaigns.audience import new_message_id
    from soloist.domain.campaigns.smtp import mail_domain

    settings = database.settings
    recipients = report_recipients(database)
    if not recipients:
        raise ValidationError("The report has no recipient: set report_recipients.")
    channel = channel_for(settings, "email")  # refuses a missing configuration first
    with database.read_session() as session:
        report = build_report(
            session, settings.currency, settings.rates, settings.timezone,
            period=settings.report_period, as_of=now,
        )  # fmt: skip
    rendered = render(report, settings)
    attachment = (
        f"soloist-report-{report.period.label}.html",
        "text/html",
        rendered.html.encode("utf-8"),
    )
    try:
        for recipient in recipients:
            channel.send(
                OutgoingMessage(
                    message_id=new_message_id(mail_domain(settings.mail_from)),
                    recipient=recipient,
                    recipient_name="",
                    subject=rendered.subject,
                    text=rendered.text,
                    html=rendered.html,
                    attachments=(attachment,),
                )
            )
    finally:
        channel.close()
    with database.session() as session:
        record_audit(session, actor, "report.mailed", "report", report.period.label,
                     {"recipients": len(recipients)})  # fmt: skip
    return {"period": report.period.label, "recipients": len(recipients)}
