"""Customers: create, update, find, tag, consent — every change audited."""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, field_validator
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from soloist.domain.audit import describe_changes, record_audit
from soloist.domain.customers.contacts import email_lookup_hash, normalise_email, normalise_phone
from soloist.domain.customers.names import index_customer_names
from soloist.errors import ConflictError, NotFoundError, ValidationError
from soloist.storage.keys import keyring_for
from soloist.storage.models import Customer, CustomerTag

# The customer's own details: what a person types in, an import reads from a file (the import
# writers), a merge fills from the merged record, and every change audits. The one list: a new
# customer column is added here (tests/imports checks that the import cleaners read the same).
CUSTOMER_FIELDS = (
    "name",
    "company",
    "email",
    "phone",
    "address",
    "birthday",
    "notes",
    "country",
    "language",
)
# Of those, the ones found by a keyed hash (``email_hash``, ``phone_hash``) as well as stored.
CONTACT_FIELDS = ("email", "phone")
AUDITED_FIELDS = (*CUSTOMER_FIELDS, "source", "custom_fields", "external_id")


def _checked_email(value: str | None) -> str | None:
    try:
        return normalise_email(value)
    except ValidationError as exc:
        raise ValueError(exc.message) from exc


# An e-mail address as a request names it: normalised, or refused with the reason.
CheckedEmail = Annotated[str | None, AfterValidator(_checked_email)]


class CustomerFields(BaseModel):
    """Fields shared by create and update; contact details are normalised on the way in."""

    model_config = ConfigDict(str_strip_whitespace=True, extra="forbid")

    name: str | None = Field(default=None, max_length=200)
    company: str | None = Field(default=None, max_length=200)
    email: CheckedEmail = None
    phone: str | None = None
    address: str | None = None
    birthday: dt.date | None = None
    notes: str | None = None
    country: str | None = Field(default=None, min_length=2, max_length=2)
    language: str | None = Field(default=None, max_length=16)
    source: str | None = Field(default=None, max_length=50)
    external_id: str | None = Field(default=None, max_length=128)
    custom_fields: dict[str, Any] | None = None
    tags: list[str] | None = None

    @field_validator("country")
    @classmethod
    def _country(cls, value: str | None) -> str | None:
        return value.upper() if value else None

    @field_validator("tags")
    @classmethod
    def _tags(cls, value: list[str] | None) -> list[str] | None:
        if value is None:
            return None
        tags = sorted({tag.strip().lower() for tag in value if tag.strip()})
        for tag in tags:
            if len(tag) > 64:
                raise ValueError(f"tag longer than 64 characters: {tag[:20]}…")
        return tags


class CustomerCreate(CustomerFields):
    def model_post_init(self, _context: Any) -> None:
        if not (self.name or self.email or self.phone or self.external_id):
            raise ValueError("a customer needs at least a name, an e-mail, a phone or an id")


class CustomerUpdate(CustomerFields):
    """Only the fields that are present are changed; ``null`` clears a field."""


