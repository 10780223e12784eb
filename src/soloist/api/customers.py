"""/api/v1/customers: list and search, create, read, update."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, status
from pydantic import BaseModel

from soloist.api.deps import Reader, ReadSession, Writer, WriteSession
from soloist.domain.customers import (
    CustomerCreate,
    CustomerPublic,
    CustomerUpdate,
    create_customer,
    get_customer,
    search_customers,
    update_customer,
)

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


@router.post("", response_model=CustomerPublic, status_code=status.HTTP_201_CREATED)
def post_customer(data: CustomerCreate, session: WriteSession, who: Writer) -> CustomerPublic:
    """Create a customer; contact details are stored encrypted."""
    return CustomerPublic.of(create_customer(session, data, who.actor))


@router.get("/{customer_id}", response_model=CustomerPublic)
def read_customer(customer_id: int, session: ReadSession, _: Reader) -> CustomerPublic:
    """One customer; 404 when there is none with this id."""
    return CustomerPublic.of(get_customer(session, customer_id))


@router.patch("/{customer_id}", response_model=CustomerPublic)
def patch_customer(
    customer_id: int, data: CustomerUpdate, session: WriteSession, who: Writer
) -> CustomerPublic:
    """Change the fields given; the others stay as they are (every change is audited)."""
    return CustomerPublic.of(update_customer(session, customer_id, data, who.actor))
