from __future__ import annotations

import pytest
from sqlalchemy.orm import Session
from tests.domain.loyalty.helpers import T0, days, member, order, programme

from soloist.domain.customers.contacts import email_lookup_hash, normalise_address
from soloist.domain.customers.records import CustomerCreate, create_customer
from soloist.domain.loyalty import referrals
from soloist.domain.loyalty.ledger import points_balance
from soloist.domain.loyalty.programme import earn_for_order, enrol_customers
from soloist.domain.loyalty.referrals import (
    ReferralRejectedError,
    record_referral,
    referral_code_for,
)
from soloist.domain.loyalty.rules import get_programme_settings
from soloist.domain.loyalty.summary import loyalty_summary
from soloist.storage.database import Database
from soloist.storage.models import Referral


def _code(session: Session, customer_id: int) -> str:
    code = loyalty_summary(session, customer_id).referral_code
    assert code is not None
    return code


def _refer(session: Session, code: str, referred: int) -> Referral:
    return record_referral(
        session, code, referred, "test", settings=get_programme_settings(session)
    )


def test_a_referral_pays_both_sides_on_the_first_order(database: Database) -> None:
    with database.session() as session:
        programme(session)
        ada = member(session, email="ada@example.com")
        bo = create_customer(session, CustomerCreate(name="Bo", email="bo@example.com"), "t").id
        referral = _refer(session, _code(session, ada).lower(), bo)
        assert referral.status == "pending"
        assert loyalty_summary(session, bo).enrolled
        first = order(session, bo, "20", T0 + days(1))
        earn_for_order(session, first.id, at=T0 + days(1))
        assert referral.status == "converted"
        assert referral.order_id == first.id
        assert points_balance(session, ada) == 500
        assert points_balance(session, bo) == 250 + 20
        second = order(session, bo, "20", T0 + days(2))
        earn_for_order(session, second.id, at=T0 + days(2))
        assert points_balance(session, ada) == 500  # only the first order counts


@pytest.mark.parametrize(
    ("fields", "reason"),
    [
        ({"email_hash_of": "ada@example.com"}, "e-mail"),
        ({"phone": "+44 7700 900123"}, "phone"),
        ({"address": "12, High  Street — LEEDS"}, "address"),
    ],
)
def test_self_referral_under_another_record_is_refused(
    sqlite_database: Database, fields: dict[str, str], reason: str
) -> None:
    with sqlite_database.session() as session:
        programme(session)
        ada = member(
            session,
            email="ada@example.com",
            phone="+447700900123",
            address="12 High Street, Leeds",
        )
        email = fields.pop("email_hash_of", None)
        twin_row = create_customer(session, CustomerCreate(name="A. L.", **fields), "t")
        if email:  # e-mails are unique among active customers; an import may still bring one in
            twin_row.email_hash = email_lookup_hash(session, email)
        twin = twin_row.id
        with pytest.raises(ReferralRejectedError, match=reason):
            _refer(session, _code(session, ada), twin)
        with pytest.raises(ReferralRejectedError, match="themselves"):
            _refer(session, _code(session, ada), ada)


def test_referral_loops_are_refused(database: Database) -> None:
    with database.session() as session:
        programme(session)
        ada = member(session)
        bo = create_customer(session, CustomerCreate(name="Bo"), "t").id
        cy = create_customer(session, CustomerCreate(name="Cy"), "t").id
        _refer(session, _code(session, ada), bo)
        _refer(session, _code(session, bo), cy)
        with pytest.raises(ReferralRejectedError, match="loop"):
            _refer(session, _code(session, cy), ada)  # A → B → C → A
        with pytest.raises(ReferralRejectedError, match="referred already"):
            _refer(session, _code(session, ada), cy)


def test_existing_customers_cannot_be_referred(sqlite_database: Database) -> None:
    with sqlite_database.session() as session:
        programme(session)
        ada = member(session)
        bo = create_customer(session, CustomerCreate(name="Bo"), "t").id
        order(session, bo, "10", T0)
        with pytest.raises(ReferralRejectedError, match="bought before"):
            _refer(session, _code(session, ada), bo)


def test_addresses_compare_without_case_punctuation_or_spacing() -> None:
    assert normalise_address("12 High St.,  LEEDS") == normalise_address("12 high st leeds")
    assert normalise_address("北京市朝阳路１２号") == normalise_address("北京市朝阳路12号")
    assert normalise_address("  ") is None


def test_members_whose_codes_collide_get_distinct_codes_that_find_them(
    database: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Codes of two hex characters (256 of them) for 60 members, most of them enrolled at once:
    many first codes collide (10 characters collided at 500,000 members); each member still
    gets a code of their own, one of their candidates, and a referral by it finds them."""
    monkeypatch.setattr(referrals, "CODE_LENGTH", 2)
    with database.session() as session:
        programme(session)
        alone = [member(session, f"Early{i}") for i in range(8)]  # one enrolment each
        ids = [create_customer(session, CustomerCreate(name=f"C{i}"), "t").id for i in range(52)]
        enrol_customers(session, "test", customer_ids=ids, now=T0)
        members = alone + ids
        codes = {c: _code(session, c) for c in members}
        assert len(set(codes.values())) == len(members)
        firsts = [referral_code_for(session, c) for c in members]
        assert len(set(firsts)) < len(members)  # the test does test collisions
        for customer_id, code in codes.items():
            candidates = [referral_code_for(session, customer_id, n) for n in range(200)]
            assert code in candidates
        newcomer = create_customer(session, CustomerCreate(name="New"), "t").id
        referrer = members[-1]
        assert _refer(session, codes[referrer], newcomer).referrer_id == referrer
        assert _code(session, newcomer) not in codes.values()
