"""Running the journeys: what the worker does each minute.

1. **Enter**: each running journey's new occasions become entries, one per (journey, customer,
   occasion); that unique key is what makes a journey act once per occasion across restarts,
   re-runs and two workers. A customer is in the journey's holdout or not by a seeded draw of
   their own (the same for every occasion), and a holdout entry is recorded, never acted on.
   Occasions are looked for in a read transaction and entered in a short write one, so that
   scanning a hundred thousand birthdays never keeps the API's writes waiting on SQLite.
2. **Act**: each entry whose time has come is checked (the journey's segment, consent and
   suppression on the channel, the frequency cap, quiet hours in the customer's time zone)
   and then, in one transaction, gets its message row (queued for the campaigns' sender, with
   a unique idempotency key) or its task, and is marked done. A crash before the commit leaves
   the entry waiting; after it, the message exists and the entry is done: never both, never
   twice. An entry held back by the cap or quiet hours waits and is looked at again; one still
   not sendable a week after its time is skipped.
"""

from __future__ import annotations

import datetime as dt
import logging
from dataclasses import dataclass, field

from sqlalchemy import case, insert, select
from sqlalchemy.orm import Session

from soloist.domain.campaigns.audience import (
    address_of,
    classified,
    new_message_id,
    segment_customer_ids,
)
from soloist.domain.campaigns.pacing import SendPolicy, recent_message_counts, uniform
from soloist.domain.campaigns.personal import campaign_language
from soloist.domain.campaigns.smtp import mail_domain
from soloist.domain.journeys.triggers import Occasion, find_occasions
from soloist.storage.database import Database
from soloist.storage.leases import hold_process_lock
from soloist.storage.models import (
    Campaign,
    CampaignContent,
    Customer,
    Journey,
    JourneyEntry,
    Message,
    Segment,
    Task,
)
from soloist.storage.types import utcnow

log = logging.getLogger("soloist.journeys")
MAX_LATE = dt.timedelta(days=7)
RESCAN_OVERLAP = dt.timedelta(hours=1)
BATCH = 500
LOCK_NAME = "journeys-runner"
# Triggers that look at every customer's state (not at what changed since the last scan): they
# read (and decrypt) the whole table, so they are scanned hourly, not every minute.
DATED_TRIGGERS = ("birthday", "points_expiring", "churn_risk")
DATED_RESCAN = dt.timedelta(hours=1)


# New entries first, then those waiting for the morning, last those held by the weekly cap
# (which frees slowly): a crowd held back cannot keep the others waiting.
_HELD_LAST = case(
    (JourneyEntry.reason.is_(None), 0), (JourneyEntry.reason == "frequency_cap", 2), else_=1
)


@dataclass
class JourneyRunReport:
    busy: bool = False
    entered: int = 0
    holdout: int = 0
    sent: int = 0
    tasks: int = 0
    skipped: dict[str, int] = field(default_factory=dict)
    waiting: dict[str, int] = field(default_factory=dict)
    held_ids: set[int] = field(default_factory=set, repr=False)
    failed: list[int] = field(default_factory=list)  # journeys whose pass raised

    def to_dict(self) -> dict[str, object]:
        return {
            "busy": self.busy, "entered": self.entered, "holdout": self.holdout,
            "sent": self.sent, "tasks": self.tasks, "skipped": dict(self.skipped),
            "waiting": dict(self.waiting), "failed": list(self.failed),
        }  # fmt: skip


def run_journeys(
    database: Database, actor: str = "journeys", now: dt.datetime | None = None
) -> JourneyRunReport:
    """Enter new occasions and act on due entries of every running journey."""
    now = now or utcnow()
    report = JourneyRunReport()
    with hold_process_lock(database.engine, LOCK_NAME) as held:
        if not held:
            report.busy = True
            return report
        with database.read_session() as session:
            ids = list(session.scalars(select(Journey.id).where(Journey.status == "active")))
        policy = SendPolicy.from_settings(database.settings)
        domain = mail_domain(database.settings.mail_from)
        for journey_id in ids:
            try:
                _run_one(database, journey_id, now, policy, domain, report)
            except Exception:  # one journey's fault does not stop the others
                log.exception("journey %s: this pass failed; it is tried again next minute",
                              journey_id)  # fmt: skip
                report.failed.append(journey_id)
    return report


