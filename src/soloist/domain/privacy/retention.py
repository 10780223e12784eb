"""The retention policy: customers inactive for years are erased, old messages lose their
personal parts. Nothing is changed under a policy before it has been previewed.

Two settings make the policy (docs/privacy.md#retention):

- ``retention_inactive_years``: a customer with no order, conversation, ticket, survey answer,
  review or deal change in that many years, no running subscription, and known for longer, is
  erased as ``soloist privacy erase`` erases (orders and points stay, anonymised);
- ``retention_message_days``: messages sent longer ago lose their recipient address, rendered
  subject and error text, and their events the user agent and detail; the counts that measure
  campaigns stay.

A dry run lists what the policy would do and records that this policy has been previewed
(``workspace_settings["retention_previewed"]``). Applying needs that preview, so a changed
setting never erases anyone before the owner could see who: the worker's first run under a new
policy is itself only a dry run, and ``soloist privacy retention --apply`` refuses a policy not
previewed yet.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from sqlalchemy import exists, func, not_, or_, select, update
from sqlalchemy.orm import Session

from soloist.domain.audit import record_audit
from soloist.domain.privacy.erase import erase_person, journal_erasure
from soloist.errors import ValidationError
from soloist.storage.bulk import chunks
from soloist.storage.models import (
    Customer,
    Deal,
    Interaction,
    Message,
    MessageEvent,
    Order,
    Review,
    Subscription,
    SurveyResponse,
    Ticket,
    WorkspaceSetting,
)

if TYPE_CHECKING:
    from soloist.storage.database import Database

PREVIEWED_KEY = "retention_previewed"
ERASE_BATCH = 100  # customers per transaction: short write locks, journaled as each commits
SAMPLE = 20


@dataclass(frozen=True)
class RetentionPolicy:
    inactive_years: int
    message_days: int

    @property
    def fingerprint(self) -> str:
        return f"inactive_years={self.inactive_years};message_days={self.message_days}"

    @property
    def is_set(self) -> bool:
        return self.inactive_years > 0 or self.message_days > 0


@dataclass
class RetentionPlan:
    policy: RetentionPolicy
    now: dt.datetime
    customer_ids: list[int]
    message_ids: list[int]

    def to_dict(self) -> dict[str, Any]:
        customer_cutoff = _years_before(self.now, self.policy.inactive_years)
        message_cutoff = self.now - dt.timedelta(days=self.policy.message_days)
        return {
            "inactive_years": self.policy.inactive_years,
            "message_days": self.policy.message_days,
            "customers_inactive_since": customer_cutoff.isoformat()
            if self.policy.inactive_years
            else None,
            "messages_sent_before": message_cutoff.isoformat()
            if self.policy.message_days
            else None,
            "customers": len(self.customer_ids),
            "customer_ids_sample": self.customer_ids[:SAMPLE],
            "messages": len(self.message_ids),
        }


def _years_before(now: dt.datetime, years: int) -> dt.datetime:
    try:
        return now.replace(year=now.year - years)
    except ValueError:  # 29 February
        return now.replace(year=now.year - years, day=28)


def inactive_customers(
    session: Session, cutoff: dt.datetime, among_ids: Sequence[int] | None = None
) -> list[int]:
    """Active customers known since before ``cutoff`` with no sign of life since (only those of
    ``among_ids`` when given)."""
    me = Customer.id
    signs = (
        exists().where(Order.customer_id == me, Order.ordered_at >= cutoff),
        exists().where(Interaction.customer_id == me, Interaction.occurred_at >= cutoff),
        exists().where(Ticket.customer_id == me, Ticket.updated_at >= cutoff),
        exists().where(SurveyResponse.customer_id == me, SurveyResponse.responded_at >= cutoff),
        exists().where(Review.customer_id == me, Review.published_at >= cutoff),
        exists().where(Deal.customer_id == me, Deal.updated_at >= cutoff),
        exists().where(Subscription.customer_id == me, Subscription.status == "active"),
    )
    query = (
        select(Customer.id)
        .where(
            Customer.status == "active",
            Customer.created_at < cutoff,
            func.coalesce(Customer.first_seen_at, Customer.created_at) < cutoff,
            not_(or_(*signs)),
        )
        .order_by(Customer.id)
    )
    if among_ids is not None:
        query = query.where(Customer.id.in_(list(among_ids)))
    return list(session.scalars(query))


def old_messages(session: Session, cutoff: dt.datetime) -> list[int]:
    """Messages created before ``cutoff`` that still hold an address or a subject."""
    query = (
        select(Message.id)
        .where(
            Message.created_at < cutoff,
            Message.status != "queued",
            or_(Message.recipient.is_not(None), Message.subject.is_not(None)),
        )
        .order_by(Message.id)
    )
    return list(session.scalars(query))


def retention_plan(session: Session, policy: RetentionPolicy, now: dt.datetime) -> RetentionPlan:
    customers = (
        inactive_customers(session, _years_before(now, policy.inactive_years))
        if policy.inactive_years > 0
        else []
    )
    messages = (
        old_messages(session, now - dt.timedelta(days=policy.message_days))
        if policy.message_days > 0
        else []
    )
    return RetentionPlan(policy, now, customers, messages)


def _previewed(session: Session) -> str | None:
    row = session.get(WorkspaceSetting, PREVIEWED_KEY)
    return None if row is None else str(row.value)


def _mark_previewed(session: Session, policy: RetentionPolicy) -> None:
    row = session.get(WorkspaceSetting, PREVIEWED_KEY, with_for_update=True)
    if row is None:
        session.add(WorkspaceSetting(key=PREVIEWED_KEY, value=policy.fingerprint))
    else:
        row.value = policy.fingerprint


def _strip_messages(session: Session, ids: list[int]) -> int:
    stripped = 0
    for part in chunks(ids):
        result: Any = session.execute(
            update(Message)
            .where(Message.id.in_(part))
            .values(recipient=None, subject=None, error=None)
        )
        stripped += int(result.rowcount or 0)
        session.execute(
            update(MessageEvent)
            .where(MessageEvent.message_id.in_(part))
            .values(user_agent=None, detail=None)
        )
    return stripped


def run_retention(
    database: Database, actor: str, now: dt.datetime, *, apply: bool | None
) -> dict[str, Any]:
    """Preview (``apply=False``), apply (``True``: refused unless this policy was previewed) or,
    for the worker (``None``), preview a policy seen for the first time and apply it after."""
    settings = database.settings
    policy = RetentionPolicy(settings.retention_inactive_years, settings.retention_message_days)
    if not policy.is_set:
        raise ValidationError(
            "No retention policy is set: give retention_inactive_years or "
            "retention_message_days a value above 0 (soloist.toml or SOLOIST_… variables)."
        )
    with database.session() as session:
        plan = retention_plan(session, policy, now)
        previewed = _previewed(session) == policy.fingerprint
        if apply is True and not previewed:
            raise ValidationError(
                "This retention policy has not been previewed: run `soloist privacy retention` "
                "(a dry run) first, read what it would erase, then add --apply."
            )
        if apply is False or not previewed:
            _mark_previewed(session, policy)
            counts = {k: v for k, v in plan.to_dict().items() if k != "customer_ids_sample"}
            record_audit(session, actor, "retention.previewed", "workspace", None, counts)
            return {**plan.to_dict(), "dry_run": True}
        stripped = _strip_messages(session, plan.message_ids)
    erased = 0
    cutoff = _years_before(now, policy.inactive_years)
    for index, part in enumerate(chunks(plan.customer_ids, ERASE_BATCH)):
        if index:
            database.let_writers_in()
        with database.session() as session:
            # Looked at again in the transaction that erases: an order may have come meanwhile.
            still = inactive_customers(session, cutoff, part)
            erasures = [erase_person(session, customer_id, actor) for customer_id in still]
        for erasure in erasures:
            journal_erasure(settings.workspace, erasure, now)
        erased += len(erasures)
    with database.session() as session:
        done = {"customers": erased, "messages": stripped, "policy": policy.fingerprint}
        record_audit(session, actor, "retention.applied", "workspace", None, done)
    return {**plan.to_dict(), "dry_run": False, "customers": erased, "messages": stripped}
