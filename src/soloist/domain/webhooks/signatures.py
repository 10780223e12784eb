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


def verify_stripe_signature(
    payload: bytes,
    header: str | None,
    secret: bytes,
    *,
    tolerance: int = STRIPE_TOLERANCE_SECONDS,
    now: float | None = None,
) -> int:
    """Check ``Stripe-Signature``; the signed timestamp is returned.

    Refused: no header, no ``t`` or no ``v1``, a timestamp more than ``tolerance`` seconds away
    from ``now`` (a replay of an old capture), or no ``v1`` matching ``secret``.
    """
    if not header:
        raise WebhookSignatureError("No Stripe-Signature header.", provider="stripe")
    timestamp: int | None = None
    candidates: list[str] = []
    for item in header.split(","):
        key, _, value = item.strip().partition("=")
        if key == "t":
            try:
                timestamp = int(value)
            except ValueError:
                timestamp = None
        elif key == "v1":
            candidates.append(value.strip())
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
    expected = _hmac_sha256(secret, str(timestamp).encode("ascii") + b"." + payload).hex()
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
