from __future__ import annotations

import datetime as dt

import pytest

from soloist.domain.users import (
    add_user,
    authenticate_user,
    create_token,
    revoke_token,
    verify_token,
)
from soloist.errors import AuthenticationError, ConflictError, ValidationError
from soloist.storage.database import Database

PASSWORD = "correct horse battery"


def test_passwords_are_stored_as_argon2_hashes(database: Database) -> None:
    with database.session() as session:
        user = add_user(session, "Owner@Example.com", "owner", PASSWORD, "t")
        assert user.email == "owner@example.com"
        assert user.password_hash.startswith("$argon2id$")
        assert PASSWORD not in user.password_hash
    with database.session() as session:
        assert authenticate_user(session, "owner@example.com", PASSWORD).role == "owner"
        with pytest.raises(AuthenticationError):
            authenticate_user(session, "owner@example.com", "wrong password!")
        with pytest.raises(AuthenticationError):
            authenticate_user(session, "nobody@example.com", PASSWORD)


def test_user_rules(database: Database) -> None:
    with database.session() as session:
        add_user(session, "a@example.com", "staff", PASSWORD, "t")
        with pytest.raises(ConflictError):
            add_user(session, "A@example.com", "staff", PASSWORD, "t")
        with pytest.raises(ValidationError, match="role"):
            add_user(session, "b@example.com", "admin", PASSWORD, "t")
        with pytest.raises(ValidationError, match="at least"):
            add_user(session, "c@example.com", "staff", "short", "t")


def test_tokens_verify_until_revoked_or_expired(database: Database) -> None:
    with database.session() as session:
        add_user(session, "a@example.com", "staff", PASSWORD, "t")
        row, token = create_token(session, "a@example.com", "write", "t")
        _, old = create_token(
            session,
            "a@example.com",
            "read",
            "t",
            expires_at=dt.datetime.now(dt.UTC) - dt.timedelta(seconds=1),
        )
        token_id = row.id
        assert row.token_hash != token
        assert token.startswith("sol_")
    with database.session() as session:
        user, verified = verify_token(session, token)
        assert user.email == "a@example.com"
        assert verified.scope == "write"
        with pytest.raises(AuthenticationError):
            verify_token(session, old)
        with pytest.raises(AuthenticationError):
            verify_token(session, token + "x")
        revoke_token(session, token_id, "t")
    with pytest.raises(AuthenticationError), database.session() as session:
        verify_token(session, token)


def test_a_readonly_user_cannot_get_a_write_token(database: Database) -> None:
    with database.session() as session:
        add_user(session, "r@example.com", "readonly", PASSWORD, "t")
        with pytest.raises(ValidationError, match="read-only"):
            create_token(session, "r@example.com", "write", "t")
