"""Sign in, sign out, and picking a language (before or after signing in)."""

from __future__ import annotations

import datetime as dt
import secrets
import time
from typing import Annotated, Any

from fastapi import APIRouter, Form, Request
from starlette.responses import RedirectResponse, Response

from soloist.domain.throttling import SignInThrottle
from soloist.domain.two_step import verify_second_step
from soloist.domain.users import (
    authenticate_user,
    get_user,
    record_failed_sign_in,
    set_user_locale,
    sign_out_everywhere,
)
from soloist.errors import AuthenticationError, TooManyAttemptsError
from soloist.web.i18n import LOCALES
from soloist.web.rendering import render
from soloist.web.security import CsrfChecked, optional_user, sign_in, sign_out

router = APIRouter(include_in_schema=False)
PENDING_SECONDS = 300  # between a right password and its code


def safe_next(target: str | None) -> str:
    """Only same-site paths: ``/customers`` yes, ``//evil.example`` or ``https://…`` no."""
    if not target or not target.startswith("/") or target.startswith("//") or "\\" in target:
        return "/"
    return target


@router.get("/login")
def login_page(request: Request, next: str | None = None) -> Response:
    if optional_user(request) is not None:
        return RedirectResponse(safe_next(next), status_code=303)
    return render(request, "login.html", {"next": safe_next(next), "error": None, "email": ""})


@router.post("/login", dependencies=[CsrfChecked])
def login(
    request: Request,
    email: Annotated[str, Form()],
    password: Annotated[str, Form()],
    next: Annotated[str, Form()] = "/",
) -> Response:
    database = request.app.state.database
    throttle: SignInThrottle = request.app.state.sign_in_throttle
    address = request.client.host if request.client else None
    context = {"next": safe_next(next), "error": True, "email": email}
    try:
        throttle.check(email, address)
    except TooManyAttemptsError as exc:
        retry = str(exc.details["retry_after"])
        context["error"] = "throttled"
        response = render(request, "login.html", context, status_code=429)
        response.headers["Retry-After"] = retry
        return response
    try:
        with database.session() as session:
            user = authenticate_user(session, email, password)
            user_id, user_email, role, epoch = user.id, user.email, user.role, user.session_epoch
            second_step = bool(user.totp_secret)
    except AuthenticationError:
        throttle.failed(email, address)
        with database.session() as session:
            record_failed_sign_in(session, email, address, "wrong_credentials")
        return render(request, "login.html", context, status_code=401)
    if second_step:
        # Not signed in yet: the session only remembers whose password was right, for a while.
        locale = request.session.get("locale")
        request.session.clear()
        if locale:
            request.session["locale"] = locale
        request.session["pending"] = {
            "id": user_id,
            "epoch": epoch or 0,
            "until": time.time() + PENDING_SECONDS,
            "next": safe_next(next),
        }
        request.session["csrf"] = secrets.token_urlsafe(32)
        return RedirectResponse("/login/code", status_code=303)
    throttle.succeeded(email)
    sign_in(request, user_id, user_email, role, epoch or 0)
    return RedirectResponse(safe_next(next), status_code=303)


def _pending(request: Request) -> dict[str, Any] | None:
    pending = request.session.get("pending")
    if not isinstance(pending, dict) or float(pending.get("until", 0)) < time.time():
        request.session.pop("pending", None)
        return None
    return pending


@router.get("/login/code")
def code_page(request: Request) -> Response:
    if _pending(request) is None:
        return RedirectResponse("/login", status_code=303)
    return render(request, "login_code.html", {"error": None})


@router.post("/login/code", dependencies=[CsrfChecked])
def enter_code(request: Request, code: Annotated[str, Form()]) -> Response:
    """The second step: a current code from the user's authenticator app, counted against the
    same sign-in limits as passwords."""
    pending = _pending(request)
    if pending is None:
        return RedirectResponse("/login", status_code=303)
    database = request.app.state.database
    throttle: SignInThrottle = request.app.state.sign_in_throttle
    address = request.client.host if request.client else None
    with database.read_session() as session:
        email = get_user(session, int(pending["id"])).email
    try:
        throttle.check(email, address)
    except TooManyAttemptsError as exc:
        response = render(request, "login_code.html", {"error": "throttled"}, status_code=429)
        response.headers["Retry-After"] = str(exc.details["retry_after"])
        return response
    try:
        with database.session() as session:
            user = get_user(session, int(pending["id"]))
            if not user.active or user.session_epoch != pending["epoch"]:
                raise AuthenticationError("The sign-in was ended meanwhile.")
            verify_second_step(session, user, code, dt.datetime.now(dt.UTC))
            user.last_login_at = dt.datetime.now(dt.UTC)
            user_id, role, epoch = user.id, user.role, user.session_epoch
    except AuthenticationError:
        throttle.failed(email, address)
        with database.session() as session:
            record_failed_sign_in(session, email, address, "wrong_code")
        return render(request, "login_code.html", {"error": True}, status_code=401)
    throttle.succeeded(email)
    sign_in(request, user_id, email, role, epoch or 0)
    return RedirectResponse(str(pending.get("next") or "/"), status_code=303)


@router.post("/logout", dependencies=[CsrfChecked])
def logout(request: Request) -> Response:
    """Sign out here and on every other device: the cookie could have been copied."""
    user = optional_user(request)
    if user is not None:
        with request.app.state.database.session() as session:
            sign_out_everywhere(session, user.id, user.actor)
    sign_out(request)
    return RedirectResponse("/login", status_code=303)


@router.post("/language", dependencies=[CsrfChecked])
def choose_language(
    request: Request, locale: Annotated[str, Form()], next: Annotated[str, Form()] = "/"
) -> Response:
    """Switch the language: remembered in the session, and on the account when signed in."""
    chosen = locale if locale in LOCALES else None
    if chosen:
        request.session["locale"] = chosen
    else:
        request.session.pop("locale", None)
    user = optional_user(request)
    if user is not None:
        with request.app.state.database.session() as session:
            set_user_locale(session, user.id, chosen)
    return RedirectResponse(safe_next(next), status_code=303)
