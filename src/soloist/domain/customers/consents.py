"""Consent: every grant and withdrawal kept as history, with the wording it was given under.

A record says what (the channel, given or withdrawn), when, how (the source and its evidence:
a checkout, an import, an unsubscribe link) and which version of the wording the customer saw.
Wordings are published per channel, version and language; a consent recorded without naming a
version is given under the channel's newest one, so that the history says what was asked.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from soloist.domain.audit import record_audit
from soloist.domain.customers.records import get_customer
from soloist.errors import ConflictError, ValidationError
from soloist.storage.models import CONSENT_CHANNELS, ConsentRecord, ConsentWording

MAX_WORDING_CHARS = 10_000


def _check_channel(channel: str) -> None:
    if channel not in CONSENT_CHANNELS:
        raise ValidationError(
            f"Unknown consent channel {channel!r}; use one of {', '.join(CONSENT_CHANNELS)}.",
            field="channel",
        )


def publish_wording(
    session: Session,
    channel: str,
    version: str,
    text: str,
    actor: str,
    *,
    language: str = "en",
    published_at: dt.datetime | None = None,
) -> ConsentWording:
    """Publish the wording ``version`` of ``channel``'s consent in ``language``. A published
    wording never changes (records point at it): a new text is a new version."""
    _check_channel(channel)
    version, language, text = version.strip(), language.strip() or "en", text.strip()
    if not 1 <= len(version) <= 32:
        raise ValidationError("A wording version has 1 to 32 characters.", field="version")
    if len(language) > 16:
        raise ValidationError("A language code has at most 16 characters.", field="language")
    if not text or len(text) > MAX_WORDING_CHARS:
        raise ValidationError(
            f"A wording's text has 1 to {MAX_WORDING_CHARS} characters.", field="text"
        )
    held = session.scalar(
        select(ConsentWording.id).where(
            ConsentWording.channel == channel,
            ConsentWording.version == version,
            ConsentWording.language == language,
        )
    )
    if held is not None:
        raise ConflictError(
            f"Version {version!r} of the {channel} wording in {language} is already published; "
            "publish the new text as a new version.",
            field="version",
        )
    wording = ConsentWording(
        channel=channel,
        version=version,
        language=language,
        text=text,
        published_at=(published_at or dt.datetime.now(dt.UTC)).astimezone(dt.UTC),
    )
    session.add(wording)
    session.flush()
    record_audit(
        session,
        actor,
        "consent.wording_published",
        "consent_wording",
        wording.id,
        {"channel": channel, "version": version, "language": language},
    )
    return wording


def list_wordings(session: Session, channel: str | None = None) -> list[ConsentWording]:
    """Published wordings, newest first."""
    query = select(ConsentWording).order_by(
        ConsentWording.published_at.desc(), ConsentWording.id.desc()
    )
    if channel:
        query = query.where(ConsentWording.channel == channel)
    return list(session.scalars(query))


def current_wording_version(
    session: Session, channel: str, at: dt.datetime | None = None
) -> str | None:
    """The newest version of ``channel``'s wording published by ``at`` (default: now)."""
    query = select(ConsentWording.version).where(ConsentWording.channel == channel)
    if at is not None:
        query = query.where(ConsentWording.published_at <= at)
    query = query.order_by(ConsentWording.published_at.desc(), ConsentWording.id.desc())
    return session.scalars(query.limit(1)).first()


def record_consent(
    session: Session,
    customer_id: int,
    channel: str,
    granted: bool,
    actor: str,
    source: str = "manual",
    evidence: str | None = None,
    recorded_at: dt.datetime | None = None,
    wording_version: str | None = None,
) -> ConsentRecord:
    """Append a consent grant or withdrawal; earlier records stay as the history.

    ``wording_version`` must be a published version of the channel's wording; None takes the
    newest one published by ``recorded_at`` (none while no wording is published)."""
    _check_channel(channel)
    get_customer(session, customer_id)
    when = (recorded_at or dt.datetime.now(dt.UTC)).astimezone(dt.UTC)
    if wording_version is None:
        wording_version = current_wording_version(session, channel, when)
    elif (
        session.scalar(
            select(ConsentWording.id).where(
                ConsentWording.channel == channel, ConsentWording.version == wording_version
            )
        )
        is None
    ):
        raise ValidationError(
            f"No {channel} consent wording has the version {wording_version!r}; "
            "publish it first (soloist privacy wording add).",
            field="wording_version",
        )
    record = ConsentRecord(
        customer_id=customer_id,
        channel=channel,
        granted=granted,
        source=source,
        evidence=evidence,
        recorded_at=when,
        wording_version=wording_version,
    )
    session.add(record)
    session.flush()
    action = "consent.granted" if granted else "consent.withdrawn"
    changes = {"channel": channel, "wording_version": wording_version}
    record_audit(session, actor, action, "customer", customer_id, changes)
    return record


def current_consents(session: Session, customer_id: int) -> dict[str, bool]:
    """The consent in force per channel (the latest record); channels never asked are absent."""
    records = session.scalars(
        select(ConsentRecord)
        .where(ConsentRecord.customer_id == customer_id)
        .order_by(ConsentRecord.recorded_at, ConsentRecord.id)
    )
    return {record.channel: record.granted for record in records}


@dataclass(frozen=True)
class ConsentEvent:
    id: int
    channel: str
    granted: bool
    recorded_at: dt.datetime
    source: str
    evidence: str | None
    wording_version: str | None
    wording: str | None  # the text of that version, in the customer's language if published


def consent_history(session: Session, customer_id: int) -> list[ConsentEvent]:
    """Every consent record of the customer, newest first, with the wording's text."""
    customer = get_customer(session, customer_id)
    language = (customer.language or "en").split("-")[0].lower()
    texts: dict[tuple[str, str], str] = {}
    for wording in session.scalars(select(ConsentWording).order_by(ConsentWording.id)):
        key = (wording.channel, wording.version)
        if key not in texts or wording.language.split("-")[0].lower() == language:
            texts[key] = wording.text
    records = session.scalars(
        select(ConsentRecord)
        .where(ConsentRecord.customer_id == customer_id)
        .order_by(ConsentRecord.recorded_at.desc(), ConsentRecord.id.desc())
    )
    return [
        ConsentEvent(
            id=record.id,
            channel=record.channel,
            granted=record.granted,
            recorded_at=record.recorded_at,
            source=record.source,
            evidence=record.evidence,
            wording_version=record.wording_version,
            wording=texts.get((record.channel, record.wording_version or "")),
        )
        for record in records
    ]
