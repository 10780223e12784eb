"""Normalising contact details, so the same person is recognised however they were typed."""

from __future__ import annotations

import re
import unicodedata

import phonenumbers
from sqlalchemy.orm import Session

from soloist.errors import ValidationError
from soloist.storage.keys import keyring_for

_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
_NOT_WORD = re.compile(r"[^\w]+", re.UNICODE)


def normalise_email(value: str | None) -> str | None:
    """Trimmed, NFKC-normalised, lower-cased e-mail; ``None`` for blanks; error when malformed."""
    if value is None:
        return None
    email = unicodedata.normalize("NFKC", value).strip().lower()
    if not email:
        return None
    if not _EMAIL.match(email):
        raise ValidationError(f"Not an e-mail address: {value!r}", field="email")
    return email


def normalise_phone(value: str | None, default_region: str | None = None) -> str | None:
    """E.164 form (``+8613800138000``); ``None`` for blanks; error when not a possible number.

    Numbers without a country code are read in ``default_region`` (ISO country, e.g. ``"CN"``);
    without a region they must start with ``+``.
    """
    if value is None:
        return None
    text = unicodedata.normalize("NFKC", str(value)).strip()
    if not text:
        return None
    try:
        parsed = phonenumbers.parse(text, (default_region or "").upper() or None)
    except phonenumbers.NumberParseException as exc:
        raise ValidationError(f"Not a phone number: {value!r} ({exc})", field="phone") from exc
    if not phonenumbers.is_possible_number(parsed):
        raise ValidationError(f"Not a possible phone number: {value!r}", field="phone")
    return phonenumbers.format_number(parsed, phonenumbers.PhoneNumberFormat.E164)


def normalise_address(address: str | None) -> str | None:
    """Case, width, punctuation and spacing removed: '12 High St.,  Leeds' == '12 high st leeds'."""
    if not address:
        return None
    text = unicodedata.normalize("NFKC", address).casefold()
    text = " ".join(_NOT_WORD.sub(" ", text).split())
    return text or None


def email_lookup_hash(session: Session, email: str | None) -> str | None:
    """The keyed hash that finds a customer by e-mail without decrypting every row."""
    normalised = normalise_email(email)
    return None if normalised is None else keyring_for(session).lookup_hash(normalised, "email")
