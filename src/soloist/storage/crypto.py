"""Encryption of personal data at rest and keyed hashes for exact lookup.

One master key (kept in the workspace, never in the database) yields sub-keys by HKDF
(RFC 5869): an AES-256-GCM key for personal-data columns, an HMAC-SHA256 key for the lookup
hashes (normalised e-mail addresses and phone numbers, the words of names), a key for signing
web sessions, one for the links in messages, and an AES-SIV key (RFC 5297) for the few values
that must stay comparable for equality while encrypted (tags).

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
from collections.abc import Sequence
from dataclasses import dataclass, field
from functools import cached_property

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM, AESSIV
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from soloist.errors import ConfigurationError, EncryptionError

FORMAT_VERSION = 1
NONCE_BYTES = 12


def generate_master_key() -> str:
    """A new random 256-bit master key, base64 encoded."""
    return base64.urlsafe_b64encode(secrets.token_bytes(32)).decode("ascii")


def _derive(master: bytes, purpose: bytes, length: int = 32) -> bytes:
    return HKDF(algorithm=hashes.SHA256(), length=length, salt=None, info=purpose).derive(master)


@dataclass(frozen=True)
class Keyring:
    """The sub-keys derived from one master key."""

    encryption_key: bytes = field(repr=False)
    lookup_key: bytes = field(repr=False)
    session_key: bytes = field(repr=False)
    # Signs the links in messages (unsubscribe, click, open): a link cannot name another
    # recipient, and changing the session key (signing everyone out) does not break old mail.
    link_key: bytes = field(repr=False)
    # AES-256-SIV: the same plaintext always seals to the same ciphertext, so a sealed column
    # can be a key and be compared for equality; it reveals which rows are equal, nothing more.
    deterministic_key: bytes = field(repr=False)

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
            deterministic_key=_derive(master, b"soloist/v1/deterministic", length=64),
        )

    # The ciphers are made once per keyring: setting one up (the key schedule) costs several
    # times an encryption of a short value. Both are stateless between calls, so sharing them
    # across calls and threads is safe.
    @cached_property
    def _column_cipher(self) -> AESGCM:
        return AESGCM(self.encryption_key)

    @cached_property
    def _deterministic_cipher(self) -> AESSIV:
        return AESSIV(self.deterministic_key)

    def encrypt(self, plaintext: str, purpose: str) -> bytes:
        return self.encrypt_bytes(plaintext.encode("utf-8"), purpose)

    def encrypt_bytes(self, data: bytes, purpose: str) -> bytes:
        """``data`` encrypted and authenticated (AES-256-GCM, ``purpose`` as associated data)."""
        nonce = os.urandom(NONCE_BYTES)
        sealed = self._column_cipher.encrypt(nonce, data, purpose.encode("utf-8"))
        return bytes([FORMAT_VERSION]) + nonce + sealed

    def encrypt_many(self, plaintexts: Sequence[str | None], purpose: str) -> list[bytes | None]:
        """:meth:`encrypt` of each text (None stays None), every one with its own random
        nonce; the nonces come from one call to the operating system's generator."""
        cipher, associated = self._column_cipher, purpose.encode("utf-8")
        prefix = bytes([FORMAT_VERSION])
        nonces = os.urandom(NONCE_BYTES * len(plaintexts))
        sealed: list[bytes | None] = []
        for index, text in enumerate(plaintexts):
            if text is None:
                sealed.append(None)
                continue
            nonce = nonces[index * NONCE_BYTES : (index + 1) * NONCE_BYTES]
            sealed.append(prefix + nonce + cipher.encrypt(nonce, text.encode("utf-8"), associated))
        return sealed

    def decrypt(self, blob: bytes, purpose: str) -> str:
        return self.decrypt_bytes(blob, purpose).decode("utf-8")

    def decrypt_bytes(self, blob: bytes, purpose: str) -> bytes:
        """What :meth:`encrypt_bytes` sealed; :class:`EncryptionError` when it was sealed with
        another key or purpose, or changed since."""
        if len(blob) < 1 + NONCE_BYTES + 16 or blob[0] != FORMAT_VERSION:
            raise EncryptionError(f"Stored value for {purpose} is not a Soloist ciphertext.")
        nonce, sealed = blob[1 : 1 + NONCE_BYTES], blob[1 + NONCE_BYTES :]
        try:
            plain = self._column_cipher.decrypt(nonce, sealed, purpose.encode("utf-8"))
        except InvalidTag as exc:
            raise EncryptionError(
                f"Cannot decrypt {purpose}: wrong master key or tampered data."
            ) from exc
        return plain

    def seal(self, plaintext: str, purpose: str) -> str:
        """``plaintext`` sealed deterministically (AES-SIV, ``purpose`` as associated data),
        as URL-safe base64 text."""
        sealed = self._deterministic_cipher.encrypt(
            plaintext.encode("utf-8"), [purpose.encode("utf-8")]
        )
        return base64.urlsafe_b64encode(sealed).decode("ascii")

    def unseal(self, text: str, purpose: str) -> str:
        try:
            sealed = base64.urlsafe_b64decode(text.encode("ascii"))
            plain = self._deterministic_cipher.decrypt(sealed, [purpose.encode("utf-8")])
        except (InvalidTag, ValueError, UnicodeEncodeError) as exc:
            raise EncryptionError(
                f"Cannot unseal {purpose}: wrong master key or tampered data."
            ) from exc
        return plain.decode("utf-8")

    def lookup_hash(self, normalised: str, kind: str) -> str:
        """HMAC-SHA256 of a normalised value, hex; the same input always gives the same hash."""
        message = f"{kind}:{normalised}".encode()
        return hmac.new(self.lookup_key, message, hashlib.sha256).hexdigest()
