"""Errors on web pages: a sign-in redirect, or an error page in the reader's language.

The JSON API keeps its own error shape (soloist.api.errors); :func:`web_error_response` answers
only for page paths and returns None for the API, the OpenAPI document and the health check.
"""

from __future__ import annotations

from urllib.parse import quote

from fastapi import Request
from fastapi.exceptions import RequestValidationError
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.responses import RedirectResponse, Response

from soloist.errors import SoloistError
from soloist.web.rendering import is_htmx, render
from soloist.web.security import LoginRequiredError

NON_PAGE_PREFIXES = ("/api/", "/openapi.json", "/docs", "/redoc", "/healthz", "/static/")


def is_page_request(request: Request) -> bool:
    return not request.url.path.startswith(NON_PAGE_PREFIXES)


def login_redirect(request: Request) -> Response:
    target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
    location = f"/login?next={quote(target, safe='')}"
    if is_htmx(request):
        return Response(status_code=401, headers={"HX-Redirect": location})
    return RedirectResponse(location, status_code=303)


def web_error_response(request: Request, exc: Exception) -> Response | None:
    """An HTML answer for a page request, or None to let the API's JSON handler answer."""
    if not is_page_request(request):
        return None
    if isinstance(exc, LoginRequiredError):
        return login_redirect(request)
    if isinstance(exc, SoloistError):
        status, message = exc.http_status, exc.message
    elif isinstance(exc, StarletteHTTPException):
        status, message = exc.status_code, str(exc.detail)
    elif isinstance(exc, RequestValidationError):
        status = 422
        message = "; ".join(
            f"{'.'.join(str(p) for p in e['loc'] if p != 'body')}: {e['msg']}" for e in exc.errors()
        )
    else:
        return None
    return render(request, "error.html", {"status": status, "message": message}, status_code=status)
