"""Errors on web pages: a sign-in redirect, or an error page in the reader's language.

The JSON API keeps its own error shape (soloist.api.errors); :func:`web_error_response` answers
only for page paths and returns None for the API, the OpenAPI document and the health check.
"""

from __future__ import annotations

from http import HTTPStatus
from urllib.parse import quote

from fastapi import Request
from fastapi.exceptions import RequestValidationError
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.responses import RedirectResponse, Response

from soloist.errors import SoloistError
from soloist.web.labels import ERROR_MESSAGES
from soloist.web.rendering import is_htmx, render
from soloist.web.security import LoginRequiredError, start_no_session

NON_PAGE_PREFIXES = ("/api/", "/openapi.json", "/healthz", "/static/")
# Starlette's own HTTP errors (no such route, wrong method) by the code of the matching error.
HTTP_CODES = {403: "permission_denied", 404: "not_found", 405: "method_not_allowed"}


def is_page_request(request: Request) -> bool:
    return not request.url.path.startswith(NON_PAGE_PREFIXES)


def login_redirect(request: Request) -> Response:
    target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
    location = f"/login?next={quote(target, safe='')}"
    if is_htmx(request):
        return Response(status_code=401, headers={"HX-Redirect": location})
    return RedirectResponse(location, status_code=303)


def _worded_code(exc: SoloistError) -> str:
    """The error's code, or its nearest ancestor's when no sentence is written for it yet."""
    for kind in type(exc).__mro__:
        code = getattr(kind, "code", None)
        if code in ERROR_MESSAGES:
            return str(code)
    return SoloistError.code


def web_error_response(request: Request, exc: Exception) -> Response | None:
    """An HTML answer for a page request, or None to let the API's JSON handler answer.

    The page says what went wrong by the error's stable code, in the reader's language
    (:data:`soloist.web.labels.ERROR_MESSAGES`); the English message is the detail.
    """
    if not is_page_request(request):
        return None
    if isinstance(exc, LoginRequiredError):
        return login_redirect(request)
    message: str | None
    if isinstance(exc, SoloistError):
        status, code, message = exc.http_status, _worded_code(exc), exc.message
    elif isinstance(exc, StarletteHTTPException):
        status, code = exc.status_code, HTTP_CODES.get(exc.status_code, "soloist_error")
        detail = str(exc.detail)
        message = None if detail == HTTPStatus(status).phrase else detail
    elif isinstance(exc, RequestValidationError):
        status, code = 422, "validation_error"
        message = "; ".join(
            f"{'.'.join(str(p) for p in e['loc'] if p != 'body')}: {e['msg']}" for e in exc.errors()
        )
    else:
        return None
    start_no_session(request)
    context = {"status": status, "code": code, "message": message}
    return render(request, "error.html", context, status_code=status)
