"""Sessions end when they should, and guessing passwords or tokens is throttled.

Tried against the running demo (issue 18): after logout or a password change the old cookie
still wrote; after demotion it still wrote through the API; a disabled account still read; 50
wrong passwords in 10 s all got 401 and the right one worked straight after.
"""

from __future__ import annotations

from fastapi.testclient import TestClient
from sqlalchemy import select

from soloist.app import create_app
from soloist.domain.users import (
    add_user,
    create_token,
    get_user_by_email,
    set_user_active,
    set_user_role,
    sign_out_everywhere,
)
from soloist.storage.database import Database
from soloist.storage.models import AuditEntry
from tests.web.conftest import PASSWORD, csrf_of, sign_in

COOKIE = "soloist_session"


def _second_client(web: TestClient) -> TestClient:
    return TestClient(web.app)


def _patch_customer_note(client: TestClient, csrf: str) -> int:
    """A write through the API with the browser's session (the web app's own HTMX calls)."""
    return client.post(
        "/api/v1/customers",
        json={"name": "Grace Hopper", "email": "grace@example.com"},
        headers={"X-CSRF-Token": csrf},
    ).status_code


def test_a_copied_cookie_stops_working_once_its_user_signs_out(web: TestClient) -> None:
    csrf = sign_in(web)
    stolen = web.cookies.get(COOKIE)
    assert stolen
    assert web.post("/logout", data={"csrf_token": csrf}, follow_redirects=False).status_code == 303
    thief = _second_client(web)
    thief.cookies.set(COOKIE, stolen)
    assert thief.get("/customers", follow_redirects=False).status_code == 303  # to /login
    assert thief.get("/api/v1/customers").status_code == 401
    assert _patch_customer_note(thief, csrf) == 401


def test_a_new_password_signs_out_every_other_session_but_this_one(
    web: TestClient, sqlite_database: Database
) -> None:
    other = _second_client(web)
    sign_in(other)
    csrf = sign_in(web)
    response = web.post(
        "/settings/password",
        data={
            "current_password": PASSWORD,
            "new_password": "another long password",
            "confirm_password": "another long password",
            "csrf_token": csrf,
        },
    )
    assert response.status_code == 200
    assert web.get("/customers").status_code == 200
    assert other.get("/customers", follow_redirects=False).status_code == 303
    assert other.get("/api/v1/customers").status_code == 401


def test_a_demoted_user_can_no_longer_write_through_the_api(
    web: TestClient, sqlite_database: Database
) -> None:
    csrf = sign_in(web, "staff@example.com")
    assert _patch_customer_note(web, csrf) == 201
    with sqlite_database.session() as session:
        staff = get_user_by_email(session, "staff@example.com")
        set_user_role(session, staff.id, "readonly", "user:1")
    # the session ended with the role change; signed in again, the new role applies
    assert web.get("/api/v1/customers").status_code == 401
    csrf = sign_in(web, "staff@example.com")
    assert web.get("/api/v1/customers").status_code == 200
    assert _patch_customer_note(web, csrf) == 403


def test_a_disabled_account_can_neither_read_nor_write_nor_use_its_tokens(
    web: TestClient, sqlite_database: Database
) -> None:
    csrf = sign_in(web, "staff@example.com")
    with sqlite_database.session() as session:
        _, token = create_token(session, "staff@example.com", "write", "test")
    bearer = {"Authorization": f"Bearer {token}"}
    assert web.get("/api/v1/customers", headers=bearer).status_code == 200
    with sqlite_database.session() as session:
        staff = get_user_by_email(session, "staff@example.com")
        set_user_active(session, staff.id, False, "user:1")
    assert web.get("/customers", follow_redirects=False).status_code == 303
    assert _patch_customer_note(web, csrf) == 401
    anonymous = _second_client(web)
    assert anonymous.get("/api/v1/customers", headers=bearer).status_code == 401


def test_signing_out_everywhere_from_the_command_line_ends_browser_sessions(
    web: TestClient, sqlite_database: Database
) -> None:
    sign_in(web)
    with sqlite_database.session() as session:
        owner = get_user_by_email(session, "owner@example.com")
        sign_out_everywhere(session, owner.id, "cli")
    assert web.get("/", follow_redirects=False).status_code == 303


def _login(client: TestClient, email: str, password: str) -> tuple[int, str, str | None]:
    token = csrf_of(client.get("/login").text)
    response = client.post(
        "/login",
        data={"email": email, "password": password, "csrf_token": token, "next": "/"},
        follow_redirects=False,
    )
    return response.status_code, response.text, response.headers.get("Retry-After")


