"""GET /api/v1/customers/{id}/recommendations on each engine: tastes, reasons, exclusions."""

from __future__ import annotations

import random

from fastapi.testclient import TestClient
from sqlalchemy import select

from soloist.domain.orders import ProductCreate, create_product
from soloist.domain.recommendations import update_recommendation_settings
from soloist.storage.database import Database
from soloist.storage.models import Product
from tests.api.conftest import bearer

TEAS = ["TEA-1", "TEA-2", "TEA-3", "TEA-4", "TEA-5"]
COFFEES = ["COF-1", "COF-2", "COF-3", "COF-4", "COF-5"]


def order(email: str, number: int, skus: list[str], status: str = "paid") -> dict:
    return {
        "customer": {"email": email, "name": email.split("@")[0].title()},
        "external_id": f"shop-{number}",
        "ordered_at": "2026-11-01T10:00:00+00:00",
        "currency": "USD",
        "status": status,
        "lines": [
            {"sku": sku, "name": f"Product {sku}", "quantity": 1, "unit_price": "10.00"}
            for sku in skus
        ],
    }


def test_recommendations_follow_what_similar_customers_bought(
    client: TestClient, tokens: dict[str, str], database: Database
) -> None:
    write, read = bearer(tokens["write"]), bearer(tokens["read"])
    with database.session() as session:
        for sku in TEAS + COFFEES:
            create_product(
                session,
                ProductCreate(sku=sku, name=f"Product {sku}", price="10.00", currency="USD"),
                "test",
            )
    rng = random.Random(4)
    for number, n in enumerate(range(30), start=1):
        shelf = TEAS if n % 2 else COFFEES
        answer = client.post(
            "/api/v1/orders", json=order(f"c{n}@example.com", number, rng.sample(shelf, 3)),
            headers=write,
        )  # fmt: skip
        assert answer.status_code == 201, answer.text
    probe = client.post(
        "/api/v1/orders", json=order("probe@example.com", 100, ["TEA-1", "TEA-2"]), headers=write
    ).json()["customer_id"]
    # A refunded coffee is no sign of liking coffee.
    refunded = order("probe@example.com", 101, ["COF-1"], status="refunded")
    assert client.post("/api/v1/orders", json=refunded, headers=write).status_code == 201
    with database.session() as session:
        session.scalars(select(Product).where(Product.sku == "TEA-5")).one().active = False

    answer = client.get(f"/api/v1/customers/{probe}/recommendations?k=3", headers=read)
    assert answer.status_code == 200, answer.text
    recs = answer.json()
    assert set(recs[0]) >= {"product_id", "name", "score", "reason"}
    skus = [r["sku"] for r in recs]
    assert set(skus[:2]) == {"TEA-3", "TEA-4"}  # the teas not bought and still sold
    assert "TEA-5" not in skus
    assert not {"TEA-1", "TEA-2"} & set(skus)
    assert recs[0]["reason_code"] == "because"
    assert recs[0]["reason"] in (
        "Because you bought Product TEA-1",
        "Because you bought Product TEA-2",
    )
    assert recs[0]["score"] >= recs[1]["score"] >= recs[2]["score"]

    with database.session() as session:
        update_recommendation_settings(session, {"repurchase": True}, "test")
    again = client.get(f"/api/v1/customers/{probe}/recommendations?k=10", headers=read).json()
    assert {"TEA-1", "TEA-2"} & {r["sku"] for r in again}

    newcomer = client.post(
        "/api/v1/customers", json={"email": "new@example.com", "name": "New"}, headers=write
    ).json()["id"]
    fresh = client.get(f"/api/v1/customers/{newcomer}/recommendations", headers=read).json()
    assert fresh
    assert {r["reason_code"] for r in fresh} == {"popular"}

    assert client.get("/api/v1/customers/999999/recommendations", headers=read).status_code == 404
    assert client.get(f"/api/v1/customers/{probe}/recommendations").status_code == 401
