"""Campaigns as the owner writes them: a segment, a channel, and one version of the message per
language; and the states a campaign moves through.

    draft ─┬─> scheduled ─┬─> sending ─┬─> sent
           │              │            └─> paused ─> sending
           └──────────────┴─> (any state before sent) ─> cancelled

Only a draft or a scheduled campaign can still be edited. The recipient list is frozen when
sending starts (:func:`start_sending`).
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from soloist.domain.audit import record_audit
from soloist.domain.campaigns.audience import (
    FreezeResult,
    find_segment,
    freeze_recipients,
    message_counts,
)
from soloist.domain.campaigns.pacing import SendPolicy
from soloist.domain.campaigns.templates import check_templates, looks_like_html, text_to_html
from soloist.errors import ConflictError, NotFoundError, ValidationError
from soloist.storage.models import (
    CAMPAIGN_CHANNELS,
    SEND_TIMES,
    Campaign,
    CampaignContent,
    Segment,
)

LANGUAGES = ("en", "zh-CN")
EDITABLE = ("draft", "scheduled")
TRANSITIONS: dict[str, tuple[str, ...]] = {
    "draft": ("scheduled", "sending", "cancelled"),
    "scheduled": ("draft", "sending", "cancelled"),
    "sending": ("paused", "sent", "cancelled"),
    "paused": ("sending", "cancelled"),
    "sent": (),
    "cancelled": (),
}


class CampaignStateError(ConflictError):
    code = "campaign_state"


def normalise_language(language: str | None) -> str:
    code = (language or "en").strip().replace("_", "-")
    lowered = code.lower()
    if lowered in ("zh", "zh-cn", "zh-hans", "zh-hans-cn"):
        return "zh-CN"
    if lowered in ("en", "en-us", "en-gb"):
        return "en"
    raise ValidationError(
        f"Unknown language {language!r}; a campaign has versions in en and zh-CN.",
        field="language",
    )


def split_body(body: str, text_body: str | None = None) -> tuple[str | None, str | None]:
    """A body file as (HTML part, plain-text part): HTML as it is (the text made from it when
    sending), plain text as the text part with an HTML part made of its paragraphs. Lines end
    in LF (a browser's form sends a textarea's lines with CRLF), so that the line an error
    names is the line the owner sees."""
    body = _unix_lines(body)
    text_body = _unix_lines(text_body) if text_body is not None else None
    if looks_like_html(body):
        return body, text_body
    return text_to_html(body), text_body if text_body is not None else body


def _unix_lines(text: str) -> str:
    return text.replace("\r\n", "\n").replace("\r", "\n")


def written_body(content: CampaignContent) -> str:
    """The body as the owner wrote it (what :func:`split_body` was given): the plain text when
    the HTML part was made from it, else the HTML."""
    if content.text_body is not None and (
        not content.html_body or content.html_body == text_to_html(content.text_body)
    ):
        return content.text_body
    return content.html_body or ""


def get_campaign(session: Session, campaign_id: int, *, lock: bool = False) -> Campaign:
    statement = select(Campaign).where(Campaign.id == campaign_id)
    if lock and session.get_bind().dialect.name != "sqlite":
        statement = statement.with_for_update()
    campaign = session.scalar(statement)
    if campaign is None:
        raise NotFoundError(f"No campaign {campaign_id}.", campaign_id=campaign_id)
    return campaign


def create_campaign(
    session: Session,
    *,
    name: str,
    segment: str | int,
    subject: str,
    body: str,
    actor: str,
    channel: str = "email",
    language: str = "en",
    text_body: str | None = None,
    attribution_days: int = 7,
) -> Campaign:
    name = name.strip()
    if not name or len(name) > 128:
        raise ValidationError("A campaign name has 1 to 128 characters.", field="name")
    if channel not in CAMPAIGN_CHANNELS:
        raise ValidationError(
            f"Unknown channel {channel!r}; use one of {', '.join(CAMPAIGN_CHANNELS)}.",
            field="channel",
        )
    if not 1 <= attribution_days <= 365:
        raise ValidationError("The attribution window is 1 to 365 days.", field="attribution_days")
    found = find_segment(session, segment)
    lang = normalise_language(language)
    campaign = Campaign(
        name=name,
        channel=channel,
        segment_id=found.id,
        status="draft",
        default_language=lang,
        attribution_days=attribution_days,
    )
    session.add(campaign)
    session.flush()
    set_content(session, campaign.id, lang, subject, body, actor, text_body=text_body)
    record_audit(
        session, actor, "campaign.created", "campaign", campaign.id, {"segment": found.name}
    )
    return campaign


def set_content(
    session: Session,
    campaign_id: int,
    language: str,
    subject: str,
    body: str,
    actor: str,
    *,
    text_body: str | None = None,
    variant: str = "A",
) -> CampaignContent:
    """Add or replace one language's version; the templates are checked first."""
    campaign = get_campaign(session, campaign_id)
    require_editable(campaign)
    if len(variant) != 1 or not "A" <= variant <= "Z":
        raise ValidationError("A variant is one capital letter: A, B, C …", field="variant")
    lang = normalise_language(language)
    html_body, text_part = split_body(body, text_body)
    if len(subject) > 255:
        raise ValidationError("A subject has at most 255 characters.", field="subject")
    check_templates(subject, html_body, text_part)
    content = session.scalar(
        select(CampaignContent).where(
            CampaignContent.campaign_id == campaign_id,
            CampaignContent.variant == variant,
            CampaignContent.language == lang,
        )
    )
    if content is None:
        content = CampaignContent(campaign_id=campaign_id, variant=variant, language=lang)
        session.add(content)
    content.subject, content.html_body, content.text_body = subject, html_body, text_part
    session.flush()
    record_audit(session, actor, "campaign.content", "campaign", campaign_id, {"language": lang})
    return content


