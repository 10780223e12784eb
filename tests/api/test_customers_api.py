from __future__ import annotations

import threading
import time

from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from soloist.domain.caches import start_computing
from soloist.storage.caches import VersionedCache
from soloist.storage.database import Database
from tests.api.conftest import bearer


def _assert_error_shape(body: dict[str, object], code: str) -> None:
    assert set(body) == {"error"}
    error = body["error"]
    assert isinstance(error, dict)
    assert error["code"] == code
    assert isinstance(error["message"], str)
    assert error["message"]


def test_anonymous_requests_are_refused(client: TestClient) -> None:
    for method, path in [
        ("GET", "/api/v1/customers"),
        ("POST", "/api/v1/customers"),
        ("GET", "/api/v1/customers/1"),
        ("GET", "/api/v1/status"),
    ]:
        response = client.request(method, path, json={"name": "x"} if method == "POST" else None)
        assert response.status_code == 401, path
        _assert_error_shape(response.json(), "authentication_failed")


def test_create_read_search_and_update_a_customer(
    client: TestClient, tokens: dict[str, str]
) -> None:
    write = bearer(tokens["write"])
    created = client.post(
        "/api/v1/customers",
        json={
            "name": "Ada Lovelace",
            "email": "ADA@example.com",
            "phone": "+44 20 7946 0018",
            "tags": ["VIP"],
        },
        headers=write,
    )
    assert created.status_code == 201, created.text
    customer = created.json()
    assert customer["email"] == "ada@example.com"
    assert customer["phone"] == "+442079460018"
    assert customer["tags"] == ["vip"]

    read = bearer(tokens["read"])
    fetched = client.get(f"/api/v1/customers/{customer['id']}", headers=read)
    assert fetched.json()["name"] == "Ada Lovelace"

    page = client.get(
        "/api/v1/customers", params={"q": "ada@example.com", "limit": 10}, headers=read
    ).json()
    assert page["total"] == 1
    assert page["items"][0]["id"] == customer["id"]
    assert (
        client.get("/api/v1/customers", params={"q": "nobody"}, headers=read).json()["total"] == 0
    )

    patched = client.patch(
        f"/api/v1/customers/{customer['id']}", json={"company": "Analytical Engines"}, headers=write
    )
    assert patched.status_code == 200
    assert patched.json()["company"] == "Analytical Engines"


def test_read_tokens_and_readonly_users_cannot_write(
    client: TestClient, tokens: dict[str, str]
) -> None:
    for key in ("read", "viewer"):
        response = client.post("/api/v1/customers", json={"name": "X"}, headers=bearer(tokens[key]))
        assert response.status_code == 403
        _assert_error_shape(response.json(), "permission_denied")


def test_bad_input_gets_a_422_naming_the_field_and_writes_nothing(
    client: TestClient, tokens: dict[str, str]
) -> None:
    write = bearer(tokens["write"])
    response = client.post(
        "/api/v1/customers", json={"name": "X", "email": "not-an-email"}, headers=write
    )
    assert response.status_code == 422
    _assert_error_shape(response.json(), "validation_error")
    assert "email" in response.json()["error"]["message"]
    assert client.get("/api/v1/customers", headers=write).json()["total"] == 0


def test_duplicate_email_is_a_409_and_missing_customer_a_404(
    client: TestClient, tokens: dict[str, str]
) -> None:
    write = bearer(tokens["write"])
    assert (
        client.post("/api/v1/customers", json={"email": "a@example.com"}, headers=write).status_code
        == 201
    )
    duplicate = client.post("/api/v1/customers", json={"email": "A@example.com"}, headers=write)
    assert duplicate.status_code == 409
    _assert_error_shape(duplicate.json(), "conflict")
    missing = client.get("/api/v1/customers/424242", headers=write)
    assert missing.status_code == 404
    _assert_error_shape(missing.json(), "not_found")


def test_pagination_limits_are_enforced(client: TestClient, tokens: dict[str, str]) -> None:
    read = bearer(tokens["read"])
    assert client.get("/api/v1/customers", params={"limit": 0}, headers=read).status_code == 422
    assert client.get("/api/v1/customers", params={"limit": 501}, headers=read).status_code == 422


def test_status_matches_the_cli_contract(client: TestClient, tokens: dict[str, str]) -> None:
    body = client.get("/api/v1/status", headers=bearer(tokens["read"])).json()
    assert {"customers", "orders", "order_lines", "revenue"} <= set(body)


def test_status_names_the_figures_being_worked_out(
    client: TestClient, tokens: dict[str, str], database: Database
) -> None:
    """While a background computation runs, the status names its cache; then none."""
    cache: VersionedCache[str, int] = VersionedCache("slow test figures", maxsize=2)
    release = threading.Event()

    def slow(_session: Session) -> int:
        release.wait(10)
        return 1

    read = bearer(tokens["read"])
    assert "slow test figures" not in client.get("/api/v1/status", headers=read).json()["computing"]
    start_computing(cache, database.engine, "key", 1, slow)
    try:
        assert "slow test figures" in client.get("/api/v1/status", headers=read).json()["computing"]
    finally:
        release.set()
    for _ in range(200):
        if (
            "slow test figures"
            not in client.get("/api/v1/status", headers=read).json()["computing"]
        ):
            break
        time.sleep(0.05)
    else:
        raise AssertionError("the finished computation is still named")
    assert cache.get("key", 1) == 1


def test_openapi_describes_the_contract_paths(client: TestClient) -> None:
    paths = client.get("/openapi.json").json()["paths"]
    assert {"get", "post"} <= set(paths["/api/v1/customers"])
    assert "get" in paths["/api/v1/customers/{customer_id}"]
