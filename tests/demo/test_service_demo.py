"""The demo's service desk and sales pipeline: tickets whose clocks are the desk's own, an inbox
with work at the end, deals in every stage with their history, and tasks."""

from __future__ import annotations

import datetime as dt
import itertools
import re
from collections import defaultdict
from collections.abc import Iterator

import numpy as np
import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from soloist.config import load_settings
from soloist.demo.business import build_demo
from soloist.demo.clock import BusinessHours, Clock
from soloist.domain.sales import count_tasks, list_deals, run_task_rules, task_rules
from soloist.domain.sales.forecast import pipeline_stats
from soloist.domain.service import create_breach_tasks
from soloist.domain.service.business_time import (
    BusinessCalendar,
    add_business_minutes,
    business_minutes_between,
)
from soloist.domain.service.canned import list_canned_replies, render_canned_reply
from soloist.domain.service.settings import service_calendar
from soloist.domain.service.sla import start_clock, stop_clock
from soloist.domain.service.tickets import (
    Desk,
    add_customer_message,
    open_ticket,
    reply_to_ticket,
    set_ticket_status,
    sla_summary,
)
from soloist.storage.database import Database
from soloist.storage.migrate import upgrade_database
from soloist.storage.models import (
    Customer,
    Deal,
    DealStage,
    DealStageChange,
    SurveyResponse,
    Task,
    Ticket,
    TicketMessage,
    TicketStatusChange,
)
from soloist.storage.types import as_utc

END = dt.date(2026, 6, 30)  # a Tuesday
END_AT = dt.datetime(2026, 6, 30, tzinfo=dt.UTC)
TIMEZONE = "Europe/London"  # a zone with daylight saving, unlike UTC
CJK = re.compile(r"[\u4e00-\u9fff]")
CLOCK_COLUMNS = (
    "status", "priority", "first_response_at", "resolved_at", "closed_at",
    "first_response_due_at", "resolution_due_at", "first_response_target_minutes",
    "resolution_target_minutes", "sla_clock_started_at", "last_message_at",
)  # fmt: skip


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory, master_key: str) -> Iterator[Database]:
    """A 400-customer demo whose workspace keeps London time."""
    folder = tmp_path_factory.mktemp("service-demo")
    database = Database(load_settings(workspace=folder, environ={"SOLOIST_MASTER_KEY": master_key}))
    upgrade_database(database.engine)
    with database.session() as session:
        build_demo(session, customers=400, seed=11, end_date=END, timezone=TIMEZONE)
    yield database
    database.dispose()


def _utc(value: dt.datetime | None) -> dt.datetime | None:
    return None if value is None else as_utc(value)


def _calendar(session: Session) -> BusinessCalendar:
    return service_calendar(session, TIMEZONE)


@pytest.mark.parametrize(
    "calendar",
    [
        BusinessCalendar.from_json({"timezone": "Europe/London", "hours": {
            d: [["09:00", "17:00"]] for d in ("mon", "tue", "wed", "thu", "fri")}}),
        BusinessCalendar.from_json({"timezone": "America/New_York", "hours": {
            "mon": [["08:00", "12:00"], ["13:00", "18:30"]], "sat": [["10:00", "24:00"]]},
            "holidays": ["2025-12-25"]}),
        # A range bound in London's spring-forward gap: the sums fall back on the desk's walk.
        BusinessCalendar.from_json({"timezone": "Europe/London", "hours": {
            "sun": [["01:30", "05:00"]], "wed": [["00:00", "24:00"]]}}),
    ],
    ids=["london-office", "new-york-split-days", "dst-gap-bound"],
)  # fmt: skip
def test_business_hours_sum_as_the_desk_counts(calendar: BusinessCalendar) -> None:
    first = dt.datetime(2025, 1, 1, tzinfo=dt.UTC)
    hours = BusinessHours(calendar, first, first + dt.timedelta(days=400))
    rng = np.random.default_rng(3)
    for _ in range(400):
        start = first + dt.timedelta(minutes=float(rng.uniform(0, 370 * 1440)))
        end = start + dt.timedelta(minutes=float(rng.exponential(3 * 1440)))
        minutes = float(rng.choice([0.0, 1e-6, 1.0, 59.5, 480.0, rng.exponential(2000)]))
        assert hours.between(start, end) == business_minutes_between(calendar, start, end)
        assert hours.add(start, minutes) == add_business_minutes(calendar, start, minutes)
    # At an interval's very end: the earliest instant, the closing time itself.
    opening = add_business_minutes(calendar, first, 1e-9)
    day_end = add_business_minutes(calendar, opening, 30.0)
    assert hours.add(opening, 30.0) == day_end


