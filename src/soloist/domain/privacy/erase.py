"""Erasing one person (GDPR art. 17): their personal data goes, the business's records stay.

What goes: the profile's fields (name, company, e-mail, phone, address, birthday, notes, custom
fields, the ids a shop gave them, the keyed lookup hashes), tags, free text they wrote or that
was written about them (interactions, review and survey comments, ticket subjects and messages,
task and deal titles and notes, consent evidence), what was sent to them (message recipients,
subjects, click user agents), scores and their reasons, survey links, and what the audit log
says about them. Duplicates merged into them go the same way.

What stays, anonymised under the same customer id: orders and their lines, subscriptions, the
loyalty account and ledger, review ratings and survey scores, consent records (what and when,
without the evidence), journey entries and message counts — so revenue, CLV, NPS and the
campaigns' measured effects stay right.

The e-mail address stays suppressed from every campaign, kept only as its keyed lookup hash
(a Suppression with reason ``erased``): a later import of the same address is never mailed.
The erasure is audited as ``customer.erased`` with the counts, never the data. Rows are
overwritten in the database; copies in backups made before go as those backups age out.
"""

from __future__ import annotations

import datetime as dt
import json
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sqlalchemy import delete, select, update
from sqlalchemy.orm import Session

from soloist.domain.audit import record_audit
from soloist.domain.customers import forget_customer_names
from soloist.domain.service import forget_ticket_subjects
from soloist.errors import NotFoundError
from soloist.storage.kept import KEPT_FILE, forget_kept_figures
from soloist.storage.models import (
    AuditEntry,
    ConsentRecord,
    Customer,
    CustomerScore,
    CustomerTag,
    Deal,
    Interaction,
    Message,
    MessageEvent,
    Review,
    Subscription,
    Suppression,
    SurveyLink,
    SurveyResponse,
    Task,
    Ticket,
    TicketMessage,
)
from soloist.storage.types import utcnow

if TYPE_CHECKING:
    from soloist.storage.database import Database

ERASED = "[erased]"


@dataclass
class Erasure:
    customer_ids: list[int]
    changed: dict[str, int] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return {"customer_ids": self.customer_ids, "changed": self.changed}


def erase_person(session: Session, customer_id: int, actor: str) -> Erasure:
    """Erase the customer and the duplicates merged into them; see the module doc."""
    person = session.get(Customer, customer_id, with_for_update=True)
    if person is None:
        raise NotFoundError(f"No customer with id {customer_id}.", customer_id=customer_id)
    merged = list(session.scalars(select(Customer.id).where(Customer.merged_into_id == person.id)))
    ids = [person.id, *merged]
    erasure = Erasure(ids)

    def count(name: str, result: Any) -> None:
        erasure.changed[name] = erasure.changed.get(name, 0) + int(result.rowcount or 0)

    for customer in session.scalars(select(Customer).where(Customer.id.in_(ids))):
        _suppress(session, customer)
        customer.name, customer.company, customer.external_id = "", None, None
        customer.email = customer.phone = customer.address = customer.notes = None
        customer.email_hash = customer.phone_hash = None
        customer.birthday, customer.custom_fields = None, {}
        customer.language = customer.timezone = customer.source = None
        customer.status = "erased"
    erasure.changed["customers"] = len(ids)
    session.flush()
    forget_customer_names(session, ids)
    count(
        "customer_tags",
        session.execute(delete(CustomerTag).where(CustomerTag.customer_id.in_(ids))),
    )
    count(
        "customer_scores",
        session.execute(delete(CustomerScore).where(CustomerScore.customer_id.in_(ids))),
    )
    count(
        "interactions", session.execute(delete(Interaction).where(Interaction.customer_id.in_(ids)))
    )
    count(
        "survey_links", session.execute(delete(SurveyLink).where(SurveyLink.customer_id.in_(ids)))
    )
    count(
        "consent_records",
        session.execute(
            update(ConsentRecord).where(ConsentRecord.customer_id.in_(ids)).values(evidence=None)
        ),
    )
    count(
        "reviews",
        session.execute(
            update(Review)
            .where(Review.customer_id.in_(ids))
            .values(title=None, body=None, external_id=None)
        ),
    )
    count(
        "survey_responses",
        session.execute(
            update(SurveyResponse).where(SurveyResponse.customer_id.in_(ids)).values(comment=None)
        ),
    )
    count(
        "subscriptions",
        session.execute(
            update(Subscription).where(Subscription.customer_id.in_(ids)).values(cancel_reason=None)
        ),
    )
    ticket_ids = list(session.scalars(select(Ticket.id).where(Ticket.customer_id.in_(ids))))
    if ticket_ids:
        count(
            "tickets",
            session.execute(update(Ticket).where(Ticket.id.in_(ticket_ids)).values(subject=ERASED)),
        )
        forget_ticket_subjects(session, ticket_ids)
        for message in session.scalars(
            select(TicketMessage).where(TicketMessage.ticket_id.in_(ticket_ids))
        ):
            message.body = ERASED
            message.delivery_error = None
        erasure.changed["ticket_messages"] = len(
            list(
                session.scalars(
                    select(TicketMessage.id).where(TicketMessage.ticket_id.in_(ticket_ids))
                )
            )
        )
    for task in session.scalars(select(Task).where(Task.customer_id.in_(ids))):
        task.title, task.notes = ERASED, None
        erasure.changed["tasks"] = erasure.changed.get("tasks", 0) + 1
    count(
        "deals",
        session.execute(
            update(Deal).where(Deal.customer_id.in_(ids)).values(title=ERASED, close_reason=None)
        ),
    )
    message_ids = list(session.scalars(select(Message.id).where(Message.customer_id.in_(ids))))
    if message_ids:
        for sent in session.scalars(select(Message).where(Message.id.in_(message_ids))):
            sent.recipient, sent.subject, sent.error = None, None, None
        erasure.changed["messages"] = len(message_ids)
        count(
            "message_events",
            session.execute(
                update(MessageEvent)
                .where(MessageEvent.message_id.in_(message_ids))
                .values(user_agent=None, detail=None)
            ),
        )
    _scrub_audit(session, ids, ticket_ids)
    record_audit(
        session,
        actor,
        "customer.erased",
        "customer",
        person.id,
        {"merged": merged, "changed": erasure.changed},
    )
    return erasure