def _run_one(
    database: Database,
    journey_id: int,
    now: dt.datetime,
    policy: SendPolicy,
    domain: str,
    report: JourneyRunReport,
) -> None:
    currency = database.settings.currency
    # Finding occasions reads (and decrypts) every customer's birthday or every new order: that
    # is done without the write lock, which on SQLite would keep the API's writes waiting.
    with database.read_session() as session:
        occasions = scan_for_occasions(
            session, journey_id, now, currency, database.settings.timezone
        )
    if occasions is not None:
        with database.session() as session:
            record_occasions(session, journey_id, occasions, now, report)
    while True:
        with database.session() as session:
            acted = act_on_due(session, journey_id, now, policy, domain, report, currency)
        if acted < BATCH:
            break
        database.let_writers_in()


def enter_occasions(
    session: Session,
    journey_id: int,
    now: dt.datetime,
    currency: str,
    report: JourneyRunReport,
    timezone: str = "UTC",
) -> int:
    """:func:`scan_for_occasions`, then :func:`record_occasions`, in one session."""
    occasions = scan_for_occasions(session, journey_id, now, currency, timezone)
    if occasions is None:
        return 0
    return record_occasions(session, journey_id, occasions, now, report)


def scan_for_occasions(
    session: Session, journey_id: int, now: dt.datetime, currency: str, timezone: str = "UTC"
) -> list[Occasion] | None:
    """The occasions of an active journey since its last scan (reads only); None when it is
    not running or not due a scan."""
    journey = session.get(Journey, journey_id)
    if journey is None or journey.status != "active":
        return None
    last = journey.scanned_at
    if journey.trigger in DATED_TRIGGERS and last is not None and now - last < DATED_RESCAN:
        return None  # their occasions are entered days ahead: an hourly look is enough
    since = (last or journey.started_at or now) - RESCAN_OVERLAP
    return find_occasions(session, journey, since, now, currency, timezone=timezone)


def record_occasions(
    session: Session,
    journey_id: int,
    occasions: list[Occasion],
    now: dt.datetime,
    report: JourneyRunReport,
) -> int:
    """Enter the ``occasions`` not entered yet (checked in this transaction) and note the scan;
    how many were entered."""
    journey = session.get(Journey, journey_id)
    if journey is None or journey.status != "active":
        return 0
    seen: set[tuple[int, str]] = set()
    if occasions:
        customers = sorted({o.customer_id for o in occasions})
        for start in range(0, len(customers), 1000):
            part = customers[start : start + 1000]
            seen.update(
                (int(c), str(k))
                for c, k in session.execute(
                    select(JourneyEntry.customer_id, JourneyEntry.occasion).where(
                        JourneyEntry.journey_id == journey.id, JourneyEntry.customer_id.in_(part)
                    )
                )
            )
    rows = []
    for occasion in occasions:
        key = (occasion.customer_id, occasion.key)
        if key in seen:
            continue
        seen.add(key)
        held_out = journey.holdout_share > 0 and (
            uniform(journey.assignment_seed, occasion.customer_id, "journey-holdout")
            < journey.holdout_share
        )
        late = now - occasion.due_at > MAX_LATE
        state = "holdout" if held_out else "skipped" if late else "waiting"
        rows.append(
            {
                "journey_id": journey.id,
                "customer_id": occasion.customer_id,
                "occasion": occasion.key[:64],
                "occurred_at": occasion.occurred_at,
                "due_at": occasion.due_at,
                "state": state,
                "reason": "late" if state == "skipped" else None,
                "created_at": now,
            }
        )
        report.entered += 1
        report.holdout += state == "holdout"
        if state == "skipped":
            report.skipped["late"] = report.skipped.get("late", 0) + 1
    if rows:
        session.execute(insert(JourneyEntry), rows)
    journey.scanned_at = now
    return len(rows)


