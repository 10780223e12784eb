from __future__ import annotations

from fastapi.testclient import TestClient

from soloist.domain.loyalty.rules import update_programme_settings
from soloist.storage.database import Database
from tests.api.conftest import bearer


def _error(response: object, status: int, code: str) -> dict[str, object]:
    assert response.status_code == status, response.text  # type: ignore[attr-defined]
    body = response.json()  # type: ignore[attr-defined]
    assert set(body) == {"error"}
    assert body["error"]["code"] == code
    assert body["error"]["message"]
    return body["error"]  # type: ignore[no-any-return]


def _enrolled_customer(client: TestClient, write: dict[str, str]) -> int:
    created = client.post("/api/v1/customers", json={"name": "Ada"}, headers=write).json()
    enrolment = client.post(f"/api/v1/customers/{created['id']}/loyalty/enrolment", headers=write)
    assert enrolment.status_code == 201, enrolment.text
    return int(created["id"])


def test_balance_adjustments_and_redemptions_follow_the_contract(
    client: TestClient, tokens: dict[str, str], database: Database
) -> None:
    from soloist.domain.loyalty.rules import update_programme_settings

    with database.session() as session:
        update_programme_settings(session, {"holdout_share": 0.0}, "test")
    write, read = bearer(tokens["write"]), bearer(tokens["read"])
    customer = _enrolled_customer(client, write)
    base = f"/api/v1/customers/{customer}/loyalty"

    loyalty = client.get(base, headers=read).json()
    assert loyalty["balance"] == 100  # the sign-up bonus
    assert isinstance(loyalty["balance"], int)
    assert loyalty["tier"] == "Bronze"
    assert loyalty["referral_code"]

    added = client.post(
        base + "/adjustments", json={"points": 150, "reason": "late parcel"}, headers=write
    )
    assert added.status_code == 201, added.text
    assert added.json()["balance"] == 250
    assert added.json()["entry"]["user_id"] is not None

    redeemed = client.post(
        base + "/redemptions", json={"points": 200, "idempotency_key": "order-77"}, headers=write
    )
    assert redeemed.status_code == 201, redeemed.text
    assert redeemed.json()["balance"] == 50
    replay = client.post(
        base + "/redemptions", json={"points": 200, "idempotency_key": "order-77"}, headers=write
    )
    assert replay.status_code == 201
    assert replay.json() == redeemed.json()
    assert replay.headers["Idempotent-Replayed"] == "true"

    refused = client.post(
        base + "/redemptions", json={"points": 60, "idempotency_key": "order-78"}, headers=write
    )
    error = _error(refused, 409, "insufficient_points")
    assert error["details"]["balance"] == 50  # type: ignore[index]
    client.post(base + "/adjustments", json={"points": 100, "reason": "gift"}, headers=write)
    again = client.post(
        base + "/redemptions", json={"points": 60, "idempotency_key": "order-78"}, headers=write
    )
    assert again.status_code == 409  # the first answer, though the balance would cover it now
    assert again.json() == refused.json()

    _error(
        client.post(
            base + "/redemptions", json={"points": 5, "idempotency_key": "order-77"}, headers=write
        ),
        409,
        "idempotency_key_reused",
    )
    _error(
        client.post(base + "/adjustments", json={"points": -1000, "reason": "x"}, headers=write),
        409,
        "insufficient_points",
    )
    ledger = client.get(base + "/ledger", headers=read).json()
    assert [entry["kind"] for entry in ledger] == ["adjust", "redeem", "adjust", "bonus"]
    assert client.get(base, headers=read).json()["balance"] == sum(e["points"] for e in ledger)


def test_loyalty_routes_refuse_bad_requests_in_one_shape(
    client: TestClient, tokens: dict[str, str], database: Database
) -> None:
    write, read = bearer(tokens["write"]), bearer(tokens["read"])
    with database.session() as session:  # newcomers stay out until enrolled by hand
        update_programme_settings(session, {"enrol_new_customers": False}, "test")
    _error(client.get("/api/v1/customers/999/loyalty", headers=read), 404, "not_found")
    _error(client.get("/api/v1/customers/1/loyalty"), 401, "authentication_failed")
    created = client.post("/api/v1/customers", json={"name": "Bo"}, headers=write).json()
    base = f"/api/v1/customers/{created['id']}/loyalty"
    _error(
        client.post(base + "/adjustments", json={"points": 5, "reason": "x"}, headers=read),
        403,
        "permission_denied",
    )
    _error(
        client.post(base + "/adjustments", json={"points": 5, "reason": "x"}, headers=write),
        409,
        "not_enrolled",
    )
    _error(
        client.post(
            base + "/redemptions", json={"points": 0, "idempotency_key": "k"}, headers=write
        ),
        422,
        "validation_error",
    )
    _error(
        client.post(base + "/adjustments", json={"points": 5}, headers=write),
        422,
        "validation_error",
    )


