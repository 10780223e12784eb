"""Inputs a schema-driven fuzzer found answering 500 (issue 18), on every engine: each now gets
the 4xx that names what is wrong, and leaves nothing half-written."""

from __future__ import annotations

from fastapi.testclient import TestClient

from tests.api.conftest import bearer


def test_a_second_customer_with_the_same_external_id_is_a_conflict(
    client: TestClient, tokens: dict[str, str]
) -> None:
    write = bearer(tokens["write"])
    first = client.post("/api/v1/customers", json={"name": "Ada", "external_id": "c-1"},
                        headers=write)  # fmt: skip
    assert first.status_code == 201
    second = client.post("/api/v1/customers", json={"name": "Bob", "external_id": "c-1"},
                         headers=write)  # fmt: skip
    assert second.status_code == 409
    assert "c-1" in second.json()["error"]["message"]
    other = client.post("/api/v1/customers", json={"name": "Bob", "external_id": "c-2"},
                        headers=write).json()["id"]  # fmt: skip
    moved = client.patch(f"/api/v1/customers/{other}", json={"external_id": "c-1"}, headers=write)
    assert moved.status_code == 409
    listed = client.get("/api/v1/customers", headers=bearer(tokens["read"])).json()
    assert sorted(c["name"] for c in listed["items"]) == ["Ada", "Bob"]


def test_a_coupon_for_a_reward_or_segment_that_does_not_exist_is_not_found(
    client: TestClient, tokens: dict[str, str]
) -> None:
    write = bearer(tokens["write"])
    for field in ("reward_id", "segment_id", "customer_id"):
        answer = client.post(
            "/api/v1/loyalty/coupons", json={"discount_percent": 10, field: 999}, headers=write
        )
        assert answer.status_code == 404, field
        assert answer.json()["error"]["details"] == {field: 999}


def test_points_are_bounded_so_the_loyalty_report_never_overflows(
    client: TestClient, tokens: dict[str, str]
) -> None:
    write, read = bearer(tokens["write"]), bearer(tokens["read"])
    customer = client.post("/api/v1/customers", json={"name": "Ada"}, headers=write).json()["id"]
    assert client.post(f"/api/v1/customers/{customer}/loyalty/enrolment", json={},
                       headers=write).status_code == 201  # fmt: skip
    path = f"/api/v1/customers/{customer}/loyalty/adjustments"
    huge = client.post(path, json={"points": 2**63 - 1, "reason": "fuzz"}, headers=write)
    assert huge.status_code == 422
    most = client.post(path, json={"points": 1_000_000_000, "reason": "most"}, headers=write)
    assert most.status_code == 201
    assert client.get("/api/v1/loyalty/report", headers=read).status_code == 200
    assert client.get(f"/api/v1/customers/{customer}/loyalty", headers=read).status_code == 200
