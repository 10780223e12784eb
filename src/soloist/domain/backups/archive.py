"""The encrypted container of a backup: a header line, then authenticated chunks.

Layout: one line of JSON (format, version, the scrypt parameters and salt, a random nonce
prefix), then chunks, each ``length (4 bytes, big-endian) || AES-256-GCM ciphertext``. Chunk
``i`` is sealed under the nonce ``prefix || i`` with the header and a last-chunk flag as
associated data: the STREAM construction (Hoang, Reyhanitabar, Rogaway & Vizár, "Online
Authenticated-Encryption and its Nonce-Reuse Misuse-Resistance", CRYPTO 2015, §7). A changed
byte fails its chunk's tag, reordered chunks fail their nonces, and a file cut short ends
without the chunk flagged last, so every kind of damage is refused.

The key comes from the passphrase by scrypt (RFC 7914; N = 2^15, r = 8, p = 1), which makes
each guess cost about 32 MiB and a tenth of a second.
"""

from __future__ import annotations

import base64
import json
import os
import struct
from collections.abc import Iterator
from typing import IO, Any

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.scrypt import Scrypt

from soloist.errors import ValidationError

FORMAT = "soloist-backup"
VERSION = 1
CHUNK_BYTES = 1024 * 1024
SCRYPT = {"n": 2**15, "r": 8, "p": 1}
_LENGTH = struct.Struct(">I")


class BackupDamagedError(ValidationError):
    """The file is not a Soloist backup, was changed, or was cut short; or the passphrase is
    wrong (the two cannot be told apart, by design)."""

    code = "backup_refused"


def _key(passphrase: str, salt: bytes, params: dict[str, int]) -> bytes:
    if not passphrase:
        raise ValidationError("A backup needs a passphrase (SOLOIST_BACKUP_PASSPHRASE).")
    kdf = Scrypt(salt=salt, length=32, n=params["n"], r=params["r"], p=params["p"])
    return kdf.derive(passphrase.encode("utf-8"))


def _nonce(prefix: bytes, index: int) -> bytes:
    return prefix + index.to_bytes(4, "big")


def _aad(header: bytes, last: bool) -> bytes:
    return header + (b"\x01" if last else b"\x00")


class SealedWriter:
    """Writes plaintext bytes into ``target`` as sealed chunks; :meth:`close` seals the last."""

    def __init__(self, target: IO[bytes], passphrase: str, meta: dict[str, Any]) -> None:
        salt, self._prefix = os.urandom(16), os.urandom(8)
        header = {
            "format": FORMAT,
            "version": VERSION,
            "kdf": {"name": "scrypt", **SCRYPT, "salt": base64.b64encode(salt).decode()},
            "nonce_prefix": base64.b64encode(self._prefix).decode(),
            **meta,
        }
        self._header = json.dumps(header, sort_keys=True).encode("utf-8")
        self._aead = AESGCM(_key(passphrase, salt, SCRYPT))
        self._target, self._buffer, self._index = target, bytearray(), 0
        target.write(self._header + b"\n")

    def write(self, data: bytes) -> None:
        self._buffer += data
        while len(self._buffer) > CHUNK_BYTES:
            self._seal(bytes(self._buffer[:CHUNK_BYTES]), last=False)
            del self._buffer[:CHUNK_BYTES]

    def close(self) -> None:
        self._seal(bytes(self._buffer), last=True)
        self._buffer.clear()

    def _seal(self, plain: bytes, *, last: bool) -> None:
        if self._index >= 2**32 - 1:
            raise ValidationError("The backup is too large for one file.")
        nonce = _nonce(self._prefix, self._index)
        sealed = self._aead.encrypt(nonce, plain, _aad(self._header, last))
        self._target.write(_LENGTH.pack(len(sealed)) + sealed)
        self._index += 1


def read_header(source: IO[bytes]) -> tuple[bytes, dict[str, Any]]:
    line = source.readline(64 * 1024)
    try:
        header = json.loads(line)
    except ValueError:
        header = None
    if not isinstance(header, dict) or header.get("format") != FORMAT:
        raise BackupDamagedError("This is not a Soloist backup file.")
    if header.get("version") != VERSION:
        raise BackupDamagedError(f"Backup format version {header.get('version')} is not known.")
    return line.rstrip(b"\n"), header


def open_chunks(source: IO[bytes], passphrase: str) -> tuple[dict[str, Any], Iterator[bytes]]:
    """The header, and the plaintext chunks in order; raises :class:`BackupDamagedError` at
    the first chunk that fails, or at the end when the last chunk is missing."""
    raw_header, header = read_header(source)
    try:
        kdf = header["kdf"]
        salt = base64.b64decode(kdf["salt"])
        prefix = base64.b64decode(header["nonce_prefix"])
        params = {"n": int(kdf["n"]), "r": int(kdf["r"]), "p": int(kdf["p"])}
    except (KeyError, TypeError, ValueError) as exc:
        raise BackupDamagedError("The backup's header is damaged.") from exc
    if params["n"] > 2**20 or params["r"] > 32 or params["p"] > 16:
        raise BackupDamagedError("The backup's header asks for an unreasonable key derivation.")
    aead = AESGCM(_key(passphrase, salt, params))

    def chunks() -> Iterator[bytes]:
        index, finished = 0, False
        while True:
            size_bytes = source.read(_LENGTH.size)
            if not size_bytes:
                break
            if finished or len(size_bytes) < _LENGTH.size:
                raise BackupDamagedError("The backup has bytes after its end, or is cut short.")
            (size,) = _LENGTH.unpack(size_bytes)
            sealed = source.read(size)
            if len(sealed) != size or size > CHUNK_BYTES + 64:
                raise BackupDamagedError("The backup is cut short.")
            nonce = _nonce(prefix, index)
            for last in (False, True):
                try:
                    plain = aead.decrypt(nonce, sealed, _aad(raw_header, last))
                except InvalidTag:
                    continue
                finished = last
                break
            else:
                raise BackupDamagedError(
                    "The backup was changed or damaged, or the passphrase is wrong."
                )
            index += 1
            yield plain
        if not finished:
            raise BackupDamagedError("The backup is cut short: its last part is missing.")

    return header, chunks()
