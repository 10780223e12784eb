"""The small sales pipeline: deals and follow-up tasks."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import Date, ForeignKey, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from soloist.storage.models.base import Base, IdMixin, Money, TimestampMixin
from soloist.storage.types import EncryptedString, utcnow

# The stages a new workspace starts with: key, win probability (percent), outcome.
DEAL_STAGES = ("lead", "qualified", "proposal", "negotiation", "won", "lost")
DEFAULT_DEAL_STAGES: tuple[tuple[str, int, str], ...] = (
    ("lead", 10, "open"),
    ("qualified", 25, "open"),
    ("proposal", 50, "open"),
    ("negotiation", 75, "open"),
    ("won", 100, "won"),
    ("lost", 0, "lost"),
)
DEAL_OUTCOMES = ("open", "won", "lost")
TASK_PRIORITIES = ("low", "normal", "high")


class DealStage(IdMixin, Base):
    """A column of the pipeline board: its place, its win probability and its outcome."""

    __tablename__ = "deal_stages"

    key: Mapped[str] = mapped_column(String(32), unique=True)
    # None for the built-in stages, whose names are translated; the owner's own name otherwise.
    name: Mapped[str | None] = mapped_column(String(64))
    position: Mapped[int] = mapped_column(Integer)
    probability_percent: Mapped[int] = mapped_column(Integer)
    outcome: Mapped[str] = mapped_column(String(8), default="open")


class Deal(IdMixin, TimestampMixin, Base):
    __tablename__ = "deals"

    customer_id: Mapped[int | None] = mapped_column(ForeignKey("customers.id"), index=True)
    title: Mapped[str] = mapped_column(String(255))
    stage: Mapped[str] = mapped_column(String(32), default="lead", index=True)
    value_minor: Mapped[int] = mapped_column(Money, default=0)
    currency: Mapped[str] = mapped_column(String(3))
    probability_percent: Mapped[int] = mapped_column(Integer, default=10)
    expected_close_on: Mapped[dt.date | None] = mapped_column(Date)
    owner_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    closed_at: Mapped[dt.datetime | None] = mapped_column()
    # Why it was won or lost, in the owner's words.
    close_reason: Mapped[str | None] = mapped_column(String(255))
    stage_entered_at: Mapped[dt.datetime | None] = mapped_column()
    last_activity_at: Mapped[dt.datetime | None] = mapped_column(index=True)


class DealStageChange(IdMixin, Base):
    """A deal entering a stage: what conversion and time-in-stage are computed from."""

    __tablename__ = "deal_stage_changes"

    deal_id: Mapped[int] = mapped_column(ForeignKey("deals.id", ondelete="CASCADE"), index=True)
    from_stage: Mapped[str | None] = mapped_column(String(32))
    to_stage: Mapped[str] = mapped_column(String(32))
    changed_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    actor: Mapped[str] = mapped_column(String(100))


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
    priority: Mapped[str] = mapped_column(String(8), default="normal")
    remind_at: Mapped[dt.datetime | None] = mapped_column(index=True)
    reminded_at: Mapped[dt.datetime | None] = mapped_column()
    # Set on the tasks an automation rule creates (``sla-breach:ticket:12``): the rule never
    # creates one twice, even when two workers run it at once.
    automation_key: Mapped[str | None] = mapped_column(String(128), unique=True)
