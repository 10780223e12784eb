"""Writing cleaned import rows: resolve customers, then insert or update in bulk.

Each ``write_*`` function compares the file's rows with what the database holds under the same
natural keys and returns counts: ``imported`` (new), ``updated`` (changed) and ``unchanged``. With
``apply=False`` it only counts, which is how a dry run reports exactly what an import would do.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from soloist.domain.audit import describe_changes, insert_rows, record_audit
from soloist.domain.customers.contacts import normalise_email, normalise_phone
from soloist.errors import ValidationError
from soloist.imports.clean.tables import (
    Cleaned,
    CustomerRef,
    FeedbackDraft,
    InteractionDraft,
    SubscriptionDraft,
)
from soloist.storage.bulk import among, chunks, core_insert
from soloist.storage.keys import keyring_for
from soloist.storage.models import (
    Customer,
    CustomerTag,
    Interaction,
    Review,
    Subscription,
    SurveyResponse,
)


@dataclass
class Counts:
    imported: int = 0
    updated: int = 0
    unchanged: int = 0
    extra: dict[str, int] = field(default_factory=dict)


@dataclass
class Resolved:
    """Customer keys of the file mapped to customer ids (None: to be created)."""

    ids: dict[str, int | None] = field(default_factory=dict)
    alias: dict[str, str] = field(default_factory=dict)  # key -> key of the same person
    hashes: dict[str, tuple[str | None, str | None]] = field(default_factory=dict)
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
            ref.phone = normalise_phone(ref.phone, ref.country or region)
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
    e-mail hash, then the phone hash, following merges); create the rest in bulk."""
    keyring = keyring_for(session)
    refs = list(refs)
    out = Resolved()
    for ref in refs:
        email_hash = keyring.lookup_hash(ref.email, "email") if ref.email else None
        phone_hash = keyring.lookup_hash(ref.phone, "phone") if ref.phone else None
        out.hashes[ref.key] = (email_hash, phone_hash)
    by_external = {
        r.external_id: r
        for r in _lookup(
            session, Customer.external_id, [ref.external_id for ref in refs if ref.external_id]
        )
    }
    by_email: dict[str, Any] = {}
    for row in _lookup(session, Customer.email_hash, [h for h, _ in out.hashes.values() if h]):
        if row.email_hash not in by_email or by_email[row.email_hash].status != "active":
            by_email[row.email_hash] = row
    by_phone: dict[str, Any] = {}
    for row in _lookup(session, Customer.phone_hash, [p for _, p in out.hashes.values() if p]):
        if row.phone_hash not in by_phone or by_phone[row.phone_hash].status != "active":
            by_phone[row.phone_hash] = row
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
    targets = _follow_merges(session, {row.id: row for row in found.values()})
    first_by_hash: dict[str, str] = {}
    new_refs: list[CustomerRef] = []
    for ref in refs:
        if ref.key in found:
            out.ids[ref.key] = targets[found[ref.key].id]
            out.matched += 1
            continue
        email_hash, phone_hash = out.hashes[ref.key]
        same = next(
            (first_by_hash[h] for h in (email_hash, phone_hash) if h and h in first_by_hash), None
        )
        if same is not None:
            out.alias[ref.key] = same
            continue
        for h in (email_hash, phone_hash):
            if h:
                first_by_hash[h] = ref.key
        out.ids[ref.key] = None
        new_refs.append(ref)
    out.created = len(new_refs)
    if apply:
        _update_matched(session, refs, out, overwrite=overwrite, actor=actor)
        if new_refs:
            _create(session, new_refs, out, actor=actor, source=source)
    else:
        out.updated = sum(1 for ref in refs if ref.key in found and ref.details())
    return out


def _create(
    session: Session, refs: list[CustomerRef], out: Resolved, *, actor: str, source: str
) -> None:
    """Insert new customers in bulk, then read their ids back by their keys (external id, or
    the e-mail or phone hash) — executemany without RETURNING is the fast path on every engine."""
    now = dt.datetime.now(dt.UTC)
    before = session.scalar(select(func.max(Customer.id))) or 0
    rows: list[dict[str, Any]] = []
    for ref in refs:
        email_hash, phone_hash = out.hashes[ref.key]
        rows.append(
            {
                "external_id": ref.external_id,
                "name": ref.name or "",
                "company": ref.company,
                "email": ref.email,
                "email_hash": email_hash,
                "phone": ref.phone,
                "phone_hash": phone_hash,
                "address": ref.address,
                "birthday": ref.birthday,
                "notes": ref.notes,
                "country": ref.country,
                "language": ref.language,
                "source": source[:50],
                "custom_fields": {},
                "status": "active",
                "first_seen_at": ref.first_seen or now,
                "created_at": now,
                "updated_at": now,
            }
        )
    core_insert(session, Customer, rows)
    by_key: dict[str, int] = {}
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
        tag_rows.extend({"customer_id": customer_id, "tag": tag} for tag in ref.tags or [])
    if tag_rows:
        core_insert(session, CustomerTag, tag_rows)
    record_audit(
        session,
        actor,
        "customers.bulk_added",
        "customer",
        None,
        {"count": len(refs), "note": f"import from {source}"},
    )


