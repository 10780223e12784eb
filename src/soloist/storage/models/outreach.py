"""Campaigns, their A/B variants and the messages sent; saved segments."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import Boolean, ForeignKey, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from soloist.storage.models.base import Base, IdMixin, TimestampMixin
from soloist.storage.types import Double, EncryptedString, utcnow

CAMPAIGN_STATUSES = ("draft", "scheduled", "sending", "paused", "sent", "cancelled")
CAMPAIGN_CHANNELS = ("email", "sms", "webhook")
# queued → sending → sent; or failed (gave up), bounced (refused for good: suppressed from now
# on), suppressed (left out when the list was frozen: no consent, unsubscribed, bounced, …).
# holdout: drawn at random to receive nothing (the comparison group); waiting: in an A/B test's
# remainder, to get the winning variant once the test decides.
MESSAGE_STATUSES = (
    "queued", "sending", "sent", "failed", "bounced", "suppressed", "holdout", "waiting",
)  # fmt: skip
TEST_METRICS = ("click", "conversion")
SEND_TIMES = ("now", "optimised")
JOURNEY_TRIGGERS = (
    "welcome",
    "order",
    "birthday",
    "tier_change",
    "points_expiring",
    "churn_risk",
    "subscription_cancelled",
)
JOURNEY_STATUSES = ("draft", "active", "paused")
JOURNEY_ACTIONS = ("message", "task")
JOURNEY_ENTRY_STATES = ("waiting", "sent", "task", "holdout", "skipped")
SEGMENT_KINDS = ("rule", "rfm", "cluster", "list")
SUPPRESSION_REASONS = ("unsubscribed", "hard_bounce", "complaint", "erased")
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
    # A random share of the reachable audience that receives nothing: the comparison group that
    # measures what the campaign caused. The seed makes the draw (and the A/B split) repeatable.
    holdout_share: Mapped[float] = mapped_column(Double, default=0.0, server_default="0")
    assignment_seed: Mapped[int | None] = mapped_column(Integer)
    # now: everyone at once; optimised: each customer at their best hour within the window.
    send_time: Mapped[str] = mapped_column(String(16), default="now", server_default="now")
    send_window_hours: Mapped[int] = mapped_column(Integer, default=24, server_default="24")


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


class CampaignExperiment(IdMixin, Base):
    """The A/B (or A/B/n) test of a campaign, fixed before it is sent: the metric, the share of
    the audience in the test (the rest gets the winner), the effect worth finding, and the rule
    that decides (a group-sequential test at ``alpha`` over ``looks`` looks within
    ``decision_hours``). ``state`` keeps the looks taken, as JSON, so the rule resumes."""

    __tablename__ = "campaign_experiments"

    campaign_id: Mapped[int] = mapped_column(
        ForeignKey("campaigns.id", ondelete="CASCADE"), unique=True
    )
    metric: Mapped[str] = mapped_column(String(16), default="click")
    variants: Mapped[int] = mapped_column(Integer, default=2)
    test_share: Mapped[float] = mapped_column(Double, default=1.0)
    baseline_rate: Mapped[float] = mapped_column(Double)
    minimum_lift: Mapped[float] = mapped_column(Double)
    alpha: Mapped[float] = mapped_column(Double, default=0.05)
    power: Mapped[float] = mapped_column(Double, default=0.8)
    looks: Mapped[int] = mapped_column(Integer, default=5)
    decision_hours: Mapped[int] = mapped_column(Integer, default=72)
    status: Mapped[str] = mapped_column(String(16), default="planned")  # planned|running|decided
    winner: Mapped[str | None] = mapped_column(String(16))
    decision: Mapped[str | None] = mapped_column(String(32))  # winner | no_difference | manual
    decided_at: Mapped[dt.datetime | None] = mapped_column()
    state: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)


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
    # Rendered for the recipient, so it may hold their name: encrypted like the address.
    subject: Mapped[str | None] = mapped_column(EncryptedString("messages.subject"))
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
    variant: Mapped[str | None] = mapped_column(String(16))  # the A/B variant it carries
    journey_id: Mapped[int | None] = mapped_column(ForeignKey("journeys.id"))

    __table_args__ = (
        Index("ix_messages_campaign_status", "campaign_id", "status"),
        # The frequency cap counts each customer's messages of the last days.
        Index("ix_messages_customer_sent", "customer_id", "sent_at"),
    )


class MessageEvent(IdMixin, Base):
    """What happened to a message after it left: an open (``machine`` when a proxy or scanner
    fetched the pixel, not a person), a click, an unsubscribe, a bounce or a complaint."""

    __tablename__ = "message_events"

    message_id: Mapped[int] = mapped_column(ForeignKey("messages.id", ondelete="CASCADE"))
    kind: Mapped[str] = mapped_column(String(16))
    link_id: Mapped[int | None] = mapped_column(ForeignKey("campaign_links.id"))
    occurred_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    seconds_after_send: Mapped[float | None] = mapped_column(Double)
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


class Journey(IdMixin, TimestampMixin, Base):
    """An automatic message (or a task for the owner) on an occasion in a customer's life: a
    trigger, a wait, conditions, then the action. Its message text lives in a campaign of its
    own (``campaign_id``, whose ``journey`` names the trigger), so templates, languages,
    sending and results are the campaigns' own."""

    __tablename__ = "journeys"

    name: Mapped[str] = mapped_column(String(128), unique=True)
    trigger: Mapped[str] = mapped_column(String(32))
    # Days after the occasion (order), before it (birthday, points expiring); the window of
    # churn risk re-entry. ``threshold``: churn risk (0–1); ``minimum_value``: the 12-month CLV
    # in the workspace currency a customer must be worth for a win-back.
    trigger_days: Mapped[int] = mapped_column(Integer, default=0)
    threshold: Mapped[float | None] = mapped_column(Double)
    minimum_value: Mapped[float | None] = mapped_column(Double)
    wait_hours: Mapped[int] = mapped_column(Integer, default=0)
    segment_id: Mapped[int | None] = mapped_column(ForeignKey("segments.id"))
    action: Mapped[str] = mapped_column(String(16), default="message")
    channel: Mapped[str] = mapped_column(String(16), default="email")
    campaign_id: Mapped[int | None] = mapped_column(ForeignKey("campaigns.id"))
    task_title: Mapped[str | None] = mapped_column(String(255))
    holdout_share: Mapped[float] = mapped_column(Double, default=0.0)
    assignment_seed: Mapped[int] = mapped_column(Integer, default=0)
    status: Mapped[str] = mapped_column(String(16), default="draft", index=True)
    started_at: Mapped[dt.datetime | None] = mapped_column()
    scanned_at: Mapped[dt.datetime | None] = mapped_column()


