"""Who a campaign reaches: its segment's customers, less those it must not reach, frozen into
one message row per customer when sending starts.

A customer is left out (a ``suppressed`` row, with the reason, so the report can count it) when
they have no address for the channel (``no_address``), their consent for the channel is not in
force (``no_consent``; ``unsubscribed`` when they withdrew it through an unsubscribe link), or
their address is suppressed for the channel (``hard_bounce``, ``complaint``). Customers who join
the segment after the freeze are not sent this campaign (as listmonk freezes its
``max_subscriber_id``).
"""

from __future__ import annotations

import datetime as dt
import secrets
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import func, insert, select
from sqlalchemy.orm import Session

from soloist.domain.campaigns.pacing import (
    SendPolicy,
    assign_arm,
    best_send_times,
    recent_message_counts,
)
from soloist.domain.campaigns.personal import campaign_language
from soloist.domain.segment_rules import customers_matching
from soloist.errors import NotFoundError, ValidationError
from soloist.storage.bulk import chunks
from soloist.storage.models import (
    Campaign,
    CampaignContent,
    CampaignExperiment,
    ConsentRecord,
    Customer,
    Message,
    Segment,
    SegmentMember,
    Suppression,
)

UNSUBSCRIBE_SOURCE = "unsubscribe"


@dataclass
class FreezeResult:
    recipients: int = 0
    queued: int = 0
    suppressed: dict[str, int] = field(default_factory=dict)
    holdout: int = 0
    waiting: int = 0
    by_variant: dict[str, int] = field(default_factory=dict)


def find_segment(session: Session, reference: str | int) -> Segment:
    """A segment by id or by name."""
    text = str(reference).strip()
    segment = None
    if text.isdigit():
        segment = session.get(Segment, int(text))
    if segment is None:
        segment = session.scalar(select(Segment).where(Segment.name == text))
    if segment is None:
        raise NotFoundError(
            f"No segment {text!r}; `soloist segments list` shows them.", segment=text
        )
    return segment


def segment_customer_ids(session: Session, segment: Segment, currency: str) -> list[int]:
    """The active customers in ``segment`` now: a rule is evaluated, the analyses' segments
    and saved lists are read from their members."""
    if segment.kind == "rule":
        if not segment.rule:
            raise ValidationError(f"Segment {segment.name!r} has no rule.", field="segment")
        return customers_matching(session, segment.rule, currency)
    statement = (
        select(SegmentMember.customer_id)
        .join(Customer, Customer.id == SegmentMember.customer_id)
        .where(SegmentMember.segment_id == segment.id, Customer.status == "active")
        .order_by(SegmentMember.customer_id)
    )
    return list(session.scalars(statement))


def consents_in_force(
    session: Session, customer_ids: list[int], channel: str
) -> dict[int, ConsentRecord]:
    """The latest consent record per customer for ``channel``."""
    found: dict[int, ConsentRecord] = {}
    for part in chunks(customer_ids):
        records = session.scalars(
            select(ConsentRecord)
            .where(ConsentRecord.customer_id.in_(part), ConsentRecord.channel == channel)
            .order_by(ConsentRecord.recorded_at, ConsentRecord.id)
        )
        for record in records:
            found[record.customer_id] = record
    return found


def suppressed_addresses(session: Session, channel: str, hashes: list[str]) -> dict[str, str]:
    """Address hash → the reason it is suppressed (a hard bounce, a complaint, or the erasure of
    the person who had it)."""
    found: dict[str, str] = {}
    for part in chunks([h for h in hashes if h]):
        rows = session.execute(
            select(Suppression.address_hash, Suppression.reason).where(
                Suppression.channel == channel,
                Suppression.address_hash.in_(part),
                Suppression.reason.in_(("hard_bounce", "complaint", "erased")),
            )
        )
        for address_hash, reason in rows:
            found.setdefault(address_hash, reason)
    return found


def address_of(customer: Customer, channel: str) -> tuple[str | None, str | None]:
    """The customer's address on ``channel`` and its lookup hash."""
    if channel == "email":
        return customer.email, customer.email_hash
    if channel == "sms":
        return customer.phone, customer.phone_hash
    return str(customer.id), f"customer:{customer.id}"


def exclusion_reason(
    customer: Customer, channel: str, consent: ConsentRecord | None, suppressed: dict[str, str]
) -> str | None:
    address, address_hash = address_of(customer, channel)
    if not address:
        return "no_address"
    if consent is None or not consent.granted:
        if consent is not None and consent.source == UNSUBSCRIBE_SOURCE:
            return "unsubscribed"
        return "no_consent"
    if address_hash and address_hash in suppressed:
        return suppressed[address_hash]
    return None


