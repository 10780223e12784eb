"""Settings → People (owner only): who may sign in, their roles, and ending their sessions.

Every change here goes through the same domain functions as ``soloist user …``: a new role,
disabling or a reset password ends that user's sessions at once; the last owner can be neither
demoted nor disabled.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated, Any

from fastapi import APIRouter, Form, Request
from sqlalchemy.orm import Session
from starlette.responses import RedirectResponse, Response

from soloist.domain.users import (
    add_user,
    list_users,
    reset_password,
    set_user_active,
    set_user_role,
    sign_out_everywhere,
)
from soloist.errors import SoloistError
from soloist.web.rendering import render
from soloist.web.security import CsrfChecked, OwnerUser, WebUser, optional_user

router = APIRouter(include_in_schema=False)


def _page(
    request: Request, user: WebUser, *, done: str = "", error: str = "", status_code: int = 200
) -> Response:
    with request.app.state.database.read_session() as session:
        people = list_users(session)
        session.expunge_all()
    context = {"people": people, "done": done, "error": error}
    return render(request, "users.html", context, user=user, status_code=status_code)


@router.get("/settings/users")
def people_page(request: Request, user: OwnerUser, done: str = "") -> Response:
    return _page(request, user, done=done if done in DONE else "")


DONE = ("added", "role", "disabled", "enabled", "reset", "signed_out")


def _change(
    request: Request, user: WebUser, change: Callable[[Session], Any], done: str
) -> Response:
    try:
        with request.app.state.database.session() as session:
            change(session)
    except SoloistError as exc:
        return _page(request, user, error=exc.message, status_code=exc.http_status)
    if optional_user(request) is None:  # the owner changed their own account: sign in again
        return RedirectResponse("/login", status_code=303)
    return RedirectResponse(f"/settings/users?done={done}", status_code=303)


@router.post("/settings/users", dependencies=[CsrfChecked])
def add_person(
    request: Request,
    user: OwnerUser,
    email: Annotated[str, Form()],
    role: Annotated[str, Form()],
    password: Annotated[str, Form()],
) -> Response:
    return _change(request, user, lambda s: add_user(s, email, role, password, user.actor), "added")


@router.post("/settings/users/{user_id}/role", dependencies=[CsrfChecked])
def change_role(
    request: Request, user: OwnerUser, user_id: int, role: Annotated[str, Form()]
) -> Response:
    return _change(request, user, lambda s: set_user_role(s, user_id, role, user.actor), "role")


@router.post("/settings/users/{user_id}/active", dependencies=[CsrfChecked])
def change_active(
    request: Request, user: OwnerUser, user_id: int, active: Annotated[bool, Form()]
) -> Response:
    done = "enabled" if active else "disabled"
    return _change(request, user, lambda s: set_user_active(s, user_id, active, user.actor), done)


@router.post("/settings/users/{user_id}/password", dependencies=[CsrfChecked])
def reset(
    request: Request, user: OwnerUser, user_id: int, password: Annotated[str, Form()]
) -> Response:
    return _change(
        request, user, lambda s: reset_password(s, user_id, password, user.actor), "reset"
    )


@router.post("/settings/users/{user_id}/sign-out", dependencies=[CsrfChecked])
def sign_out_user(request: Request, user: OwnerUser, user_id: int) -> Response:
    return _change(
        request, user, lambda s: sign_out_everywhere(s, user_id, user.actor), "signed_out"
    )
