"""Consent history: every grant and withdrawal kept, each with the wording it was given under."""

from __future__ import annotations

import datetime as dt

import pytest
from fastapi.testclient import TestClient

from soloist.app import create_app
from soloist.domain.customers import (
    CustomerCreate,
    consent_history,
    create_customer,
    current_consents,
    publish_wording,
    record_consent,
)
from soloist.domain.users import add_user, create_token
from soloist.errors import ConflictError, ValidationError
from soloist.storage.database import Database

JAN = dt.datetime(2026, 1, 10, tzinfo=dt.UTC)
JUN = dt.datetime(2026, 6, 10, tzinfo=dt.UTC)


def test_records_name_the_wording_in_force_when_they_were_given(database: Database) -> None:
    with database.session() as session:
        customer = create_customer(
            session, CustomerCreate(name="Mei Lin", language="zh-CN"), "t"
        ).id
        publish_wording(session, "email", "v1", "Send me news.", "t", published_at=JAN)
        publish_wording(session, "email", "v2", "Send me news and offers.", "t", published_at=JUN)
        publish_wording(
            session, "email", "v2", "给我发送新闻和优惠。", "t", language="zh-CN", published_at=JUN
        )
        record_consent(session, customer, "email", True, "t", source="checkout",
                       evidence="order 1001", recorded_at=JAN + dt.timedelta(days=3))  # fmt: skip
        record_consent(session, customer, "email", False, "t", source="unsubscribe",
                       recorded_at=JUN - dt.timedelta(days=1))  # fmt: skip
        record_consent(session, customer, "email", True, "t", source="web form",
                       recorded_at=JUN + dt.timedelta(days=1))  # fmt: skip
        record_consent(session, customer, "sms", True, "t", recorded_at=JUN)  # no sms wording
        history = consent_history(session, customer)
        assert current_consents(session, customer) == {"email": True, "sms": True}

    assert [(e.channel, e.granted, e.wording_version, e.source) for e in history] == [
        ("email", True, "v2", "web form"),
        ("sms", True, None, "manual"),
        ("email", False, "v1", "unsubscribe"),  # withdrawn before v2 was published
        ("email", True, "v1", "checkout"),
    ]
    assert history[0].wording == "给我发送新闻和优惠。"  # in the customer's language
    assert history[-1].wording == "Send me news."
    assert history[-1].evidence == "order 1001"


def test_versions_are_fixed_once_published_and_must_exist(database: Database) -> None:
    with database.session() as session:
        customer = create_customer(session, CustomerCreate(name="Ola Nordmann"), "t").id
        publish_wording(session, "email", "2026-12", "Send me news.", "t")
        with pytest.raises(ConflictError, match="already published"):
            publish_wording(session, "email", "2026-12", "Different words.", "t")
        with pytest.raises(ValidationError, match="no-such"):
            record_consent(session, customer, "email", True, "t", wording_version="no-such")
        with pytest.raises(ValidationError, match="channel"):
            publish_wording(session, "pigeon", "v1", "Coo.", "t")
        record = record_consent(session, customer, "email", True, "t", wording_version="2026-12")
        assert record.wording_version == "2026-12"


def test_the_api_records_and_lists_the_history(sqlite_database: Database) -> None:
    with sqlite_database.session() as session:
        add_user(session, "owner@example.com", "owner", "a long enough password", "t")
        _, token = create_token(session, "owner@example.com", "write", "t")
        customer = create_customer(session, CustomerCreate(name="Ada"), "t").id
    auth = {"Authorization": f"Bearer {token}"}
    with TestClient(create_app(sqlite_database.settings, sqlite_database)) as client:
        published = client.post(
            "/api/v1/consent-wordings",
            json={"channel": "email", "version": "v3", "text": "News, please."},
            headers=auth,
        )
        assert published.status_code == 201
        again = client.post(
            "/api/v1/consent-wordings",
            json={"channel": "email", "version": "v3", "text": "Other."},
            headers=auth,
        )
        assert again.status_code == 409
        given = client.post(
            f"/api/v1/customers/{customer}/consents",
            json={"channel": "email", "granted": True, "source": "signup form"},
            headers=auth,
        )
        assert given.status_code == 201
        assert given.json()["wording_version"] == "v3"
        unknown = client.post(
            f"/api/v1/customers/{customer}/consents",
            json={"channel": "email", "granted": True, "wording_version": "v9"},
            headers=auth,
        )
        assert unknown.status_code == 422
        history = client.get(f"/api/v1/customers/{customer}/consents", headers=auth).json()
        assert [(h["granted"], h["wording_version"], h["wording"]) for h in history] == [
            (True, "v3", "News, please.")
        ]
        listed = client.get("/api/v1/consent-wordings?channel=email", headers=auth).json()
        assert [w["version"] for w in listed] == ["v3"]
