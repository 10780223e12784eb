"""Settings → Two-step sign-in: set up a code from an authenticator app, or turn it off."""

from __future__ import annotations

import datetime as dt
from typing import Annotated

from fastapi import APIRouter, Form, Request
from starlette.responses import RedirectResponse, Response

from soloist.domain.two_step import (
    begin_two_step,
    confirm_two_step,
    disable_two_step,
    pending_setup,
)
from soloist.domain.users import get_user
from soloist.errors import AuthenticationError, SoloistError
from soloist.web.rendering import render
from soloist.web.security import CsrfChecked, CurrentUser

router = APIRouter(include_in_schema=False)
DONE = ("on", "off")


def _page(
    request: Request, user: CurrentUser, *, done: str = "", error: str = "", status: int = 200
) -> Response:
    with request.app.state.database.read_session() as session:
        enabled = bool(get_user(session, user.id).totp_secret)
        setup = None if enabled else pending_setup(session, user.id)
    context = {"enabled": enabled, "setup": setup, "done": done, "error": error}
    return render(request, "two_step.html", context, user=user, status_code=status)


@router.get("/settings/two-step")
def two_step_page(request: Request, user: CurrentUser, done: str = "") -> Response:
    return _page(request, user, done=done if done in DONE else "")


@router.post("/settings/two-step/start", dependencies=[CsrfChecked])
def start(request: Request, user: CurrentUser) -> Response:
    try:
        with request.app.state.database.session() as session:
            begin_two_step(session, user.id)
    except SoloistError as exc:
        return _page(request, user, error=exc.message, status=exc.http_status)
    return RedirectResponse("/settings/two-step", status_code=303)


@router.post("/settings/two-step/confirm", dependencies=[CsrfChecked])
def confirm(request: Request, user: CurrentUser, code: Annotated[str, Form()]) -> Response:
    try:
        with request.app.state.database.session() as session:
            confirm_two_step(session, user.id, code, user.actor, dt.datetime.now(dt.UTC))
    except SoloistError as exc:
        return _page(request, user, error=exc.message, status=exc.http_status)
    return RedirectResponse("/settings/two-step?done=on", status_code=303)


@router.post("/settings/two-step/disable", dependencies=[CsrfChecked])
def disable(request: Request, user: CurrentUser, code: Annotated[str, Form()]) -> Response:
    try:
        with request.app.state.database.session() as session:
            disable_two_step(session, user.id, code, user.actor, dt.datetime.now(dt.UTC))
    except AuthenticationError:
        return _page(request, user, error="wrong_code", status=422)
    return RedirectResponse("/settings/two-step?done=off", status_code=303)
