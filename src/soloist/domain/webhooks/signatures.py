"""Checking a webhook's signature as its provider documents it; every comparison constant-time.

Stripe signs ``"{t}.{raw body}"`` with HMAC-SHA256 and sends ``Stripe-Signature: t=…,v1=…``
(several ``v1`` while a secret is being rolled); Shopify and WooCommerce send the base64
HMAC-SHA256 of the raw body (``X-Shopify-Hmac-Sha256``, ``X-WC-Webhook-Signature``).

Why not the ``stripe`` package's ``WebhookSignature``: its wheel is 2.6 MB (17 MB installed) and it
pulls in ``requests`` with its own dependencies, for what is twenty lines of ``hmac`` here; the
algorithm below is the one its ``verify_header`` implements (and the tests sign with the
documented algorithm, not with this module).
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import time

from pydantic import SecretStr

from soloist.errors import WebhookNotConfiguredError, WebhookSignatureError

STRIPE_TOLERANCE_SECONDS = 300
MAX_TIMESTAMP_DIGITS = 12  # Unix seconds until the year 33658
HEX_DIGEST_LENGTH = 64
_HEX = frozenset("0123456789abcdefABCDEF")
SECRET_SETTINGS = {
    "stripe": "SOLOIST_STRIPE_WEBHOOK_SECRET",
    "shopify": "SOLOIST_SHOPIFY_WEBHOOK_SECRET",
    "woocommerce": "SOLOIST_WOOCOMMERCE_WEBHOOK_SECRET",
}


def secret_of(provider: str, secret: SecretStr | str | None) -> bytes:
    """The signing secret as bytes; a webhook without one is not set up (503, nothing written)."""
    value = secret.get_secret_value() if isinstance(secret, SecretStr) else secret
    if not value:
        setting = SECRET_SETTINGS[provider]
        raise WebhookNotConfiguredError(
            f"The {provider} webhook is not set up: set {setting} (or {setting}_FILE) to the "
            "signing secret the provider shows for this endpoint, then restart Soloist.",
            provider=provider,
        )
    return value.encode("utf-8")


def _hmac_sha256(key: bytes, message: bytes) -> bytes:
    return hmac.new(key, message, hashlib.sha256).digest()


def _stripe_timestamp(value: str) -> int | None:
    """A ``t=`` value: Unix seconds, plain ASCII digits (no sign, ``_`` or other digits), at
    most :data:`MAX_TIMESTAMP_DIGITS` of them; None for anything else."""
    if not value or len(value) > MAX_TIMESTAMP_DIGITS or not (value.isascii() and value.isdigit()):
        return None
    return int(value)


def _is_hex_digest(value: str) -> bool:
    """Whether ``value`` looks like a hex HMAC-SHA256 (64 ASCII hex digits); others never match."""
    return len(value) == HEX_DIGEST_LENGTH and all(c in _HEX for c in value)


def verify_stripe_signature(
    payload: bytes,
    header: str | None,
    secret: bytes,
    *,
    tolerance: int = STRIPE_TOLERANCE_SECONDS,
    now: float | None = None,
) -> int:
    """Check ``Stripe-Signature``; the signed timestamp is returned.

    Refused: no header, no ``t`` or no ``v1``, a ``t`` that is not 1 to 12 ASCII digits, a
    timestamp more than ``tolerance`` seconds away from ``now`` (a replay of an old capture), or
    no ``v1`` matching ``secret`` (one that is not 64 hex digits never matches).
    """
    if not header:
        raise WebhookSignatureError("No Stripe-Signature header.", provider="stripe")
    timestamp: int | None = None
    candidates: list[bytes] = []
    for item in header.split(","):
        key, _, value = item.strip().partition("=")
        value = value.strip()
        if key == "t":
            timestamp = _stripe_timestamp(value)
        elif key == "v1" and _is_hex_digest(value):
            candidates.append(value.encode("ascii"))
    if timestamp is None or not candidates:
        raise WebhookSignatureError(
            "Stripe-Signature has no timestamp (t=) or no v1 signature.", provider="stripe"
        )
    current = time.time() if now is None else now
    if abs(current - timestamp) > tolerance:
        raise WebhookSignatureError(
            f"Stripe-Signature's timestamp is more than {tolerance} s from now (a replayed or "
            "delayed delivery, or this server's clock is wrong).",
            provider="stripe",
        )
    expected = _hmac_sha256(secret, str(timestamp).encode("ascii") + b"." + payload).hex().encode()
    # Compare against every candidate (no early exit) so timing says nothing about which matched.
    matched = False
    for candidate in candidates:
        matched |= hmac.compare_digest(expected, candidate)
    if not matched:
        raise WebhookSignatureError(
            "Stripe-Signature does not match the body (wrong signing secret?).", provider="stripe"
        )
    return timestamp


def verify_base64_hmac(payload: bytes, header: str | None, secret: bytes, provider: str) -> None:
    """Check a base64 HMAC-SHA256 of the raw body (Shopify's and WooCommerce's scheme)."""
    if not header:
        raise WebhookSignatureError(f"The {provider} delivery has no signature.", provider=provider)
    try:
        sent = base64.b64decode(header.strip(), validate=True)
    except (binascii.Error, ValueError):
        sent = b""
    if not hmac.compare_digest(_hmac_sha256(secret, payload), sent):
        raise WebhookSignatureError(
            f"The {provider} signature does not match the body (wrong webhook secret?).",
            provider=provider,
        )
