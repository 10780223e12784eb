"""Campaigns, their A/B variants and the messages sent; saved segments."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import ForeignKey, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from soloist.storage.models.base import Base, IdMixin, TimestampMixin
from soloist.storage.types import EncryptedString, utcnow

CAMPAIGN_STATUSES = ("draft", "scheduled", "sending", "sent", "cancelled")
MESSAGE_STATUSES = ("queued", "sending", "sent", "failed", "bounced", "suppressed")
SEGMENT_KINDS = ("rule", "rfm", "cluster")


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
    status: Mapped[str] = mapped_column(String(16), default="draft")
    subject: Mapped[str | None] = mapped_column(String(255))
    body_template: Mapped[str | None] = mapped_column(Text)
    scheduled_at: Mapped[dt.datetime | None] = mapped_column()
    sent_at: Mapped[dt.datetime | None] = mapped_column()


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
    error: Mapped[str | None] = mapped_column(String(255))
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    sent_at: Mapped[dt.datetime | None] = mapped_column()
    opened_at: Mapped[dt.datetime | None] = mapped_column()
    clicked_at: Mapped[dt.datetime | None] = mapped_column()
    converted_at: Mapped[dt.datetime | None] = mapped_column()
