"""Settings: language, password, and the user's API tokens."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Form, Request
from starlette.responses import RedirectResponse, Response

from soloist.domain.users import (
    change_password,
    create_token,
    get_user,
    list_tokens,
    revoke_token,
)
from soloist.errors import NotFoundError, ValidationError
from soloist.web.rendering import render
from soloist.web.security import CsrfChecked, CurrentUser, sign_in

router = APIRouter(include_in_schema=False)


def _page(
    request: Request,
    user: CurrentUser,
    *,
    message: str | None = None,
    error: str | None = None,
    new_token: str | None = None,
    status_code: int = 200,
) -> Response:
    with request.app.state.database.read_session() as session:
        tokens = list_tokens(session, user.id)
    return render(
        request,
        "settings.html",
        {"tokens": tokens, "message": message, "error": error, "new_token": new_token},
        user=user,
        status_code=status_code,
    )


@router.get("/settings")
def settings_page(request: Request, user: CurrentUser) -> Response:
    return _page(request, user)


@router.post("/settings/password", dependencies=[CsrfChecked])
def password(
    request: Request,
    user: CurrentUser,
    current_password: Annotated[str, Form()],
    new_password: Annotated[str, Form()],
    confirm_password: Annotated[str, Form()],
) -> Response:
    if new_password != confirm_password:
        return _page(request, user, error="mismatch", status_code=422)
    try:
        with request.app.state.database.session() as session:
            changed = change_password(session, user.id, current_password, new_password, user.actor)
            epoch = changed.session_epoch
    except ValidationError as exc:
        kind = "wrong" if exc.details.get("field") == "current_password" else "short"
        return _page(request, user, error=kind, status_code=422)
    # every other session has ended with the old password; this one goes on at the new epoch
    sign_in(request, user.id, user.email, user.role, epoch)
    return _page(request, user, message="password")


@router.post("/settings/tokens", dependencies=[CsrfChecked])
def new_token(
    request: Request,
    user: CurrentUser,
    scope: Annotated[str, Form()] = "read",
    name: Annotated[str | None, Form()] = None,
) -> Response:
    if scope == "write" and not user.can_write:
        return _page(request, user, error="readonly", status_code=403)
    with request.app.state.database.session() as session:
        _, token = create_token(session, user.email, scope, user.actor, name=name or None)
    return _page(request, user, message="token", new_token=token)


@router.post("/settings/tokens/{token_id}/revoke", dependencies=[CsrfChecked])
def revoke(request: Request, token_id: int, user: CurrentUser) -> Response:
    with request.app.state.database.session() as session:
        owned = {t.id for t in list_tokens(session, user.id)}
        if token_id not in owned and get_user(session, user.id).role != "owner":
            raise NotFoundError(f"No API token with id {token_id}.")
        revoke_token(session, token_id, user.actor)
    return RedirectResponse("/settings", status_code=303)
