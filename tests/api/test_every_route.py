"""Every API route, walked from the app's routes (its OpenAPI document): none answers without
credentials (but the public ones), none lets a read token write, and none answers 500 to a valid
token, whatever it is sent; every error has the one error shape. A new route is checked the day
it is added."""

from __future__ import annotations

import re
from typing import Any

import pytest
from fastapi.testclient import TestClient

from soloist.app import create_app
from soloist.domain.users import add_user, create_token
from soloist.storage.database import Database

PASSWORD = "a long enough password"
#: Answer without an API token: signed by the provider, or reached by a customer's own link.
PUBLIC = re.compile(r"^/api/v1/(webhooks/|surveys/responses|campaigns/unsubscribe)")
WRITES = {"POST", "PUT", "PATCH", "DELETE"}
#: POSTs that only read (a preview renders; it writes nothing), open to read tokens.
READING_POSTS = {"/api/v1/campaigns/{campaign_id}/preview", "/api/v1/imports/preview"}
#: 503 is an honest answer for a part the owner has not set up yet, never a crash.
NOT_SET_UP = {"webhook_not_configured", "channel_not_configured"}


def _api_routes(app: Any) -> list[tuple[str, str]]:
    """Every (method, path) of the API, from the app's own OpenAPI document (FastAPI builds it
    from the routes; the included routers are not listed flat in ``app.routes``)."""
    found = []
    for path, operations in app.openapi()["paths"].items():
        if path.startswith("/api/"):
            found.extend((method.upper(), path) for method in sorted(operations))
    return found


def _filled(path: str) -> str:
    return re.sub(r"\{[^}]+\}", "1", path)


@pytest.fixture(scope="module")
def walk(tmp_path_factory: pytest.TempPathFactory) -> Any:
    from soloist.config import load_settings
    from soloist.storage.crypto import generate_master_key
    from soloist.storage.migrate import upgrade_database

    folder = tmp_path_factory.mktemp("routes")
    settings = load_settings(
        workspace=folder, environ={"SOLOIST_MASTER_KEY": generate_master_key()}
    )
    database = Database(settings)
    upgrade_database(database.engine)
    with database.session() as session:
        add_user(session, "owner@example.com", "owner", PASSWORD, "test")
        _, write = create_token(session, "owner@example.com", "write", "test")
        _, read = create_token(session, "owner@example.com", "read", "test")
    # raise_server_exceptions=False: a 500 is an answer to count here, not a crash of the test
    with TestClient(create_app(settings, database), raise_server_exceptions=False) as client:
        yield client, {"Authorization": f"Bearer {write}"}, {"Authorization": f"Bearer {read}"}
    database.dispose()


def _error_shaped(body: Any) -> bool:
    return (
        isinstance(body, dict)
        and isinstance(body.get("error"), dict)
        and {"code", "message", "details"} <= set(body["error"])
    )


def test_the_walk_covers_the_api(walk: Any) -> None:
    client, _, _ = walk
    routes = _api_routes(client.app)
    assert len(routes) > 60
    assert ("GET", "/api/v1/customers") in routes


def test_no_route_answers_without_credentials_but_the_public_ones(walk: Any) -> None:
    client, _, _ = walk
    for method, path in _api_routes(client.app):
        if PUBLIC.match(path):
            continue
        answer = client.request(method, _filled(path), json={})
        assert answer.status_code == 401, (method, path, answer.status_code)
        assert _error_shaped(answer.json()), (method, path)


def test_a_read_token_writes_nothing(walk: Any) -> None:
    client, _, read = walk
    for method, path in _api_routes(client.app):
        if method not in WRITES or PUBLIC.match(path) or path in READING_POSTS:
            continue
        answer = client.request(method, _filled(path), json={}, headers=read)
        assert answer.status_code == 403, (method, path, answer.status_code)
        assert _error_shaped(answer.json()), (method, path)


@pytest.mark.parametrize("body", [{}, {"id": 2**64, "name": "\x00", "points": -(2**70)}, []])
def test_no_route_answers_500_to_a_valid_token(walk: Any, body: Any) -> None:
    client, write, _ = walk
    failures = []
    for method, path in _api_routes(client.app):
        for filled in (_filled(path), re.sub(r"\{[^}]+\}", "9223372036854775808", path)):
            answer = client.request(method, filled, json=body, headers=write)
            set_up_missing = answer.status_code == 503 and (
                answer.json().get("error", {}).get("code") in NOT_SET_UP
            )
            if answer.status_code >= 500 and not set_up_missing:
                failures.append((method, filled, answer.status_code, answer.text[:120]))
            elif answer.status_code >= 400:
                assert _error_shaped(answer.json()), (method, filled, answer.text[:200])
    assert failures == []
