"""Fixtures for the web app: a TestClient that can sign in, and (in test_browser.py) a real
uvicorn server driven by a headless Chromium; and what a reader sees of a page."""

from __future__ import annotations

import functools
import re
from collections.abc import Iterator
from html.parser import HTMLParser
from pathlib import Path

import pytest
from babel.messages.extract import DEFAULT_KEYWORDS, extract_from_dir
from babel.messages.frontend import parse_mapping_cfg
from fastapi.testclient import TestClient

from soloist.app import create_app
from soloist.domain.users import add_user
from soloist.storage.database import Database

PASSWORD = "a long enough password"
CSRF_PATTERN = re.compile(r'name="csrf_token" value="([^"]+)"')


def csrf_of(html: str) -> str:
    match = CSRF_PATTERN.search(html)
    assert match, "the page has no CSRF field"
    return match.group(1)


@pytest.fixture
def web(sqlite_database: Database) -> Iterator[TestClient]:
    """A browser-like client on a SQLite workspace with an owner, a staff and a read-only user."""
    with sqlite_database.session() as session:
        add_user(session, "owner@example.com", "owner", PASSWORD, "test")
        add_user(session, "staff@example.com", "staff", PASSWORD, "test")
        add_user(session, "viewer@example.com", "readonly", PASSWORD, "test")
    with TestClient(create_app(sqlite_database.settings, sqlite_database)) as client:
        yield client


def sign_in(client: TestClient, email: str = "owner@example.com") -> str:
    """Sign in through the login form; returns the session's CSRF token."""
    token = csrf_of(client.get("/login").text)
    response = client.post(
        "/login", data={"email": email, "password": PASSWORD, "csrf_token": token, "next": "/"}
    )
    assert response.status_code == 200, response.text[:500]
    return csrf_of(response.text)


RAW_KEY = re.compile(r"\b[a-z_]+:[a-z_]+\b")


class _TextOf(HTMLParser):
    """The text a reader sees: text outside <script>/<style>, and the words of attributes that
    show (placeholder, aria-label, title, alt, chart labels). Text inside an element marked
    ``lang="en"`` (an English detail on a page in another language) is kept apart."""

    SHOWN = frozenset(
        {"placeholder", "aria-label", "title", "alt", "data-label", "data-value-label"}
    )

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []
        self.english: list[str] = []
        self.hidden = 0
        self.english_tag: str | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in ("script", "style"):
            self.hidden += 1
        if tag != "html" and ("lang", "en") in attrs and self.english_tag is None:
            self.english_tag = tag
        self.parts.extend(value for name, value in attrs if name in self.SHOWN and value)

    def handle_endtag(self, tag: str) -> None:
        if tag in ("script", "style"):
            self.hidden -= 1
        if tag == self.english_tag:
            self.english_tag = None

    def handle_data(self, data: str) -> None:
        if not self.hidden and data.strip():
            (self.english if self.english_tag else self.parts).append(data.strip())


def visible_texts(html: str, *, english_details: bool = True) -> list[str]:
    """The page's visible text, one piece per text node or shown attribute (without the
    elements marked ``lang="en"`` when ``english_details`` is false)."""
    parser = _TextOf()
    parser.feed(html)
    return parser.parts + (parser.english if english_details else [])


def raw_keys_and_reprs(texts: list[str]) -> list[str]:
    """Pieces of text that show a synthetic ``word:word`` key or a Python dict repr."""
    return [t for t in texts if RAW_KEY.search(t) or "{'" in t]


ROOT = Path(__file__).resolve().parents[2]
#: the keywords beyond Babel's defaults, as on the pybabel command line in docs/web.md
EXTRA_KEYWORDS = {"NP_": ((1, "c"), 2)}


@functools.cache
def extracted_messages() -> dict[tuple[str | None, str], tuple[str, ...]]:
    """(context, msgid) → the msgid's forms, extracted with Babel and ``babel.cfg`` from the web
    app's sources, as ``pybabel extract`` does."""
    with (ROOT / "babel.cfg").open(encoding="utf-8") as handle:
        method_map, options_map = parse_mapping_cfg(handle)
    keywords = {**DEFAULT_KEYWORDS, **EXTRA_KEYWORDS}
    found: dict[tuple[str | None, str], tuple[str, ...]] = {}
    for _file, _line, message, _comments, context in extract_from_dir(
        ROOT, method_map, options_map, keywords=keywords
    ):
        forms = (message,) if isinstance(message, str) else tuple(message)
        found[(context, forms[0])] = forms
    return found
