"""The demo's service desk: every ticket lived through on the desk's own SLA clock.

The process (latent satisfaction and first orders come from :mod:`.conversations`):

- about 15 % of customers write once (25 % of the unhappy ones, satisfaction below -1), 1–120
  days after their first order, at a local time around early afternoon (N(13 h, 4 h), wrapped:
  customers write at any hour); two in five weekend tickets arrive on Monday instead;
- priority low 15 %, normal 55 %, high 20 %, urgent 10 %; the targets are the workspace's
  ``sla_policies`` rows, the clock its service calendar;
- the first answer comes after an exponential number of business minutes, on average 0.45 of
  the first-response target (twice that for unhappy customers); advice questions are mostly
  solved in that answer, the rest wait on the customer (pending);
- a waiting customer answers in 70 % of cases after a log-normal delay (median 5 hours, at any
  hour), which opens the ticket again; the owner answers again, solving it more likely each
  round; a customer who stays silent has the ticket resolved after three to five days;
- a resolved ticket is closed two to seven days later, unless (one in twelve) its customer
  writes again first, which opens it again.

What would happen after the demo's end never does: the last days' tickets are left new, open
or pending, as the desk would show them. Seven tickets are placed so the inbox has work at the
end: two past a target, four falling due in the first working hours after it, one waiting on the
customer. Two customers wrote twice about one thing; their second tickets are merged.

Each change of status runs the SLA clock (:class:`~soloist.demo.clock.Clock`:
:mod:`soloist.domain.service.sla`'s rules on the calendar's hours summed once) on an unsaved
:class:`Ticket`, through the transitions of :mod:`soloist.domain.service.tickets`, so every SLA
column, due time and status row is the one the desk itself would have written (the tests replay
demo tickets through the desk's own functions and compare); the rows are inserted in bulk.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any
from zoneinfo import ZoneInfo

import numpy as np
from sqlalchemy import update
from sqlalchemy.orm import Session

from soloist.demo import vocabulary as vocab
from soloist.demo.clock import BusinessHours, Clock
from soloist.domain.audit import insert_rows
from soloist.domain.sales import add_task_rule
from soloist.domain.service import (
    TRANSITIONS,
    SlaTargets,
    index_ticket_subjects,
    save_canned_reply,
    service_calendar,
    sla_targets,
)
from soloist.storage.models import (
    SurveyResponse,
    Task,
    Ticket,
    TicketMessage,
    TicketStatusChange,
)

ACTOR = "system:demo"
RUNNING = ("new", "open")  # the statuses in which the SLA clock counts, as in service.sla
PRIORITIES = ("low", "normal", "high", "urgent")
PRIORITY_SHARES = (0.15, 0.55, 0.2, 0.1)
CHUNK = 20_000
BREACH_RULE_DAYS = 14  # the sla_breach task rule was made this long before the end
# The tickets waiting at the end: priority, category, shape, business minutes used by then.
INBOX = (
    ("urgent", "refund", "new", 95.0),  # first answer 35 minutes late
    ("high", "product", "open", 530.0),  # resolution 50 minutes late
    ("normal", "shipping", "new", 455.0),  # first answer due 25 business minutes after the end
    ("high", "shipping", "new", 80.0),  # due in 40
    ("normal", "product", "open", 1390.0),  # resolution due in 50
    ("urgent", "subscription", "open", 180.0),  # resolution due in 60
    ("low", "advice", "pending", 240.0),  # waiting on the customer: the clock stands
)
TICKET_COLUMNS = (
    "customer_id", "subject", "status", "priority", "channel", "category", "assignee_id",
    "opened_at", "first_response_at", "resolved_at", "closed_at", "first_response_due_at",
    "resolution_due_at", "first_response_target_minutes", "resolution_target_minutes",
    "sla_minutes_used", "sla_clock_started_at", "last_message_at", "created_at", "updated_at",
)  # fmt: skip


@dataclass
class ServiceDemo:
    tickets: int
    ticket_messages: int
    survey_responses: int
    canned_replies: int
    active_tickets: int
    breached_tickets: int
    breach_tasks: int


@dataclass(slots=True)
class _Ticket:
    """A ticket's columns while the demo lives it (a plain object: an ORM one is slower)."""

    customer_id: int
    subject: str
    status: str
    priority: str
    channel: str
    category: str
    assignee_id: int | None
    opened_at: dt.datetime
    first_response_target_minutes: int | None
    resolution_target_minutes: int | None
    created_at: dt.datetime
    updated_at: dt.datetime
    first_response_at: dt.datetime | None = None
    resolved_at: dt.datetime | None = None
    closed_at: dt.datetime | None = None
    first_response_due_at: dt.datetime | None = None
    resolution_due_at: dt.datetime | None = None
    sla_minutes_used: float = 0.0
    sla_clock_started_at: dt.datetime | None = None
    last_message_at: dt.datetime | None = None


