"""Customers, their tags, the blind index of their names, consent records and duplicates."""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import (
    Boolean,
    ColumnElement,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
    or_,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from soloist.storage.models.base import Base, IdMixin, TimestampMixin
from soloist.storage.types import (
    EncryptedDate,
    EncryptedJSON,
    EncryptedString,
    SealedString,
    utcnow,
)

CUSTOMER_STATUSES = ("active", "merged", "erased")
CONSENT_CHANNELS = ("email", "sms", "phone", "post", "webhook")


class Customer(IdMixin, TimestampMixin, Base):
    """One person or company that buys. Personal data columns are encrypted at rest.

    Name, company, e-mail, phone, address, birthday, notes and the customer's own fields are
    encrypted. Keyed hashes of the normalised e-mail and phone serve exact lookup, and the
    words of the name and company are found through keyed hashes in ``search_tokens``.
    """

    __tablename__ = "customers"

    external_id: Mapped[str | None] = mapped_column(String(128), unique=True)
    name: Mapped[str] = mapped_column(EncryptedString("customers.name"), default="")
    company: Mapped[str | None] = mapped_column(EncryptedString("customers.company"))
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
    custom_fields: Mapped[dict[str, Any]] = mapped_column(
        EncryptedJSON("customers.custom_fields"), default=dict
    )
    status: Mapped[str] = mapped_column(String(16), default="active", index=True)
    merged_into_id: Mapped[int | None] = mapped_column(ForeignKey("customers.id"))
    first_seen_at: Mapped[dt.datetime | None] = mapped_column()

    tags: Mapped[list[CustomerTag]] = relationship(
        back_populates="customer", cascade="all, delete-orphan", lazy="selectin"
    )

    __table_args__ = (
        # The welcome journey reads the customers added since its last minute.
        Index("ix_customers_created_at", "created_at"),
        # The customer list's name order is brought up to date from the customers changed since.
        Index("ix_customers_updated_at", "updated_at"),
    )

    @property
    def tag_names(self) -> list[str]:
        return sorted(t.tag for t in self.tags)

    @classmethod
    def no_longer_active(cls) -> ColumnElement[bool]:
        """Customers merged or erased: a status below or above ``active``, two ranges of the
        status index (``!=`` would read the whole index)."""
        return or_(cls.status < "active", cls.status > "active")


class CustomerTag(Base):
    __tablename__ = "customer_tags"

    customer_id: Mapped[int] = mapped_column(
        ForeignKey("customers.id", ondelete="CASCADE"), primary_key=True
    )
    # Sealed (AES-SIV): unreadable in the file, yet ``CustomerTag.tag == "vip"`` still works.
    tag: Mapped[str] = mapped_column(SealedString("customer_tags.tag", 64), primary_key=True)

    customer: Mapped[Customer] = relationship(back_populates="tags")

    __table_args__ = (Index("ix_customer_tags_tag", "tag"),)


class SearchToken(Base):
    """One keyed hash of a word (or word prefix) of a record's searchable text: a blind index.

    ``scope`` names what is indexed (``customer`` for names and companies); ``token`` is an
    HMAC under the workspace's lookup key, so the file shows which records share a word, never
    the word. Maintained by :mod:`soloist.storage.search_tokens`.
    """

    __tablename__ = "search_tokens"

    scope: Mapped[str] = mapped_column(String(16), primary_key=True)
    token: Mapped[str] = mapped_column(String(32), primary_key=True)
    record_id: Mapped[int] = mapped_column(Integer, primary_key=True)

    __table_args__ = (Index("ix_search_tokens_record", "scope", "record_id"),)


class ConsentWording(IdMixin, Base):
    """The words a customer agreed to (or withdrew from) for a channel, one row per version and
    language. A consent record names the version in force when it was given, so the history
    shows what was asked, not only that something was."""

    __tablename__ = "consent_wordings"

    channel: Mapped[str] = mapped_column(String(16))
    version: Mapped[str] = mapped_column(String(32))
    language: Mapped[str] = mapped_column(String(16), default="en")
    text: Mapped[str] = mapped_column(Text)
    published_at: Mapped[dt.datetime] = mapped_column(default=utcnow)

    __table_args__ = (UniqueConstraint("channel", "version", "language"),)


class ConsentRecord(IdMixin, Base):
    """One grant or withdrawal of consent for a channel; the latest per channel is in force.
    What (``channel``, ``granted``), when (``recorded_at``), how (``source``, ``evidence``) and
    which wording (``wording_version``: a version of ``consent_wordings``) are kept for good."""

    __tablename__ = "consent_records"

    customer_id: Mapped[int] = mapped_column(
        ForeignKey("customers.id", ondelete="CASCADE"), index=True
    )
    channel: Mapped[str] = mapped_column(String(16))
    granted: Mapped[bool] = mapped_column(Boolean)
    source: Mapped[str] = mapped_column(String(64), default="manual")
    evidence: Mapped[str | None] = mapped_column(String(255))
    recorded_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    wording_version: Mapped[str | None] = mapped_column(String(32))
