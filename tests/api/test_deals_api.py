"""/api/v1/deals on every database: the contract's names (a new deal in the first stage with its
probability, the forecast as a list of months with decimal strings), moving and closing,
stages, statistics, filters, and the error answers."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from decimal import Decimal
from typing import Any

import pytest
from fastapi.testclient import TestClient

from soloist.app import create_app
from soloist.config import Settings
from soloist.domain.customers.records import CustomerCreate, create_customer
from soloist.domain.sales import create_deal, move_deal
from soloist.storage.database import Database
from soloist.storage.types import utcnow
from tests.api.conftest import bearer


@pytest.fixture
def rated_client(database: Database) -> Iterator[TestClient]:
    """An API client on a USD workspace that counts EUR at 1.10."""
    database.settings = Settings(
        **{**database.settings.model_dump(), "currency": "USD", "rates": {"EUR": Decimal("1.10")}}
    )
    with TestClient(create_app(database.settings, database)) as client:
        yield client


def _customer(database: Database, name: str = "Ada") -> int:
    with database.session() as session:
        return create_customer(session, CustomerCreate(name=name), "test").id


def _month(shift: int) -> dt.date:
    today = utcnow().date()
    index = today.year * 12 + today.month - 1 + shift
    return dt.date(index // 12, index % 12 + 1, 15)


def test_a_new_deal_answers_the_contract_names_and_starts_in_the_first_stage(
    rated_client: TestClient, database: Database, tokens: dict[str, str]
) -> None:
    customer = _customer(database)
    answer = rated_client.post(
        "/api/v1/deals",
        json={
            "customer_id": customer,
            "name": "Espresso machines",
            "value": "1200.50",
            "currency": "EUR",
            "expected_close": "2027-01-31",
        },
        headers=bearer(tokens["write"]),
    )
    assert answer.status_code == 201, answer.text
    body = answer.json()
    assert isinstance(body["id"], int)
    assert (body["stage"], body["probability"]) == ("lead", 10)
    assert (body["name"], body["value"], body["currency"]) == (
        "Espresso machines",
        "1200.50",
        "EUR",
    )
    assert (body["expected_close"], body["weighted"], body["stale"]) == (
        "2027-01-31",
        "120.05",
        False,
    )
    fetched = rated_client.get(f"/api/v1/deals/{body['id']}", headers=bearer(tokens["read"]))
    assert fetched.json() == body


def test_patch_moves_closes_and_changes_a_deal(
    rated_client: TestClient, database: Database, tokens: dict[str, str]
) -> None:
    customer = _customer(database)
    write = bearer(tokens["write"])
    deal = rated_client.post(
        "/api/v1/deals",
        json={"customer_id": customer, "name": "Grinder", "value": 300, "currency": "USD"},
        headers=write,
    ).json()
    moved = rated_client.patch(
        f"/api/v1/deals/{deal['id']}", json={"stage": "proposal"}, headers=write
    ).json()
    assert (moved["stage"], moved["probability"], moved["weighted"]) == ("proposal", 50, "150.00")
    changed = rated_client.patch(
        f"/api/v1/deals/{deal['id']}",
        json={"probability": 60, "value": "400", "expected_close": "2027-02-01", "name": "Two"},
        headers=write,
    ).json()
    assert (changed["probability"], changed["value"], changed["name"]) == (60, "400.00", "Two")
    won = rated_client.patch(
        f"/api/v1/deals/{deal['id']}",
        json={"stage": "won", "close_reason": "Best price"},
        headers=write,
    ).json()
    assert (won["outcome"], won["probability"], won["close_reason"]) == ("won", 100, "Best price")
    assert won["closed_at"] is not None
    refused = rated_client.patch(
        f"/api/v1/deals/{deal['id']}", json={"probability": 20}, headers=write
    )
    assert refused.status_code == 422
    assert refused.json()["error"]["details"]["field"] == "probability"
    cleared = rated_client.patch(
        f"/api/v1/deals/{deal['id']}", json={"expected_close": None}, headers=write
    ).json()
    assert cleared["expected_close"] is None


def test_the_forecast_is_a_list_of_months_with_decimal_strings(
    rated_client: TestClient, database: Database, tokens: dict[str, str]
) -> None:
    """This month: 1000.00 USD at 10 % and 200.00 won now (100 %): weighted 300.00, total
    1200.00. Next month: 500 EUR = 550.00 USD at 50 % = 275.00, and 70 GBP without a rate,
    named. The month after: nothing, listed all the same."""
    customer = _customer(database)
    with database.session() as session:

        def deal(value: str, currency: str, month: dt.date | None, stage: str | None) -> None:
            made = create_deal(
                session,
                "test",
                name="d",
                customer_id=customer,
                value=Decimal(value),
                currency=currency,
                expected_close_on=month,
            )
            if stage:
                move_deal(session, made.id, stage, "test")

        deal("1000", "USD", _month(0), None)
        deal("200", "USD", None, "won")
        deal("500", "EUR", _month(1), "proposal")
        deal("70", "GBP", _month(1), None)
        deal("999", "USD", _month(1), "lost")
    answer = rated_client.get("/api/v1/deals/forecast?months=3", headers=bearer(tokens["read"]))
    assert answer.status_code == 200, answer.text
    months = answer.json()
    assert [(m["month"], m["weighted"], m["total"]) for m in months] == [
        (_month(0).strftime("%Y-%m"), "300.00", "1200.00"),
        (_month(1).strftime("%Y-%m"), "275.00", "550.00"),
        (_month(2).strftime("%Y-%m"), "0.00", "0.00"),
    ]
    assert months[1]["left_out"] == [{"currency": "GBP", "deals": 1, "value": "70.00"}]
    assert (months[0]["won_deals"], months[0]["won"], months[0]["currency"]) == (1, "200.00", "USD")


def test_stages_are_listed_added_changed_and_deleted(
    client: TestClient, database: Database, tokens: dict[str, str]
) -> None:
    write = bearer(tokens["write"])
    stages = client.get("/api/v1/deals/stages", headers=bearer(tokens["read"])).json()["items"]
    assert [(s["key"], s["probability"], s["outcome"]) for s in stages] == [
        ("lead", 10, "open"),
        ("qualified", 25, "open"),
        ("proposal", 50, "open"),
        ("negotiation", 75, "open"),
        ("won", 100, "won"),
        ("lost", 0, "lost"),
    ]
    assert stages[0]["name"] == "Lead"
    assert stages[0]["built_in_name"] is True
    added = client.post(
        "/api/v1/deals/stages",
        json={"name": "Demo", "probability": 40, "position": 2},
        headers=write,
    )
    assert added.status_code == 201, added.text
    assert [s["key"] for s in added.json()["items"]][:4] == [
        "lead",
        "qualified",
        "demo",
        "proposal",
    ]
    changed = client.patch(
        "/api/v1/deals/stages/demo", json={"name": "Demo booked", "probability": 45}, headers=write
    ).json()["items"]
    assert (changed[2]["name"], changed[2]["probability"]) == ("Demo booked", 45)
    refused = client.patch("/api/v1/deals/stages/won", json={"probability": 50}, headers=write)
    assert refused.status_code == 422
    assert refused.json()["error"]["details"]["field"] == "probability"
    customer = _customer(database)
    deal = client.post(
        "/api/v1/deals",
        json={"customer_id": customer, "name": "d", "value": 1, "currency": "USD"},
        headers=write,
    ).json()
    client.patch(f"/api/v1/deals/{deal['id']}", json={"stage": "demo"}, headers=write)
    busy = client.delete("/api/v1/deals/stages/demo", headers=write)
    assert busy.status_code == 409
    assert busy.json()["error"]["code"] == "conflict"
    assert client.delete("/api/v1/deals/stages/lost", headers=write).status_code == 409
    client.patch(f"/api/v1/deals/{deal['id']}", json={"stage": "lead"}, headers=write)
    gone = client.delete("/api/v1/deals/stages/demo", headers=write)
    assert gone.json() == {"key": "demo", "deleted": True}


def test_stats_answer_conversion_and_time_per_stage(
    client: TestClient, database: Database, tokens: dict[str, str]
) -> None:
    """Two deals: one lead (2 days) → proposal (3 days) → won, one lead (4 days) → lost.
    Lead: both entered, one reached a later stage: 0.5; stays 2 and 4 days: median 3."""
    customer = _customer(database)
    t0 = dt.datetime(2026, 10, 1, tzinfo=dt.UTC)
    with database.session() as session:
        one = create_deal(
            session, "t", name="a", customer_id=customer, value=100, currency="USD", now=t0
        )
        move_deal(session, one.id, "proposal", "t", at=t0 + dt.timedelta(days=2))
        move_deal(session, one.id, "won", "t", at=t0 + dt.timedelta(days=5))
        two = create_deal(
            session, "t", name="b", customer_id=customer, value=300, currency="USD", now=t0
        )
        move_deal(session, two.id, "lost", "t", at=t0 + dt.timedelta(days=4))
    stats = client.get("/api/v1/deals/stats", headers=bearer(tokens["read"])).json()
    lead = next(s for s in stats["stages"] if s["key"] == "lead")
    assert (lead["entered"], lead["advanced"], lead["conversion_rate"]) == (2, 1, 0.5)
    assert (lead["median_days"], lead["mean_days"]) == (3.0, 3.0)
    assert (stats["won"], stats["lost"], stats["win_rate"], stats["win_rate_by_value"]) == (
        1,
        1,
        0.5,
        0.25,
    )


def test_deals_are_listed_with_filters_and_a_stale_flag(
    client: TestClient, database: Database, tokens: dict[str, str]
) -> None:
    ada, bob = _customer(database, "Ada"), _customer(database, "Bob")
    with database.session() as session:
        old = create_deal(
            session,
            "t",
            name="old",
            customer_id=ada,
            value=1,
            currency="USD",
            now=utcnow() - dt.timedelta(days=45),
        )
        create_deal(session, "t", name="new", customer_id=bob, value=1, currency="USD")
        old_id = old.id
    read = bearer(tokens["read"])

    def names(query: str) -> list[str]:
        answer = client.get(f"/api/v1/deals{query}", headers=read)
        assert answer.status_code == 200, answer.text
        return [d["name"] for d in answer.json()["items"]]

    assert names("") == ["new", "old"]
    assert names("?stale=true") == ["old"]
    assert names(f"?customer_id={bob}") == ["new"]
    assert names("?stage=lead&limit=1&offset=1") == ["old"]
    assert client.get(f"/api/v1/deals/{old_id}", headers=read).json()["stale"] is True
    unknown = client.get("/api/v1/deals?stage=nowhere", headers=read)
    assert unknown.status_code == 404


def test_errors_have_one_shape_and_name_the_field(
    client: TestClient, database: Database, tokens: dict[str, str]
) -> None:
    customer = _customer(database)
    write = bearer(tokens["write"])

    def post(payload: dict[str, Any], headers: dict[str, str] = write) -> Any:
        base = {"customer_id": customer, "name": "d", "value": "10", "currency": "USD"}
        return client.post("/api/v1/deals", json=base | payload, headers=headers)

    missing = post({"customer_id": 9999})
    assert missing.status_code == 404
    assert missing.json()["error"]["details"]["field"] == "customer_id"
    money = post({"value": "10.001"})
    assert money.status_code == 422
    assert money.json()["error"]["details"]["field"] == "value"
    assert post({"currency": "XYZ"}).json()["error"]["details"]["field"] == "currency"
    assert post({"value": -1}).status_code == 422
    assert post({"colour": "red"}).status_code == 422
    assert post({}, bearer(tokens["read"])).status_code == 403
    assert post({}, {}).status_code == 401
    assert client.get("/api/v1/deals/4242", headers=write).status_code == 404
    assert client.patch("/api/v1/deals/4242", json={"name": "x"}, headers=write).status_code == 404
    deal = post({}).json()
    bad_move = client.patch(
        f"/api/v1/deals/{deal['id']}",
        json={"stage": "proposal", "close_reason": "no"},
        headers=write,
    )
    assert bad_move.status_code == 422
    assert bad_move.json()["error"]["details"]["field"] == "close_reason"
    deleted = client.delete(f"/api/v1/deals/{deal['id']}", headers=write)
    assert deleted.json() == {"id": deal["id"], "deleted": True}
    assert client.get(f"/api/v1/deals/{deal['id']}", headers=write).status_code == 404
