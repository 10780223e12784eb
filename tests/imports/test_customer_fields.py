"""The customer fields an import reads are the domain's one list, and the import writes them:
a customers file overwrites what it gives, other files only fill what is blank."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

from sqlalchemy import select

from soloist.domain.customers.records import CONTACT_FIELDS, CUSTOMER_FIELDS
from soloist.domain.imports import ImportOptions, import_file
from soloist.imports.clean import CustomerRef
from soloist.imports.synonyms import CUSTOMER_DETAILS, FIELDS
from soloist.storage.database import Database
from soloist.storage.models import AuditEntry, Customer


def test_the_details_an_import_reads_are_the_domain_customer_fields_but_the_contacts() -> None:
    assert sorted(CUSTOMER_DETAILS) == sorted(set(CUSTOMER_FIELDS) - set(CONTACT_FIELDS))
    assert set(CONTACT_FIELDS) <= set(FIELDS["customers"])
    assert set(CUSTOMER_FIELDS) <= set(Customer.__table__.c.keys())
    assert not set(CUSTOMER_DETAILS) & {f.name for f in CustomerRef.__dataclass_fields__.values()}


def _import(database: Database, kind: str, path: Path) -> int:
    with database.session() as session:
        report = import_file(session, kind, path, ImportOptions(), "test")
    return report.updated if kind == "customers" else report.imported


def _customer(database: Database) -> Customer:
    with database.session() as session:
        customer = session.scalars(select(Customer)).one()
        session.expunge(customer)
        return customer


def test_a_customers_file_overwrites_what_it_gives_and_other_files_only_fill_blanks(
    database: Database, tmp_path: Path
) -> None:
    people = tmp_path / "customers.csv"
    people.write_text(
        "customer id,name,email,company,address,birthday\nc1,Ana,ana@example.com,,1 Main St,\n"
    )
    orders = tmp_path / "orders.csv"
    orders.write_text(
        "order id,email,name,company,date,total\n"
        "1,ana@example.com,Someone Else,FillCo,2024-01-05,10.00\n"
    )
    _import(database, "customers", people)
    assert _import(database, "orders", orders) == 1
    filled = _customer(database)
    assert (filled.name, filled.company, filled.address) == ("Ana", "FillCo", "1 Main St")

    people.write_text(
        "customer id,name,email,company,address,birthday\n"
        "c1,Ana Lima,ana@example.com,NewCo,2 Side St,1990-02-03\n"
    )
    assert _import(database, "customers", people) == 1
    updated = _customer(database)
    assert (updated.name, updated.company, updated.address) == ("Ana Lima", "NewCo", "2 Side St")
    assert updated.birthday == dt.date(1990, 2, 3)
    assert _import(database, "customers", people) == 0  # the same file again changes nothing
    with database.session() as session:
        entries = session.scalars(
            select(AuditEntry).where(AuditEntry.action == "customer.updated_by_import")
        ).all()
        changes = [entry.changes for entry in entries]
    assert changes[-1]["company"] == ["FillCo", "NewCo"]
    assert changes[-1]["address"] == ["<set>", "<set>"]  # personal values never in the log
    assert "2 Side St" not in repr(changes)


def test_a_new_e_mail_phone_and_tags_reach_a_matched_customer(
    database: Database, tmp_path: Path
) -> None:
    people = tmp_path / "customers.csv"
    people.write_text("customer id,name,tags\nc1,Ana,vip\n")
    _import(database, "customers", people)
    people.write_text(
        "customer id,name,email,phone,tags\nc1,Ana,ana@example.com,+44 20 7946 0958,vip; 老客户\n"
    )
    assert _import(database, "customers", people) == 1
    with database.session() as session:
        customer = session.scalars(select(Customer)).one()
        assert (customer.email, customer.phone) == ("ana@example.com", "+442079460958")
        assert customer.email_hash
        assert customer.phone_hash
        assert customer.tag_names == ["vip", "老客户"]
        entry = session.scalars(
            select(AuditEntry).where(AuditEntry.action == "customer.updated_by_import")
        ).one()
        assert entry.changes["email"] == ["<changed>", "<set>"]


def test_text_longer_than_its_column_is_cut_to_fit(database: Database, tmp_path: Path) -> None:
    people = tmp_path / "customers.csv"
    people.write_text(
        "customer id,name,company,language,tags\n"
        f"c1,{'N' * 250},{'C' * 250},{'l' * 20},{'t' * 70}\n"
    )
    _import(database, "customers", people)
    with database.session() as session:
        customer = session.scalars(select(Customer)).one()
        assert (len(customer.name), len(customer.company or ""), customer.language) == (
            200,
            200,
            "l" * 16,
        )
        assert customer.tag_names == ["t" * 64]
        assert customer.source == "file"