def _suppress(session: Session, customer: Customer) -> None:
    if not customer.email_hash:
        return
    exists = session.scalar(
        select(Suppression.id).where(
            Suppression.channel == "email",
            Suppression.address_hash == customer.email_hash,
            Suppression.reason == "erased",
        )
    )
    if exists is None:
        session.add(
            Suppression(
                channel="email",
                address_hash=customer.email_hash,
                reason="erased",
                source="erasure",
                created_at=utcnow(),
            )
        )


def _scrub_audit(session: Session, customer_ids: list[int], ticket_ids: list[int]) -> None:
    """What the audit log said about them (names, fields changed) becomes ``{"erased": true}``;
    the entries themselves, who did what and when, stay."""
    for entity_type, ids in (("customer", customer_ids), ("ticket", ticket_ids)):
        if ids:
            session.execute(
                update(AuditEntry)
                .where(
                    AuditEntry.entity_type == entity_type,
                    AuditEntry.entity_id.in_([str(i) for i in ids]),
                )
                .values(changes={"erased": True})
            )


#: The workspace's list of erasures (customer ids and when, nothing else), kept beside the
#: database rather than in it, so that restoring an older backup can erase them again.
JOURNAL_NAME = "erasures.jsonl"


def erase_and_journal(database: Database, customer_id: int, actor: str) -> Erasure:
    """Erase the customer in a transaction of its own, then journal the erasure once it is
    committed (so that a restore of an older backup replays it)."""
    with database.session() as session:
        erasure = erase_person(session, customer_id, actor)
    journal_erasure(database.settings.workspace, erasure, utcnow())
    forget_kept_figures(database.settings.workspace / KEPT_FILE)  # they may name the person
    return erasure


def journal_erasure(workspace: Path, erasure: Erasure, when: dt.datetime) -> None:
    """Append the erasure to the workspace's journal (0600)."""
    path = workspace / JOURNAL_NAME
    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
    with os.fdopen(descriptor, "a", encoding="utf-8") as journal:
        for customer_id in erasure.customer_ids:
            record = {"customer_id": customer_id, "erased_at": when.isoformat()}
            journal.write(json.dumps(record) + "\n")


def replay_erasures(session: Session, workspace: Path, actor: str) -> list[int]:
    """Erase again everyone the journal lists whom the database holds un-erased (after a
    restore of a backup older than their erasure); the ids erased."""
    path = workspace / JOURNAL_NAME
    if not path.exists():
        return []
    ids = []
    for line in path.read_text(encoding="utf-8").splitlines():
        if line.strip():
            ids.append(int(json.loads(line)["customer_id"]))
    again = []
    for customer_id in dict.fromkeys(ids):
        customer = session.get(Customer, customer_id)
        if customer is not None and customer.status != "erased":
            erase_person(session, customer_id, actor)
            again.append(customer_id)
    return again