def test_the_demo_clock_is_the_sla_modules_clock() -> None:
    """Start, stop and due times on random histories, against sla.py on a real ticket."""
    calendar = BusinessCalendar.from_json({"timezone": "Europe/London", "hours": {
        d: [["09:00", "17:00"]] for d in ("mon", "tue", "wed", "thu", "fri")}})  # fmt: skip
    at = dt.datetime(2026, 3, 20, 16, 0, tzinfo=dt.UTC)  # the clocks change on the 29th
    clock = Clock(BusinessHours(calendar, at - dt.timedelta(days=1), at + dt.timedelta(days=90)))
    rng = np.random.default_rng(5)
    for _ in range(60):
        real = Ticket(first_response_target_minutes=60, resolution_target_minutes=240,
                      sla_minutes_used=0.0)  # fmt: skip
        mine = Ticket(first_response_target_minutes=60, resolution_target_minutes=240,
                      sla_minutes_used=0.0)  # fmt: skip
        moment = at + dt.timedelta(hours=float(rng.uniform(0, 48)))
        for step in range(8):
            moment += dt.timedelta(minutes=float(rng.exponential(300)))
            if step == 2:
                real.first_response_at = mine.first_response_at = moment
            if step % 2 == 0:
                start_clock(real, calendar, moment)
                clock.start(mine, moment)
            else:
                stop_clock(real, calendar, moment)
                clock.stop(mine, moment)
            for name in ("sla_minutes_used", "sla_clock_started_at", "first_response_due_at",
                         "resolution_due_at"):  # fmt: skip
                assert getattr(mine, name) == getattr(real, name), name


def _chain(changes: list[TicketStatusChange]) -> list[TicketStatusChange]:
    """The status rows in the order they happened (from the first, None -> new, along)."""
    ordered = sorted(changes, key=lambda c: (as_utc(c.changed_at), c.id))
    chain: list[TicketStatusChange] = []
    status: str | None = None
    pending = list(ordered)
    while pending:
        step = next(c for c in pending if c.from_status == status)
        pending.remove(step)
        chain.append(step)
        status = step.to_status
    return chain


def _steps(changes: list[TicketStatusChange]) -> list[tuple[str | None, str, dt.datetime]]:
    return [(c.from_status, c.to_status, as_utc(c.changed_at)) for c in _chain(changes)]


def _replay(session: Session, desk: Desk, ticket: Ticket, history: list[TicketStatusChange],
            thread: list[TicketMessage]) -> Ticket:  # fmt: skip
    """Live the demo ticket again through the desk's own functions."""
    changes = _chain(history)
    messages = sorted(thread, key=lambda m: (as_utc(m.created_at), m.id))
    first = messages[0]
    copy = open_ticket(
        session, desk, ticket.subject, first.body, "test", customer_id=ticket.customer_id,
        priority=ticket.priority, channel=ticket.channel, category=ticket.category,
        opened_at=as_utc(ticket.opened_at),
    )  # fmt: skip
    i = 1
    for message in messages[1:]:
        at = as_utc(message.created_at)
        while i < len(changes) and as_utc(changes[i].changed_at) < at:
            set_ticket_status(session, desk, copy.id, changes[i].to_status, "test",
                              at=as_utc(changes[i].changed_at))  # fmt: skip
            i += 1
        j = i
        while j < len(changes) and as_utc(changes[j].changed_at) == at:
            j += 1
        if message.author_kind == "customer":
            add_customer_message(session, desk, copy.id, message.body, "test", at=at)
        elif message.internal:
            reply_to_ticket(session, desk, copy.id, message.body, "test", at=at, internal=True)
            j = i
        else:
            status = changes[j - 1].to_status if j > i else copy.status
            reply_to_ticket(session, desk, copy.id, message.body, "test", at=at, status=status)
        i = j
    for change in changes[i:]:
        set_ticket_status(session, desk, copy.id, change.to_status, "test",
                          at=as_utc(change.changed_at))  # fmt: skip
    session.flush()
    return copy


def test_demo_tickets_replayed_through_the_desk_keep_their_clocks(demo: Database) -> None:
    """Every ticket (but the merged duplicates, whose thread moved) lived again with the desk's
    functions ends with the same status, history and SLA columns as the demo wrote."""
    with demo.session() as session:
        desk = Desk(_calendar(session))  # no settings: resolving queues no survey
        tickets = list(session.scalars(select(Ticket).where(Ticket.merged_into_id.is_(None))))
        histories: dict[int, list[TicketStatusChange]] = defaultdict(list)
        for change in session.scalars(select(TicketStatusChange)):
            histories[change.ticket_id].append(change)
        threads: dict[int, list[TicketMessage]] = defaultdict(list)
        for message in session.scalars(select(TicketMessage)):
            threads[message.ticket_id].append(message)
        assert len(tickets) > 40
        for ticket in tickets:
            copy = _replay(session, desk, ticket, histories[ticket.id], threads[ticket.id])
            for name in CLOCK_COLUMNS:
                mine, theirs = getattr(ticket, name), getattr(copy, name)
                if isinstance(mine, dt.datetime):
                    mine, theirs = as_utc(mine), _utc(theirs)
                assert mine == theirs, (ticket.id, name)
            assert ticket.sla_minutes_used == pytest.approx(copy.sla_minutes_used, abs=1e-6)
            replayed = session.scalars(
                select(TicketStatusChange).where(TicketStatusChange.ticket_id == copy.id)
            )
            assert _steps(list(replayed)) == _steps(histories[ticket.id])
        session.rollback()


