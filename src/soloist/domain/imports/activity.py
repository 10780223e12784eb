"""Writing an import's subscriptions and interactions, and the counts every writer returns
(feedback: :mod:`soloist.domain.imports.feedback`).

Each ``write_*`` function compares the file's rows with what the database holds under the same
natural keys and returns counts: ``imported`` (new), ``updated`` (changed) and ``unchanged``. With
``apply=False`` it only counts, which is how a dry run reports exactly what an import would do.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol, TypeVar

from sqlalchemy import select
from sqlalchemy.orm import DeclarativeBase, Session

from soloist.domain.audit import describe_changes, insert_rows, record_audit
from soloist.domain.imports.customers import Resolved
from soloist.imports.clean import InteractionDraft, SubscriptionDraft
from soloist.storage.bulk import among, chunks
from soloist.storage.models import Interaction, Subscription


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
