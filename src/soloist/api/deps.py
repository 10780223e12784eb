"""What every route depends on: the database session and who is asking.

The interface owns the transaction: a route's session commits when the route returns and rolls
back when it raises, so a failed request leaves no half-done change.
"""

from __future__ import annotations

import hmac
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from sqlalchemy.orm import Session

from soloist.domain.users import token_needs_touch, touch_token, verify_token
from soloist.errors import AuthenticationError, PermissionDeniedError
from soloist.http import CSRF_HEADER, SAFE_METHODS
from soloist.storage.database import Database

bearer = HTTPBearer(auto_error=False, description="An API token from `soloist token create`.")


@dataclass(frozen=True)
class Principal:
    """Who is calling: a user, their role and what the credential allows."""

    user_id: int
    email: str
    role: str
    can_write: bool

    @property
    def actor(self) -> str:
        return f"user:{self.user_id}"


def get_database(request: Request) -> Database:
    database: Database = request.app.state.database
    return database


# For write routes that open and commit their own transaction (see soloist.api.loyalty).
DatabaseDep = Annotated[Database, Depends(get_database)]


def write_session(database: DatabaseDep) -> Iterator[Session]:
    with database.session() as session:
        yield session


def read_session(database: DatabaseDep) -> Iterator[Session]:
    with database.read_session() as session:
        yield session


def _principal_from_session_cookie(request: Request) -> Principal | None:
    """The signed-in web user, if the web app put one in the session (see soloist.web)."""
    if "session" not in request.scope:
        return None
    user = request.session.get("user")
    if not user:
        return None
    if request.method not in SAFE_METHODS:
        # A cookie rides along on cross-site requests: state changes must prove they come from
        # our own pages with the session's CSRF token (the web app sends it as X-CSRF-Token).
        expected = request.session.get("csrf")
        sent = request.headers.get(CSRF_HEADER)
        if not expected or not sent or not hmac.compare_digest(str(expected), sent):
            raise PermissionDeniedError(
                "A signed-in browser must send the X-CSRF-Token header to change data."
            )
    return Principal(
        user_id=int(user["id"]),
        email=str(user["email"]),
        role=str(user["role"]),
        can_write=user["role"] in ("owner", "staff"),
    )


def current_principal(
    request: Request,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(bearer)],
    database: DatabaseDep,
) -> Principal:
    """The caller, from a Bearer API token or a signed-in web session; 401 otherwise."""
    if credentials is not None:
        with database.read_session() as session:
            user, token = verify_token(session, credentials.credentials, touch=False)
            principal = Principal(
                user_id=user.id,
                email=user.email,
                role=user.role,
                can_write=token.scope == "write" and user.role != "readonly",
            )
            stale = token_needs_touch(token)
        if stale:  # a short write of its own, so reads never hold the write lock
            with database.session() as session:
                touch_token(session, token.id)
        return principal
    signed_in = _principal_from_session_cookie(request)
    if signed_in is None:
        raise AuthenticationError("Sign in or send an API token: Authorization: Bearer <token>.")
    return signed_in


def reader(principal: Annotated[Principal, Depends(current_principal)]) -> Principal:
    return principal


def writer(principal: Annotated[Principal, Depends(current_principal)]) -> Principal:
    if not principal.can_write:
        raise PermissionDeniedError("This needs a write token (or a staff or owner account).")
    return principal


# scope="function": the transaction ends (commits or rolls back) when the route returns, before
# the response is sent — so a 201 is only ever sent for a committed change, and no lock is held
# while the response is serialised.
ReadSession = Annotated[Session, Depends(read_session, scope="function")]
WriteSession = Annotated[Session, Depends(write_session, scope="function")]
Reader = Annotated[Principal, Depends(reader)]
Writer = Annotated[Principal, Depends(writer)]
