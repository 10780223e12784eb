"""Conversations and feedback: interactions, survey responses, reviews, support tickets."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import ForeignKey, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from soloist.storage.models.base import Base, IdMixin, TimestampMixin
from soloist.storage.types import EncryptedString, utcnow
from soloist.vocabulary import SURVEY_SCALES

INTERACTION_CHANNELS = ("email", "call", "meeting", "chat", "social", "note")
INTERACTION_DIRECTIONS = ("inbound", "outbound", "internal")
SURVEY_KINDS = SURVEY_SCALES  # kind -> (lowest, highest) score, as imports read them too
TICKET_STATUSES = ("open", "pending", "solved", "closed")
TICKET_PRIORITIES = ("low", "normal", "high", "urgent")


class Interaction(IdMixin, Base):
    __tablename__ = "interactions"

    customer_id: Mapped[int] = mapped_column(ForeignKey("customers.id"))
    channel: Mapped[str] = mapped_column(String(16))
    direction: Mapped[str] = mapped_column(String(16), default="outbound")
    subject: Mapped[str | None] = mapped_column(String(255))
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
    __tablename__ = "tickets"

    customer_id: Mapped[int | None] = mapped_column(ForeignKey("customers.id"), index=True)
    subject: Mapped[str] = mapped_column(String(255))
    status: Mapped[str] = mapped_column(String(16), default="open", index=True)
    priority: Mapped[str] = mapped_column(String(16), default="normal")
    channel: Mapped[str | None] = mapped_column(String(16))
    category: Mapped[str | None] = mapped_column(String(64))
    assignee_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    opened_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    first_response_at: Mapped[dt.datetime | None] = mapped_column()
    resolved_at: Mapped[dt.datetime | None] = mapped_column()
    sla_due_at: Mapped[dt.datetime | None] = mapped_column()

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

    ticket: Mapped[Ticket] = relationship(back_populates="messages")
