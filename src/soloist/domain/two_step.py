"""Two-step sign-in: a one-time code from an authenticator app after the password.

Codes are TOTP (RFC 6238: HMAC-SHA1, 6 digits, 30-second steps) through ``pyotp``; a code of
the step before or after the current one is accepted too (a phone's clock a little off), and a
code is accepted once: the last step used is stored and an older or equal one refused, so a code
seen over a shoulder cannot be replayed. The shared secret is encrypted at rest like every
other secret. Setting it up takes two steps (a secret is proposed, then confirmed by a code the
app made from it); turning it off takes a current code; the owner of the workspace can clear a
user's second step from the command line when a phone is lost (``soloist user totp-reset``).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import pyotp
import segno
from sqlalchemy.orm import Session

from soloist.domain.audit import record_audit
from soloist.domain.users import end_sessions, get_user
from soloist.errors import AuthenticationError, ConflictError, ValidationError
from soloist.storage.models import User

ISSUER = "Soloist"
STEP_SECONDS = 30
CODE = "0123456789"


@dataclass(frozen=True)
class TotpSetup:
    secret: str  # base32, for typing into an app by hand
    uri: str  # otpauth://totp/…, what the QR code holds
    qr_svg: str  # the QR code as an inline SVG element


def _step(now: dt.datetime) -> int:
    return int(now.timestamp()) // STEP_SECONDS


def _clean(code: str) -> str:
    digits = "".join(ch for ch in code if not ch.isspace())
    if len(digits) != 6 or any(ch not in CODE for ch in digits):
        raise ValidationError("A code has 6 digits.", field="code")
    return digits


def _matching_step(secret: str, code: str, now: dt.datetime) -> int | None:
    """The step (current, one before or one after) whose code is ``code``."""
    totp = pyotp.TOTP(secret, interval=STEP_SECONDS)
    for offset in (0, -1, 1):
        moment = now + dt.timedelta(seconds=offset * STEP_SECONDS)
        if pyotp.utils.strings_equal(totp.at(moment), code):
            return _step(moment)
    return None


def _setup(user: User, secret: str) -> TotpSetup:
    uri = pyotp.TOTP(secret, interval=STEP_SECONDS).provisioning_uri(
        name=user.email, issuer_name=ISSUER
    )
    svg = segno.make(uri, error="m").svg_inline(scale=4, dark="#111", light="#fff")
    return TotpSetup(secret=secret, uri=uri, qr_svg=svg)


def begin_two_step(session: Session, user_id: int) -> TotpSetup:
    """Propose a new secret for the user (kept until confirmed or replaced)."""
    user = get_user(session, user_id)
    if user.totp_secret:
        raise ConflictError("Two-step sign-in is already on; turn it off first to change it.")
    user.totp_pending = pyotp.random_base32()
    return _setup(user, user.totp_pending)


def pending_setup(session: Session, user_id: int) -> TotpSetup | None:
    """The set-up waiting for its confirming code, if any."""
    user = get_user(session, user_id)
    return _setup(user, user.totp_pending) if user.totp_pending else None


def confirm_two_step(
    session: Session, user_id: int, code: str, actor: str, now: dt.datetime
) -> None:
    """Turn two-step sign-in on, once a code made from the proposed secret is given."""
    user = get_user(session, user_id)
    if not user.totp_pending:
        raise ValidationError("Start the set-up first: no secret is waiting to be confirmed.")
    step = _matching_step(user.totp_pending, _clean(code), now)
    if step is None:
        raise ValidationError(
            "That code does not match: check the phone's time and try the newest code.",
            field="code",
        )
    user.totp_secret, user.totp_pending, user.totp_last_step = user.totp_pending, None, step
    record_audit(session, actor, "user.two_step_on", "user", user.id)


def verify_second_step(session: Session, user: User, code: str, now: dt.datetime) -> None:
    """Accept ``code`` for the user's sign-in, once; AuthenticationError otherwise."""
    if not user.totp_secret:
        return
    try:
        digits = _clean(code)
    except ValidationError as exc:
        raise AuthenticationError("Wrong code.") from exc
    step = _matching_step(user.totp_secret, digits, now)
    if step is None or step <= (user.totp_last_step or -1):
        raise AuthenticationError("Wrong code.")
    user.totp_last_step = step


def disable_two_step(
    session: Session, user_id: int, code: str, actor: str, now: dt.datetime
) -> None:
    """Turn two-step sign-in off; takes a current code, so a borrowed session cannot."""
    user = get_user(session, user_id)
    if not user.totp_secret:
        return
    verify_second_step(session, user, code, now)
    user.totp_secret = user.totp_pending = None
    user.totp_last_step = None
    record_audit(session, actor, "user.two_step_off", "user", user.id)


def reset_two_step(session: Session, user_id: int, actor: str) -> User:
    """Clear the user's second step (a lost phone) and end their sessions."""
    user = get_user(session, user_id)
    user.totp_secret = user.totp_pending = None
    user.totp_last_step = None
    end_sessions(user)
    record_audit(session, actor, "user.two_step_reset", "user", user.id)
    return user
