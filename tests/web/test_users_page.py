"""Settings → People: the owner adds, demotes, disables and signs out staff from the web app,
and every change ends that person's sessions at once."""

from __future__ import annotations

from fastapi.testclient import TestClient

from tests.web.conftest import PASSWORD, csrf_of, sign_in


def _id_of(web: TestClient, email: str) -> int:
    import re

    page = web.get("/settings/users").text
    match = re.search(rf'<tr id="person-(\d+)">\s*<td>{re.escape(email)}', page)
    assert match, email
    return int(match.group(1))


def test_the_owner_manages_people_and_changes_take_effect_at_once(web: TestClient) -> None:
    staff = TestClient(web.app)
    sign_in(staff, "staff@example.com")
    csrf = sign_in(web)
    page = web.get("/settings/users")
    assert page.status_code == 200
    assert "staff@example.com" in page.text

    added = web.post("/settings/users", data={"email": "ana@example.com", "role": "staff",
                     "password": "a fine long password", "csrf_token": csrf})  # fmt: skip
    assert added.status_code == 200
    assert "ana@example.com" in added.text

    staff_id = _id_of(web, "staff@example.com")
    demoted = web.post(f"/settings/users/{staff_id}/role",
                       data={"role": "readonly", "csrf_token": csrf})  # fmt: skip
    assert demoted.status_code == 200
    assert staff.get("/customers", follow_redirects=False).status_code == 303  # signed out
    sign_in(staff, "staff@example.com")
    assert staff.get("/api/v1/customers").status_code == 200

    web.post(f"/settings/users/{staff_id}/active", data={"active": "false", "csrf_token": csrf})
    assert staff.get("/customers", follow_redirects=False).status_code == 303
    login = csrf_of(staff.get("/login").text)
    refused = staff.post("/login", data={"email": "staff@example.com", "password": PASSWORD,
                         "csrf_token": login})  # fmt: skip
    assert refused.status_code == 401


def test_the_last_owner_cannot_be_demoted_and_staff_cannot_manage_people(web: TestClient) -> None:
    csrf = sign_in(web)
    owner_id = _id_of(web, "owner@example.com")
    refused = web.post(f"/settings/users/{owner_id}/role",
                       data={"role": "staff", "csrf_token": csrf})  # fmt: skip
    assert refused.status_code == 409
    assert "needs an owner" in refused.text
    assert web.get("/customers").status_code == 200  # still signed in, still owner
    staff = TestClient(web.app)
    staff_csrf = sign_in(staff, "staff@example.com")
    assert staff.get("/settings/users").status_code == 403
    form = {"active": "false", "csrf_token": staff_csrf}
    assert staff.post(f"/settings/users/{owner_id}/active", data=form).status_code == 403