def act_on_due(
    session: Session,
    journey_id: int,
    now: dt.datetime,
    policy: SendPolicy,
    domain: str,
    report: JourneyRunReport,
    currency: str,
) -> int:
    """Act on up to :data:`BATCH` due entries, in this one transaction. Returns how many count
    as progress (:data:`BATCH`: the runner fetches another batch)."""
    journey = session.get(Journey, journey_id)
    if journey is None or journey.status != "active":
        return 0
    entries = session.scalars(
        select(JourneyEntry)
        .where(
            JourneyEntry.journey_id == journey_id,
            JourneyEntry.state == "waiting",
            JourneyEntry.due_at <= now,
        )
        .order_by(_HELD_LAST, JourneyEntry.due_at, JourneyEntry.id)
        .limit(BATCH)
    ).all()
    if not entries:
        return 0
    ids = sorted({e.customer_id for e in entries})
    allowed = _segment_members(session, journey, currency)
    campaign = session.get(Campaign, journey.campaign_id) if journey.campaign_id else None
    languages = _languages(session, journey.campaign_id)
    customers: dict[int, tuple[Customer, str | None]] = {}
    if journey.action == "message":
        for batch in classified(session, ids, journey.channel):
            customers.update({c.id: (c, reason) for c, reason in batch})
    recent = recent_message_counts(session, ids, now) if policy.frequency_cap else {}
    held_back = 0
    fresh = sum(entry.reason is None for entry in entries)  # never held back before
    written: list[tuple[JourneyEntry, Message | Task]] = []  # their ids after one flush
    for entry in entries:
        if now - entry.due_at > MAX_LATE:  # a week late is too late (a birthday, a review)
            late = entry.reason or "late"
            entry.state, entry.reason, entry.done_at = "skipped", late, now
            report.skipped[late] = report.skipped.get(late, 0) + 1
            continue
        reason = _reason_to_skip(entry, allowed, customers, journey)
        if reason is None and journey.action == "message":
            customer, _ = customers[entry.customer_id]
            if policy.frequency_cap and recent.get(entry.customer_id, 0) >= policy.frequency_cap:
                reason = "frequency_cap"
            elif policy.when(now, customer.timezone) > now:
                reason = "quiet_hours"
            if reason is not None:  # wait for room or for the morning, up to a week
                entry.reason = reason
                if entry.id not in report.held_ids:  # once per pass, however often looked at
                    report.held_ids.add(entry.id)
                    report.waiting[reason] = report.waiting.get(reason, 0) + 1
                held_back += 1
                continue
            written.append(
                (entry, _send(session, journey, campaign, entry, customer, languages, domain, now))
            )
            recent[entry.customer_id] = recent.get(entry.customer_id, 0) + 1
            report.sent += 1
            continue
        if reason is None:  # a task for the owner
            task = Task(
                title=(journey.task_title or journey.name)[:255],
                customer_id=entry.customer_id,
                due_at=now,
                notes=f"{journey.name}: {entry.occasion}",
            )
            session.add(task)
            written.append((entry, task))
            report.tasks += 1
            continue
        entry.state, entry.reason, entry.done_at = "skipped", reason, now
        report.skipped[reason] = report.skipped.get(reason, 0) + 1
    if written:  # one flush for the batch's rows (one per message was most of the pass's time)
        session.flush()
        for entry, row in written:  # then each entry is updated once, at the commit
            if isinstance(row, Message):
                entry.state, entry.message_id = "sent", row.id
            else:
                entry.state, entry.task_id = "task", row.id
            entry.done_at, entry.reason = now, None
    # Entries held back are not counted as progress (the runner moves to the next journey
    # rather than fetch them again), unless every entry of the batch was looked at for the first
    # time: those held back now sort after the others, so the next batch holds new ones (else
    # any entry held back, one customer at local night, stopped the pass at one batch).
    if held_back and fresh < len(entries):
        return len(entries) - held_back
    return len(entries)


def _reason_to_skip(
    entry: JourneyEntry,
    allowed: set[int] | None,
    customers: dict[int, tuple[Customer, str | None]],
    journey: Journey,
) -> str | None:
    if allowed is not None and entry.customer_id not in allowed:
        return "not_in_segment"
    if journey.action != "message":
        return None
    found = customers.get(entry.customer_id)
    if found is None:
        return "no_customer"
    return found[1]


def _send(
    session: Session,
    journey: Journey,
    campaign: Campaign | None,
    entry: JourneyEntry,
    customer: Customer,
    languages: set[str],
    domain: str,
    now: dt.datetime,
) -> Message:
    """The entry's message row, added to the session (its id comes with the batch's flush)."""
    assert campaign is not None
    language = campaign_language(customer.language)
    message = Message(
        campaign_id=campaign.id,
        journey_id=journey.id,
        customer_id=entry.customer_id,
        channel=journey.channel,
        status="queued",
        variant="A",
        idempotency_key=f"journey:{journey.id}:{entry.customer_id}:{entry.occasion}"[:128],
        recipient=address_of(customer, journey.channel)[0],
        message_id=new_message_id(domain),
        language=language if language in languages else campaign.default_language,
        created_at=now,
    )
    session.add(message)
    return message


def _segment_members(session: Session, journey: Journey, currency: str) -> set[int] | None:
    if journey.segment_id is None:
        return None
    segment = session.get(Segment, journey.segment_id)
    if segment is None:
        return set()
    return set(segment_customer_ids(session, segment, currency))


def _languages(session: Session, campaign_id: int | None) -> set[str]:
    if campaign_id is None:
        return set()
    return set(
        session.scalars(
            select(CampaignContent.language).where(CampaignContent.campaign_id == campaign_id)
        )
    )
