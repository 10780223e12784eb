"""Reaching the workspace's keyring from a session, for lookup hashes."""

from __future__ import annotations

from sqlalchemy.orm import Session

from soloist.storage.crypto import Keyring
from soloist.storage.types import keyring_of


def keyring_for(session: Session) -> Keyring:
    return keyring_of(session.get_bind().dialect)
