"""The demo's simulated bounces and unsubscribes suppress an address once per reason, as
``suppress_recipient`` does (a 300,000-customer demo failed on the suppressions' unique key)."""

from __future__ import annotations

from sqlalchemy import select

from soloist.domain.campaigns import add_suppressions
from soloist.domain.customers.records import CustomerCreate, create_customer
from soloist.storage.database import Database
from soloist.storage.models import Suppression


def test_an_address_is_suppressed_once_per_reason(sqlite_database: Database) -> None:
    with sqlite_database.session() as session:
        customer = create_customer(
            session, CustomerCreate(name="Ada", email="ada@example.com"), "test"
        )
        address = customer.email_hash
        assert address

        def bounce(reason: str = "hard_bounce") -> Suppression:
            return Suppression(
                channel="email", address_hash=address, reason=reason, customer_id=customer.id
            )

        add_suppressions(session, [bounce(), bounce()])  # twice in one batch
        add_suppressions(session, [bounce(), bounce("unsubscribed")])  # again, and a new reason
        kept = session.execute(select(Suppression.reason).order_by(Suppression.reason)).all()
    assert [reason for (reason,) in kept] == ["hard_bounce", "unsubscribed"]