@dataclass
class _Life:
    """One ticket as the desk lived it: the unsaved ticket, its thread and status history."""

    ticket: _Ticket
    customer: int  # index into the customer arrays
    chinese: bool
    messages: list[dict[str, Any]] = field(default_factory=list)
    changes: list[tuple[str | None, str, dt.datetime, str]] = field(default_factory=list)
    # target ("first-response" | "resolution") -> [due time passed while running, when handled]
    breaches: dict[str, list[dt.datetime | None]] = field(default_factory=dict)
    merged_into: _Life | None = None


class _Desk:
    """The transitions of :mod:`soloist.domain.service.tickets`, on unsaved tickets."""

    def __init__(
        self, hours: BusinessHours, targets: dict[str, SlaTargets], owner_id: int | None
    ) -> None:
        self.hours, self.clock = hours, Clock(hours)
        self.targets, self.owner_id = targets, owner_id
        self.staff = f"user:{owner_id}" if owner_id is not None else ACTOR
        self.mails = 0

    def _mail_id(self, who: str) -> str:
        self.mails += 1
        host = "littlelantern.example" if who == "staff" else "mail.example"
        return f"<demo-{self.mails}@{host}>"

    def _message(
        self, life: _Life, kind: str, at: dt.datetime, body: str, *, internal: bool = False
    ) -> None:
        mailed = not internal and (kind == "staff" or life.ticket.channel == "email")
        life.messages.append({
            "author_kind": kind, "user_id": self.owner_id if kind == "staff" else None,
            "body": body, "created_at": at, "internal": internal,
            "message_id": self._mail_id(kind) if mailed else None,
            "delivery": "sent" if kind == "staff" and not internal else None,
        })  # fmt: skip
        life.ticket.updated_at = at
        if not internal:
            life.ticket.last_message_at = max(life.ticket.last_message_at or at, at)

    def open(
        self, customer: int, customer_id: int, chinese: bool, priority: str, category: str,
        subject: str, body: str, channel: str, at: dt.datetime,
    ) -> _Life:  # fmt: skip
        targets = self.targets.get(priority)
        ticket = _Ticket(
            customer_id=customer_id, subject=subject, status="new", priority=priority,
            channel=channel, category=category, assignee_id=self.owner_id, opened_at=at,
            first_response_target_minutes=targets.first_response_minutes if targets else None,
            resolution_target_minutes=targets.resolution_minutes if targets else None,
            sla_minutes_used=0.0, created_at=at, updated_at=at,
        )  # fmt: skip
        life = _Life(ticket, customer, chinese)
        life.changes.append((None, "new", at, ACTOR))
        self._message(life, "customer", at, body)
        self.clock.start(ticket, at)
        return life

    def passing(self, life: _Life, at: dt.datetime) -> None:
        """Note the due times a running clock passed before ``at`` (the breaches)."""
        ticket = life.ticket
        if ticket.sla_clock_started_at is None:
            return
        first = ticket.first_response_due_at
        if ticket.first_response_at is None and first is not None and first < at:
            life.breaches.setdefault("first-response", [first, None])
        if ticket.resolution_due_at is not None and ticket.resolution_due_at < at:
            life.breaches.setdefault("resolution", [ticket.resolution_due_at, None])

    def move(self, life: _Life, status: str, at: dt.datetime, actor: str) -> None:
        ticket = life.ticket
        previous = ticket.status
        assert status in TRANSITIONS[previous], (previous, status)
        self.passing(life, at)
        life.changes.append((previous, status, at, actor))
        ticket.status, ticket.updated_at = status, at
        if status in RUNNING:
            if previous == "resolved":
                ticket.resolved_at = None
            self.clock.start(ticket, at)
        else:
            self.clock.stop(ticket, at)
            for breach in life.breaches.values():
                breach[1] = breach[1] or at  # the owner deals with it when the clock stops
        if status == "resolved":
            ticket.resolved_at = at
        if status == "closed":
            ticket.closed_at = at
            ticket.resolved_at = ticket.resolved_at or at

    def customer_writes(self, life: _Life, at: dt.datetime, body: str) -> None:
        self.passing(life, at)
        self._message(life, "customer", at, body)
        if life.ticket.status in ("pending", "resolved"):
            self.move(life, "open", at, ACTOR)

    def reply(self, life: _Life, at: dt.datetime, body: str, status: str) -> None:
        self.passing(life, at)
        self._message(life, "staff", at, body)
        ticket = life.ticket
        ticket.first_response_at = ticket.first_response_at or at
        if ticket.status == "new":
            self.move(life, "open", at, self.staff)  # answering is looking at it
        if status != ticket.status:
            self.move(life, status, at, self.staff)

    def note(self, life: _Life, at: dt.datetime, body: str) -> None:
        self.passing(life, at)
        self._message(life, "staff", at, body, internal=True)

    def merge(self, duplicate: _Life, into: _Life, at: dt.datetime) -> None:
        """The duplicate opened after the ticket it joins: that one's clock still counts."""
        for message in duplicate.messages:
            into.messages.append(message)
            into.ticket.last_message_at = max(into.ticket.last_message_at, message["created_at"])
        duplicate.messages = []
        duplicate.merged_into = into
        self.move(duplicate, "closed", at, self.staff)


