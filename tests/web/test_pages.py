"""The web app through a TestClient: sign-in, CSRF, roles, escaping, languages."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient

from soloist.app import create_app
from soloist.domain.customers.records import CustomerCreate, create_customer
from soloist.domain.users import add_user
from soloist.storage.database import Database
from tests.web.conftest import PASSWORD, csrf_of, sign_in

PAGES = ["/", "/customers", "/segments", "/settings", "/import", "/customers/1"]


@pytest.mark.parametrize("path", PAGES)
def test_every_page_sends_anonymous_visitors_to_the_login(web: TestClient, path: str) -> None:
    response = web.get(path, follow_redirects=False)
    assert response.status_code == 303
    assert response.headers["location"].startswith("/login?next=")


def test_login_page_and_health_need_no_session(web: TestClient) -> None:
    assert web.get("/login").status_code == 200
    assert web.get("/healthz").status_code == 200


def test_sign_in_sets_a_signed_httponly_lax_cookie(web: TestClient) -> None:
    token = csrf_of(web.get("/login").text)
    response = web.post(
        "/login",
        data={"email": "owner@example.com", "password": PASSWORD, "csrf_token": token},
        follow_redirects=False,
    )
    assert response.status_code == 303
    assert response.headers["location"] == "/"
    cookie = response.headers["set-cookie"].lower()
    assert "soloist_session=" in cookie
    assert "httponly" in cookie
    assert "samesite=lax" in cookie
    assert "secure" not in cookie  # plain HTTP on 127.0.0.1: a Secure cookie would not return


def test_behind_a_tls_proxy_the_session_cookie_is_secure(sqlite_database: Database) -> None:
    with sqlite_database.session() as session:
        add_user(session, "owner@example.com", "owner", PASSWORD, "test")
    settings = sqlite_database.settings.model_copy(update={"secure_cookies": True})
    with TestClient(create_app(settings, sqlite_database), base_url="https://shop.example") as web:
        token = csrf_of(web.get("/login").text)
        response = web.post(
            "/login",
            data={"email": "owner@example.com", "password": PASSWORD, "csrf_token": token},
            follow_redirects=False,
        )
    assert response.status_code == 303
    assert "; secure" in response.headers["set-cookie"].lower()


def test_wrong_password_is_refused_without_saying_which(web: TestClient) -> None:
    token = csrf_of(web.get("/login").text)
    response = web.post(
        "/login", data={"email": "owner@example.com", "password": "nope", "csrf_token": token}
    )
    assert response.status_code == 401
    assert "Wrong e-mail or password." in response.text
    assert web.get("/", follow_redirects=False).status_code == 303


def test_login_without_csrf_token_is_refused(web: TestClient) -> None:
    web.get("/login")
    response = web.post("/login", data={"email": "owner@example.com", "password": PASSWORD})
    assert response.status_code == 403


def test_login_never_redirects_off_site(web: TestClient) -> None:
    token = csrf_of(web.get("/login").text)
    response = web.post(
        "/login",
        data={
            "email": "owner@example.com",
            "password": PASSWORD,
            "csrf_token": token,
            "next": "//evil.example/",
        },
        follow_redirects=False,
    )
    assert response.headers["location"] == "/"


def test_state_changing_forms_need_the_session_csrf_token(web: TestClient) -> None:
    sign_in(web)
    refused = web.post("/settings/tokens", data={"scope": "read", "csrf_token": "forged"})
    assert refused.status_code == 403
    assert "did not come from this site" in refused.text


def test_cookie_api_writes_need_the_csrf_header(web: TestClient) -> None:
    token = sign_in(web)
    assert web.get("/api/v1/customers").status_code == 200  # reads need no token
    refused = web.post("/api/v1/customers", json={"name": "Eve"})
    assert refused.status_code == 403
    assert refused.json()["error"]["code"] == "permission_denied"
    created = web.post("/api/v1/customers", json={"name": "Eve"}, headers={"X-CSRF-Token": token})
    assert created.status_code == 201


def test_read_only_users_see_pages_but_cannot_import_or_write(web: TestClient) -> None:
    token = sign_in(web, "viewer@example.com")
    assert web.get("/").status_code == 200
    assert web.get("/import").status_code == 403
    refused = web.post("/api/v1/customers", json={"name": "Eve"}, headers={"X-CSRF-Token": token})
    assert refused.status_code == 403
    page = web.post("/settings/tokens", data={"scope": "write", "csrf_token": token})
    assert page.status_code == 403


def test_staff_can_open_the_import_wizard(web: TestClient) -> None:
    sign_in(web, "staff@example.com")
    assert web.get("/import").status_code == 200


def test_logout_ends_the_session(web: TestClient) -> None:
    token = sign_in(web)
    web.post("/logout", data={"csrf_token": token})
    assert web.get("/", follow_redirects=False).status_code == 303


def test_customer_text_is_escaped(web: TestClient, sqlite_database: Database) -> None:
    with sqlite_database.session() as session:
        customer = create_customer(
            session,
            CustomerCreate(name="<script>alert(1)</script>", notes="<b>bold</b>"),
            "test",
        )
    sign_in(web)
    page = web.get(f"/customers/{customer.id}").text
    assert "<script>alert(1)</script>" not in page
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page
    assert "&lt;b&gt;bold&lt;/b&gt;" in page
    listing = web.get("/customers", params={"q": "script"}).text
    assert "&lt;script&gt;" in listing
    assert "<script>alert" not in listing


def test_pages_carry_a_strict_content_security_policy(web: TestClient) -> None:
    sign_in(web)
    policy = web.get("/").headers["content-security-policy"]
    assert "script-src 'self'" in policy
    assert "unsafe-inline" not in policy.split("style-src")[0]


def test_language_follows_the_browser_until_the_user_chooses(web: TestClient) -> None:
    token = sign_in(web)
    chinese = web.get("/", headers={"Accept-Language": "zh-CN,zh;q=0.9,en;q=0.5"})
    assert chinese.headers["content-language"] == "zh-Hans"
    assert "仪表盘" in chinese.text
    english = web.get("/", headers={"Accept-Language": "en-GB"})
    assert "Dashboard" in english.text
    web.post("/language", data={"locale": "zh_Hans", "next": "/", "csrf_token": token})
    chosen = web.get("/settings", headers={"Accept-Language": "en-GB"})
    assert "设置" in chosen.text


def test_the_chosen_language_is_kept_on_the_account(
    web: TestClient, sqlite_database: Database
) -> None:
    from soloist.domain.users import get_user_by_email

    token = sign_in(web)
    web.post("/language", data={"locale": "zh_Hans", "next": "/", "csrf_token": token})
    with sqlite_database.read_session() as session:
        assert get_user_by_email(session, "owner@example.com").locale == "zh_Hans"


def test_money_and_numbers_follow_the_locale(web: TestClient, sqlite_database: Database) -> None:
    from soloist.web.i18n import Formatter

    assert Formatter("en").money(1234.5, "USD") == "$1,234.50"
    assert Formatter("zh_Hans").money(1234.5, "CNY") == "¥1,234.50"
    assert Formatter("en").percent(0.256) == "25.6%"


def test_password_change_checks_the_current_password(web: TestClient) -> None:
    token = sign_in(web)
    wrong = web.post(
        "/settings/password",
        data={
            "current_password": "not it",
            "new_password": "another long password",
            "confirm_password": "another long password",
            "csrf_token": token,
        },
    )
    assert wrong.status_code == 422
    assert "The current password is wrong." in wrong.text
    ok = web.post(
        "/settings/password",
        data={
            "current_password": PASSWORD,
            "new_password": "another long password",
            "confirm_password": "another long password",
            "csrf_token": token,
        },
    )
    assert ok.status_code == 200
    assert "Your password was changed." in ok.text


def test_an_api_token_created_in_settings_works_on_the_api(web: TestClient) -> None:
    token = sign_in(web)
    page = web.post("/settings/tokens", data={"scope": "read", "name": "ci", "csrf_token": token})
    api_token = page.text.split('<pre id="new-token">')[1].split("</pre>")[0]
    fresh = TestClient(web.app)
    response = fresh.get("/api/v1/customers", headers={"Authorization": f"Bearer {api_token}"})
    assert response.status_code == 200


def test_dashboard_shows_an_honest_empty_state_without_analysis(web: TestClient) -> None:
    sign_in(web)
    page = web.get("/").text
    assert 'id="no-scores"' in page
    assert "soloist analyze" in page


def test_unknown_pages_answer_with_an_html_404(web: TestClient) -> None:
    sign_in(web)
    response = web.get("/no-such-page")
    assert response.status_code == 404
    assert "text/html" in response.headers["content-type"]
    assert web.get("/api/v1/nothing").json()["error"]["code"] == "not_found"
