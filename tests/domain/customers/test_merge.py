"""Merging duplicate customers moves everything to the kept one, audited."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from sqlalchemy import select

from soloist.domain.audit import audit_trail
from soloist.domain.customers import record_consent
from soloist.domain.customers.duplicates import find_duplicate_customers
from soloist.domain.customers.merge import merge_customers
from soloist.domain.customers.records import CustomerCreate, create_customer
from soloist.domain.feedback import record_survey_response
from soloist.domain.interactions import log_interaction
from soloist.domain.orders import OrderCreate, OrderLineCreate, record_order
from soloist.errors import ConflictError, ValidationError
from soloist.storage.database import Database
from soloist.storage.models import (
    ConsentRecord,
    Customer,
    CustomerTag,
    Interaction,
    Order,
    SurveyResponse,
)


def test_merge_moves_orders_history_feedback_tags_and_marks_the_other_merged(
    database: Database,
) -> None:
    with database.session() as session:
        keep = create_customer(session, CustomerCreate(name="Ana Lima", tags=["vip"]), "t")
        other = create_customer(
            session,
            CustomerCreate(
                name="Ana  Lima",
                email="ana@example.com",
                phone="+351912345678",
                tags=["vip", "newsletter"],
            ),
            "t",
        )
        keep_id, other_id = keep.id, other.id
        record_order(
            session,
            OrderCreate(
                external_id="o-1",
                customer_id=other_id,
                currency="EUR",
                ordered_at=dt.datetime(2024, 1, 5, tzinfo=dt.UTC),
                lines=[OrderLineCreate(sku="A", quantity=1, unit_price=Decimal("9.50"))],
            ),
            "t",
        )
        log_interaction(session, other_id, "call", "t", subject="hello")
        record_survey_response(session, "nps", 9, "t", customer_id=other_id)
        record_consent(session, other_id, "email", True, "t")
    with database.session() as session:
        result = merge_customers(session, keep_id, other_id, "tester")
        assert result.moved["orders.customer_id"] == 1
    with database.session() as session:
        kept = session.get(Customer, keep_id)
        merged = session.get(Customer, other_id)
        assert kept is not None
        assert merged is not None
        assert (merged.status, merged.merged_into_id) == ("merged", keep_id)
        assert kept.email == "ana@example.com"
        assert kept.tag_names == ["newsletter", "vip"]
        for model in (Order, Interaction, SurveyResponse, ConsentRecord):
            owners = set(session.scalars(select(model.customer_id)))  # type: ignore[attr-defined]
            assert owners == {keep_id}, model
        assert set(session.scalars(select(CustomerTag.customer_id))) == {keep_id}
        actions = [entry.action for entry in audit_trail(session, "customer", keep_id)]
        assert "customer.merged" in actions


def test_merge_refuses_itself_and_merged_customers(sqlite_database: Database) -> None:
    with sqlite_database.session() as session:
        a = create_customer(session, CustomerCreate(name="A"), "t").id
        b = create_customer(session, CustomerCreate(name="B"), "t").id
    with sqlite_database.session() as session, pytest.raises(ValidationError):
        merge_customers(session, a, a, "t")
    with sqlite_database.session() as session:
        merge_customers(session, a, b, "t")
    with sqlite_database.session() as session, pytest.raises(ConflictError):
        merge_customers(session, a, b, "t")


def test_likely_duplicates_share_a_similar_name_and_phone_prefix(sqlite_database: Database) -> None:
    with sqlite_database.session() as session:
        a = create_customer(
            session, CustomerCreate(name="Zhang Wei", phone="+8613800138000"), "t"
        ).id
        b = create_customer(
            session, CustomerCreate(name="Zhang  Wei", phone="+8613800131234"), "t"
        ).id
        create_customer(session, CustomerCreate(name="Li Na", phone="+8613800139999"), "t")
    with sqlite_database.session() as session:
        pairs = find_duplicate_customers(session)
    assert [(p.keep_id, p.merge_id) for p in pairs] == [(a, b)]
    assert "similar name, same phone prefix" in pairs[0].reasons
