"""Model runs, the per-customer scores they produce, import batches and workspace settings."""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import JSON, ForeignKey, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from soloist.storage.models.base import Base, IdMixin, Money
from soloist.storage.types import Double, utcnow


class ModelRun(IdMixin, Base):
    """One run of an analysis: its data window, parameters, fit and holdout quality."""

    __tablename__ = "model_runs"

    kind: Mapped[str] = mapped_column(String(32), index=True)
    status: Mapped[str] = mapped_column(String(16), default="running")
    started_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    finished_at: Mapped[dt.datetime | None] = mapped_column()
    data_start: Mapped[dt.datetime | None] = mapped_column()
    data_end: Mapped[dt.datetime | None] = mapped_column()
    params: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    metrics: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    message: Mapped[str | None] = mapped_column(Text)


class CustomerScore(IdMixin, Base):
    """Scores of one customer from one model run, with the reasons behind them."""

    __tablename__ = "customer_scores"

    model_run_id: Mapped[int] = mapped_column(ForeignKey("model_runs.id", ondelete="CASCADE"))
    customer_id: Mapped[int] = mapped_column(ForeignKey("customers.id"), index=True)
    p_alive: Mapped[float | None] = mapped_column(Double)
    expected_purchases_90d: Mapped[float | None] = mapped_column(Double)
    clv_12m_minor: Mapped[int | None] = mapped_column(Money)
    spend_estimate_minor: Mapped[int | None] = mapped_column(Money)
    churn_risk: Mapped[float | None] = mapped_column(Double)
    next_purchase_days: Mapped[float | None] = mapped_column(Double)
    segment: Mapped[str | None] = mapped_column(String(32), index=True)
    cluster: Mapped[int | None] = mapped_column(Integer)
    reasons: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    # Set when the score was worked out again after the customer's orders changed, from the
    # run's stored fit (no refit); None for scores written by the run itself.
    rescored_at: Mapped[dt.datetime | None] = mapped_column()

    __table_args__ = (
        UniqueConstraint("model_run_id", "customer_id"),
        # The customer list sorts a run's scores by CLV or churn risk.
        Index("ix_customer_scores_run_clv", "model_run_id", "clv_12m_minor"),
        Index("ix_customer_scores_run_risk", "model_run_id", "churn_risk"),
    )


class ImportBatch(IdMixin, Base):
    """One import of one file, with its data-quality report."""

    __tablename__ = "import_batches"

    kind: Mapped[str] = mapped_column(String(32))
    filename: Mapped[str] = mapped_column(String(255))
    sha256: Mapped[str] = mapped_column(String(64), index=True)
    file_format: Mapped[str] = mapped_column(String(32))
    status: Mapped[str] = mapped_column(String(16))
    report: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    started_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    finished_at: Mapped[dt.datetime | None] = mapped_column()
    # The file, kind and options with the state of the data the import left behind
    # (soloist.domain.imports.unchanged): the same key later means nothing to do.
    unchanged_key: Mapped[str | None] = mapped_column(String(64), index=True)


class WorkspaceSetting(Base):
    """Settings the owner changes from the app (loyalty rules, SLA hours …), as JSON values."""

    __tablename__ = "workspace_settings"

    key: Mapped[str] = mapped_column(String(64), primary_key=True)
    value: Mapped[Any] = mapped_column(JSON)
    updated_at: Mapped[dt.datetime] = mapped_column(default=utcnow, onupdate=utcnow)


class WebhookEvent(IdMixin, Base):
    """A webhook delivery already handled, keyed by its provider's event id.

    A replayed or duplicate delivery finds its row and changes nothing.
    """

    __tablename__ = "webhook_events"

    provider: Mapped[str] = mapped_column(String(16))
    event_id: Mapped[str] = mapped_column(String(255))
    event_type: Mapped[str] = mapped_column(String(64))
    outcome: Mapped[str] = mapped_column(String(255))
    received_at: Mapped[dt.datetime] = mapped_column(default=utcnow)

    __table_args__ = (UniqueConstraint("provider", "event_id"),)
