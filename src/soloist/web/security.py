"""Who is signed in to the web app, what their role allows, and CSRF protection.

The signed session cookie (Starlette's SessionMiddleware, keyed from the workspace keyring) holds
``user = {"id", "email", "role", "epoch"}`` and a per-session ``csrf`` token. Every
state-changing form carries the token in a hidden ``csrf_token`` field (HTMX requests send it as
``X-CSRF-Token``); :func:`verify_csrf` compares it in constant time. The user is re-read from
the database on every request, so a disabled account or a changed role takes effect at once,
and a cookie signed in before the user's sessions were ended (sign-out, a new password or role)
is refused.
"""

from __future__ import annotations

import hmac
import secrets
from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends, Request

from soloist.domain.users import session_user
from soloist.errors import PermissionDeniedError, SoloistError
from soloist.http import CSRF_HEADER, SAFE_METHODS
from soloist.storage.database import Database
from soloist.web.labels import N_

CSRF_FIELD = "csrf_token"


class LoginRequiredError(SoloistError):
    """No signed-in user: pages answer with a redirect to the login page."""

    code = "login_required"
    http_status = 401


class CsrfError(SoloistError):
    code = "csrf_failed"
    http_status = 403


@dataclass(frozen=True)
class WebUser:
    id: int
    email: str
    name: str | None
    role: str
    locale: str | None

    @property
    def actor(self) -> str:
        return f"user:{self.id}"

    @property
    def can_write(self) -> bool:
        return self.role in ("owner", "staff")


def csrf_token(request: Request) -> str:
    """This session's CSRF token, created on first use (but not for an error page answering a
    request that came without a session: see :func:`start_no_session`)."""
    token = request.session.get("csrf")
    if not token and getattr(request.state, "no_new_session", False):
        return ""
    if not token:
        token = secrets.token_urlsafe(32)
        request.session["csrf"] = token
    return str(token)


def sign_in(request: Request, user_id: int, email: str, role: str, epoch: int) -> None:
    """Start a fresh session (a new CSRF token too, against session fixation) at the user's
    current session epoch."""
    locale = request.session.get("locale")
    request.session.clear()
    request.session["user"] = {"id": user_id, "email": email, "role": role, "epoch": epoch}
    request.session["csrf"] = secrets.token_urlsafe(32)
    if locale:
        request.session["locale"] = locale


def start_no_session(request: Request) -> None:
    """Answer this request without starting a session, when it came without one.

    A cross-site POST arrives without the SameSite=Lax cookie and is refused; had its error page
    started a fresh session, the browser would store that cookie over the visitor's own and
    sign them out.
    """
    if not request.session:
        request.state.no_new_session = True


def sign_out(request: Request) -> None:
    request.session.clear()


async def verify_csrf(request: Request) -> None:
    """Refuse a state-changing request whose CSRF token does not match the session's."""
    if request.method in SAFE_METHODS:
        return
    expected = request.session.get("csrf")
    sent = request.headers.get(CSRF_HEADER)
    if sent is None:
        form = await request.form()
        value = form.get(CSRF_FIELD)
        sent = value if isinstance(value, str) else None
    if not expected or not sent or not hmac.compare_digest(str(expected), sent):
        raise CsrfError(N_("The form has expired or did not come from this site; reload the page."))


def optional_user(request: Request) -> WebUser | None:
    data = request.session.get("user")
    if not data:
        return None
    database: Database = request.app.state.database
    with database.read_session() as session:
        user = session_user(session, data)
        if user is None:
            return None
        return WebUser(user.id, user.email, user.name, user.role, user.locale)


def current_user(request: Request) -> WebUser:
    user = optional_user(request)
    if user is None:
        request.session.pop("user", None)
        raise LoginRequiredError(N_("Please sign in."))
    request.state.web_user = user
    return user


def writer_user(user: Annotated[WebUser, Depends(current_user)]) -> WebUser:
    if not user.can_write:
        raise PermissionDeniedError(N_("Your account is read-only."))
    return user


def owner_user(user: Annotated[WebUser, Depends(current_user)]) -> WebUser:
    if user.role != "owner":
        raise PermissionDeniedError(N_("Only the owner can do this."))
    return user


CurrentUser = Annotated[WebUser, Depends(current_user)]
WriterUser = Annotated[WebUser, Depends(writer_user)]
OwnerUser = Annotated[WebUser, Depends(owner_user)]
CsrfChecked = Depends(verify_csrf)