def _texts(chinese: bool) -> dict[str, Any]:
    if chinese:
        return {
            "open": vocab.TICKET_OPENINGS_ZH, "first": vocab.STAFF_FIRST_REPLIES_ZH,
            "follow": vocab.STAFF_FOLLOW_UPS_ZH, "solve": vocab.STAFF_RESOLUTIONS_ZH,
            "again": vocab.CUSTOMER_FOLLOW_UPS_ZH, "thanks": vocab.CUSTOMER_THANKS_ZH,
            "subjects": vocab.TICKET_SUBJECTS_ZH, "duplicate": vocab.DUPLICATE_NOTE_ZH,
        }  # fmt: skip
    return {
        "open": vocab.TICKET_OPENINGS_EN, "first": vocab.STAFF_FIRST_REPLIES_EN,
        "follow": vocab.STAFF_FOLLOW_UPS_EN, "solve": vocab.STAFF_RESOLUTIONS_EN,
        "again": vocab.CUSTOMER_FOLLOW_UPS_EN, "thanks": vocab.CUSTOMER_THANKS_EN,
        "subjects": vocab.TICKET_SUBJECTS_EN, "duplicate": vocab.DUPLICATE_NOTE_EN,
    }  # fmt: skip


def _pick(rng: np.random.Generator, options: list[Any] | tuple[Any, ...]) -> Any:
    return options[int(rng.integers(len(options)))]


