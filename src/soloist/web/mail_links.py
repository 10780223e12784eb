"""The links inside campaign messages, reached from mail clients: no sign-in, no CSRF token (the
signed token in the URL is what authorises them; see :mod:`soloist.domain.campaigns.links`).

- ``GET /u/{token}`` shows a page asking to confirm. It changes nothing: link scanners and
  mail previews follow every GET (RFC 8058 §3.2).
- ``POST /u/{token}`` unsubscribes: the one-click POST a mail client sends (the body
  ``List-Unsubscribe=One-Click``, form-urlencoded or multipart, with no cookie) or the page's
  button. It answers 200 with a page, never a redirect (mail clients do not follow one), and a
  second POST changes nothing more.
- ``GET /c/{token}`` counts the click and redirects (302) to the link stored for the campaign;
  the token names the link by id, so nobody can make it redirect elsewhere.
- ``GET /o/{token}.png`` is the open pixel: a 1×1 transparent PNG, never cached.

A token we did not sign answers 404 (the pixel: the same image, nothing recorded). The token of
a test send (message 0) leads to a page that says so and changes nothing. Pages speak the
language of the message (its recipient's), else the browser's.
"""

from __future__ import annotations

import logging
import struct
import zlib
from email.utils import parseaddr
from typing import Any

from fastapi import APIRouter, Request
from sqlalchemy.exc import SQLAlchemyError
from starlette.concurrency import run_in_threadpool
from starlette.responses import RedirectResponse, Response

from soloist.config import Settings
from soloist.domain.campaigns import (
    CLICK,
    OPEN,
    TEST_MESSAGE,
    UNSUBSCRIBE,
    LinkSigner,
    find_message,
    is_unsubscribed,
    record_click,
    record_open,
    unsubscribe,
)
from soloist.errors import SoloistError
from soloist.storage.database import Database
from soloist.storage.retry import run_in_transaction
from soloist.storage.types import utcnow
from soloist.web.i18n import Translator, normalise_locale
from soloist.web.rendering import request_locale, templates

log = logging.getLogger(__name__)
router = APIRouter(include_in_schema=False)

ONE_CLICK = ("List-Unsubscribe", "One-Click")  # RFC 8058's POST body, as a form field
MAX_FORM_BYTES = 64 * 1024
NO_STORE = {"Cache-Control": "no-store"}


def _transparent_png() -> bytes:
    """A 1×1 PNG, one fully transparent RGBA pixel."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        crc = zlib.crc32(kind + data) & 0xFFFFFFFF
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", crc)

    header = struct.pack(">IIBBBBB", 1, 1, 8, 6, 0, 0, 0)  # 8-bit RGBA
    pixels = zlib.compress(b"\x00" + b"\x00\x00\x00\x00")  # filter byte, then R G B A
    return (
        b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", pixels) + chunk(b"IEND", b"")
    )


PIXEL = _transparent_png()


def _database(request: Request) -> Database:
    database: Database = request.app.state.database
    return database


def _signer(request: Request) -> LinkSigner:
    database = _database(request)
    return LinkSigner(database.keyring.link_key, database.settings.public_url)


def _message_row(request: Request, purpose: str, token: str, size: int) -> int | None:
    """The message id a token of ``purpose`` carries (and ``size`` ids in all), or None."""
    values = _signer(request).read(purpose, token)
    if values is None or len(values) != size:
        return None
    return values[0]


def _sender(settings: Settings) -> str:
    """Who sent the message, as its recipient knows them: the From's name, else its address."""
    name, address = parseaddr(settings.mail_from or "")
    return name or address or settings.public_url.split("://", 1)[-1]


def masked_address(address: str | None, channel: str) -> str | None:
    """Enough of the address for its owner to recognise it: ``a•••@example.net``, ``•••1234``."""
    if not address or channel not in ("email", "sms"):
        return None
    if channel == "email" and "@" in address:
        local, _, domain = address.rpartition("@")
        return f"{local[:1]}•••@{domain}"
    return f"•••{address[-4:]}"


def _page(
    request: Request,
    template: str,
    context: dict[str, Any] | None = None,
    *,
    language: str | None = None,
    status_code: int = 200,
) -> Response:
    """A page of its own (no navigation, no session, no CSRF field) in the recipient's
    language when the message's is known, else the browser's."""
    locale = normalise_locale(language) or request_locale(request)
    translator = Translator(locale)
    settings: Settings = request.app.state.settings
    page = {"_": translator.gettext, "locale": locale, "sender": _sender(settings)}
    page.update(context or {})
    response = templates.TemplateResponse(
        request, f"mail/{template}", page, status_code=status_code, headers=NO_STORE
    )
    response.headers["Content-Language"] = "zh-Hans" if locale == "zh_Hans" else "en"
    response.headers["X-Robots-Tag"] = "noindex"
    return response


