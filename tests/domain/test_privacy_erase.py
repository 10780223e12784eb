"""Erasing a person: every trace of their personal data goes, on every engine, while their
orders and points stay (anonymised) and their address stays suppressed as a keyed hash."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import func, select

from soloist.demo.business import build_demo
from soloist.domain.backups.tables import encoded_rows
from soloist.domain.campaigns.audience import suppressed_addresses
from soloist.domain.customers import CustomerCreate, create_customer, search_customers
from soloist.domain.interactions import log_interaction
from soloist.domain.loyalty import points_balance
from soloist.domain.privacy import erase_person
from soloist.domain.service import Desk, open_ticket
from soloist.storage.database import Database
from soloist.storage.models import AuditEntry, Base, Customer, Order

NAME, NOTE = "Zelda Quonsett", "allergic to hazelnut, lives above the bakery"


def _everything(database: Database, *, but: str = "") -> str:
    """Every value of every table (but one), decrypted, as one text to search."""
    with database.engine.connect() as connection:
        return "\n".join(
            str(row) for table in Base.metadata.sorted_tables if table.name != but
            for row in encoded_rows(connection, table)
        )  # fmt: skip


def test_erasure_removes_every_trace_and_keeps_the_business_records(database: Database) -> None:
    with database.session() as session:
        build_demo(session, customers=30, seed=11, end_date=dt.date(2026, 6, 30))
    with database.session() as session:
        customer_id = session.scalars(
            select(Order.customer_id).join(Customer).where(Customer.email.is_not(None))
            .group_by(Order.customer_id).order_by(Order.customer_id)
        ).first()  # fmt: skip
        person = session.get(Customer, customer_id)
        assert person is not None
        email, email_hash = person.email, person.email_hash
        assert email is not None
        person.name, person.notes = NAME, NOTE
        log_interaction(session, customer_id, "call", "user:1", subject=f"Call with {NAME}",
                        body=NOTE)  # fmt: skip
        desk = Desk.of(session, database.settings)
        open_ticket(session, desk, f"{NAME}: grinder broken", f"Hello, this is {NAME}.",
                    "customer:mail", customer_id=customer_id)  # fmt: skip
    with database.read_session() as session:
        orders_before = session.execute(
            select(func.count(Order.id), func.sum(Order.total_minor))
            .where(Order.customer_id == customer_id)
        ).one()  # fmt: skip
        points_before = points_balance(session, customer_id)
    assert NAME in _everything(database)

    with database.session() as session:
        erasure = erase_person(session, customer_id, "user:1")
    assert erasure.changed["tickets"] >= 1

    # the keyed hash of the address stays in the suppression list only, on purpose
    everything = _everything(database, but="suppressions")
    for trace in (NAME, NOTE, email, email_hash):
        assert trace not in everything
    with database.session() as session:
        assert session.get(Customer, customer_id).status == "erased"  # type: ignore[union-attr]
        assert search_customers(session, email)[1] == 0
        orders_after = session.execute(
            select(func.count(Order.id), func.sum(Order.total_minor))
            .where(Order.customer_id == customer_id)
        ).one()  # fmt: skip
        assert tuple(orders_after) == tuple(orders_before)
        assert points_balance(session, customer_id) == points_before
        erased = session.scalars(
            select(AuditEntry).where(AuditEntry.action == "customer.erased")
        ).one()
        assert erased.entity_id == str(customer_id)
        # the same address, imported again later, is never mailed
        again = create_customer(session, CustomerCreate(name="New", email=email), "import")
        assert again.email_hash is not None
        assert suppressed_addresses(session, "email", [again.email_hash]) == {
            again.email_hash: "erased"
        }