def classified(
    session: Session, customer_ids: list[int], channel: str
) -> Iterator[list[tuple[Customer, str | None]]]:
    """The customers in batches, each with the reason they are left out on ``channel`` (None:
    they are reached)."""
    for part in chunks(customer_ids, 2000):
        customers = session.scalars(select(Customer).where(Customer.id.in_(part))).all()
        consents = consents_in_force(session, list(part), channel)
        hashes = [address_of(c, channel)[1] or "" for c in customers]
        suppressed = suppressed_addresses(session, channel, hashes)
        yield [(c, exclusion_reason(c, channel, consents.get(c.id), suppressed)) for c in customers]


def new_message_id(domain: str) -> str:
    return f"<{secrets.token_hex(12)}@{domain}>"


def freeze_recipients(
    session: Session,
    campaign: Campaign,
    currency: str,
    domain: str,
    now: dt.datetime,
    policy: SendPolicy | None = None,
) -> FreezeResult:
    """Write one message row per customer of the campaign's segment: ``suppressed`` (with the
    reason; ``frequency_cap`` when the customer had enough messages this week), ``holdout``
    (drawn to receive nothing), ``waiting`` (an A/B test's remainder, for the winner) or
    ``queued`` with its variant and, for an optimised send, its hour. Run again, it adds
    nobody twice (each row's key is the campaign and the customer)."""
    if campaign.segment_id is None:
        raise ValidationError("The campaign has no segment.", field="segment")
    segment = session.get(Segment, campaign.segment_id)
    if segment is None:
        raise NotFoundError(f"The campaign's segment {campaign.segment_id} no longer exists.")
    languages = set(
        session.scalars(
            select(CampaignContent.language).where(CampaignContent.campaign_id == campaign.id)
        )
    )
    ids = segment_customer_ids(session, segment, currency)
    already = set(
        session.scalars(select(Message.customer_id).where(Message.campaign_id == campaign.id))
    )
    ids = [i for i in ids if i not in already]
    policy = policy or SendPolicy()
    if campaign.assignment_seed is None:
        campaign.assignment_seed = secrets.randbelow(2**31)
    seed = campaign.assignment_seed
    variants, test_share = arms_of(session, campaign)
    result = FreezeResult()
    for batch in classified(session, ids, campaign.channel):
        batch_ids = [customer.id for customer, _ in batch]
        recent = recent_message_counts(session, batch_ids, now) if policy.frequency_cap else {}
        rows: list[dict[str, Any]] = []
        zones = {customer.id: customer.timezone for customer, _ in batch}
        for customer, reason in batch:
            capped = policy.frequency_cap and recent.get(customer.id, 0) >= policy.frequency_cap
            if reason is None and capped:
                reason = "frequency_cap"
            arm, variant = ("suppressed", None)
            if reason is None:
                arm, variant = assign_arm(
                    seed, customer.id, campaign.holdout_share, variants, test_share
                )
            language = campaign_language(customer.language)
            rows.append(
                {
                    "campaign_id": campaign.id,
                    "customer_id": customer.id,
                    "channel": campaign.channel,
                    "status": {"test": "queued"}.get(arm, arm),
                    "error": reason,
                    "variant": variant,
                    "idempotency_key": f"campaign:{campaign.id}:customer:{customer.id}",
                    "recipient": address_of(customer, campaign.channel)[0],
                    "message_id": new_message_id(domain),
                    "language": language if language in languages else campaign.default_language,
                    "attempts": 0,
                    "created_at": now,
                    "next_attempt_at": None,
                }
            )
            result.recipients += 1
            if reason:
                result.suppressed[reason] = result.suppressed.get(reason, 0) + 1
            elif arm == "holdout":
                result.holdout += 1
            elif arm == "waiting":
                result.waiting += 1
            else:
                result.queued += 1
                key = variant or "A"
                result.by_variant[key] = result.by_variant.get(key, 0) + 1
        if campaign.send_time == "optimised":
            queued = [r for r in rows if r["status"] == "queued"]
            times = best_send_times(
                session,
                [r["customer_id"] for r in queued],
                now,
                campaign.send_window_hours,
                seed,
                policy.timezone,
            )
            for row in queued:
                at = times.get(row["customer_id"], now)
                row["next_attempt_at"] = policy.when(at, zones.get(row["customer_id"]))
        if rows:
            session.execute(insert(Message), rows)
    return result


def arms_of(session: Session, campaign: Campaign) -> tuple[list[str], float]:
    """The variants a campaign's test sends (A alone without a test) and the test's share."""
    experiment = session.scalar(
        select(CampaignExperiment).where(CampaignExperiment.campaign_id == campaign.id)
    )
    if experiment is None:
        return ["A"], 1.0
    variants = sorted(
        set(
            session.scalars(
                select(CampaignContent.variant).where(CampaignContent.campaign_id == campaign.id)
            )
        )
    )
    return variants, experiment.test_share


