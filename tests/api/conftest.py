from __future__ import annotations

from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient

from soloist.app import create_app
from soloist.domain.users import add_user, create_token
from soloist.storage.database import Database

PASSWORD = "a long enough password"


@pytest.fixture
def client(database: Database) -> Iterator[TestClient]:
    """An API client on each engine, without credentials."""
    with TestClient(create_app(database.settings, database)) as test_client:
        yield test_client


@pytest.fixture
def tokens(database: Database) -> dict[str, str]:
    """Authorization headers for an owner's write token, a read token and a read-only user."""
    with database.session() as session:
        add_user(session, "owner@example.com", "owner", PASSWORD, "test")
        add_user(session, "viewer@example.com", "readonly", PASSWORD, "test")
        _, write = create_token(session, "owner@example.com", "write", "test")
        _, read = create_token(session, "owner@example.com", "read", "test")
        _, viewer = create_token(session, "viewer@example.com", "read", "test")
    return {"write": write, "read": read, "viewer": viewer}


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}
