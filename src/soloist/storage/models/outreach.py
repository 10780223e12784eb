"""Campaigns, their A/B variants and the messages sent; saved segments."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import Boolean, Float, ForeignKey, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from soloist.storage.models.base import Base, IdMixin, TimestampMixin
from soloist.storage.types import EncryptedString, utcnow

CAMPAIGN_STATUSES = ("draft", "scheduled", "sending", "paused", "sent", "cancelled")
CAMPAIGN_CHANNELS = ("email", "sms", "webhook")
# queued → sending → sent; or failed (gave up), bounced (refused for good: suppressed from now
# on), suppressed (left out when the list was frozen: no consent, unsubscribed, bounced, …).
MESSAGE_STATUSES = ("queued", "sending", "sent", "failed", "bounced", "suppressed")
SEGMENT_KINDS = ("rule", "rfm", "cluster", "list")
SUPPRESSION_REASONS = ("unsubscribed", "hard_bounce", "complaint")
MESSAGE_EVENT_KINDS = ("open", "click", "unsubscribe", "bounce", "complaint")


class Segment(IdMixin, TimestampMixin, Base):
    __tablename__ = "segments"

    name: Mapped[str] = mapped_column(String(128), unique=True)
    kind: Mapped[str] = mapped_column(String(16), default="rule")
    rule: Mapped[str | None] = mapped_column(Text)
    description: Mapped[str | None] = mapped_column(Text)


class SegmentMember(Base):
    __tablename__ = "segment_members"

    segment_id: Mapped[int] = mapped_column(
        ForeignKey("segments.id", ondelete="CASCADE"), primary_key=True
    )
    customer_id: Mapped[int] = mapped_column(ForeignKey("customers.id"), primary_key=True)
    model_run_id: Mapped[int | None] = mapped_column(ForeignKey("model_runs.id"))


class Campaign(IdMixin, TimestampMixin, Base):
    __tablename__ = "campaigns"

    name: Mapped[str] = mapped_column(String(128))
    channel: Mapped[str] = mapped_column(String(16), default="email")
    segment_id: Mapped[int | None] = mapped_column(ForeignKey("segments.id"))
    journey: Mapped[str | None] = mapped_column(String(32))  # welcome | review | birthday | winback
    status: Mapped[str] = mapped_column(String(16), default="draft", index=True)
    # The language whose version a customer gets when there is none in their own.
    default_language: Mapped[str] = mapped_column(String(8), default="en")
    attribution_days: Mapped[int] = mapped_column(Integer, default=7)
    scheduled_at: Mapped[dt.datetime | None] = mapped_column()
    started_at: Mapped[dt.datetime | None] = mapped_column()  # the list was frozen then
    sent_at: Mapped[dt.datetime | None] = mapped_column()  # the last message went out then
    last_error: Mapped[str | None] = mapped_column(Text)


class CampaignContent(IdMixin, Base):
    """One language's version of a campaign (of one variant): Jinja2 templates of the subject,
    the HTML part and the plain-text part (empty: made from the HTML)."""

    __tablename__ = "campaign_contents"

    campaign_id: Mapped[int] = mapped_column(ForeignKey("campaigns.id", ondelete="CASCADE"))
    variant: Mapped[str] = mapped_column(String(16), default="A")
    language: Mapped[str] = mapped_column(String(8))
    subject: Mapped[str] = mapped_column(String(255))
    html_body: Mapped[str | None] = mapped_column(Text)
    text_body: Mapped[str | None] = mapped_column(Text)

    __table_args__ = (UniqueConstraint("campaign_id", "variant", "language"),)


class CampaignLink(IdMixin, Base):
    """A link of a campaign, rewritten to go through the click counter."""

    __tablename__ = "campaign_links"

    campaign_id: Mapped[int] = mapped_column(ForeignKey("campaigns.id", ondelete="CASCADE"))
    url_hash: Mapped[str] = mapped_column(String(64))
    url: Mapped[str] = mapped_column(Text)

    __table_args__ = (UniqueConstraint("campaign_id", "url_hash"),)


class CampaignVariant(IdMixin, Base):
    __tablename__ = "campaign_variants"

    campaign_id: Mapped[int] = mapped_column(ForeignKey("campaigns.id", ondelete="CASCADE"))
    name: Mapped[str] = mapped_column(String(16))
    subject: Mapped[str | None] = mapped_column(String(255))
    body_template: Mapped[str | None] = mapped_column(Text)
    weight: Mapped[int] = mapped_column(Integer, default=1)

    __table_args__ = (UniqueConstraint("campaign_id", "name"),)


class Message(IdMixin, Base):
    """One message to one customer; the unique key makes sending exactly-once across crashes."""

    __tablename__ = "messages"

    campaign_id: Mapped[int | None] = mapped_column(ForeignKey("campaigns.id"))
    variant_id: Mapped[int | None] = mapped_column(ForeignKey("campaign_variants.id"))
    customer_id: Mapped[int] = mapped_column(ForeignKey("customers.id"), index=True)
    channel: Mapped[str] = mapped_column(String(16))
    status: Mapped[str] = mapped_column(String(16), default="queued", index=True)
    idempotency_key: Mapped[str] = mapped_column(String(128), unique=True)
    recipient: Mapped[str | None] = mapped_column(EncryptedString("messages.recipient"))
    subject: Mapped[str | None] = mapped_column(String(255))
    provider_message_id: Mapped[str | None] = mapped_column(String(255))
    # The RFC 5322 Message-ID, fixed when the list is frozen: a re-send after a crash keeps it.
    message_id: Mapped[str | None] = mapped_column(String(255), unique=True)
    language: Mapped[str | None] = mapped_column(String(8))
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[dt.datetime | None] = mapped_column()
    error: Mapped[str | None] = mapped_column(String(255))
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    sent_at: Mapped[dt.datetime | None] = mapped_column()
    opened_at: Mapped[dt.datetime | None] = mapped_column()
    clicked_at: Mapped[dt.datetime | None] = mapped_column()
    converted_at: Mapped[dt.datetime | None] = mapped_column()
    unsubscribed_at: Mapped[dt.datetime | None] = mapped_column()
    complained_at: Mapped[dt.datetime | None] = mapped_column()

    __table_args__ = (Index("ix_messages_campaign_status", "campaign_id", "status"),)


class MessageEvent(IdMixin, Base):
    """What happened to a message after it left: an open (``machine`` when a proxy or scanner
    fetched the pixel, not a person), a click, an unsubscribe, a bounce or a complaint."""

    __tablename__ = "message_events"

    message_id: Mapped[int] = mapped_column(ForeignKey("messages.id", ondelete="CASCADE"))
    kind: Mapped[str] = mapped_column(String(16))
    link_id: Mapped[int | None] = mapped_column(ForeignKey("campaign_links.id"))
    occurred_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    seconds_after_send: Mapped[float | None] = mapped_column(Float)
    user_agent: Mapped[str | None] = mapped_column(String(255))
    machine: Mapped[bool] = mapped_column(Boolean, default=False)
    detail: Mapped[str | None] = mapped_column(Text)

    __table_args__ = (Index("ix_message_events_message_kind", "message_id", "kind"),)


class Suppression(IdMixin, Base):
    """An address never to be sent to again on a channel: it unsubscribed, bounced for good or
    complained. Kept by the address's lookup hash, so a new address of the customer is not
    blocked by an old one's bounce."""

    __tablename__ = "suppressions"

    channel: Mapped[str] = mapped_column(String(16))
    address_hash: Mapped[str] = mapped_column(String(64))
    reason: Mapped[str] = mapped_column(String(16))
    customer_id: Mapped[int | None] = mapped_column(ForeignKey("customers.id"), index=True)
    campaign_id: Mapped[int | None] = mapped_column(ForeignKey("campaigns.id"))
    source: Mapped[str] = mapped_column(String(64), default="manual")
    detail: Mapped[str | None] = mapped_column(String(255))
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)

    __table_args__ = (UniqueConstraint("channel", "address_hash", "reason"),)
