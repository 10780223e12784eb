"""Customers arriving live: created through the API or by an order, enrolled as the rules say."""

from __future__ import annotations

import datetime as dt

from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy import select
from sqlalchemy.orm import Session

from soloist.domain.customers.contacts import email_lookup_hash
from soloist.domain.customers.records import CheckedEmail, CustomerCreate, create_customer
from soloist.domain.loyalty.programme import enrol_new_customer
from soloist.errors import ValidationError
from soloist.storage.locks import hold_named_lock
from soloist.storage.models import Customer
from soloist.storage.types import utcnow


class CustomerRef(BaseModel):
    """A customer named by another system: found by e-mail, created with the name if new."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    email: CheckedEmail = Field(default=None, max_length=320)
    name: str | None = Field(default=None, max_length=200)


def add_customer(
    session: Session,
    data: CustomerCreate,
    actor: str,
    *,
    at: dt.datetime | None = None,
    currency: str | None = None,
) -> Customer:
    """Create a customer and enrol them when the programme's rules say so (the holdout applies).

    ``currency`` is the workspace's, for a programme that launches with this first member.
    A customer arriving with an e-mail address waits for any other arrival of that address, so
    the uniqueness check sees it.
    """
    digest = email_lookup_hash(session, data.email) if data.email else None
    if digest is not None:
        _serialise_on_email(session, digest)
    customer = create_customer(session, data, actor)
    enrol_new_customer(
        session,
        customer.id,
        actor,
        at=at or utcnow(),
        currency=currency,
    )
    return customer


def _serialise_on_email(session: Session, digest: str) -> None:
    """Make concurrent arrivals of one new e-mail address wait for each other (a named lock,
    see :mod:`soloist.storage.locks`); the lookup after it is a locking read, which sees what
    the arrival before it committed."""
    hold_named_lock(session, f"soloist:customer-email:{digest}")


def customer_for(
    session: Session,
    ref: CustomerRef,
    actor: str,
    *,
    at: dt.datetime | None = None,
    currency: str | None = None,
) -> Customer:
    """The customer with this e-mail address, or a new one (enrolled as of ``at``).

    A customer created by an order joins at the order's time, so the order that brought them
    earns its points.
    """
    if not ref.email:
        raise ValidationError("An order's customer needs an e-mail address.", field="customer")
    digest = email_lookup_hash(session, ref.email)
    if digest is not None:
        _serialise_on_email(session, digest)
    # A locking read sees the newest committed rows (the arrival before this one may have
    # created the customer a moment ago), whatever the isolation level.
    found = session.scalars(
        select(Customer)
        .where(Customer.email_hash == digest, Customer.status == "active")
        .order_by(Customer.id)
        .with_for_update()
        .execution_options(populate_existing=True)
    ).first()
    if found is not None:
        return found
    when = min(at, utcnow()) if at is not None else utcnow()
    return add_customer(
        session,
        CustomerCreate(name=ref.name or None, email=ref.email, source="api"),
        actor,
        at=when,
        currency=currency,
    )