class JourneyEntry(IdMixin, Base):
    """One customer's passage through a journey on one occasion (``order:42``,
    ``birthday:2027``): the unique key is what makes each run exactly once."""

    __tablename__ = "journey_entries"

    journey_id: Mapped[int] = mapped_column(ForeignKey("journeys.id", ondelete="CASCADE"))
    customer_id: Mapped[int] = mapped_column(ForeignKey("customers.id"), index=True)
    occasion: Mapped[str] = mapped_column(String(64))
    occurred_at: Mapped[dt.datetime] = mapped_column()
    due_at: Mapped[dt.datetime] = mapped_column()
    state: Mapped[str] = mapped_column(String(16), default="waiting")
    reason: Mapped[str | None] = mapped_column(String(32))
    message_id: Mapped[int | None] = mapped_column(ForeignKey("messages.id"))
    task_id: Mapped[int | None] = mapped_column(ForeignKey("tasks.id"))
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    done_at: Mapped[dt.datetime | None] = mapped_column()

    __table_args__ = (
        UniqueConstraint("journey_id", "customer_id", "occasion"),
        Index("ix_journey_entries_state_due", "state", "due_at"),
        # the journeys list counts each journey's entries by state (covering: 110 → 11 ms)
        Index("ix_journey_entries_journey_state", "journey_id", "state"),
    )
