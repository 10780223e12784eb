"""The small sales pipeline: deals and follow-up tasks."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import Date, ForeignKey, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from soloist.storage.models.base import Base, IdMixin, Money, TimestampMixin
from soloist.storage.types import EncryptedString

DEAL_STAGES = ("lead", "qualified", "proposal", "negotiation", "won", "lost")


class Deal(IdMixin, TimestampMixin, Base):
    __tablename__ = "deals"

    customer_id: Mapped[int | None] = mapped_column(ForeignKey("customers.id"), index=True)
    title: Mapped[str] = mapped_column(String(255))
    stage: Mapped[str] = mapped_column(String(16), default="lead", index=True)
    value_minor: Mapped[int] = mapped_column(Money, default=0)
    currency: Mapped[str] = mapped_column(String(3))
    probability_percent: Mapped[int] = mapped_column(Integer, default=10)
    expected_close_on: Mapped[dt.date | None] = mapped_column(Date)
    owner_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    closed_at: Mapped[dt.datetime | None] = mapped_column()


class Task(IdMixin, TimestampMixin, Base):
    __tablename__ = "tasks"

    title: Mapped[str] = mapped_column(String(255))
    notes: Mapped[str | None] = mapped_column(EncryptedString("tasks.notes"))
    customer_id: Mapped[int | None] = mapped_column(ForeignKey("customers.id"), index=True)
    deal_id: Mapped[int | None] = mapped_column(ForeignKey("deals.id"))
    ticket_id: Mapped[int | None] = mapped_column(ForeignKey("tickets.id"))
    assignee_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    due_at: Mapped[dt.datetime | None] = mapped_column(index=True)
    done_at: Mapped[dt.datetime | None] = mapped_column()
