"""Users, roles and scoped API tokens. Passwords are hashed with Argon2id; tokens by SHA-256."""

from __future__ import annotations

import datetime as dt
import hashlib
import secrets
from collections.abc import Mapping
from typing import Any

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from soloist.domain.audit import record_audit
from soloist.domain.customers.contacts import normalise_email
from soloist.errors import AuthenticationError, ConflictError, NotFoundError, ValidationError
from soloist.storage.models import ROLES, TOKEN_SCOPES, ApiToken, User

TOKEN_PREFIX = "sol_"
MIN_PASSWORD_LENGTH = 10
_hasher = PasswordHasher()


def _hash_token(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def add_user(
    session: Session, email: str, role: str, password: str, actor: str, name: str | None = None
) -> User:
    normalised = normalise_email(email)
    if normalised is None:
        raise ValidationError("A user needs an e-mail address.", field="email")
    if role not in ROLES:
        raise ValidationError(
            f"Unknown role {role!r}; use one of {', '.join(ROLES)}.", field="role"
        )
    if len(password) < MIN_PASSWORD_LENGTH:
        raise ValidationError(
            f"The password must have at least {MIN_PASSWORD_LENGTH} characters.", field="password"
        )
    if session.scalar(select(User.id).where(User.email == normalised)) is not None:
        raise ConflictError(f"A user {normalised} exists already.", email=normalised)
    user = User(email=normalised, role=role, name=name, password_hash=_hasher.hash(password))
    session.add(user)
    session.flush()
    record_audit(session, actor, "user.added", "user", user.id, {"role": role})
    return user


def get_user_by_email(session: Session, email: str) -> User:
    normalised = normalise_email(email)
    user = session.scalar(select(User).where(User.email == normalised))
    if user is None:
        raise NotFoundError(f"No user {email}.", email=email)
    return user


def authenticate_user(session: Session, email: str, password: str) -> User:
    """The active user with these credentials, else AuthenticationError (not saying which)."""
    try:
        user = get_user_by_email(session, email)
    except (NotFoundError, ValidationError):
        _hasher.hash(password)  # same work either way, so timing does not reveal the account
        raise AuthenticationError("Wrong e-mail or password.") from None
    try:
        _hasher.verify(user.password_hash, password)
    except (VerifyMismatchError, VerificationError, InvalidHashError):
        raise AuthenticationError("Wrong e-mail or password.") from None
    if not user.active:
        raise AuthenticationError("This account is disabled.")
    if _hasher.check_needs_rehash(user.password_hash):
        user.password_hash = _hasher.hash(password)
    user.last_login_at = dt.datetime.now(dt.UTC)
    return user


def create_token(
    session: Session,
    email: str,
    scope: str,
    actor: str,
    name: str | None = None,
    expires_at: dt.datetime | None = None,
) -> tuple[ApiToken, str]:
    """A new API token for the user; returns the row and the token, which is shown only once."""
    if scope not in TOKEN_SCOPES:
        raise ValidationError(
            f"Unknown scope {scope!r}; use one of {', '.join(TOKEN_SCOPES)}.", field="scope"
        )
    user = get_user_by_email(session, email)
    if scope == "write" and user.role == "readonly":
        raise ValidationError("A read-only user cannot have a write token.", field="scope")
    token = TOKEN_PREFIX + secrets.token_urlsafe(32)
    row = ApiToken(
        user_id=user.id,
        name=name,
        token_hash=_hash_token(token),
        prefix=token[:12],
        scope=scope,
        expires_at=expires_at,
    )
    session.add(row)
    session.flush()
    record_audit(session, actor, "token.created", "api_token", row.id, {"scope": scope})
    return row, token


TOKEN_TOUCH_INTERVAL = dt.timedelta(minutes=1)


def verify_token(session: Session, token: str, *, touch: bool = True) -> tuple[User, ApiToken]:
    """The user and token row for a presented token, or AuthenticationError.

    With ``touch`` the token's ``last_used_at`` is set (at most once a minute, so that reads
    through the API do not each need a write).
    """
    row = session.scalar(select(ApiToken).where(ApiToken.token_hash == _hash_token(token)))
    now = dt.datetime.now(dt.UTC)
    if row is None or row.revoked_at is not None or (row.expires_at and row.expires_at <= now):
        raise AuthenticationError("Invalid, expired or revoked API token.")
    user = session.get(User, row.user_id)
    if user is None or not user.active:
        raise AuthenticationError("The token's user is disabled.")
    if touch and token_needs_touch(row, now):
        row.last_used_at = now
    return user, row


def token_needs_touch(row: ApiToken, now: dt.datetime | None = None) -> bool:
    moment = now or dt.datetime.now(dt.UTC)
    return row.last_used_at is None or moment - row.last_used_at >= TOKEN_TOUCH_INTERVAL


def touch_token(session: Session, token_id: int) -> None:
    row = session.get(ApiToken, token_id)
    if row is not None:
        row.last_used_at = dt.datetime.now(dt.UTC)


def revoke_token(session: Session, token_id: int, actor: str) -> None:
    row = session.get(ApiToken, token_id)
    if row is None:
        raise NotFoundError(f"No API token with id {token_id}.")
    row.revoked_at = dt.datetime.now(dt.UTC)
    record_audit(session, actor, "token.revoked", "api_token", token_id, {})


def user_names(session: Session, *, active_only: bool = False) -> dict[int, str]:
    """Every user by id, named as the pages name them (their name, else their e-mail), in
    e-mail order."""
    query = select(User.id, User.name, User.email).order_by(User.email)
    if active_only:
        query = query.where(User.active)
    return {int(uid): name or email for uid, name, email in session.execute(query)}


def get_user(session: Session, user_id: int) -> User:
    user = session.get(User, user_id)
    if user is None:
        raise NotFoundError(f"No user with id {user_id}.", user_id=user_id)
    return user


def change_password(
    session: Session, user_id: int, current_password: str, new_password: str, actor: str
) -> User:
    """Replace a user's password after checking the current one."""
    user = get_user(session, user_id)
    try:
        _hasher.verify(user.password_hash, current_password)
    except (VerifyMismatchError, VerificationError, InvalidHashError):
        raise ValidationError("The current password is wrong.", field="current_password") from None
    if len(new_password) < MIN_PASSWORD_LENGTH:
        raise ValidationError(
            f"The password must have at least {MIN_PASSWORD_LENGTH} characters.",
            field="new_password",
        )
    user.password_hash = _hasher.hash(new_password)
    end_sessions(user)
    record_audit(session, actor, "user.password_changed", "user", user.id, {})
    return user


def session_user(session: Session, cookie_user: Mapping[str, Any]) -> User | None:
    """The user a session cookie names, read afresh: None once the account is gone or
    disabled, or its sessions were ended after this one was signed in (sign-out elsewhere, a
    new password, a new role). Cookies from before epochs existed count as epoch 0."""
    try:
        user = session.get(User, int(cookie_user["id"]))
        epoch = int(cookie_user.get("epoch", 0))
    except (KeyError, TypeError, ValueError):
        return None
    if user is None or not user.active or (user.session_epoch or 0) != epoch:
        return None
    return user


def end_sessions(user: User) -> None:
    """Sign the user out everywhere: every session cookie signed in before now stops working."""
    user.session_epoch = (user.session_epoch or 0) + 1


def sign_out_everywhere(session: Session, user_id: int, actor: str) -> User:
    """What signing out does: this session and every other one of the user's end."""
    user = get_user(session, user_id)
    end_sessions(user)
    record_audit(session, actor, "user.signed_out", "user", user.id, {})
    return user


def set_user_role(session: Session, user_id: int, role: str, actor: str) -> User:
    """Give the user another role; their sessions end so the new role applies at once."""
    if role not in ROLES:
        raise ValidationError(
            f"Unknown role {role!r}; use one of {', '.join(ROLES)}.", field="role"
        )
    user = get_user(session, user_id)
    if user.role == role:
        return user
    if user.role == "owner" and user.active and count_owners(session) <= 1:
        raise ConflictError("The workspace needs an owner: make someone else owner first.")
    before, user.role = user.role, role
    end_sessions(user)
    record_audit(session, actor, "user.role_changed", "user", user.id, {"role": [before, role]})
    return user


def set_user_active(session: Session, user_id: int, active: bool, actor: str) -> User:
    """Disable an account (its sessions end and its API tokens stop working) or enable it."""
    user = get_user(session, user_id)
    if user.active == active:
        return user
    if not active and user.role == "owner" and count_owners(session) <= 1:
        raise ConflictError("The last owner cannot be disabled.")
    user.active = active
    end_sessions(user)
    action = "user.enabled" if active else "user.disabled"
    record_audit(session, actor, action, "user", user.id, {})
    return user


def reset_password(session: Session, user_id: int, new_password: str, actor: str) -> User:
    """Set a user's password without the old one (the owner's reset); their sessions end."""
    if len(new_password) < MIN_PASSWORD_LENGTH:
        raise ValidationError(
            f"The password must have at least {MIN_PASSWORD_LENGTH} characters.",
            field="password",
        )
    user = get_user(session, user_id)
    user.password_hash = _hasher.hash(new_password)
    end_sessions(user)
    record_audit(session, actor, "user.password_reset", "user", user.id, {})
    return user


def record_failed_sign_in(session: Session, email: str, address: str | None, reason: str) -> None:
    """Audit a refused sign-in: the account's id when the e-mail names one, the client's
    address, and why (never the password, nor an unknown e-mail someone typed)."""
    try:
        user_id: int | None = get_user_by_email(session, email).id
    except (NotFoundError, ValidationError):
        user_id = None
    changes = {"address": address, "reason": reason}
    record_audit(session, "anonymous", "user.sign_in_failed", "user", user_id, changes)


def list_users(session: Session) -> list[User]:
    """Every user, owners first, then by e-mail."""
    order = {role: index for index, role in enumerate(ROLES)}
    return sorted(session.scalars(select(User)), key=lambda u: (order.get(u.role, 9), u.email))


def set_user_locale(session: Session, user_id: int, locale: str | None) -> User:
    """The language the user picked for the web app (None: follow the browser)."""
    user = get_user(session, user_id)
    user.locale = locale
    return user


def list_tokens(session: Session, user_id: int) -> list[ApiToken]:
    """The user's API tokens, newest first (only prefixes; tokens themselves are not kept)."""
    return list(
        session.scalars(
            select(ApiToken).where(ApiToken.user_id == user_id).order_by(ApiToken.id.desc())
        )
    )


def count_owners(session: Session) -> int:
    return int(
        session.scalar(select(func.count(User.id)).where(User.role == "owner", User.active)) or 0
    )
