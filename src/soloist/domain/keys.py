"""Reaching the workspace's keyring from a session, for lookup hashes."""

from __future__ import annotations

from sqlalchemy.orm import Session

from soloist.domain.normalise import normalise_email, normalise_phone
from soloist.storage.crypto import Keyring
from soloist.storage.types import keyring_of


def keyring_for(session: Session) -> Keyring:
    return keyring_of(session.get_bind().dialect)


def email_lookup_hash(session: Session, email: str | None) -> str | None:
    normalised = normalise_email(email)
    return None if normalised is None else keyring_for(session).lookup_hash(normalised, "email")


def phone_lookup_hash(session: Session, phone: str | None, region: str | None = None) -> str | None:
    normalised = normalise_phone(phone, region)
    return None if normalised is None else keyring_for(session).lookup_hash(normalised, "phone")
