"""/api/v1/customers: list and search, create (and enrol), read, update (consents: api.consents)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, Query, status
from pydantic import BaseModel
from sqlalchemy.orm import Session

from soloist.api.deps import DatabaseDep, Reader, ReadSession, Writer, WriteSession
from soloist.domain.customers import (
    CustomerCreate,
    CustomerPublic,
    CustomerUpdate,
    get_customer,
    search_customers,
    update_customer,
)
from soloist.domain.intake import add_customer
from soloist.storage.retry import run_in_transaction

router = APIRouter(prefix="/api/v1/customers", tags=["customers"])


class CustomerPage(BaseModel):
    items: list[CustomerPublic]
    total: int
    limit: int
    offset: int


@router.get("", response_model=CustomerPage)
def list_customers(
    session: ReadSession,
    _: Reader,
    q: Annotated[str | None, Query(description="Name, company, exact e-mail, phone or id.")] = None,
    tag: Annotated[str | None, Query(description="Only customers with this tag.")] = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
    offset: Annotated[int, Query(ge=0)] = 0,
) -> CustomerPage:
    """Customers matching ``q`` (and ``tag``), a page at a time, with the total."""
    items, total = search_customers(session, q, tag=tag, limit=limit, offset=offset)
    return CustomerPage(
        items=[CustomerPublic.of(c) for c in items], total=total, limit=limit, offset=offset
    )


CustomerId = Annotated[int, Path(ge=1, le=2**63 - 1)]


@router.post("", response_model=CustomerPublic, status_code=status.HTTP_201_CREATED)
def post_customer(data: CustomerCreate, database: DatabaseDep, who: Writer) -> CustomerPublic:
    """Create a customer; contact details are stored encrypted. The customer is enrolled in the
    loyalty programme when its rules say so (`enrol_new_customers`; the holdout share applies)."""

    def work(session: Session) -> CustomerPublic:
        customer = add_customer(session, data, who.actor, currency=database.settings.currency)
        return CustomerPublic.of(customer)

    return run_in_transaction(database, work)


@router.get("/{customer_id}", response_model=CustomerPublic)
def read_customer(customer_id: CustomerId, session: ReadSession, _: Reader) -> CustomerPublic:
    """One customer; 404 when there is none with this id."""
    return CustomerPublic.of(get_customer(session, customer_id))


@router.patch("/{customer_id}", response_model=CustomerPublic)
def patch_customer(
    customer_id: CustomerId, data: CustomerUpdate, session: WriteSession, who: Writer
) -> CustomerPublic:
    """Change the fields given; the others stay as they are (every change is audited)."""
    return CustomerPublic.of(update_customer(session, customer_id, data, who.actor))
