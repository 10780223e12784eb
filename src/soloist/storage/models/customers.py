"""Customers, their tags, consent records and duplicates."""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import JSON, Boolean, ForeignKey, Index, String
from sqlalchemy.orm import Mapped, mapped_column, relationship

from soloist.storage.models.base import Base, IdMixin, TimestampMixin
from soloist.storage.types import EncryptedDate, EncryptedString, utcnow

CUSTOMER_STATUSES = ("active", "merged", "erased")
CONSENT_CHANNELS = ("email", "sms", "phone", "post", "webhook")


class Customer(IdMixin, TimestampMixin, Base):
    """One person or company that buys. Personal data columns are encrypted at rest.

    ``name`` stays searchable in plain text; e-mail, phone, address, birthday and notes are
    encrypted, with keyed hashes of the normalised e-mail and phone for exact lookup.
    """

    __tablename__ = "customers"

    external_id: Mapped[str | None] = mapped_column(String(128), unique=True)
    name: Mapped[str] = mapped_column(String(200), default="", index=True)
    company: Mapped[str | None] = mapped_column(String(200))
    email: Mapped[str | None] = mapped_column(EncryptedString("customers.email"))
    email_hash: Mapped[str | None] = mapped_column(String(64), index=True)
    phone: Mapped[str | None] = mapped_column(EncryptedString("customers.phone"))
    phone_hash: Mapped[str | None] = mapped_column(String(64), index=True)
    address: Mapped[str | None] = mapped_column(EncryptedString("customers.address"))
    birthday: Mapped[dt.date | None] = mapped_column(EncryptedDate("customers.birthday"))
    notes: Mapped[str | None] = mapped_column(EncryptedString("customers.notes"))
    country: Mapped[str | None] = mapped_column(String(2))
    language: Mapped[str | None] = mapped_column(String(16))
    # IANA zone (Europe/London): quiet hours and send times follow it; the workspace's if None.
    timezone: Mapped[str | None] = mapped_column(String(64))
    source: Mapped[str | None] = mapped_column(String(50))
    custom_fields: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    status: Mapped[str] = mapped_column(String(16), default="active", index=True)
    merged_into_id: Mapped[int | None] = mapped_column(ForeignKey("customers.id"))
    first_seen_at: Mapped[dt.datetime | None] = mapped_column()

    tags: Mapped[list[CustomerTag]] = relationship(
        back_populates="customer", cascade="all, delete-orphan", lazy="selectin"
    )

    # The customer list: active customers in name order, one page at a time.
    __table_args__ = (
        Index("ix_customers_status_name", "status", "name"),
        # The welcome journey reads the customers added since its last minute.
        Index("ix_customers_created_at", "created_at"),
    )

    @property
    def tag_names(self) -> list[str]:
        return sorted(t.tag for t in self.tags)


class CustomerTag(Base):
    __tablename__ = "customer_tags"

    customer_id: Mapped[int] = mapped_column(
        ForeignKey("customers.id", ondelete="CASCADE"), primary_key=True
    )
    tag: Mapped[str] = mapped_column(String(64), primary_key=True)

    customer: Mapped[Customer] = relationship(back_populates="tags")

    __table_args__ = (Index("ix_customer_tags_tag", "tag"),)


class ConsentRecord(IdMixin, Base):
    """One grant or withdrawal of consent for a channel; the latest per channel is in force."""

    __tablename__ = "consent_records"

    customer_id: Mapped[int] = mapped_column(
        ForeignKey("customers.id", ondelete="CASCADE"), index=True
    )
    channel: Mapped[str] = mapped_column(String(16))
    granted: Mapped[bool] = mapped_column(Boolean)
    source: Mapped[str] = mapped_column(String(64), default="manual")
    evidence: Mapped[str | None] = mapped_column(String(255))
    recorded_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