def test_demo_ticket_columns_follow_the_sla_rules(demo: Database) -> None:
    with demo.read_session() as session:
        calendar = _calendar(session)
        tickets = list(session.scalars(select(Ticket)))
        staff: dict[int, list[dt.datetime]] = defaultdict(list)
        bodies: dict[int, list[str]] = defaultdict(list)
        for message in session.scalars(select(TicketMessage)):
            if message.author_kind == "staff" and not message.internal:
                staff[message.ticket_id].append(as_utc(message.created_at))
                assert message.delivery == "sent"
                assert message.message_id
            if message.author_kind == "customer":
                bodies[message.ticket_id].append(message.body)
        histories: dict[int, list[TicketStatusChange]] = defaultdict(list)
        for change in session.scalars(select(TicketStatusChange)):
            histories[change.ticket_id].append(change)
        language = dict(session.execute(select(Customer.id, Customer.language)).all())
        statuses = {t.status for t in tickets}
        assert statuses == {"new", "open", "pending", "resolved", "closed"}
        for t in tickets:
            assert _chain(histories[t.id])[-1].to_status == t.status
            answered = min(staff[t.id]) if staff[t.id] else None
            assert _utc(t.first_response_at) == answered  # set iff a reply went out
            used, started = t.sla_minutes_used, _utc(t.sla_clock_started_at)
            targets = [(t.resolution_target_minutes, _utc(t.resolution_due_at))]
            if answered is None:  # the first response's due time is settled once it is given
                targets.append((t.first_response_target_minutes, _utc(t.first_response_due_at)))
            for target, due in targets:
                assert target is not None
                if t.status in ("new", "open"):  # running: due when the minutes left run out
                    assert started is not None
                    if target > used:
                        assert due == add_business_minutes(calendar, started, target - used)
                    else:  # used up before the clock last started: due in the past
                        assert due is not None
                        assert due <= started
                else:  # standing: a due time only for a target already missed
                    assert started is None
                    assert (due is not None) == (used >= target)
            if t.status in ("resolved", "closed"):
                assert t.resolved_at is not None
            assert (t.closed_at is not None) == (t.status == "closed")
            if t.merged_into_id is None:
                chinese = language.get(t.customer_id or 0) == "zh"
                assert all(bool(CJK.search(body)) == chinese for body in bodies[t.id])
        # Two duplicates, closed into their customer's ticket, their message in its thread.
        merged = [t for t in tickets if t.merged_into_id is not None]
        assert len(merged) == 2
        for duplicate in merged:
            into = session.get(Ticket, duplicate.merged_into_id)
            assert into is not None
            assert duplicate.status == "closed"
            assert (into.customer_id, into.subject) == (duplicate.customer_id, duplicate.subject)
            assert not bodies[duplicate.id]
            assert len(bodies[into.id]) >= 2
        # CSAT answers belong to resolved tickets, after the resolution.
        answers = session.scalars(
            select(SurveyResponse).where(SurveyResponse.ticket_id.is_not(None))
        )
        for answer in answers:
            ticket = session.get(Ticket, answer.ticket_id)
            assert ticket is not None
            assert ticket.resolved_at is not None
            assert as_utc(answer.responded_at) > as_utc(ticket.resolved_at)
            assert answer.customer_id == ticket.customer_id


def test_demo_inbox_has_late_tickets_and_tickets_falling_due(demo: Database) -> None:
    """At the end the dashboard warns of breaches, the first working hour brings due times, and
    the breach rule's tasks are the ones its worker would have made (it makes none again)."""
    with demo.read_session() as session:
        summary = sla_summary(session, END_AT)
        assert summary.breached >= 2
        assert summary.active >= 7
        assert summary.new >= 2
        first_hour = add_business_minutes(_calendar(session), END_AT, 60)
        falling_due = 0
        for ticket in session.scalars(select(Ticket).where(Ticket.status.in_(("new", "open")))):
            due = (
                ticket.resolution_due_at
                if ticket.first_response_at
                else ticket.first_response_due_at
            )
            falling_due += due is not None and END_AT <= as_utc(due) <= first_hour
        assert falling_due >= 3
        recent = session.scalars(
            select(Ticket.status).where(Ticket.opened_at >= END_AT - dt.timedelta(days=14))
        ).all()
        assert {"new", "open", "pending"} <= set(recent)
        rule = task_rules(session, "sla_breach")[0]
        keys = set(
            session.scalars(
                select(Task.automation_key).where(Task.automation_key.like("sla-breach:%"))
            )
        )
        assert keys
        assert all(str(key).startswith(f"sla-breach:{rule.id}:") for key in keys)
    assert create_breach_tasks(demo, "test", END_AT) == 0
    with demo.read_session() as session:
        late = session.scalars(
            select(Task).where(Task.automation_key.like("sla-breach:%"), Task.done_at.is_(None))
        )
        assert all(task.ticket_id is not None for task in late)
        assert all(task.priority == "high" for task in late)


