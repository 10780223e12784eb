"""What every route depends on: the database session and who is asking.

The interface owns the transaction: a route's session commits when the route returns and rolls
back when it raises, so a failed request leaves no half-done change.

Many writers at once (a burst of webhooks): every write route takes a *write turn* before its
transaction begins, and turns are handed out in the event loop in arrival order — one at a time
on SQLite (one write lock per file), ``Database.max_writers`` (20, at most half the thread pool)
on PostgreSQL and MariaDB. A writer waiting for its turn holds no thread, no connection and no
lock. Why: FastAPI runs a sync route in a thread of AnyIO's pool (40 threads), validates its
answer in *another* thread of that pool, and only then ends a ``scope="function"`` dependency's
transaction. When every thread ran a writer waiting for a lock (SQLite's write lock, or a row
lock on one customer), the writer holding the lock waited for a free thread to validate its
answer and so never committed: of 200 concurrent PATCHes of one customer on SQLite 172 answered
500 (``database is locked`` after the busy timeout, pool timeouts); on the servers they hung.
With turns, the threads can never all be waiting on a writer. Reads take no turn.

Why a queue and not only a retry: the unit of work of a ``WriteSession`` route is its body,
which a dependency cannot re-run; a queue needs no re-running, since a writer begins only when
it can finish. Routes whose unit of work is a function they can hand over (the live orders,
new customers, the webhooks) also run it through
:func:`soloist.storage.retry.run_in_transaction`, which runs it again when the database chose
it as a deadlock's victim.
"""

from __future__ import annotations

import asyncio
import hmac
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Annotated

import anyio
import anyio.to_thread
from fastapi import Depends, FastAPI, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from sqlalchemy.orm import Session

from soloist.domain.throttling import SignInThrottle
from soloist.domain.users import session_user, token_needs_touch, touch_token, verify_token
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

TURN_HELD = "soloist_write_turn_held"


def _write_turns(app: FastAPI) -> anyio.Semaphore:
    """The app's write turns in the running event loop (a test may serve one app twice)."""
    loop = asyncio.get_running_loop()
    current = getattr(app.state, "write_turns", None)
    if current is None or current[0] is not loop:
        # As many as the database carries (1 on SQLite), leaving at least half the threads free
        # to serialise answers and to read.
        threads = anyio.to_thread.current_default_thread_limiter().total_tokens
        turns = max(1, min(app.state.database.max_writers, int(threads) // 2))
        current = (loop, anyio.Semaphore(turns, fast_acquire=False))
        app.state.write_turns = current
    semaphore: anyio.Semaphore = current[1]
    return semaphore


@asynccontextmanager
async def write_turn(app: FastAPI) -> AsyncIterator[None]:
    """Wait, in the event loop, for a turn to write; for async routes that write in a thread."""
    async with _write_turns(app):
        yield


async def request_write_turn(request: Request) -> AsyncIterator[None]:
    """The request's write turn, held until its transaction has ended (see the module doc)."""
    async with write_turn(request.app):
        setattr(request.state, TURN_HELD, True)
        try:
            yield
        finally:
            setattr(request.state, TURN_HELD, False)


# scope="function": entered before the session and left after it has committed.
WriteTurn = Annotated[None, Depends(request_write_turn, scope="function")]


def _principal_from_session_cookie(request: Request, database: Database) -> Principal | None:
    """The signed-in web user, if the web app put one in the session (see soloist.web), read
    afresh from the database: a disabled account, a changed role or an ended session counts."""
    if "session" not in request.scope:
        return None
    cookie_user = request.session.get("user")
    if not cookie_user:
        return None
    with database.read_session() as session:
        user = session_user(session, cookie_user)
        if user is None:
            return None
        user_id, email, role = user.id, user.email, user.role
    if request.method not in SAFE_METHODS:
        # A cookie rides along on cross-site requests: state changes must prove they come from
        # our own pages with the session's CSRF token (the web app sends it as X-CSRF-Token).
        expected = request.session.get("csrf")
        sent = request.headers.get(CSRF_HEADER)
        if not expected or not sent or not hmac.compare_digest(str(expected), sent):
            raise PermissionDeniedError(
                "A signed-in browser must send the X-CSRF-Token header to change data."
            )
    return Principal(user_id=user_id, email=email, role=role, can_write=role in ("owner", "staff"))


@dataclass(frozen=True)
class _Caller:
    principal: Principal
    stale_token_id: int | None  # a token whose last use is due to be written


def _identify_caller(
    request: Request,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(bearer)],
    database: DatabaseDep,
) -> _Caller:
    if credentials is not None:
        throttle: SignInThrottle = request.app.state.sign_in_throttle
        address = request.client.host if request.client else None
        throttle.check(None, address)
        with database.read_session() as session:
            try:
                user, token = verify_token(session, credentials.credentials, touch=False)
            except AuthenticationError:
                throttle.failed(None, address)
                raise
            principal = Principal(
                user_id=user.id,
                email=user.email,
                role=user.role,
                can_write=token.scope == "write" and user.role != "readonly",
            )
            return _Caller(principal, token.id if token_needs_touch(token) else None)
    signed_in = _principal_from_session_cookie(request, database)
    if signed_in is None:
        raise AuthenticationError("Sign in or send an API token: Authorization: Bearer <token>.")
    return _Caller(signed_in, None)


def _touch(database: Database, token_id: int) -> None:
    with database.session() as session:
        touch_token(session, token_id)


async def current_principal(
    request: Request, caller: Annotated[_Caller, Depends(_identify_caller)], database: DatabaseDep
) -> Principal:
    """The caller, from a Bearer API token or a signed-in web session; 401 otherwise."""
    if caller.stale_token_id is not None:
        # A short write of its own, so reads never hold the write lock; it takes a write turn
        # like any writer (unless this request holds one already).
        if getattr(request.state, TURN_HELD, False):
            await run_in_threadpool(_touch, database, caller.stale_token_id)
        else:
            async with write_turn(request.app):
                await run_in_threadpool(_touch, database, caller.stale_token_id)
    return caller.principal


def reader(principal: Annotated[Principal, Depends(current_principal)]) -> Principal:
    return principal


def _permitted_writer(principal: Annotated[Principal, Depends(current_principal)]) -> Principal:
    if not principal.can_write:
        raise PermissionDeniedError("This needs a write token (or a staff or owner account).")
    return principal


def writer(
    principal: Annotated[Principal, Depends(_permitted_writer)], _turn: WriteTurn
) -> Principal:
    """A caller allowed to write, holding the request's write turn (see the module doc).

    The caller is identified (and refused) before it queues for a turn.
    """
    return principal


def write_session(
    database: DatabaseDep, _who: Annotated[Principal, Depends(writer)]
) -> Iterator[Session]:
    """The route's transaction, begun once the caller is known to write and holds a turn."""
    with database.session() as session:
        yield session


def read_session(database: DatabaseDep) -> Iterator[Session]:
    with database.read_session() as session:
        yield session


# scope="function": the transaction ends (commits or rolls back) once the route has returned and
# FastAPI has validated its answer (in another pool thread), before the response is sent — so a
# 201 is only ever sent for a committed change. The write turn covers that wait (module doc).
ReadSession = Annotated[Session, Depends(read_session, scope="function")]
WriteSession = Annotated[Session, Depends(write_session, scope="function")]
Reader = Annotated[Principal, Depends(reader)]
Writer = Annotated[Principal, Depends(writer)]
