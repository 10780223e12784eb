"""Templates: one Jinja2 environment (autoescape on), and the context every page gets.

Every page gets ``_`` and ``ngettext`` (the catalogue of the request's language), ``fmt`` (Babel
formats), ``words`` (:class:`~soloist.web.wording.Wording`: reasons, segment names, errors …)
and the label tables of :mod:`soloist.web.labels` by their names, so a template writes
``{{ _(SORT_LABELS[s]) }}``.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from fastapi import Request
from fastapi.templating import Jinja2Templates
from jinja2 import Environment, FileSystemLoader
from starlette.responses import Response

from soloist.web.i18n import LOCALE_NAMES, LOCALES, Formatter, Translator, negotiate_locale
from soloist.web.labels import TABLES
from soloist.web.security import CSRF_FIELD, CSRF_HEADER, WebUser, csrf_token
from soloist.web.wording import Wording

TEMPLATE_DIR = Path(__file__).parent / "templates"
STATIC_DIR = Path(__file__).parent / "static"

# Autoescape everywhere: customer-provided text (names, notes, reviews) is always shown as text.
templates = Jinja2Templates(
    env=Environment(loader=FileSystemLoader(TEMPLATE_DIR), autoescape=True, trim_blocks=True)
)


def request_locale(request: Request, user: WebUser | None = None) -> str:
    """The user's choice, else the session's, else the browser's, else the workspace default."""
    if user is not None and user.locale in LOCALES:
        return str(user.locale)
    chosen = request.session.get("locale")
    if chosen in LOCALES:
        return str(chosen)
    default = request.app.state.settings.locale
    return negotiate_locale(request.headers.get("accept-language"), default)


def wording(request: Request, user: WebUser | None = None) -> Wording:
    """The words of the request's language (what ``render`` gives a template as ``words``)."""
    user = user or getattr(request.state, "web_user", None)
    locale = request_locale(request, user)
    settings = request.app.state.settings
    return Wording(Translator(locale), Formatter(locale, settings.timezone), settings.currency)


def render(
    request: Request,
    template: str,
    context: dict[str, Any] | None = None,
    *,
    user: WebUser | None = None,
    status_code: int = 200,
) -> Response:
    user = user or getattr(request.state, "web_user", None)
    words = wording(request, user)
    locale = words.fmt.locale
    settings = request.app.state.settings
    page: dict[str, Any] = {
        **TABLES,
        "user": user,
        "locale": locale,
        "locales": [(code, LOCALE_NAMES[code]) for code in LOCALES],
        "_": words._,
        "ngettext": words.ngettext,
        "fmt": words.fmt,
        "words": words,
        "currency": settings.currency,
        "csrf_token": csrf_token(request),
        "csrf_field": CSRF_FIELD,
        "csrf_header": CSRF_HEADER,
        "path": request.url.path,
    }
    page.update(context or {})
    response = templates.TemplateResponse(request, template, page, status_code=status_code)
    response.headers["Content-Language"] = "zh-Hans" if locale == "zh_Hans" else "en"
    return response


def is_htmx(request: Request) -> bool:
    return request.headers.get("HX-Request") == "true"


#: How long an overview page waits for its very first figures (reports, feedback) before it
#: says they are being worked out and reloads itself.
FIRST_FIGURES_WAIT_SECONDS = 3.0


def render_pending(request: Request, title: str, *, user: WebUser | None = None) -> Response:
    """The page that says its figures are being worked out for the first time; the browser
    reloads it every few seconds until they are there."""
    return render(request, "pending.html", {"title": title}, user=user)