def test_demo_pipeline_has_every_stage_with_its_history(demo: Database) -> None:
    with demo.read_session() as session:
        stages = {s.key: s for s in session.scalars(select(DealStage))}
        deals = list(session.scalars(select(Deal)))
        assert len(deals) == 25
        assert {d.stage for d in deals} == set(stages)
        history: dict[int, list[DealStageChange]] = defaultdict(list)
        for change in session.scalars(select(DealStageChange).order_by(DealStageChange.changed_at)):
            history[change.deal_id].append(change)
        for deal in deals:
            path = history[deal.id]
            assert path[0].from_stage is None
            assert path[0].to_stage == "lead"
            assert all(a.to_stage == b.from_stage for a, b in itertools.pairwise(path))
            assert path[-1].to_stage == deal.stage
            assert as_utc(path[-1].changed_at) == _utc(deal.stage_entered_at)
            assert as_utc(path[0].changed_at) == as_utc(deal.created_at)
            assert deal.probability_percent == stages[deal.stage].probability_percent
            assert 200_00 <= deal.value_minor <= 20_000_00
            assert deal.currency == "USD"
            assert deal.owner_id is not None
            closed = stages[deal.stage].outcome != "open"
            assert (deal.closed_at is not None) == closed == (deal.close_reason is not None)
            entered, active = _utc(deal.stage_entered_at), _utc(deal.last_activity_at)
            assert entered is not None
            assert active is not None
            assert entered <= active <= END_AT
        open_deals = [d for d in deals if d.closed_at is None]
        expected = [d.expected_close_on or END for d in open_deals]
        assert sum(day < END for day in expected) == 2  # two past due
        assert max(expected) > END + dt.timedelta(days=90)
        assert list_deals(session, stale=True, now=END_AT)[1] >= 2
        stats = pipeline_stats(session, "USD", {})
        assert stats.won >= 2
        assert stats.lost >= 2
        for stage in stats.stages:
            if stage.key in ("lead", "qualified", "proposal"):
                assert stage.conversion_rate is not None
                assert 0 < stage.conversion_rate < 1
                assert stage.median_days is not None
                assert stage.median_days > 0


def test_demo_tasks_fill_the_today_list_and_the_rules_add_none(demo: Database) -> None:
    with demo.read_session() as session:
        counts = count_tasks(session, timezone=TIMEZONE, now=END_AT)
        assert counts["overdue"] >= 6
        assert counts["today"] >= 5
        assert counts["upcoming"] >= 8
        tasks = list(session.scalars(select(Task)))
        assert sum(t.done_at is not None for t in tasks) >= 10
        assert sum(t.remind_at is not None and as_utc(t.remind_at) > END_AT for t in tasks) == 2
        assert any(t.deal_id for t in tasks if t.automation_key is None)
        assert any(t.ticket_id for t in tasks if t.automation_key is None)
        for task in tasks:
            assert task.customer_id is not None
            if task.deal_id is not None and task.done_at is not None:
                deal = session.get(Deal, task.deal_id)  # a task done is activity on its deal
                assert deal is not None
                assert _utc(deal.last_activity_at) >= as_utc(task.done_at)  # type: ignore[operator]
        assert {rule.kind for rule in task_rules(session)} == {"sla_breach", "deal_stage"}
    assert run_task_rules(demo, "test", END_AT).total == 0  # the rule's tasks are all there


def test_demo_canned_replies_render_in_both_languages(demo: Database) -> None:
    with demo.read_session() as session:
        replies = list_canned_replies(session)
        assert {r.language for r in replies} == {"en", "zh"}
        assert len(replies) >= 4
        ticket = session.scalars(select(Ticket).order_by(Ticket.id)).first()
        assert ticket is not None
        customer = session.get(Customer, ticket.customer_id)
        assert customer is not None
        for reply in replies:
            text = render_canned_reply(session, reply.id, ticket)
            assert f"#{ticket.id}" in text
            assert (customer.name or "").split(" ")[0] in text