def count_audience(session: Session, campaign: Campaign, currency: str) -> dict[str, int]:
    """Before sending: how many the segment holds, and how many would be left out and why."""
    if campaign.segment_id is None:
        return {"segment": 0, "reachable": 0}
    return count_segment_audience(session, campaign.segment_id, campaign.channel, currency)


def count_segment_audience(
    session: Session, segment_id: int, channel: str, currency: str
) -> dict[str, int]:
    """What :func:`count_audience` says of a campaign to ``segment_id`` on ``channel``, for a
    campaign still being written (the editor shows it as the owner picks the segment)."""
    segment = session.get(Segment, segment_id)
    if segment is None:
        return {"segment": 0, "reachable": 0}
    ids = segment_customer_ids(session, segment, currency)
    counts: dict[str, int] = {"segment": len(ids), "reachable": 0}
    for batch in classified(session, ids, channel):
        for _customer, reason in batch:
            key = reason or "reachable"
            counts[key] = counts.get(key, 0) + 1
    return counts


def message_counts(session: Session, campaign_id: int) -> dict[str, int]:
    return dict(
        session.execute(
            select(Message.status, func.count())
            .where(Message.campaign_id == campaign_id)
            .group_by(Message.status)
        ).all()
    )


def find_customers(session: Session, references: list[str]) -> list[int]:
    """Customer ids for a list of ids and e-mail addresses (blank lines and ``#`` comments
    skipped), in their order without repeats; an unknown one is an error naming its line."""
    from soloist.domain.customers.records import find_customer_by_email

    found: list[int] = []
    missing: list[str] = []
    for number, line in enumerate(references, start=1):
        text = line.strip()
        if not text or text.startswith("#"):
            continue
        customer_id: int | None = None
        if "@" in text:
            customer = find_customer_by_email(session, text)
            customer_id = customer.id if customer is not None else None
        elif text.isdigit() and len(text) < 19 and session.get(Customer, int(text)) is not None:
            customer_id = int(text)
        if customer_id is None:
            missing.append(f"line {number}: {text!r}")
        elif customer_id not in found:
            found.append(customer_id)
    if missing:
        more = f" (and {len(missing) - 3} more)" if len(missing) > 3 else ""
        raise NotFoundError(
            "No customer with this id or e-mail: " + "; ".join(missing[:3]) + more + ".",
            missing=len(missing),
        )
    return found


def save_list_segment(session: Session, name: str, customer_ids: list[int], actor: str) -> Segment:
    """A saved list: a segment of exactly these customers (replacing the list's members)."""
    from sqlalchemy import delete

    from soloist.domain.audit import record_audit

    name = name.strip()
    if not name or len(name) > 128:
        raise ValidationError("A segment name must have 1 to 128 characters.", field="name")
    segment = session.scalar(select(Segment).where(Segment.name == name))
    if segment is not None and segment.kind != "list":
        raise ValidationError(f"{name!r} is a {segment.kind} segment; choose another name.")
    if segment is None:
        segment = Segment(name=name, kind="list")
        session.add(segment)
        session.flush()
    known: set[int] = set()
    for part in chunks(sorted(set(customer_ids))):
        known.update(session.scalars(select(Customer.id).where(Customer.id.in_(part))))
    missing = sorted(set(customer_ids) - known)
    if missing:
        raise NotFoundError(f"No customer {missing[0]} (and {len(missing) - 1} more).")
    session.execute(delete(SegmentMember).where(SegmentMember.segment_id == segment.id))
    rows = [{"segment_id": segment.id, "customer_id": c} for c in sorted(known)]
    if rows:
        session.execute(insert(SegmentMember), rows)
    record_audit(session, actor, "segment.saved", "segment", segment.id, {"customers": len(rows)})
    return segment


def add_suppressions(session: Session, suppressions: list[Suppression]) -> None:
    """Add each address's suppression once per channel and reason (the suppressions' unique
    key): those the database or an earlier one of ``suppressions`` holds already are left out.
    One lookup for many addresses (the demo's simulated bounces and unsubscribes)."""
    from soloist.storage.bulk import among, chunks  # Polars: not at every start

    hashes = sorted({s.address_hash for s in suppressions})
    kept: set[tuple[str, str, str]] = set()
    for part in chunks(hashes):
        kept.update(
            (channel, address, reason)
            for channel, address, reason in session.execute(
                select(Suppression.channel, Suppression.address_hash, Suppression.reason).where(
                    among(session, Suppression.address_hash, part)
                )
            )
        )
    for suppression in suppressions:
        key = (suppression.channel, suppression.address_hash, suppression.reason)
        if key not in kept:
            kept.add(key)
            session.add(suppression)
    session.flush()
