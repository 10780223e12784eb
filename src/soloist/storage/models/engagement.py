"""Conversations and feedback: interactions, survey responses, reviews, support tickets."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import Boolean, ForeignKey, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from soloist.storage.models.base import Base, IdMixin, TimestampMixin
from soloist.storage.types import Double, EncryptedString, utcnow
from soloist.vocabulary import SURVEY_SCALES

INTERACTION_CHANNELS = ("email", "call", "meeting", "chat", "social", "note")
INTERACTION_DIRECTIONS = ("inbound", "outbound", "internal")
SURVEY_KINDS = SURVEY_SCALES  # kind -> (lowest, highest) score, as imports read them too
# new -> open -> pending (waiting on the customer: the SLA clock stops) -> resolved -> closed
TICKET_STATUSES = ("new", "open", "pending", "resolved", "closed")
TICKET_PRIORITIES = ("low", "normal", "high", "urgent")
# The targets a new workspace starts with, in business minutes: (priority, first response,
# resolution). The migration that made ``sla_policies`` wrote these rows; the owner edits them.
DEFAULT_SLA_MINUTES: tuple[tuple[str, int, int], ...] = (
    ("urgent", 60, 240),
    ("high", 120, 480),
    ("normal", 480, 1440),
    ("low", 960, 2400),
)


class Interaction(IdMixin, Base):
    __tablename__ = "interactions"

    customer_id: Mapped[int] = mapped_column(ForeignKey("customers.id"))
    channel: Mapped[str] = mapped_column(String(16))
    direction: Mapped[str] = mapped_column(String(16), default="outbound")
    subject: Mapped[str | None] = mapped_column(EncryptedString("interactions.subject"))
    body: Mapped[str | None] = mapped_column(EncryptedString("interactions.body"))
    occurred_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)

    __table_args__ = (Index("ix_interactions_customer_occurred", "customer_id", "occurred_at"),)


class SurveyResponse(IdMixin, Base):
    """A CSAT (1–5), NPS (0–10) or CES (1–7) answer, with an optional comment (encrypted)."""

    __tablename__ = "survey_responses"

    customer_id: Mapped[int | None] = mapped_column(ForeignKey("customers.id"), index=True)
    kind: Mapped[str] = mapped_column(String(8))
    score: Mapped[int] = mapped_column(Integer)
    comment: Mapped[str | None] = mapped_column(EncryptedString("survey_responses.comment"))
    language: Mapped[str | None] = mapped_column(String(16))
    ticket_id: Mapped[int | None] = mapped_column(ForeignKey("tickets.id"))
    campaign_id: Mapped[int | None] = mapped_column(ForeignKey("campaigns.id"))
    responded_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    # Set when the answer came through a survey link and was edited within its edit window.
    updated_at: Mapped[dt.datetime | None] = mapped_column()
    # The link it was given through: one answer per link, enforced by the unique key.
    survey_link_id: Mapped[int | None] = mapped_column(ForeignKey("survey_links.id"), unique=True)
    # The answer's id in the file it was imported from (``file:r-17``), and its order: the key
    # of idempotent imports.
    external_id: Mapped[str | None] = mapped_column(String(128), unique=True)
    order_id: Mapped[int | None] = mapped_column(ForeignKey("orders.id"))

    __table_args__ = (Index("ix_survey_responses_kind_responded", "kind", "responded_at"),)


class Review(IdMixin, Base):
    """A product review the customer published; its text is public, so it is stored in clear."""

    __tablename__ = "reviews"

    customer_id: Mapped[int | None] = mapped_column(ForeignKey("customers.id"), index=True)
    product_id: Mapped[int | None] = mapped_column(ForeignKey("products.id"), index=True)
    order_id: Mapped[int | None] = mapped_column(ForeignKey("orders.id"))
    rating: Mapped[int] = mapped_column(Integer)
    title: Mapped[str | None] = mapped_column(String(255))
    body: Mapped[str | None] = mapped_column(Text)
    language: Mapped[str | None] = mapped_column(String(16))
    source: Mapped[str | None] = mapped_column(String(32))
    published_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    # The review's id in the export it was imported from (``olist:7b00d98b…``): the key of
    # idempotent imports.
    external_id: Mapped[str | None] = mapped_column(String(128), unique=True)


class Ticket(IdMixin, TimestampMixin, Base):
    """A support request and its SLA clock.

    The clock counts business minutes (the workspace's service calendar) while the ticket is
    new or open and stops while it is pending: ``sla_minutes_used`` are the minutes counted
    before ``sla_clock_started_at``, which is None while the clock stands. The due times are
    worked out again at each change of status or priority, so they stay queryable columns.
    """

    __tablename__ = "tickets"

    customer_id: Mapped[int | None] = mapped_column(ForeignKey("customers.id"), index=True)
    # A customer's own words ("Zoë's order never came"): encrypted, searched by its word tokens.
    subject: Mapped[str] = mapped_column(EncryptedString("tickets.subject"))
    status: Mapped[str] = mapped_column(String(16), default="new", index=True)
    priority: Mapped[str] = mapped_column(String(16), default="normal")
    channel: Mapped[str | None] = mapped_column(String(16))
    category: Mapped[str | None] = mapped_column(String(64))
    assignee_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    opened_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    first_response_at: Mapped[dt.datetime | None] = mapped_column()
    resolved_at: Mapped[dt.datetime | None] = mapped_column()
    closed_at: Mapped[dt.datetime | None] = mapped_column()
    first_response_due_at: Mapped[dt.datetime | None] = mapped_column(index=True)
    resolution_due_at: Mapped[dt.datetime | None] = mapped_column(index=True)
    first_response_target_minutes: Mapped[int | None] = mapped_column(Integer)
    resolution_target_minutes: Mapped[int | None] = mapped_column(Integer)
    sla_minutes_used: Mapped[float] = mapped_column(Double, default=0.0)
    sla_clock_started_at: Mapped[dt.datetime | None] = mapped_column()
    last_message_at: Mapped[dt.datetime | None] = mapped_column(index=True)
    merged_into_id: Mapped[int | None] = mapped_column(ForeignKey("tickets.id"))

    messages: Mapped[list[TicketMessage]] = relationship(
        back_populates="ticket", cascade="all, delete-orphan", order_by="TicketMessage.created_at"
    )


class TicketMessage(IdMixin, Base):
    __tablename__ = "ticket_messages"

    ticket_id: Mapped[int] = mapped_column(ForeignKey("tickets.id", ondelete="CASCADE"), index=True)
    author_kind: Mapped[str] = mapped_column(String(16))  # customer | staff
    user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    body: Mapped[str] = mapped_column(EncryptedString("ticket_messages.body"))
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    # A note only staff see: never mailed, and not a first response.
    internal: Mapped[bool] = mapped_column(Boolean, default=False)
    # The e-mail's Message-ID (received or sent): mail read twice is one message, and a
    # customer's reply finds its ticket by In-Reply-To.
    message_id: Mapped[str | None] = mapped_column(String(255), unique=True)
    # For a staff reply: recorded (no mail channel), queued, sent or failed.
    delivery: Mapped[str | None] = mapped_column(String(16))
    delivery_error: Mapped[str | None] = mapped_column(String(255))

    ticket: Mapped[Ticket] = relationship(back_populates="messages")


class TicketStatusChange(IdMixin, Base):
    """One change of a ticket's status: the history SLA reports and audits read."""

    __tablename__ = "ticket_status_changes"

    ticket_id: Mapped[int] = mapped_column(ForeignKey("tickets.id", ondelete="CASCADE"), index=True)
    from_status: Mapped[str | None] = mapped_column(String(16))
    to_status: Mapped[str] = mapped_column(String(16))
    changed_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    actor: Mapped[str] = mapped_column(String(100))


class SlaPolicy(IdMixin, Base):
    """First-response and resolution targets for one priority, in business minutes."""

    __tablename__ = "sla_policies"

    priority: Mapped[str] = mapped_column(String(16), unique=True)
    first_response_minutes: Mapped[int] = mapped_column(Integer)
    resolution_minutes: Mapped[int] = mapped_column(Integer)


class CannedReply(IdMixin, TimestampMixin, Base):
    """A saved answer the owner inserts into a reply; a Jinja2 template over the ticket."""

    __tablename__ = "canned_replies"

    title: Mapped[str] = mapped_column(String(120), unique=True)
    body: Mapped[str] = mapped_column(Text)
    language: Mapped[str | None] = mapped_column(String(16))


class SurveyLink(IdMixin, Base):
    """One survey sent to one customer on one occasion, answered through a signed token.

    The token carries the link's id and a random secret signed with the workspace key; only
    the secret's SHA-256 is stored, so the database alone cannot forge a link either.
    """

    __tablename__ = "survey_links"

    kind: Mapped[str] = mapped_column(String(8))
    customer_id: Mapped[int] = mapped_column(ForeignKey("customers.id"), index=True)
    ticket_id: Mapped[int | None] = mapped_column(ForeignKey("tickets.id"), index=True)
    order_id: Mapped[int | None] = mapped_column(ForeignKey("orders.id"))
    campaign_id: Mapped[int | None] = mapped_column(ForeignKey("campaigns.id"))
    secret_hash: Mapped[str] = mapped_column(String(64))
    language: Mapped[str | None] = mapped_column(String(16))
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    expires_at: Mapped[dt.datetime] = mapped_column()
    # How long after the first answer it may still be changed; 0: not at all.
    edit_minutes: Mapped[int] = mapped_column(Integer, default=0)
    submitted_at: Mapped[dt.datetime | None] = mapped_column()
    # When the link went out by e-mail (a link made to be copied by hand has none).
    sent_at: Mapped[dt.datetime | None] = mapped_column()
    created_by: Mapped[str] = mapped_column(String(100))
