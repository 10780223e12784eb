"""The customers of an import: match each to one in the database, create the rest in bulk, and
bring the matched ones up to date.

A customer is found by external id, then the keyed e-mail hash, then the phone hash, following
merges. A customers file overwrites a matched customer's details with the values it gives; other
files only fill what is blank. With ``apply=False`` nothing is written: the counts are what the
import would do.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from soloist.domain.audit import describe_changes, record_audit
from soloist.domain.customers.contacts import normalise_email, normalise_phone
from soloist.domain.customers.names import index_customer_names
from soloist.domain.customers.records import CONTACT_FIELDS, CUSTOMER_FIELDS
from soloist.errors import ValidationError
from soloist.imports.clean import Cleaned, CustomerRef
from soloist.storage.bulk import among, chunks, core_insert
from soloist.storage.keys import keyring_for
from soloist.storage.models import Customer, CustomerTag
from soloist.storage.types import utcnow
from soloist.vocabulary import clipped

# The details an import writes: the customer's fields but the e-mail and phone, which are
# matched and compared by their keyed hashes.
_DETAILS = tuple(name for name in CUSTOMER_FIELDS if name not in CONTACT_FIELDS)
Hashes = tuple[str | None, str | None]  # (e-mail hash, phone hash) of a file's customer


@dataclass
class Resolved:
    """Customer keys of the file mapped to customer ids (None: to be created)."""

    ids: dict[str, int | None] = field(default_factory=dict)
    alias: dict[str, str] = field(default_factory=dict)  # key -> key of the same person
    hashes: dict[str, Hashes] = field(default_factory=dict)
    matched: int = 0
    created: int = 0
    updated: int = 0

    def existing_id(self, key: str) -> int | None:
        """The id of the customer behind ``key`` if they are in the database already."""
        return self.ids.get(self.alias.get(key, key))

    def id_of(self, key: str) -> int:
        customer_id = self.ids[self.alias.get(key, key)]
        assert customer_id is not None
        return customer_id


def normalise_contacts(cleaned: Cleaned, columns: dict[str, str], region: str | None) -> None:
    """Normalise e-mails and phones in place; a bad one makes its customer invalid."""
    for ref in cleaned.customers.values():
        try:
            ref.email = normalise_email(ref.email)
        except ValidationError as exc:
            cleaned.add_error(ref.row, columns.get("email", "email"), exc.message, "bad e-mail")
            ref.email = None
            cleaned.bad_customers.add(ref.key)
        try:
            ref.phone = normalise_phone(ref.phone, ref.details.get("country") or region)
        except ValidationError as exc:
            cleaned.add_error(ref.row, columns.get("phone", "phone"), exc.message, "bad phone")
            ref.phone = None
            cleaned.bad_customers.add(ref.key)


def _lookup(session: Session, column: Any, values: list[str]) -> list[Any]:
    rows: list[Any] = []
    fields = (
        Customer.id,
        Customer.external_id,
        Customer.email_hash,
        Customer.phone_hash,
        Customer.status,
        Customer.merged_into_id,
    )
    for part in chunks(sorted(set(values))):
        rows.extend(session.execute(select(*fields).where(among(session, column, part))).all())
    return rows


def _follow_merges(session: Session, rows: dict[int, Any]) -> dict[int, int]:
    """Customer id -> the active customer it was merged into (itself when active)."""
    target: dict[int, int] = {}
    for customer_id, row in rows.items():
        current, hops = row, 0
        while current.status == "merged" and current.merged_into_id and hops < 20:
            nxt = session.execute(
                select(Customer.id, Customer.status, Customer.merged_into_id).where(
                    Customer.id == current.merged_into_id
                )
            ).one()
            current, hops = nxt, hops + 1
        target[customer_id] = current.id
    return target


def _by_hash(rows: list[Any], column: str) -> dict[str, Any]:
    """Rows by their hash in ``column``; of two with one hash, an active one."""
    found: dict[str, Any] = {}
    for row in rows:
        value = getattr(row, column)
        if value not in found or found[value].status != "active":
            found[value] = row
    return found


def _found(session: Session, refs: list[CustomerRef], out: Resolved) -> dict[str, Any]:
    """File key -> the database row of that customer, for those already there."""
    by_external = {
        r.external_id: r
        for r in _lookup(
            session, Customer.external_id, [ref.external_id for ref in refs if ref.external_id]
        )
    }
    emails = [h for h, _ in out.hashes.values() if h]
    phones = [p for _, p in out.hashes.values() if p]
    by_email = _by_hash(_lookup(session, Customer.email_hash, emails), "email_hash")
    by_phone = _by_hash(_lookup(session, Customer.phone_hash, phones), "phone_hash")
    found: dict[str, Any] = {}
    for ref in refs:
        email_hash, phone_hash = out.hashes[ref.key]
        row = (
            (by_external.get(ref.external_id) if ref.external_id else None)
            or (by_email.get(email_hash) if email_hash else None)
            or (by_phone.get(phone_hash) if phone_hash else None)
        )
        if row is not None:
            found[ref.key] = row
    return found


def resolve_customers(
    session: Session,
    refs: Iterable[CustomerRef],
    *,
    overwrite: bool,
    apply: bool,
    actor: str,
    source: str,
) -> Resolved:
    """Match each customer of the file to one in the database (external id, then the keyed
    e-mail hash, then the phone hash, following merges); create the rest in bulk. Customers of
    the file with one e-mail or phone are one person (``Resolved.alias``)."""
    keyring = keyring_for(session)
    refs = list(refs)
    out = Resolved()
    for ref in refs:
        email_hash = keyring.lookup_hash(ref.email, "email") if ref.email else None
        phone_hash = keyring.lookup_hash(ref.phone, "phone") if ref.phone else None
        out.hashes[ref.key] = (email_hash, phone_hash)
    found = _found(session, refs, out)
    targets = _follow_merges(session, {row.id: row for row in found.values()})
    first_by_hash: dict[str, str] = {}
    new_refs: list[CustomerRef] = []
    for ref in refs:
        if ref.key in found:
            out.ids[ref.key] = targets[found[ref.key].id]
            out.matched += 1
            continue
        hashes = [h for h in out.hashes[ref.key] if h]
        same = next((first_by_hash[h] for h in hashes if h in first_by_hash), None)
        if same is not None:
            out.alias[ref.key] = same
            continue
        first_by_hash.update(dict.fromkeys(hashes, ref.key))
        out.ids[ref.key] = None
        new_refs.append(ref)
    out.created = len(new_refs)
    if apply:
        _update_matched(session, refs, out, overwrite=overwrite, actor=actor)
        if new_refs:
            _create(session, new_refs, out, actor=actor, source=source)
    else:
        out.updated = sum(1 for ref in refs if ref.key in found and ref.details)
    return out


def _create(
    session: Session, refs: list[CustomerRef], out: Resolved, *, actor: str, source: str
) -> None:
    """Insert new customers in bulk, then read their ids back by their keys (external id, or
    the e-mail or phone hash) — executemany without RETURNING is the fast path on every engine."""
    now = utcnow()
    before = session.scalar(select(func.max(Customer.id))) or 0
    rows: list[dict[str, Any]] = []
    for ref in refs:
        email_hash, phone_hash = out.hashes[ref.key]
        details = {name: ref.details.get(name) for name in _DETAILS}
        rows.append(
            {
                "external_id": ref.external_id,
                **details,
                "name": details["name"] or "",  # the one detail that is never null
                "email": ref.email,
                "email_hash": email_hash,
                "phone": ref.phone,
                "phone_hash": phone_hash,
                "source": clipped(source, "customers.source"),
                "custom_fields": {},
                "status": "active",
                "first_seen_at": ref.first_seen or now,
                "created_at": now,
                "updated_at": now,
            }
        )
    core_insert(session, Customer, rows)
    by_key: dict[str, int] = {}
    names: dict[int, tuple[str | None, str | None]] = {}
    for row in session.execute(
        select(Customer.id, Customer.external_id, Customer.email_hash, Customer.phone_hash)
        .where(Customer.id > before)
        .order_by(Customer.id)
    ):
        for key in (row.external_id, row.email_hash, row.phone_hash):
            if key:
                by_key.setdefault(key, row.id)
    tag_rows: list[dict[str, Any]] = []
    for ref in refs:
        email_hash, phone_hash = out.hashes[ref.key]
        customer_id = next(
            by_key[k] for k in (ref.external_id, email_hash, phone_hash) if k and k in by_key
        )
        out.ids[ref.key] = customer_id
        names[customer_id] = (ref.details.get("name"), ref.details.get("company"))
        tag_rows.extend({"customer_id": customer_id, "tag": tag} for tag in ref.tags or [])
    if tag_rows:
        core_insert(session, CustomerTag, tag_rows)
    index_customer_names(session, names, fresh=True)
    record_audit(
        session,
        actor,
        "customers.bulk_added",
        "customer",
        None,
        {"count": len(refs), "note": f"import from {source}"},
    )


def _takes(current: Any, value: Any, overwrite: bool) -> bool:
    """Whether the file's ``value`` replaces the ``current`` one: a customers file overwrites,
    other files only fill a blank."""
    return value != current and (overwrite or current in (None, ""))


def _wanted(ref: CustomerRef) -> dict[str, Any]:
    """The details the file gives for this customer."""
    return {name: ref.details[name] for name in _DETAILS if name in ref.details}


def _update_matched(
    session: Session, refs: list[CustomerRef], out: Resolved, *, overwrite: bool, actor: str
) -> None:
    """Bring matched customers up to date: a customers file overwrites with the values it
    gives; other files only fill what is blank. Every change is audited."""
    matched: dict[int, CustomerRef] = {}
    for ref in refs:
        customer_id = out.ids.get(ref.key)
        if customer_id and ref.key not in out.alias:
            matched[customer_id] = ref
    stored = _stored(session, list(matched))
    for customer_id, ref in matched.items():
        hashes = out.hashes[ref.key]
        if not _may_change(stored[customer_id], ref, hashes, overwrite=overwrite):
            continue
        if _update_one(session, customer_id, ref, hashes, overwrite=overwrite, actor=actor):
            out.updated += 1


def _stored(session: Session, customer_ids: list[int]) -> dict[int, Any]:
    """Customer id -> the row of what a query can compare without loading the customer."""
    columns = (
        Customer.id,
        *(getattr(Customer, name) for name in _DETAILS),  # decrypted by their column types
        Customer.email_hash,
        Customer.phone_hash,
        Customer.external_id,
    )
    rows: dict[int, Any] = {}
    for part in chunks(sorted(customer_ids)):
        for row in session.execute(select(*columns).where(among(session, Customer.id, part))):
            rows[row.id] = row
    return rows


def _may_change(row: Any, ref: CustomerRef, hashes: Hashes, *, overwrite: bool) -> bool:
    """Whether the file may change this customer, judged on the ``row`` a query read (a tag
    can only be compared once the customer is loaded)."""
    wanted = _wanted(ref)
    if ref.tags:
        return True
    email_hash, phone_hash = hashes
    return (
        any(_takes(getattr(row, name), value, overwrite) for name, value in wanted.items())
        or bool(email_hash and _takes(row.email_hash, email_hash, overwrite))
        or bool(phone_hash and _takes(row.phone_hash, phone_hash, overwrite))
        or bool(ref.external_id and not row.external_id)
    )


def _audited(customer: Customer) -> dict[str, Any]:
    return {name: getattr(customer, name) for name in _DETAILS} | {"tags": customer.tag_names}


def _apply(
    customer: Customer, ref: CustomerRef, hashes: Hashes, *, overwrite: bool
) -> dict[str, Any]:
    """Set what the file changes on ``customer``: field -> what the audit log shows of it."""
    changed: dict[str, Any] = {}
    for name, value in _wanted(ref).items():
        if _takes(getattr(customer, name), value, overwrite):
            setattr(customer, name, value)
            changed[name] = value
    email_hash, phone_hash = hashes
    if ref.email and _takes(customer.email_hash, email_hash, overwrite):
        customer.email, customer.email_hash = ref.email, email_hash
        changed["email"] = "<set>"
    if ref.phone and _takes(customer.phone_hash, phone_hash, overwrite):
        customer.phone, customer.phone_hash = ref.phone, phone_hash
        changed["phone"] = "<set>"
    if ref.external_id and not customer.external_id:
        customer.external_id = ref.external_id
        changed["external_id"] = ref.external_id
    new_tags = sorted(set(ref.tags or ()) - set(customer.tag_names))
    customer.tags.extend(CustomerTag(tag=tag) for tag in new_tags)
    if new_tags:
        changed["tags"] = ref.tags
    return changed


def _update_one(
    session: Session,
    customer_id: int,
    ref: CustomerRef,
    hashes: Hashes,
    *,
    overwrite: bool,
    actor: str,
) -> bool:
    """Apply the file to one matched customer and audit the change; whether anything changed."""
    customer = session.get(Customer, customer_id)
    assert customer is not None
    before = _audited(customer)
    changed = _apply(customer, ref, hashes, overwrite=overwrite)
    if not changed:
        return False
    changes = describe_changes(before, _audited(customer))
    for name in ("email", "phone", "external_id"):  # not details: the contacts shown as set
        if name in changed:
            changes[name] = ["<changed>", changed[name]]
    session.flush()
    if "name" in changed or "company" in changed:
        index_customer_names(session, {customer.id: (customer.name, customer.company)})
    record_audit(session, actor, "customer.updated_by_import", "customer", customer.id, changes)
    return True