def test_report_rewards_coupons_and_openapi(client: TestClient, tokens: dict[str, str]) -> None:
    write, read = bearer(tokens["write"]), bearer(tokens["read"])
    reward = client.post(
        "/api/v1/loyalty/rewards",
        json={"name": "Free mug", "kind": "gift", "points_cost": 800},
        headers=write,
    )
    assert reward.status_code == 201, reward.text
    assert [r["name"] for r in client.get("/api/v1/loyalty/rewards", headers=read).json()] == [
        "Free mug"
    ]
    coupon = client.post(
        "/api/v1/loyalty/coupons",
        json={"code": "hello", "discount_percent": 10, "max_uses": 1},
        headers=write,
    )
    assert coupon.status_code == 201, coupon.text
    customer = client.post("/api/v1/customers", json={"name": "Cy"}, headers=write).json()["id"]
    other = client.post("/api/v1/customers", json={"name": "Di"}, headers=write).json()["id"]
    used = client.post(
        "/api/v1/loyalty/coupons/HELLO/uses", json={"customer_id": customer}, headers=write
    )
    assert used.status_code == 201, used.text
    assert used.json()["used_count"] == 1
    _error(
        client.post(
            "/api/v1/loyalty/coupons/HELLO/uses", json={"customer_id": other}, headers=write
        ),
        409,
        "coupon_refused",
    )
    report = client.get("/api/v1/loyalty/report", headers=read)
    assert report.status_code == 200, report.text
    assert {"kpis", "effect", "before_after"} <= set(report.json())
    paths = client.get("/openapi.json").json()["paths"]
    for path in (
        "/api/v1/customers/{customer_id}/loyalty",
        "/api/v1/customers/{customer_id}/loyalty/adjustments",
        "/api/v1/customers/{customer_id}/loyalty/redemptions",
    ):
        assert path in paths


def test_the_report_and_coupons_answer_in_their_schemas(
    client: TestClient, tokens: dict[str, str], database: Database
) -> None:
    from soloist.domain.loyalty.rules import update_programme_settings

    with database.session() as session:
        update_programme_settings(session, {"holdout_share": 0.0, "point_value": "0.02"}, "test")
    write, read = bearer(tokens["write"]), bearer(tokens["read"])
    customer = _enrolled_customer(client, write)
    added = client.post(
        f"/api/v1/customers/{customer}/loyalty/adjustments",
        json={"points": 900, "reason": "welcome"},
        headers=write,
    )
    assert added.json()["balance"] == 1000  # the sign-up bonus and the adjustment
    report = client.get("/api/v1/loyalty/report?method=bootstrap", headers=read).json()
    assert report["kpis"]["members"] == 1
    assert report["kpis"]["outstanding_points"] == 1000
    assert report["kpis"]["liability"] == "20.00"  # a decimal string, like every money value
    assert report["kpis"]["tiers"] == {"Bronze": 1}
    assert report["sample"] == {"members": 1, "holdout": 0}
    assert report["effect"]["revenue_per_customer"] is None  # no holdout to compare with
    assert report["method"] == {"revenue_interval": "bootstrap", "confidence": 0.95}

    fixed = client.post(
        "/api/v1/loyalty/coupons",
        json={"code": "TENOFF", "discount": "10.50", "currency": "USD", "customer_id": customer},
        headers=write,
    )
    assert fixed.status_code == 201, fixed.text
    assert (fixed.json()["discount"], fixed.json()["discount_percent"]) == ("10.50", None)
    offers = client.get(f"/api/v1/customers/{customer}/loyalty/offers", headers=read).json()
    assert [(o["code"], o["discount"]) for o in offers] == [("TENOFF", "10.50")]