def test_guessing_a_password_is_refused_with_429_even_for_the_right_one(
    web: TestClient, sqlite_database: Database
) -> None:
    answers = [_login(web, "owner@example.com", f"guess number {n}")[0] for n in range(10)]
    assert answers == [401] * 10
    status, page, retry_after = _login(web, "owner@example.com", PASSWORD)
    assert status == 429
    assert "Too many failed sign-ins" in page
    assert retry_after is not None
    assert 0 < int(retry_after) <= 15 * 60
    # the other accounts are not locked by it
    assert _login(web, "staff@example.com", PASSWORD)[0] == 303
    with sqlite_database.session() as session:
        owner = get_user_by_email(session, "owner@example.com")
        failures = session.scalars(
            select(AuditEntry).where(AuditEntry.action == "user.sign_in_failed")
        ).all()
    assert len(failures) == 10  # the refused attempts checked no password and wrote nothing
    assert {f.entity_id for f in failures} == {str(owner.id)}
    assert all(f.changes == {"address": "testclient", "reason": "wrong_credentials"}
               for f in failures)  # fmt: skip
    assert not any("guess" in str(f.changes) for f in failures)


def test_an_unknown_account_is_throttled_the_same_way_so_nothing_is_revealed(
    web: TestClient,
) -> None:
    known = [_login(web, "owner@example.com", "wrong password!")[0] for _ in range(11)]
    unknown = [_login(web, "nobody@example.com", "wrong password!")[0] for _ in range(11)]
    assert known == unknown == [401] * 10 + [429]


def test_a_right_password_clears_the_account_count_but_not_the_address_count(
    sqlite_database: Database,
) -> None:
    settings = sqlite_database.settings.model_copy(
        update={"sign_in_failures_per_account": 3, "sign_in_failures_per_address": 5}
    )
    with sqlite_database.session() as session:
        add_user(session, "owner@example.com", "owner", PASSWORD, "test")
    with TestClient(create_app(settings, sqlite_database)) as client:
        assert [_login(client, "owner@example.com", "nope nope")[0] for _ in range(2)] == [401] * 2
        assert _login(client, "owner@example.com", PASSWORD)[0] == 303
        assert [_login(client, "owner@example.com", "nope nope")[0] for _ in range(3)] == [401] * 3
        # 5 failures from this address now: every account is refused from here
        assert _login(client, "other@example.com", "nope nope")[0] == 429


def test_guessing_api_tokens_is_throttled_per_address(
    web: TestClient, sqlite_database: Database
) -> None:
    with sqlite_database.session() as session:
        _, token = create_token(session, "owner@example.com", "read", "test")
    guesses = [
        web.get("/api/v1/customers", headers={"Authorization": f"Bearer sol_guess{n}"})
        for n in range(50)
    ]
    assert {g.status_code for g in guesses} == {401}
    refused = web.get("/api/v1/customers", headers={"Authorization": f"Bearer {token}"})
    assert refused.status_code == 429
    assert refused.json()["error"]["code"] == "too_many_attempts"
    assert int(refused.headers["Retry-After"]) > 0


def test_a_cross_site_post_cannot_sign_the_visitor_out(web: TestClient) -> None:
    """A forged form on another site posts to /logout; the browser leaves the SameSite=Lax
    cookie out. The refusal must not set a fresh cookie over the visitor's own."""
    sign_in(web)
    forged = TestClient(web.app)  # no cookie, as the browser sends none cross-site
    for path in ("/logout", "/settings/password", "/tickets/new"):
        answer = forged.post(path, data={"csrf_token": "guess"}, follow_redirects=False)
        assert answer.status_code in (303, 403)
        assert "set-cookie" not in answer.headers, path
    assert web.get("/customers").status_code == 200


def test_the_api_reference_needs_a_sign_in_and_keeps_the_csp(web: TestClient) -> None:
    anonymous = web.get("/docs", follow_redirects=False)
    assert anonymous.status_code == 303
    assert anonymous.headers["location"].startswith("/login")
    assert web.get("/redoc").status_code == 404
    assert web.get("/openapi.json").status_code == 200  # the contract: scripts read it
    sign_in(web, "viewer@example.com")
    page = web.get("/docs")
    assert page.status_code == 200
    assert "script-src 'self'" in page.headers["content-security-policy"]
    assert "<script>" not in page.text  # no inline script
    assert "cdn" not in page.text.lower()
    for asset in ("/static/vendor/swagger-ui/swagger-ui-bundle.js", "/static/api-docs.js"):
        assert f'src="{asset}"' in page.text
        assert web.get(asset).status_code == 200


def test_the_api_reference_can_be_turned_off(sqlite_database: Database) -> None:
    with sqlite_database.session() as session:
        add_user(session, "owner@example.com", "owner", PASSWORD, "test")
    settings = sqlite_database.settings.model_copy(update={"api_docs": "off"})
    with TestClient(create_app(settings, sqlite_database)) as client:
        sign_in(client)
        assert client.get("/docs").status_code == 404