_PLAIN = ("name", "company", "country", "language")
_SECRET = ("address", "birthday", "notes")


def _update_matched(
    session: Session, refs: list[CustomerRef], out: Resolved, *, overwrite: bool, actor: str
) -> None:
    """Bring matched customers up to date: a customers file overwrites with the values it
    gives; other files only fill what is blank. Every change is audited."""
    keyring = keyring_for(session)
    matched = {
        out.ids[ref.key]: ref for ref in refs if out.ids.get(ref.key) and ref.key not in out.alias
    }
    plain = (
        Customer.id,
        *(getattr(Customer, n) for n in _PLAIN),
        Customer.email_hash,
        Customer.phone_hash,
        Customer.external_id,
    )
    current_rows: dict[int, Any] = {}
    for part in chunks(sorted(c for c in matched if c is not None)):
        for row in session.execute(select(*plain).where(among(session, Customer.id, part))):
            current_rows[row.id] = row
    for customer_id, ref in matched.items():
        assert customer_id is not None
        wanted = ref.details()
        row = current_rows[customer_id]
        email_hash, phone_hash = out.hashes[ref.key]
        needs_look = (
            any(name in wanted for name in _SECRET)
            or any(
                getattr(row, name) != value and (overwrite or getattr(row, name) in (None, ""))
                for name, value in wanted.items()
                if name in _PLAIN
            )
            or (email_hash and email_hash != row.email_hash and (overwrite or not row.email_hash))
            or (phone_hash and phone_hash != row.phone_hash and (overwrite or not row.phone_hash))
            or (ref.external_id and not row.external_id)
            or bool(ref.tags)
        )
        if not needs_look:
            continue
        customer = session.get(Customer, customer_id)
        assert customer is not None
        before = {name: getattr(customer, name) for name in (*_PLAIN, *_SECRET)}
        before["tags"] = customer.tag_names
        changed: dict[str, Any] = {}
        for name, value in wanted.items():
            current = getattr(customer, name)
            if current != value and (overwrite or current in (None, "")):
                setattr(customer, name, value)
                changed[name] = value
        if ref.email and customer.email_hash != email_hash and (overwrite or not customer.email):
            customer.email, customer.email_hash = ref.email, email_hash
            changed["email"] = "<set>"
        if ref.phone and customer.phone_hash != phone_hash and (overwrite or not customer.phone):
            customer.phone = ref.phone
            customer.phone_hash = keyring.lookup_hash(ref.phone, "phone")
            changed["phone"] = "<set>"
        if ref.external_id and not customer.external_id:
            customer.external_id = ref.external_id
            changed["external_id"] = ref.external_id
        if ref.tags:
            for tag in sorted(set(ref.tags) - set(customer.tag_names)):
                customer.tags.append(CustomerTag(tag=tag))
                changed["tags"] = ref.tags
        if changed:
            out.updated += 1
            after = {name: getattr(customer, name) for name in (*_PLAIN, *_SECRET)}
            after["tags"] = customer.tag_names
            changes = describe_changes(before, after)
            for name in ("email", "phone", "external_id"):
                if name in changed:
                    changes[name] = [
                        "<changed>",
                        "<set>" if name != "external_id" else changed[name],
                    ]
            session.flush()
            record_audit(
                session, actor, "customer.updated_by_import", "customer", customer.id, changes
            )