def update_campaign(
    session: Session,
    campaign_id: int,
    actor: str,
    *,
    name: str | None = None,
    segment: str | int | None = None,
    attribution_days: int | None = None,
    default_language: str | None = None,
    channel: str | None = None,
    holdout_share: float | None = None,
    send_time: str | None = None,
    send_window_hours: int | None = None,
) -> Campaign:
    campaign = get_campaign(session, campaign_id)
    require_editable(campaign)
    if holdout_share is not None:
        if not 0 <= holdout_share <= 0.5:
            raise ValidationError(
                "holdout_share must be 0 to 0.5 (10% is 0.1).", field="holdout_share"
            )
        campaign.holdout_share = holdout_share
    if send_time is not None:
        if send_time not in SEND_TIMES:
            raise ValidationError(
                f"send_time must be one of {', '.join(SEND_TIMES)}.", field="send_time"
            )
        campaign.send_time = send_time
    if send_window_hours is not None:
        if not 1 <= send_window_hours <= 168:
            raise ValidationError("send_window_hours must be 1 to 168.", field="send_window_hours")
        campaign.send_window_hours = send_window_hours
    if channel is not None:
        if channel not in CAMPAIGN_CHANNELS:
            raise ValidationError(
                f"Unknown channel {channel!r}; use one of {', '.join(CAMPAIGN_CHANNELS)}.",
                field="channel",
            )
        campaign.channel = channel
    if name is not None:
        if not name.strip() or len(name.strip()) > 128:
            raise ValidationError("A campaign name has 1 to 128 characters.", field="name")
        campaign.name = name.strip()
    if segment is not None:
        campaign.segment_id = find_segment(session, segment).id
    if attribution_days is not None:
        if not 1 <= attribution_days <= 365:
            raise ValidationError(
                "The attribution window is 1 to 365 days.", field="attribution_days"
            )
        campaign.attribution_days = attribution_days
    if default_language is not None:
        lang = normalise_language(default_language)
        if lang not in content_languages(session, campaign_id):
            raise ValidationError(
                f"The campaign has no {lang} version to fall back to.", field="default_language"
            )
        campaign.default_language = lang
    session.flush()
    record_audit(session, actor, "campaign.updated", "campaign", campaign_id, {})
    return campaign


def remove_content(
    session: Session, campaign_id: int, language: str, actor: str, *, variant: str | None = None
) -> None:
    """Remove one language's version (its customers then get the default language's); the
    last version stays, and the default moves to the version that is left. With ``variant``
    (B, C …) only that A/B variant's version goes: removing each of its languages removes the
    variant."""
    campaign = get_campaign(session, campaign_id)
    require_editable(campaign)
    lang = normalise_language(language)
    if variant is not None and variant != "A":
        for row in session.scalars(
            select(CampaignContent).where(
                CampaignContent.campaign_id == campaign_id,
                CampaignContent.variant == variant,
                CampaignContent.language == lang,
            )
        ):
            session.delete(row)
        session.flush()
        record_audit(session, actor, "campaign.content_removed", "campaign", campaign_id,
                     {"language": lang, "variant": variant})  # fmt: skip
        return
    rows = list(
        session.scalars(select(CampaignContent).where(CampaignContent.campaign_id == campaign_id))
    )
    languages = {row.language for row in rows}
    if lang not in languages:
        return
    if languages == {lang}:
        raise ValidationError("A campaign keeps at least one language's version.", field="body")
    for row in rows:
        if row.language == lang:
            session.delete(row)
    if campaign.default_language == lang:
        campaign.default_language = sorted(languages - {lang})[0]
    session.flush()
    record_audit(session, actor, "campaign.content_removed", "campaign", campaign_id,
                 {"language": lang})  # fmt: skip


def content_languages(session: Session, campaign_id: int) -> list[str]:
    """The languages the campaign has text in (in any of its A/B versions)."""
    return sorted(
        set(
            session.scalars(
                select(CampaignContent.language).where(CampaignContent.campaign_id == campaign_id)
            )
        )
    )


def contents_of(
    session: Session, campaign_id: int, variant: str = "A"
) -> dict[str, CampaignContent]:
    return {
        c.language: c
        for c in session.scalars(
            select(CampaignContent).where(
                CampaignContent.campaign_id == campaign_id, CampaignContent.variant == variant
            )
        )
    }