def _opened_at(
    start: dt.datetime, day: float, minute: int, to_monday: bool, zone: ZoneInfo
) -> dt.datetime:
    """The local day ``day`` days after ``start`` (a weekend one moved to Monday when
    ``to_monday``), at ``minute`` past local midnight, in UTC."""
    date = (start + dt.timedelta(days=day)).astimezone(zone).date()
    if date.weekday() >= 5 and to_monday:
        date += dt.timedelta(days=7 - date.weekday())
    local = dt.datetime.combine(date, dt.time(minute // 60, minute % 60), tzinfo=zone)
    return local.astimezone(dt.UTC)


def _live(
    desk: _Desk, rng: np.random.Generator, life: _Life, unhappy: bool, now: dt.datetime
) -> None:
    """Play one ticket forward from its opening until it is closed or the demo ends."""
    hours, ticket = desk.hours, life.ticket
    texts = _texts(life.chinese)
    category = ticket.category or "advice"
    slow = 2.0 if unhappy else 1.0
    first_target = ticket.first_response_target_minutes or 480
    resolution_target = ticket.resolution_target_minutes or 1440
    delay = float(rng.exponential(0.45 * slow * first_target))
    answer_at = hours.add(ticket.opened_at, delay)
    if rng.random() < 0.12:
        noted = hours.add(ticket.opened_at, delay * float(rng.uniform(0.2, 0.8)))
        if noted < min(answer_at, now):
            desk.note(life, noted, _pick(rng, vocab.INTERNAL_NOTES))
    rounds = 0
    while answer_at < now:
        solves = rng.random() < (0.55 if category == "advice" else 0.15) + 0.3 * rounds
        body = (
            _pick(rng, texts["first"][category])
            if rounds == 0
            else _pick(rng, texts["solve" if solves else "follow"])
        )
        desk.reply(life, answer_at, body, "resolved" if solves else "pending")
        if not solves and rng.random() >= 0.7:  # silence: resolved after a few quiet days
            quiet = answer_at + dt.timedelta(days=float(rng.uniform(3, 5)))
            solved_at = hours.add(quiet, float(rng.uniform(1, 60)))
            if solved_at >= now:
                return
            desk.move(life, "resolved", solved_at, desk.staff)
            solves, answer_at = True, solved_at
        if solves:
            back = answer_at + dt.timedelta(hours=float(rng.lognormal(np.log(5), 1.0)))
            if rng.random() < 1 / 12 and back < now:
                desk.customer_writes(life, back, _pick(rng, texts["thanks" if rounds else "again"]))
            else:
                closing = answer_at + dt.timedelta(days=float(rng.uniform(2, 7)))
                if closing < now:
                    desk.move(life, "closed", closing, desk.staff)
                return
        else:
            back = answer_at + dt.timedelta(hours=float(rng.lognormal(np.log(5), 1.0)))
            if back >= now:
                return
            desk.customer_writes(life, back, _pick(rng, texts["again"]))
        rounds += 1
        delay = float(rng.exponential(0.25 * slow * resolution_target))
        answer_at = hours.add(back, delay)


def _inbox(
    desk: _Desk, rng: np.random.Generator, customers: np.ndarray, customer_ids: list[int],
    chinese: np.ndarray, now: dt.datetime,
) -> list[_Life]:  # fmt: skip
    """The tickets placed to be waiting at the end (:data:`INBOX`)."""
    hours, lives = desk.hours, []
    for (priority, category, shape, used), customer in zip(INBOX, customers, strict=False):
        texts = _texts(bool(chinese[customer]))
        subject = next(s for s, c in texts["subjects"] if c == category)
        targets = desk.targets.get(priority)
        first = 0.5 * targets.first_response_minutes if targets else 30.0
        if shape == "new":
            opened, answered, back = hours.rewind(now, used), None, None
        else:
            back = hours.rewind(now, used - first) if shape == "open" else None
            reply_end = (back or now) - dt.timedelta(hours=float(rng.uniform(3, 20)))
            answered = hours.rewind(reply_end, 1.0)  # an instant inside business hours
            opened = hours.rewind(answered, first if shape == "open" else used)
        life = desk.open(
            int(customer), customer_ids[customer], bool(chinese[customer]), priority, category,
            subject, _pick(rng, texts["open"][category]), "email", opened,
        )  # fmt: skip
        if answered is not None:
            desk.reply(life, answered, _pick(rng, texts["first"][category]), "pending")
        if back is not None:
            desk.customer_writes(life, back, _pick(rng, texts["again"]))
        lives.append(life)
    return lives


def _duplicates(desk: _Desk, rng: np.random.Generator, lives: list[_Life]) -> list[_Life]:
    """Two customers who wrote again before the first answer (the latest such tickets, so the
    inbox shows them); merged when it came."""
    found: list[_Life] = []
    for life in sorted(lives, key=lambda life: life.ticket.opened_at, reverse=True):
        ticket = life.ticket
        answered = ticket.first_response_at
        if answered is None or answered - ticket.opened_at < dt.timedelta(hours=2):
            continue
        texts = _texts(life.chinese)
        again = ticket.opened_at + dt.timedelta(minutes=float(rng.uniform(20, 90)))
        body = f"{texts['duplicate']}\n\n{life.messages[0]['body']}"
        duplicate = desk.open(
            life.customer, int(ticket.customer_id or 0), life.chinese, ticket.priority,
            ticket.category or "advice", ticket.subject, body, ticket.channel or "email", again,
        )  # fmt: skip
        desk.merge(duplicate, life, answered)
        found.append(duplicate)
        if len(found) == 2:
            break
    return found


def build_service_demo(
    session: Session,
    rng: np.random.Generator,
    *,
    customer_ids: list[int],
    chinese: np.ndarray,
    satisfaction: np.ndarray,
    first_order: np.ndarray,
    start: dt.datetime,
    now: dt.datetime,
    timezone: str,
    owner_id: int | None,
    progress: Callable[[str, int, int], None],
) -> ServiceDemo:
    """Tickets, their threads, status history and CSAT/CES answers; canned replies; the SLA
    breach task rule with the tasks it made since it was added."""
    calendar = service_calendar(session, timezone)
    hours = BusinessHours(calendar, start - dt.timedelta(days=2), now + dt.timedelta(days=60))
    desk = _Desk(hours, sla_targets(session), owner_id)
    zone = ZoneInfo(calendar.timezone)
    horizon = (now - start) / dt.timedelta(days=1)
    n = len(customer_ids)
    lives: list[_Life] = []
    writers = np.flatnonzero(rng.random(n) < 0.15 + 0.1 * (satisfaction < -1))
    size = writers.size
    days = first_order[writers] + rng.uniform(1, 120, size)
    to_monday = rng.random(size) < 0.4
    minutes = rng.normal(13 * 60, 4 * 60, size).astype(np.int64) % 1440
    topics = rng.integers(len(vocab.TICKET_SUBJECTS_EN), size=size)
    priorities = rng.choice(len(PRIORITIES), size=size, p=PRIORITY_SHARES)
    by_mail = rng.random(size) < 0.75
    wordings = rng.integers(1 << 30, size=size)
    for k, i in enumerate(writers):
        if days[k] >= horizon:
            continue
        opened = _opened_at(start, float(days[k]), int(minutes[k]), bool(to_monday[k]), zone)
        if opened >= now:
            continue
        texts = _texts(bool(chinese[i]))
        subject, category = texts["subjects"][topics[k]]
        openings = texts["open"][category]
        life = desk.open(
            int(i), customer_ids[i], bool(chinese[i]), PRIORITIES[priorities[k]], category,
            subject, openings[wordings[k] % len(openings)], "email" if by_mail[k] else "web",
            opened,
        )  # fmt: skip
        _live(desk, rng, life, bool(satisfaction[i] < -1), now)
        lives.append(life)
    progress("tickets", len(lives), len(lives))
    duplicates = _duplicates(desk, rng, lives)
    known = np.flatnonzero(first_order < horizon - 30)  # customers for a month at least
    pool = known if known.size >= len(INBOX) else np.arange(n)
    chosen = rng.choice(pool, size=min(len(INBOX), pool.size), replace=False)
    inbox = _inbox(desk, rng, chosen, customer_ids, chinese, now)
    lives = sorted([*lives, *duplicates, *inbox], key=lambda life: life.ticket.opened_at)
    for life in lives:
        desk.passing(life, now)
    ids = _insert(session, lives, progress)
    surveys = _surveys(session, rng, lives, ids, satisfaction, now)
    for title, language, body in vocab.CANNED_REPLIES:
        save_canned_reply(session, title, body, ACTOR, language=language)
    tasks = _breach_tasks(session, rng, lives, ids, now)
    running = [life.ticket for life in lives if life.ticket.status in RUNNING]
    return ServiceDemo(
        tickets=len(lives),
        ticket_messages=sum(len(life.messages) for life in lives),
        survey_responses=surveys,
        canned_replies=len(vocab.CANNED_REPLIES),
        active_tickets=sum(life.ticket.status in ("new", "open", "pending") for life in lives),
        breached_tickets=sum(_late(ticket, now) for ticket in running),
        breach_tasks=tasks,
    )


def _late(ticket: _Ticket, now: dt.datetime) -> bool:
    """Past a due time at ``now``, as the dashboard counts it."""
    first = ticket.first_response_due_at
    late_first = ticket.first_response_at is None and first is not None and first < now
    return late_first or (ticket.resolution_due_at is not None and ticket.resolution_due_at < now)


def _nulls(row: dict[str, Any]) -> tuple[bool, ...]:
    """Which values are None: a bulk insert leaves those out, so it sends one statement per run
    of rows with the same ones; rows sorted by this go in a few statements."""
    return tuple(value is None for value in row.values())


def _insert(
    session: Session, lives: list[_Life], progress: Callable[[str, int, int], None]
) -> dict[int, int]:
    """Insert the tickets, their messages and status rows; ``id(life) -> ticket id``."""
    rows = [{name: getattr(life.ticket, name) for name in TICKET_COLUMNS} for life in lives]
    ticket_ids = insert_rows(session, Ticket, rows, ACTOR, "demo tickets", returning_ids=True)
    ids = {id(life): ticket_id for life, ticket_id in zip(lives, ticket_ids, strict=True)}
    subjects = {tid: row["subject"] for tid, row in zip(ticket_ids, rows, strict=True)}
    index_ticket_subjects(session, subjects, fresh=True)
    for life in lives:
        if life.merged_into is not None:
            session.execute(
                update(Ticket)
                .where(Ticket.id == ids[id(life)])
                .values(merged_into_id=ids[id(life.merged_into)])
                .execution_options(synchronize_session=False)
            )
    messages = [
        message | {"ticket_id": ids[id(life)]}
        for life in lives
        for message in sorted(life.messages, key=lambda m: m["created_at"])
    ]
    messages.sort(key=_nulls)  # a thread reads in time order, whatever the ids
    for lo in range(0, len(messages), CHUNK):
        insert_rows(session, TicketMessage, messages[lo : lo + CHUNK], ACTOR, "demo ticket thread")
        progress("ticket messages", min(lo + CHUNK, len(messages)), len(messages))
    changes = [
        {"ticket_id": ids[id(life)], "from_status": before, "to_status": after,
         "changed_at": at, "actor": actor}
        for life in lives
        for before, after, at, actor in life.changes
    ]  # fmt: skip
    changes.sort(key=_nulls)
    for lo in range(0, len(changes), CHUNK):
        insert_rows(session, TicketStatusChange, changes[lo : lo + CHUNK], ACTOR, "demo history")
    return ids


def _surveys(
    session: Session, rng: np.random.Generator, lives: list[_Life], ids: dict[int, int],
    satisfaction: np.ndarray, now: dt.datetime,
) -> int:  # fmt: skip
    """A CSAT answer (and every other time a CES one) two hours after each resolution; slow
    first answers lower them."""
    rows: list[dict[str, Any]] = []
    for life in lives:
        ticket = life.ticket
        if life.merged_into is not None or ticket.resolved_at is None:
            continue
        answered_at = ticket.resolved_at + dt.timedelta(hours=2)
        if ticket.status not in ("resolved", "closed") or answered_at >= now:
            continue
        s = float(satisfaction[life.customer])
        answered = ticket.first_response_at or ticket.resolved_at
        hours = min((answered - ticket.opened_at).total_seconds() / 3600, 48.0)
        answer = {
            "customer_id": ticket.customer_id, "comment": None, "ticket_id": ids[id(life)],
            "language": "zh" if life.chinese else "en", "responded_at": answered_at,
        }  # fmt: skip
        # round() like np.round: half to even
        csat = min(max(round(4.0 + 0.8 * s - 0.04 * hours + float(rng.normal(0, 0.5))), 1), 5)
        rows.append(answer | {"kind": "csat", "score": csat})
        if rng.random() < 0.5:
            ces = min(max(round(5.0 + 0.8 * s - 0.05 * hours), 1), 7)
            rows.append(answer | {"kind": "ces", "score": ces})
    insert_rows(session, SurveyResponse, rows, ACTOR, "demo ticket surveys")
    return len(rows)


def _breach_tasks(
    session: Session, rng: np.random.Generator, lives: list[_Life], ids: dict[int, int],
    now: dt.datetime,
) -> int:  # fmt: skip
    """The ``sla_breach`` rule, added two weeks before the end, and the tasks it made: one per
    breach since (the worker runs each minute; its keys let it find these and make none twice).
    The owner ticks a task off when the ticket is answered or set aside."""
    added = now - dt.timedelta(days=BREACH_RULE_DAYS)
    rule = add_task_rule(
        session, {"kind": "sla_breach", "title": "Answer the late ticket", "due_days": 0}, ACTOR,
        now=added,
    )  # fmt: skip
    rows: list[dict[str, Any]] = []
    for life in lives:
        ticket_id = ids[id(life)]
        for target, (due, handled) in sorted(life.breaches.items()):
            assert due is not None
            if due < added:
                continue
            seen = due + dt.timedelta(seconds=float(rng.uniform(1, 60)))
            done = handled + dt.timedelta(minutes=float(rng.uniform(1, 30))) if handled else None
            done = done if done is not None and done < now else None
            rows.append(
                {
                    "title": rule.title,
                    "notes": f"#{ticket_id} {life.ticket.subject}: "
                    f"{target.replace('-', ' ')} overdue",
                    "customer_id": life.ticket.customer_id, "ticket_id": ticket_id,
                    "due_at": seen + dt.timedelta(days=rule.due_days), "done_at": done,
                    "priority": "high",
                    "automation_key": f"sla-breach:{rule.id}:{ticket_id}:{target}",
                    "created_at": seen, "updated_at": done or seen,
                }
            )  # fmt: skip
    insert_rows(session, Task, rows, ACTOR, "demo tasks of the sla_breach rule")
    return len(rows)
