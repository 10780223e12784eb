"""Fixtures for the web app: a TestClient that can sign in, and (in test_browser.py) a real
uvicorn server driven by a headless Chromium."""

from __future__ import annotations

import re
from collections.abc import Iterator

import pytest
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