def variants_of(session: Session, campaign_id: int) -> list[str]:
    """The A/B variants the campaign has text for (A, the control, first)."""
    return sorted(
        set(
            session.scalars(
                select(CampaignContent.variant).where(CampaignContent.campaign_id == campaign_id)
            )
        )
    )


def require_editable(campaign: Campaign) -> None:
    if campaign.status not in EDITABLE and campaign.journey is None:  # a journey's text stays
        raise CampaignStateError(
            f"Campaign {campaign.id} is {campaign.status}; only a draft or a scheduled campaign "
            "can be changed.",
            status=campaign.status,
        )


def move_campaign(campaign: Campaign, to: str) -> None:
    if to not in TRANSITIONS.get(campaign.status, ()):
        raise CampaignStateError(
            f"Campaign {campaign.id} is {campaign.status}; it cannot become {to}.",
            status=campaign.status,
            to=to,
        )
    campaign.status = to


def schedule_campaign(
    session: Session, campaign_id: int, at: dt.datetime, actor: str, now: dt.datetime
) -> Campaign:
    if at.tzinfo is None:
        raise ValidationError("Give the time with its zone, e.g. 2027-01-05T09:00+01:00.")
    if at <= now:
        raise ValidationError("A campaign is scheduled for a time still to come.", field="at")
    campaign = get_campaign(session, campaign_id, lock=True)
    move_campaign(campaign, "scheduled")
    campaign.scheduled_at = at.astimezone(dt.UTC)
    record_audit(session, actor, "campaign.scheduled", "campaign", campaign_id,
                 {"at": campaign.scheduled_at.isoformat()})  # fmt: skip
    return campaign


def start_sending(
    session: Session,
    campaign_id: int,
    actor: str,
    currency: str,
    domain: str,
    now: dt.datetime,
    policy: SendPolicy | None = None,
) -> FreezeResult | None:
    """Draft or scheduled → sending: freeze the recipients. A paused campaign resumes. None
    when the campaign was sending already."""
    campaign = get_campaign(session, campaign_id, lock=True)
    if campaign.status == "sending":
        return None
    if campaign.status == "paused":
        move_campaign(campaign, "sending")
        record_audit(session, actor, "campaign.resumed", "campaign", campaign_id, {})
        return None
    if not content_languages(session, campaign_id):
        raise ValidationError("The campaign has no content to send.", field="body")
    move_campaign(campaign, "sending")
    campaign.started_at = now
    campaign.last_error = None
    result = freeze_recipients(session, campaign, currency, domain, now, policy)
    record_audit(session, actor, "campaign.started", "campaign", campaign_id,
                 {"recipients": result.recipients, "queued": result.queued})  # fmt: skip
    return result


def pause_campaign(session: Session, campaign_id: int, actor: str) -> Campaign:
    campaign = get_campaign(session, campaign_id, lock=True)
    move_campaign(campaign, "paused")
    record_audit(session, actor, "campaign.paused", "campaign", campaign_id, {})
    return campaign


def cancel_campaign(session: Session, campaign_id: int, actor: str) -> Campaign:
    campaign = get_campaign(session, campaign_id, lock=True)
    move_campaign(campaign, "cancelled")
    record_audit(session, actor, "campaign.cancelled", "campaign", campaign_id, {})
    return campaign


def unschedule_campaign(session: Session, campaign_id: int, actor: str) -> Campaign:
    campaign = get_campaign(session, campaign_id, lock=True)
    move_campaign(campaign, "draft")
    campaign.scheduled_at = None
    record_audit(session, actor, "campaign.unscheduled", "campaign", campaign_id, {})
    return campaign


def list_campaigns(session: Session) -> list[Campaign]:
    """The campaigns, newest first (a journey's own campaign is shown with its journey)."""
    statement = select(Campaign).where(Campaign.journey.is_(None)).order_by(Campaign.id.desc())
    return list(session.scalars(statement))


def campaign_summary(session: Session, campaign: Campaign) -> dict[str, Any]:
    segment = session.get(Segment, campaign.segment_id) if campaign.segment_id else None
    return {
        "id": campaign.id,
        "name": campaign.name,
        "channel": campaign.channel,
        "status": campaign.status,
        "segment": segment.name if segment else None,
        "segment_id": campaign.segment_id,
        "languages": content_languages(session, campaign.id),
        "default_language": campaign.default_language,
        "attribution_days": campaign.attribution_days,
        "holdout_share": campaign.holdout_share,
        "send_time": campaign.send_time,
        "send_window_hours": campaign.send_window_hours,
        "variants": variants_of(session, campaign.id),
        "scheduled_at": _iso(campaign.scheduled_at),
        "started_at": _iso(campaign.started_at),
        "sent_at": _iso(campaign.sent_at),
        "created_at": _iso(campaign.created_at),
        "last_error": campaign.last_error,
        "messages": message_counts(session, campaign.id),
    }


def _iso(value: dt.datetime | None) -> str | None:
    return value.isoformat() if value else None