def write_subscriptions(
    session: Session,
    drafts: list[SubscriptionDraft],
    customers: Resolved,
    *,
    actor: str,
    source: str,
    apply: bool,
) -> Counts:
    counts = Counts()
    existing: dict[str, Subscription] = {}
    for part in chunks([d.external_id for d in drafts]):
        for sub in session.scalars(
            select(Subscription).where(among(session, Subscription.external_id, part))
        ):
            existing[str(sub.external_id)] = sub
    new_rows: list[dict[str, Any]] = []
    for draft in drafts:
        values = {
            "plan": draft.plan,
            "status": draft.status,
            "billing_interval": draft.interval,
            "price_minor": draft.price_minor,
            "currency": draft.currency,
            "started_at": draft.started_at,
            "cancelled_at": draft.cancelled_at,
            "cancel_reason": draft.cancel_reason,
        }
        found = existing.get(draft.external_id)
        if found is None:
            counts.imported += 1
            if apply:
                new_rows.append(
                    {
                        **values,
                        "external_id": draft.external_id,
                        "customer_id": customers.id_of(draft.customer),
                    }
                )
            continue
        sub = found
        values["customer_id"] = customers.existing_id(draft.customer)
        before = {name: getattr(sub, name) for name in values}
        if before == values:
            counts.unchanged += 1
            continue
        counts.updated += 1
        if apply:
            for name, value in values.items():
                setattr(sub, name, value)
            session.flush()
            record_audit(
                session,
                actor,
                "subscription.updated_by_import",
                "subscription",
                sub.id,
                describe_changes(before, values),
            )
    if new_rows:
        insert_rows(session, Subscription, new_rows, actor, f"import from {source}")
    return counts


def _existing_keys(
    session: Session, columns: Sequence[Any], customer_ids: list[int]
) -> set[tuple[Any, ...]]:
    keys: set[tuple[Any, ...]] = set()
    for part in chunks(sorted(set(customer_ids))):
        keys.update(
            tuple(row)
            for row in session.execute(select(*columns).where(among(session, columns[0], part)))
        )
    return keys


def write_interactions(
    session: Session,
    drafts: list[InteractionDraft],
    customers: Resolved,
    *,
    actor: str,
    source: str,
    apply: bool,
) -> Counts:
    """Interactions have no id of their own: one is the same when customer, channel, time and
    subject are."""
    counts = Counts()
    known_ids = [cid for d in drafts if (cid := customers.existing_id(d.customer))]
    seen = _existing_keys(
        session,
        (
            Interaction.customer_id,
            Interaction.channel,
            Interaction.occurred_at,
            Interaction.subject,
        ),
        known_ids,
    )
    rows: list[dict[str, Any]] = []
    for draft in drafts:
        customer_id = customers.existing_id(draft.customer)
        key = (customer_id, draft.channel, draft.occurred_at, draft.subject)
        if customer_id is not None and key in seen:
            counts.unchanged += 1
            continue
        seen.add(key)
        counts.imported += 1
        if apply:
            rows.append(
                {
                    "customer_id": customers.id_of(draft.customer),
                    "channel": draft.channel,
                    "direction": draft.direction,
                    "subject": draft.subject,
                    "body": draft.body,
                    "occurred_at": draft.occurred_at,
                }
            )
    if rows:
        insert_rows(session, Interaction, rows, actor, f"import from {source}")
    return counts


def write_feedback(
    session: Session,
    drafts: list[FeedbackDraft],
    customers: Resolved,
    *,
    actor: str,
    source: str,
    apply: bool,
) -> Counts:
    """Survey answers are the same when customer, survey, score and time are; reviews when
    customer, rating, time and title are."""
    counts = Counts()
    known_ids = [cid for d in drafts if (cid := customers.existing_id(d.customer))]
    surveys = _existing_keys(
        session,
        (
            SurveyResponse.customer_id,
            SurveyResponse.kind,
            SurveyResponse.score,
            SurveyResponse.responded_at,
        ),
        known_ids,
    )
    reviews = _existing_keys(
        session, (Review.customer_id, Review.rating, Review.published_at, Review.title), known_ids
    )
    survey_rows: list[dict[str, Any]] = []
    review_rows: list[dict[str, Any]] = []
    for draft in drafts:
        customer_id = customers.existing_id(draft.customer)
        if draft.kind == "review":
            key: tuple[Any, ...] = (customer_id, draft.score, draft.at, draft.title)
            seen = reviews
        else:
            key = (customer_id, draft.kind, draft.score, draft.at)
            seen = surveys
        if customer_id is not None and key in seen:
            counts.unchanged += 1
            continue
        seen.add(key)
        counts.imported += 1
        if not apply:
            continue
        if draft.kind == "review":
            review_rows.append(
                {
                    "customer_id": customers.id_of(draft.customer),
                    "rating": draft.score,
                    "title": draft.title,
                    "body": draft.comment,
                    "language": draft.language,
                    "source": draft.source or source[:32],
                    "published_at": draft.at,
                }
            )
        else:
            survey_rows.append(
                {
                    "customer_id": customers.id_of(draft.customer),
                    "kind": draft.kind,
                    "score": draft.score,
                    "comment": draft.comment,
                    "language": draft.language,
                    "responded_at": draft.at,
                }
            )
    if survey_rows:
        insert_rows(session, SurveyResponse, survey_rows, actor, f"import from {source}")
    if review_rows:
        insert_rows(session, Review, review_rows, actor, f"import from {source}")
    return counts
