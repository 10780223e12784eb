from __future__ import annotations

import datetime as dt

import pytest
from pydantic import ValidationError as PydanticValidationError

from soloist.domain.audit import audit_trail
from soloist.domain.customers import current_consents, record_consent
from soloist.domain.customers.records import (
    CustomerCreate,
    CustomerUpdate,
    create_customer,
    find_customer_by_email,
    find_customer_by_phone,
    get_customer,
    search_customers,
    update_customer,
)
from soloist.errors import ConflictError, NotFoundError, ValidationError
from soloist.storage.database import Database


def _ada(**extra: object) -> CustomerCreate:
    return CustomerCreate(
        name="Ada Lovelace", email="Ada@Example.com ", phone="+44 20 7946 0018", **extra
    )


def test_create_customer_stores_and_audits(database: Database) -> None:
    with database.session() as session:
        customer = create_customer(
            session,
            _ada(
                tags=["VIP", "newsletter"],
                custom_fields={"plan": "pro"},
                birthday=dt.date(1815, 12, 10),
            ),
            "user:1",
        )
        customer_id = customer.id
    with database.session() as session:
        loaded = get_customer(session, customer_id)
        assert loaded.email == "ada@example.com"
        assert loaded.phone == "+442079460018"
        assert loaded.birthday == dt.date(1815, 12, 10)
        assert loaded.tag_names == ["newsletter", "vip"]
        assert loaded.custom_fields == {"plan": "pro"}
        trail = audit_trail(session, "customer", customer_id)
        assert [entry.action for entry in trail] == ["customer.created"]
        assert trail[0].actor == "user:1"
        assert trail[0].changes["email"] == [None, "<set>"]
        assert "ada@example.com" not in str(trail[0].changes)


def test_update_customer_records_what_changed(database: Database) -> None:
    with database.session() as session:
        customer_id = create_customer(session, _ada(), "user:1").id
    with database.session() as session:
        update_customer(
            session, customer_id, CustomerUpdate(name="Augusta Ada King", tags=["vip"]), "user:2"
        )
    with database.session() as session:
        loaded = get_customer(session, customer_id)
        assert loaded.name == "Augusta Ada King"
        assert loaded.email == "ada@example.com"  # untouched fields stay
        latest = audit_trail(session, "customer", customer_id)[0]
        assert latest.action == "customer.updated"
        assert latest.actor == "user:2"
        assert latest.changes == {
            "name": ["Ada Lovelace", "Augusta Ada King"],
            "tags": [[], ["vip"]],
        }


def test_update_without_change_writes_no_audit_entry(database: Database) -> None:
    with database.session() as session:
        customer_id = create_customer(session, _ada(), "t").id
        update_customer(session, customer_id, CustomerUpdate(name="Ada Lovelace"), "t")
        assert len(audit_trail(session, "customer", customer_id)) == 1


def test_find_customer_by_email_uses_the_keyed_hash(database: Database) -> None:
    with database.session() as session:
        customer_id = create_customer(session, _ada(), "t").id
        create_customer(session, CustomerCreate(name="Other", email="other@example.com"), "t")
    with database.session() as session:
        found = find_customer_by_email(session, "  ADA@example.COM")
        assert found is not None
        assert found.id == customer_id
        assert find_customer_by_email(session, "nobody@example.com") is None


def test_find_customer_by_phone_in_any_format(database: Database) -> None:
    with database.session() as session:
        customer_id = create_customer(
            session, CustomerCreate(name="李雷", phone="138 0013 8000", country="CN"), "t"
        ).id
    with database.session() as session:
        found = find_customer_by_phone(session, "+86 13800138000")
        assert found is not None
        assert found.id == customer_id
        assert find_customer_by_phone(session, "13800138000", region="CN") is not None


def test_a_second_customer_with_the_same_email_is_refused(database: Database) -> None:
    with database.session() as session:
        create_customer(session, _ada(), "t")
    with (
        pytest.raises(ConflictError, match="already has this e-mail"),
        database.session() as session,
    ):
        create_customer(session, CustomerCreate(name="Imposter", email="ada@EXAMPLE.com"), "t")
    with database.session() as session:
        assert search_customers(session)[1] == 1  # the refused one left nothing behind


def test_bad_contact_details_are_refused_with_the_field_named() -> None:
    with pytest.raises(PydanticValidationError, match="email"):
        CustomerCreate(name="X", email="not-an-address")
    with pytest.raises(PydanticValidationError, match="at least a name"):
        CustomerCreate()


def test_an_impossible_phone_number_is_refused(database: Database) -> None:
    with pytest.raises(ValidationError) as caught, database.session() as session:
        create_customer(session, CustomerCreate(name="X", phone="+44 12"), "t")
    assert caught.value.details["field"] == "phone"


def test_missing_customer_is_not_found(database: Database) -> None:
    with pytest.raises(NotFoundError), database.session() as session:
        get_customer(session, 999_999)


def test_consent_history_keeps_every_record_and_the_latest_wins(database: Database) -> None:
    with database.session() as session:
        customer_id = create_customer(session, _ada(), "t").id
        earlier = dt.datetime(2024, 1, 1, tzinfo=dt.UTC)
        record_consent(session, customer_id, "email", True, "t", recorded_at=earlier)
        record_consent(session, customer_id, "email", False, "t", source="unsubscribe link")
        record_consent(session, customer_id, "sms", True, "t")
    with database.session() as session:
        assert current_consents(session, customer_id) == {"email": False, "sms": True}
        actions = [e.action for e in audit_trail(session, "customer", customer_id)]
        assert actions.count("consent.granted") == 2
        assert actions.count("consent.withdrawn") == 1
    with pytest.raises(ValidationError, match="channel"), database.session() as session:
        record_consent(session, customer_id, "carrier pigeon", True, "t")


def test_search_finds_by_name_email_and_tag(database: Database) -> None:
    with database.session() as session:
        ada = create_customer(session, _ada(tags=["vip"]), "t").id
        create_customer(
            session, CustomerCreate(name="Charles Babbage", email="cb@example.com"), "t"
        )
        create_customer(session, CustomerCreate(name="王芳", email="wf@example.cn"), "t")
    with database.session() as session:
        assert [c.id for c in search_customers(session, "lovelace")[0]] == [ada]
        assert [c.id for c in search_customers(session, "ada@example.com")[0]] == [ada]
        assert [c.name for c in search_customers(session, "王")[0]] == ["王芳"]
        assert [c.id for c in search_customers(session, "LOVELACE")[0]] == [ada]
        # a wildcard in the term is a plain character, not "anything"
        assert search_customers(session, "a%e")[1] == 0
        assert search_customers(session, "_")[1] == 0
        assert [c.id for c in search_customers(session, tag="VIP")[0]] == [ada]
        page, total = search_customers(session, limit=2, offset=2)
        assert total == 3
        assert len(page) == 1
