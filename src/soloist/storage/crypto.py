"""Encryption of personal data at rest and keyed hashes for exact lookup.

One master key (kept in the workspace, never in the database) yields three sub-keys by HKDF
(RFC 5869): an AES-256-GCM key for personal-data columns, an HMAC-SHA256 key for the lookup
hashes of normalised e-mail addresses and phone numbers, and a key for signing web sessions.

Ciphertext layout: ``version (1 byte) || nonce (12 bytes) || AES-GCM(ciphertext || tag)``. The
column's purpose (``"customers.email"``) is the associated data, so a value copied into another
column does not decrypt.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import os
import secrets
from dataclasses import dataclass, field

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from soloist.errors import ConfigurationError, EncryptionError

FORMAT_VERSION = 1
NONCE_BYTES = 12


def generate_master_key() -> str:
    """A new random 256-bit master key, base64 encoded."""
    return base64.urlsafe_b64encode(secrets.token_bytes(32)).decode("ascii")


def _derive(master: bytes, purpose: bytes) -> bytes:
    return HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=purpose).derive(master)


@dataclass(frozen=True)
class Keyring:
    """The sub-keys derived from one master key."""

    encryption_key: bytes = field(repr=False)
    lookup_key: bytes = field(repr=False)
    session_key: bytes = field(repr=False)
    # Signs the links in messages (unsubscribe, click, open): a link cannot name another
    # recipient, and changing the session key (signing everyone out) does not break old mail.
    link_key: bytes = field(repr=False)

    @classmethod
    def from_master_key(cls, master_key: str) -> Keyring:
        try:
            master = base64.urlsafe_b64decode(master_key.encode("ascii"))
        except (ValueError, UnicodeEncodeError) as exc:
            raise ConfigurationError("The master key is not valid base64.") from exc
        if len(master) != 32:
            raise ConfigurationError(
                f"The master key must decode to 32 bytes, it decodes to {len(master)}."
            )
        return cls(
            encryption_key=_derive(master, b"soloist/v1/column-encryption"),
            lookup_key=_derive(master, b"soloist/v1/lookup-hash"),
            session_key=_derive(master, b"soloist/v1/session-signing"),
            link_key=_derive(master, b"soloist/v1/message-links"),
        )

    def encrypt(self, plaintext: str, purpose: str) -> bytes:
        nonce = os.urandom(NONCE_BYTES)
        sealed = AESGCM(self.encryption_key).encrypt(
            nonce, plaintext.encode("utf-8"), purpose.encode("utf-8")
        )
        return bytes([FORMAT_VERSION]) + nonce + sealed

    def decrypt(self, blob: bytes, purpose: str) -> str:
        if len(blob) < 1 + NONCE_BYTES + 16 or blob[0] != FORMAT_VERSION:
            raise EncryptionError(f"Stored value for {purpose} is not a Soloist ciphertext.")
        nonce, sealed = blob[1 : 1 + NONCE_BYTES], blob[1 + NONCE_BYTES :]
        try:
            plain = AESGCM(self.encryption_key).decrypt(nonce, sealed, purpose.encode("utf-8"))
        except InvalidTag as exc:
            raise EncryptionError(
                f"Cannot decrypt {purpose}: wrong master key or tampered data."
            ) from exc
        return plain.decode("utf-8")

    def lookup_hash(self, normalised: str, kind: str) -> str:
        """HMAC-SHA256 of a normalised value, hex; the same input always gives the same hash."""
        message = f"{kind}:{normalised}".encode()
        return hmac.new(self.lookup_key, message, hashlib.sha256).hexdigest()