def _invalid(request: Request) -> Response:
    return _page(request, "invalid.html", status_code=404)


# --- unsubscribe -----------------------------------------------------------------------------


def _recipient(database: Database, message_row: int) -> dict[str, Any] | None:
    with database.read_session() as session:
        message = find_message(session, message_row)
        if message is None:
            return None
        return {
            "language": message.language,
            "address": masked_address(message.recipient, message.channel),
            "unsubscribed": is_unsubscribed(session, message),
        }


@router.get("/u/{token}")
def unsubscribe_page(request: Request, token: str) -> Response:
    """Ask to confirm; nothing changes until the button is pressed (a POST)."""
    message_row = _message_row(request, UNSUBSCRIBE, token, 1)
    if message_row is None:
        return _invalid(request)
    if message_row == TEST_MESSAGE:
        return _page(request, "unsubscribe.html", {"state": "test"})
    found = _recipient(_database(request), message_row)
    if found is None:
        return _invalid(request)
    state = "done" if found["unsubscribed"] else "confirm"
    return _page(
        request,
        "unsubscribe.html",
        {"state": state, "address": found["address"]},
        language=found["language"],
    )


async def _how(request: Request) -> str:
    """How the unsubscribe came: ``one-click`` (RFC 8058's body), ``page`` (the button), or
    ``post`` (a POST without either, which unsubscribes too)."""
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > MAX_FORM_BYTES:
        return "post"
    try:
        form = await request.form(max_files=0, max_fields=20)
    except Exception:  # a body that is no form at all still asks to unsubscribe
        return "post"
    if form.get(ONE_CLICK[0]) == ONE_CLICK[1]:
        return "one-click"
    return "page" if form.get("confirm") else "post"


def _unsubscribe(database: Database, message_row: int, how: str) -> dict[str, Any] | None:
    def work(session: Any) -> dict[str, Any] | None:
        message = unsubscribe(session, message_row, utcnow(), how)
        if message is None:
            return None
        return {
            "language": message.language,
            "address": masked_address(message.recipient, message.channel),
        }

    return run_in_transaction(database, work)


@router.post("/u/{token}")
async def unsubscribe_now(request: Request, token: str) -> Response:
    """Unsubscribe the message's recipient (their consent for the channel is withdrawn and the
    address suppressed); 200 with a page, however often it is posted."""
    message_row = _message_row(request, UNSUBSCRIBE, token, 1)
    if message_row is None:
        return _invalid(request)
    if message_row == TEST_MESSAGE:
        return _page(request, "unsubscribe.html", {"state": "test"})
    how = await _how(request)
    done = await run_in_threadpool(_unsubscribe, _database(request), message_row, how)
    if done is None:
        return _invalid(request)
    return _page(
        request,
        "unsubscribe.html",
        {"state": "done", "address": done["address"]},
        language=done["language"],
    )


# --- clicks and opens ------------------------------------------------------------------------


@router.get("/c/{token}")
def follow_link(request: Request, token: str) -> Response:
    """Count the click (once per person; scanners are marked as machines) and go on to the
    link's address."""
    values = _signer(request).read(CLICK, token)
    if values is None or len(values) != 2 or values[0] == TEST_MESSAGE:
        return _invalid(request)
    message_row, link_id = values
    agent = request.headers.get("user-agent")
    url = run_in_transaction(
        _database(request), lambda s: record_click(s, message_row, link_id, agent, utcnow())
    )
    if url is None or not url.startswith(("https://", "http://")):
        return _invalid(request)
    return RedirectResponse(url, status_code=302, headers=NO_STORE)


@router.get("/o/{token}.png")
def open_pixel(request: Request, token: str) -> Response:
    """The open pixel: the open is recorded with the User-Agent (machine opens are marked);
    a token we did not sign gets the same image and records nothing."""
    message_row = _message_row(request, OPEN, token, 1)
    if message_row is not None and message_row != TEST_MESSAGE:
        agent = request.headers.get("user-agent")
        try:
            run_in_transaction(
                _database(request), lambda s: record_open(s, message_row, agent, utcnow())
            )
        except (SQLAlchemyError, SoloistError):  # an open is not worth a broken image
            log.warning("could not record an open of message %s", message_row, exc_info=True)
    return Response(PIXEL, media_type="image/png", headers=NO_STORE)