class CustomerPublic(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    external_id: str | None
    name: str
    company: str | None
    email: str | None
    phone: str | None
    address: str | None
    birthday: dt.date | None
    country: str | None
    language: str | None
    source: str | None
    status: str
    tags: list[str]
    custom_fields: dict[str, Any]
    created_at: dt.datetime
    updated_at: dt.datetime

    @classmethod
    def of(cls, customer: Customer) -> CustomerPublic:
        data = {name: getattr(customer, name) for name in cls.model_fields if name != "tags"}
        return cls(**data, tags=customer.tag_names)


def _snapshot(customer: Customer) -> dict[str, Any]:
    values = {field: getattr(customer, field) for field in AUDITED_FIELDS}
    values["tags"] = customer.tag_names
    return values


def _apply_contact(session: Session, customer: Customer, fields: dict[str, Any]) -> None:
    keyring = keyring_for(session)
    if "email" in fields:
        customer.email = fields["email"]
        customer.email_hash = (
            keyring.lookup_hash(fields["email"], "email") if fields["email"] else None
        )
    if "phone" in fields:
        region = fields.get("country") or customer.country
        try:
            phone = normalise_phone(fields["phone"], region)
        except ValidationError as exc:
            raise ValidationError(exc.message, field="phone") from exc
        customer.phone = phone
        customer.phone_hash = keyring.lookup_hash(phone, "phone") if phone else None


def _set_tags(customer: Customer, tags: list[str]) -> None:
    current = {t.tag: t for t in customer.tags}
    for tag in set(current) - set(tags):
        customer.tags.remove(current[tag])
    for tag in sorted(set(tags) - set(current)):
        customer.tags.append(CustomerTag(tag=tag))


def _ensure_unique_email(session: Session, email_hash: str | None, except_id: int | None) -> None:
    if email_hash is None:
        return
    # The status is checked on the few rows with this hash: in the query, SQLite's planner
    # could walk every active customer by the status index instead (23 ms at 100,000).
    rows = session.execute(
        select(Customer.id, Customer.status).where(Customer.email_hash == email_hash)
    ).all()
    existing = next((row.id for row in rows if row.status == "active"), None)
    if existing is not None and existing != except_id:
        raise ConflictError(
            f"Customer {existing} already has this e-mail address.", customer_id=existing
        )


def _ensure_unique_external_id(
    session: Session, external_id: str | None, except_id: int | None
) -> None:
    if external_id is None:
        return
    existing = session.scalar(select(Customer.id).where(Customer.external_id == external_id))
    if existing is not None and existing != except_id:
        raise ConflictError(
            f"Customer {existing} already has the id {external_id!r}.",
            customer_id=existing,
            field="external_id",
        )


def create_customer(session: Session, data: CustomerCreate, actor: str) -> Customer:
    """Add a customer. Refuses (409) an e-mail address that an active customer already has, and
    an ``external_id`` that any customer has."""
    fields = data.model_dump(exclude_unset=True)
    customer = Customer(name=fields.pop("name", None) or "", custom_fields={}, status="active")
    tags = fields.pop("tags", None) or []
    contact: dict[str, Any] = {k: fields.pop(k) for k in ("email", "phone") if k in fields}
    for key, value in fields.items():
        setattr(customer, key, value if key != "custom_fields" else dict(value or {}))
    _apply_contact(session, customer, {**contact, "country": customer.country})
    _ensure_unique_email(session, customer.email_hash, None)
    _ensure_unique_external_id(session, customer.external_id, None)
    customer.first_seen_at = customer.first_seen_at or dt.datetime.now(dt.UTC)
    _set_tags(customer, tags)
    session.add(customer)
    session.flush()
    index_customer_names(session, {customer.id: (customer.name, customer.company)}, fresh=True)
    record_audit(
        session,
        actor,
        "customer.created",
        "customer",
        customer.id,
        describe_changes({}, _snapshot(customer)),
    )
    return customer


def update_customer(
    session: Session, customer_id: int, data: CustomerUpdate, actor: str
) -> Customer:
    # Locked for the transaction (SELECT … FOR UPDATE; SQLite's writer already holds the lock):
    # concurrent updates of one customer on PostgreSQL or MariaDB then change it one after the
    # other, each on the state the previous one committed, instead of replacing the same tag
    # rows side by side (a deadlock on MariaDB, a stale DELETE on PostgreSQL).
    customer = session.get(Customer, customer_id, with_for_update=True)
    if customer is None:
        raise NotFoundError(f"No customer with id {customer_id}.", customer_id=customer_id)
    before = _snapshot(customer)
    fields = data.model_dump(exclude_unset=True)
    tags = fields.pop("tags", None)
    contact: dict[str, Any] = {k: fields.pop(k) for k in ("email", "phone") if k in fields}
    if "external_id" in fields:  # before any change, which a query would flush
        _ensure_unique_external_id(session, fields["external_id"], customer.id)
    for key, value in fields.items():
        if key == "name" and value is None:
            raise ValidationError("A customer's name cannot be cleared.", field="name")
        setattr(customer, key, dict(value or {}) if key == "custom_fields" else value)
    _apply_contact(session, customer, {**contact, "country": customer.country})
    if "email" in contact:
        _ensure_unique_email(session, customer.email_hash, customer.id)
    if tags is not None:
        _set_tags(customer, tags)
    changes = describe_changes(before, _snapshot(customer))
    if changes:
        session.flush()
        if "name" in changes or "company" in changes:
            index_customer_names(session, {customer.id: (customer.name, customer.company)})
        record_audit(session, actor, "customer.updated", "customer", customer.id, changes)
    return customer


def customer_names(session: Session, ids: set[int]) -> dict[int, str]:
    """The names of the customers ``ids``, in one query (a page of a list names fifty);
    ``#id`` for a customer without a name."""
    if not ids:
        return {}
    rows = session.execute(select(Customer.id, Customer.name).where(Customer.id.in_(ids)))
    return {int(cid): name or f"#{cid}" for cid, name in rows}


def get_customer(session: Session, customer_id: int) -> Customer:
    customer = session.get(Customer, customer_id)
    if customer is None:
        raise NotFoundError(f"No customer with id {customer_id}.", customer_id=customer_id)
    return customer


def find_customer_by_email(session: Session, email: str) -> Customer | None:
    """Exact lookup through the keyed hash of the normalised address (the column is encrypted)."""
    digest = email_lookup_hash(session, email)
    if digest is None:
        return None
    query = select(Customer).where(Customer.email_hash == digest).order_by(Customer.id)
    return session.scalars(query).first()


def find_customer_by_phone(
    session: Session, phone: str, region: str | None = None
) -> Customer | None:
    normalised = normalise_phone(phone, region)
    if normalised is None:
        return None
    digest = keyring_for(session).lookup_hash(normalised, "phone")
    query = select(Customer).where(Customer.phone_hash == digest).order_by(Customer.id)
    return session.scalars(query).first()


def search_customers(
    session: Session,
    q: str | None = None,
    *,
    tag: str | None = None,
    limit: int = 50,
    offset: int = 0,
    include_inactive: bool = False,
) -> tuple[list[Customer], int]:
    """Customers matching ``q`` (words of the name or company, exact e-mail, phone or id)."""
    if not 1 <= limit <= 500:
        raise ValidationError("limit must be between 1 and 500.", field="limit")
    if offset < 0:
        raise ValidationError("offset must not be negative.", field="offset")
    query = select(Customer)
    if not include_inactive:
        query = query.where(Customer.status == "active")
    if tag:
        query = query.where(
            Customer.id.in_(select(CustomerTag.customer_id).where(CustomerTag.tag == tag.lower()))
        )
    if q and q.strip():
        from soloist.domain.customers.listing import search_conditions

        query = query.where(search_conditions(session, q.strip()))
    total = session.scalar(select(func.count()).select_from(query.subquery())) or 0
    items = session.scalars(query.order_by(Customer.id).limit(limit).offset(offset)).all()
    return list(items), int(total)


def add_customers_bulk(
    session: Session,
    rows: list[CustomerCreate],
    actor: str,
    note: str,
    first_seen: list[dt.datetime] | None = None,
) -> list[int]:
    """Insert many new customers in batches (imports, the demo); returns their ids in order.

    Contact details are normalised and hashed exactly as :func:`create_customer` does; the
    encrypted columns are encrypted by their column type. One audit entry records the batch.
    """
    from sqlalchemy import insert

    from soloist.storage.bulk import insert_returning_ids  # Polars: not at every start

    keyring = keyring_for(session)
    now = dt.datetime.now(dt.UTC)
    records: list[dict[str, Any]] = []
    tag_lists: list[list[str]] = []
    for index, row in enumerate(rows):
        fields = row.model_dump()
        phone = normalise_phone(fields["phone"], fields["country"]) if fields["phone"] else None
        tag_lists.append(fields.pop("tags") or [])
        records.append(
            {
                **fields,
                "name": fields["name"] or "",
                "phone": phone,
                "custom_fields": fields["custom_fields"] or {},
                "email_hash": keyring.lookup_hash(fields["email"], "email")
                if fields["email"]
                else None,
                "phone_hash": keyring.lookup_hash(phone, "phone") if phone else None,
                "status": "active",
                "first_seen_at": first_seen[index] if first_seen else now,
                "created_at": now,
                "updated_at": now,
            }
        )
    ids: list[int] = []
    if records:
        ids = insert_returning_ids(session, Customer, records)
        names = {cid: (r["name"], r.get("company")) for cid, r in zip(ids, records, strict=True)}
        index_customer_names(session, names, fresh=True)
    tag_rows = [
        {"customer_id": cid, "tag": tag}
        for cid, tags in zip(ids, tag_lists, strict=True)
        for tag in tags
    ]
    if tag_rows:
        session.execute(insert(CustomerTag), tag_rows)
    record_audit(
        session, actor, "customers.bulk_added", "customer", None, {"count": len(ids), "note": note}
    )
    return ids
