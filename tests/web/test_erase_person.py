"""Erasing one person from the web app and the API: owner only, confirmed, journaled."""

from __future__ import annotations

import json

from fastapi.testclient import TestClient
from sqlalchemy import select

from soloist.app import create_app
from soloist.domain.customers import CustomerCreate, create_customer
from soloist.domain.users import create_token
from soloist.storage.database import Database
from soloist.storage.models import Customer
from tests.web.conftest import sign_in


def _person(database: Database, email: str = "ines@example.com") -> int:
    with database.session() as session:
        created = create_customer(
            session, CustomerCreate(name="Inès Valdecasa", email=email, notes="allergic"), "t"
        )
        return created.id


def _status(database: Database, customer_id: int) -> tuple[str, str]:
    with database.read_session() as session:
        customer = session.get(Customer, customer_id)
        assert customer is not None
        return customer.status, customer.name


def _journal(database: Database) -> list[int]:
    path = database.settings.workspace / "erasures.jsonl"
    if not path.exists():
        return []
    return [json.loads(line)["customer_id"] for line in path.read_text().splitlines()]


def test_the_owner_erases_a_person_after_confirming(
    web: TestClient, sqlite_database: Database
) -> None:
    customer_id = _person(sqlite_database)
    staff_csrf = sign_in(web, "staff@example.com")
    assert "erase-person-link" not in web.get(f"/customers/{customer_id}").text
    assert web.get(f"/customers/{customer_id}/erase").status_code == 403
    form = {"confirm": "yes", "csrf_token": staff_csrf}
    assert web.post(f"/customers/{customer_id}/erase", data=form).status_code == 403
    assert _status(sqlite_database, customer_id) == ("active", "Inès Valdecasa")

    csrf = sign_in(web)
    assert "erase-person-link" in web.get(f"/customers/{customer_id}").text
    page = web.get(f"/customers/{customer_id}/erase")
    assert page.status_code == 200
    assert 'id="erase-person"' in page.text
    unconfirmed = web.post(f"/customers/{customer_id}/erase", data={"csrf_token": csrf})
    assert unconfirmed.status_code == 422
    assert _status(sqlite_database, customer_id) == ("active", "Inès Valdecasa")
    forged = web.post(f"/customers/{customer_id}/erase", data={"confirm": "yes"})
    assert forged.status_code == 403  # no CSRF token: refused, nothing erased
    assert _status(sqlite_database, customer_id)[0] == "active"

    done = web.post(f"/customers/{customer_id}/erase", data={"confirm": "yes", "csrf_token": csrf})
    assert done.status_code == 200  # followed the redirect to the customer page
    assert 'id="erased-notice"' in done.text
    assert "Valdecasa" not in done.text
    assert _status(sqlite_database, customer_id) == ("erased", "")
    assert _journal(sqlite_database) == [customer_id]


def test_the_api_erases_for_the_owner_only(sqlite_database: Database) -> None:
    customer_id = _person(sqlite_database)
    with sqlite_database.session() as session:
        from soloist.domain.users import add_user

        add_user(session, "owner@example.com", "owner", "a long enough password", "t")
        add_user(session, "staff@example.com", "staff", "a long enough password", "t")
        _, owner_read = create_token(session, "owner@example.com", "read", "t")
        _, owner = create_token(session, "owner@example.com", "write", "t")
        _, staff = create_token(session, "staff@example.com", "write", "t")
    path = f"/api/v1/customers/{customer_id}/erase"
    with TestClient(create_app(sqlite_database.settings, sqlite_database)) as client:
        for token in (staff, owner_read):
            refused = client.post(path, headers={"Authorization": f"Bearer {token}"})
            assert refused.status_code == 403
            assert refused.json()["error"]["code"]
        assert _status(sqlite_database, customer_id)[0] == "active"
        answer = client.post(path, headers={"Authorization": f"Bearer {owner}"})
        assert answer.status_code == 200
        assert answer.json()["customer_ids"] == [customer_id]
        assert answer.json()["changed"]["customers"] == 1
        missing = client.post(
            "/api/v1/customers/999999/erase", headers={"Authorization": f"Bearer {owner}"}
        )
        assert missing.status_code == 404
    assert _status(sqlite_database, customer_id) == ("erased", "")
    assert _journal(sqlite_database) == [customer_id]
    with sqlite_database.read_session() as session:
        assert (
            session.scalars(select(Customer.email_hash).where(Customer.id == customer_id)).one()
            is None
        )
