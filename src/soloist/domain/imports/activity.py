"""Writing an import's subscriptions and interactions, and the counts every writer returns
(feedback: :mod:`soloist.domain.imports.feedback`); reading a subscription snapshot as of its
day, and keeping its other columns as the customers' own fields.

Each ``write_*`` function compares the file's rows with what the database holds under the same
natural keys and returns counts: ``imported`` (new), ``updated`` (changed) and ``unchanged``. With
``apply=False`` it only counts, which is how a dry run reports exactly what an import would do.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Collection, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol, TypeVar
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from sqlalchemy import func, select, update
from sqlalchemy.orm import DeclarativeBase, Session

from soloist.domain.audit import describe_changes, insert_rows, record_audit
from soloist.domain.imports.customers import Resolved
from soloist.errors import UsageError
from soloist.imports import ImportFormat, RawTable, SubscriptionSnapshot
from soloist.imports.clean import Cleaned, InteractionDraft, SubscriptionDraft
from soloist.imports.formats.snapshot import cancellation_day
from soloist.storage.bulk import among, chunks
from soloist.storage.models import Customer, Interaction, Subscription
from soloist.storage.types import utcnow


@dataclass
class Counts:
    """What a writer did (or, in a dry run, would do)."""

    imported: int = 0
    updated: int = 0
    unchanged: int = 0
    extra: dict[str, int] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)


class _Draft(Protocol):
    @property
    def customer(self) -> str: ...


D = TypeVar("D", bound=_Draft)


def write_subscriptions(
    session: Session,
    drafts: list[SubscriptionDraft],
    customers: Resolved,
    *,
    actor: str,
    source: str,
    apply: bool,
) -> Counts:
    """Subscriptions are the same when their external id is: a new one is inserted, a known one
    is updated where the file differs (each update audited) and otherwise left alone."""
    counts = Counts()
    existing: dict[str, Subscription] = {}
    for part in chunks([d.external_id for d in drafts]):
        for held in session.scalars(
            select(Subscription).where(among(session, Subscription.external_id, part))
        ):
            existing[str(held.external_id)] = held
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
        sub = existing.get(draft.external_id)
        if sub is None:
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
    _insert(session, Subscription, new_rows, actor, source)
    return counts


def existing_keys(
    session: Session, columns: Sequence[Any], customer_ids: list[int]
) -> set[tuple[Any, ...]]:
    """The values of ``columns`` (the first is the customer id) in the rows of these customers."""
    keys: set[tuple[Any, ...]] = set()
    for part in chunks(sorted(set(customer_ids))):
        keys.update(
            tuple(row)
            for row in session.execute(select(*columns).where(among(session, columns[0], part)))
        )
    return keys


def known_customers(drafts: Iterable[_Draft], customers: Resolved) -> list[int]:
    return [cid for d in drafts if (cid := customers.existing_id(d.customer))]


def new_drafts(
    drafts: Iterable[D],
    customers: Resolved,
    key_of: Callable[[D, int | None], tuple[Any, ...]],
    seen: set[tuple[Any, ...]],
    counts: Counts,
) -> Iterator[D]:
    """The drafts to insert, counted: a draft of a customer already in the database whose
    ``key_of(draft, customer id)`` is among the rows held (``seen``) or earlier in the file is
    unchanged; every other draft is imported."""
    for draft in drafts:
        customer_id = customers.existing_id(draft.customer)
        key = key_of(draft, customer_id)
        if customer_id is not None and key in seen:
            counts.unchanged += 1
            continue
        seen.add(key)
        counts.imported += 1
        yield draft


def _insert(
    session: Session,
    model: type[DeclarativeBase],
    rows: list[dict[str, Any]],
    actor: str,
    source: str,
) -> None:
    if rows:
        insert_rows(session, model, rows, actor, f"import from {source}")


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
    held = existing_keys(
        session,
        (
            Interaction.customer_id,
            Interaction.channel,
            Interaction.occurred_at,
            Interaction.subject,
        ),
        known_customers(drafts, customers),
    )

    def key_of(draft: InteractionDraft, customer_id: int | None) -> tuple[Any, ...]:
        return (customer_id, draft.channel, draft.occurred_at, draft.subject)

    new = list(new_drafts(drafts, customers, key_of, held, counts))
    if apply:
        rows = [
            {
                "customer_id": customers.id_of(draft.customer),
                "channel": draft.channel,
                "direction": draft.direction,
                "subject": draft.subject,
                "body": draft.body,
                "occurred_at": draft.occurred_at,
            }
            for draft in new
        ]
        _insert(session, Interaction, rows, actor, source)
    return counts


def _today(timezone: str) -> dt.date:
    try:
        return dt.datetime.now(ZoneInfo(timezone)).date()
    except (ZoneInfoNotFoundError, ValueError):
        return dt.datetime.now(dt.UTC).date()


def dated_format(
    fmt: ImportFormat,
    kind: str,
    mapping: Mapping[str, int],
    as_of: dt.date | None,
    timezone: str,
) -> tuple[ImportFormat, str | None]:
    """The format that reads a subscription snapshot as of its day (``as_of``, default today in
    ``timezone``) and the note that says which day; a plain table with a tenure and no start
    date is read as a snapshot too. Other files keep their format (a note says when ``as_of``
    was given for nothing)."""
    snapshot = isinstance(fmt, SubscriptionSnapshot)
    if not snapshot and fmt.name == "generic" and "tenure" in mapping:
        snapshot = "started_at" not in mapping
        fmt = SubscriptionSnapshot() if snapshot else fmt
    if not snapshot or kind != "subscriptions":
        unused = as_of is not None and kind == "subscriptions"
        return fmt, (f"--as-of {as_of} not used: the file gives start dates" if unused else None)
    today = _today(timezone)
    if as_of is not None and as_of > today:
        raise UsageError(
            f"--as-of {as_of} is after today ({today}): give the day the snapshot was taken"
        )
    day = as_of or today
    said = "the day given" if as_of else "today; give the snapshot's own day with --as-of"
    assert isinstance(fmt, SubscriptionSnapshot)
    return fmt.on(day), (
        f"a snapshot as of {day} ({said}): each subscription started its tenure in months "
        f"before that day; those that churned are taken to have cancelled on "
        f"{cancellation_day(day, dt.date.min)}, the middle of the month before it"
    )


def snapshot_fields(
    table: RawTable,
    fmt: ImportFormat,
    kind: str,
    mapping: Mapping[str, int],
    ignored: Collection[str],
    cleaned: Cleaned,
) -> tuple[dict[str, dict[str, str]], str | None]:
    """Customer key -> the own fields a snapshot's other columns give them (the first value
    the file gives for each; empty for other formats and for rows left out), and a note naming
    the columns kept so."""
    if not isinstance(fmt, SubscriptionSnapshot):
        return {}, None
    by_row = fmt.customer_fields(table, kind, mapping, ignored)
    rows = (
        [(draft.row, draft.customer) for draft in cleaned.subscriptions]
        if kind == "subscriptions"
        else [(ref.row, key) for key, ref in cleaned.customers.items()]
    )
    found: dict[str, dict[str, str]] = {}
    for row, key in rows:
        given = found.setdefault(key, {})
        for name, value in by_row.get(row, {}).items():
            given.setdefault(name, value)
    kept = {key: given for key, given in found.items() if given}
    names = list(dict.fromkeys(name for given in kept.values() for name in given))
    if not names:
        return kept, None
    return kept, f"kept as the customers' own fields: {', '.join(names)}"


def newest_customer_id(session: Session) -> int:
    """The highest customer id so far: customers an import creates come after it."""
    return int(session.scalar(select(func.max(Customer.id))) or 0)


def write_customer_fields(
    session: Session,
    fields: Mapping[str, Mapping[str, str]],
    customers: Resolved,
    newest: int,
    *,
    actor: str,
    apply: bool,
) -> int:
    """Set each customer's own fields (``custom_fields``) to those the file gives, keeping the
    others they have; returns how many customers already there (id up to ``newest``) change,
    each change audited. A dry run only counts."""
    given: dict[int, dict[str, str]] = {}
    for key, values in fields.items():
        customer_id = customers.existing_id(key)
        if customer_id is not None:  # a dry run's new customers have no id yet
            mine = given.setdefault(customer_id, {})
            mine.update({k: v for k, v in values.items() if k not in mine})
    stored: dict[int, dict[str, Any]] = {}
    for part in chunks(sorted(given)):
        query = select(Customer.id, Customer.custom_fields).where(among(session, Customer.id, part))
        stored.update({row.id: dict(row.custom_fields or {}) for row in session.execute(query)})
    changed, rows, now = 0, [], utcnow()
    for customer_id, values in given.items():
        before = stored.get(customer_id, {})
        after = {**before, **values}
        if after == before:
            continue
        rows.append({"id": customer_id, "custom_fields": after, "updated_at": now})
        if customer_id <= newest:
            changed += 1
            if apply:
                changes = describe_changes({"custom_fields": before}, {"custom_fields": after})
                record_audit(
                    session, actor, "customer.updated_by_import", "customer", customer_id, changes
                )
    if apply and rows:
        session.execute(update(Customer), rows)
    return changed
