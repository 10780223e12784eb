"""The survey page behind a survey link, reached from a customer's mail: no sign-in, no CSRF
token (the signed token in the URL is what authorises it, as for the links of campaign
messages, :mod:`soloist.web.mail_links`), no JavaScript (a plain form POST).

- ``GET /s/{token}`` shows the question: a row of score buttons, an optional comment.
- ``POST /s/{token}`` with ``score`` (and ``comment``), as a form or as JSON, records the answer
  and answers 200 with a thank-you page; a second POST answers 409, unless the link's edit
  window is open (then it changes the answer).

A token we did not make answers 404 ("This survey link is not valid.") and a genuine one past
its expiry 410, saying no more. Staff cannot answer for a customer: a request from a browser
signed in to Soloist (its session cookie) or carrying an ``Authorization`` header is refused
with 403, and its GET shows a notice in place of the form. Pages speak the customer's language,
else the link's, else the workspace's (a token that is not valid: the browser's).
"""

from __future__ import annotations

import datetime as dt
import json
from typing import Any

from fastapi import APIRouter, Request
from starlette.concurrency import run_in_threadpool
from starlette.responses import Response

from soloist.config import Settings
from soloist.domain.surveys import (
    SurveyAnsweredError,
    SurveyLinkExpiredError,
    SurveyLinkInvalidError,
    SurveyQuestion,
    business_name,
    open_survey,
    submit_survey_answer,
    survey_key,
)
from soloist.errors import ValidationError
from soloist.storage.database import Database
from soloist.storage.retry import run_in_transaction
from soloist.storage.types import utcnow
from soloist.web.i18n import Formatter, Translator, normalise_locale
from soloist.web.rendering import request_locale, templates

router = APIRouter(include_in_schema=False)

NO_STORE = {"Cache-Control": "no-store"}
MAX_BODY_BYTES = 64 * 1024


def _database(request: Request) -> Database:
    database: Database = request.app.state.database
    return database


def _key(request: Request) -> bytes:
    return survey_key(_database(request).keyring)


def _locale_of(request: Request, question: SurveyQuestion | None) -> str:
    """The customer's language (or the link's), else the workspace's; without a valid link,
    the browser's."""
    if question is None:
        return request_locale(request)
    settings: Settings = request.app.state.settings
    return normalise_locale(question.language) or normalise_locale(settings.locale) or "en"


def _is_staff(request: Request) -> bool:
    """Whether the request comes from Soloist's own people: a browser signed in to the app (a
    session cookie we signed) or a program sending credentials. Customers send neither."""
    if request.headers.get("authorization"):
        return True
    return "session" in request.scope and bool(request.session.get("user"))


def _page(
    request: Request,
    template: str,
    locale: str,
    context: dict[str, Any] | None = None,
    *,
    status_code: int = 200,
) -> Response:
    """A page of its own: no navigation, no session written, no CSRF field."""
    settings: Settings = request.app.state.settings
    translator = Translator(locale)
    page = {
        "_": translator.gettext,
        "locale": locale,
        "fmt": Formatter(locale, settings.timezone),
        "business": business_name(settings),
    }
    page.update(context or {})
    response = templates.TemplateResponse(
        request, f"surveys/{template}", page, status_code=status_code, headers=NO_STORE
    )
    response.headers["Content-Language"] = "zh-Hans" if locale == "zh_Hans" else "en"
    response.headers["X-Robots-Tag"] = "noindex"
    return response


def _message(request: Request, state: str, locale: str, status_code: int) -> Response:
    return _page(request, "message.html", locale, {"state": state}, status_code=status_code)


def _question(
    request: Request,
    question: SurveyQuestion,
    locale: str,
    *,
    error: str | None = None,
    score: Any = None,
    comment: str | None = None,
    status_code: int = 200,
) -> Response:
    chosen = score if score is not None else question.score
    return _page(
        request,
        "question.html",
        locale,
        {
            "q": question,
            "scores": list(range(question.low, question.high + 1)),
            "chosen": str(chosen) if chosen is not None else None,
            "comment": comment if comment is not None else (question.comment or ""),
            "error": error,
        },
        status_code=status_code,
    )


def _open(request: Request, token: str) -> SurveyQuestion | Response:
    """The question behind ``token``, or the page that says the link does not work."""
    database = _database(request)
    try:
        with database.read_session() as session:
            return open_survey(session, _key(request), token, utcnow())
    except SurveyLinkInvalidError:
        return _message(request, "invalid", request_locale(request), 404)
    except SurveyLinkExpiredError as exc:
        settings: Settings = request.app.state.settings
        language = exc.details.get("language")
        locale = normalise_locale(language) or normalise_locale(settings.locale) or "en"
        return _message(request, "expired", locale, 410)


@router.get("/s/{token}")
def survey_page(request: Request, token: str) -> Response:
    """The question, or a notice: answered already, or a staff browser (no form then)."""
    found = _open(request, token)
    if isinstance(found, Response):
        return found
    locale = _locale_of(request, found)
    if _is_staff(request):
        return _message(request, "staff", locale, 200)
    if found.answered and found.editable_until is None:
        return _message(request, "answered", locale, 200)
    return _question(request, found, locale)


async def _answer(request: Request) -> tuple[Any, str | None] | None:
    """``score`` and ``comment`` from a form or a JSON body; None for a body too large."""
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > MAX_BODY_BYTES:
        return None
    data: Any
    if request.headers.get("content-type", "").startswith("application/json"):
        try:
            data = json.loads(await request.body())
        except (ValueError, UnicodeDecodeError):
            data = {}
        data = data if isinstance(data, dict) else {}
    else:
        try:
            data = await request.form(max_files=0, max_fields=10)
        except Exception:  # not a form at all: no score, so the form is shown again
            data = {}
    score, comment = data.get("score"), data.get("comment")
    if isinstance(score, bool) or not isinstance(score, str | int):
        score = None
    return score, comment if isinstance(comment, str) else None


@router.post("/s/{token}")
async def answer_survey(request: Request, token: str) -> Response:
    """Record the answer (200, a thank-you page); answered already: 409; staff: 403."""
    found = await run_in_threadpool(_open, request, token)
    if isinstance(found, Response):
        return found
    locale = _locale_of(request, found)
    if _is_staff(request):
        return _message(request, "staff", locale, 403)
    answer = await _answer(request)
    if answer is None:
        return _message(request, "too_large", locale, 413)
    score, comment = answer
    database, key = _database(request), _key(request)

    def work(session: Any) -> dt.datetime | None:
        submit_survey_answer(
            session,
            key,
            token,
            score if score is not None else "",
            comment=comment,
            language="zh-Hans" if locale == "zh_Hans" else "en",
            now=utcnow(),
        )
        return open_survey(session, key, token).editable_until

    try:
        editable_until = await run_in_threadpool(run_in_transaction, database, work)
    except SurveyLinkInvalidError:
        return _message(request, "invalid", locale, 404)
    except SurveyLinkExpiredError:
        return _message(request, "expired", locale, 410)
    except SurveyAnsweredError:
        return _message(request, "answered", locale, 409)
    except ValidationError as exc:
        field = exc.details.get("field")
        error = "comment" if field == "comment" else "score"
        return _question(
            request, found, locale, error=error, score=score, comment=comment, status_code=422
        )
    return _page(request, "message.html", locale, {"state": "thanks", "until": editable_until})
