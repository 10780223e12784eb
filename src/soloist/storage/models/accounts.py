"""Who may use Soloist: users with roles, scoped API tokens, and the audit log of what they did."""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import Boolean, ForeignKey, Index, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from soloist.storage.models.base import Base, IdMixin
from soloist.storage.types import EncryptedJSON, EncryptedString, utcnow

ROLES = ("owner", "staff", "readonly")
TOKEN_SCOPES = ("read", "write")


class User(IdMixin, Base):
    __tablename__ = "users"

    email: Mapped[str] = mapped_column(String(255), unique=True)
    name: Mapped[str | None] = mapped_column(String(200))
    role: Mapped[str] = mapped_column(String(16))
    password_hash: Mapped[str] = mapped_column(String(255))
    locale: Mapped[str | None] = mapped_column(String(16))
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    last_login_at: Mapped[dt.datetime | None] = mapped_column()
    #: Every session cookie carries the epoch it was signed in at; raising it (sign-out, a new
    #: password, a new role, deactivation) ends every session of the user at once.
    session_epoch: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    #: Two-step sign-in (RFC 6238 TOTP): the shared secret once confirmed, the one being set
    #: up, and the last time step accepted (a code is good once).
    totp_secret: Mapped[str | None] = mapped_column(EncryptedString("users.totp_secret"))
    totp_pending: Mapped[str | None] = mapped_column(EncryptedString("users.totp_pending"))
    totp_last_step: Mapped[int | None] = mapped_column(Integer)


class ApiToken(IdMixin, Base):
    """An API token; only its SHA-256 is stored, the token itself is shown once."""

    __tablename__ = "api_tokens"

    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    name: Mapped[str | None] = mapped_column(String(128))
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    prefix: Mapped[str] = mapped_column(String(16))
    scope: Mapped[str] = mapped_column(String(16))
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    last_used_at: Mapped[dt.datetime | None] = mapped_column()
    expires_at: Mapped[dt.datetime | None] = mapped_column()
    revoked_at: Mapped[dt.datetime | None] = mapped_column()


class AuditEntry(IdMixin, Base):
    """What changed, when, and who did it. Contact details and texts are masked in ``changes``
    (``"<set>"``), and the column is encrypted at rest."""

    __tablename__ = "audit_log"

    occurred_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    actor: Mapped[str] = mapped_column(String(255))
    action: Mapped[str] = mapped_column(String(64))
    entity_type: Mapped[str] = mapped_column(String(64))
    entity_id: Mapped[str | None] = mapped_column(String(64))
    # Encrypted as a whole: what changed on a customer names them (their old and new name).
    changes: Mapped[dict[str, Any]] = mapped_column(
        EncryptedJSON("audit_log.changes"), default=dict
    )

    __table_args__ = (Index("ix_audit_log_entity", "entity_type", "entity_id"),)
