"""Tasks: something to do by a date and time, about a customer, a deal or a ticket.

A task's state is computed, not stored (EspoCRM's ``isOverdue``, Odoo's activity states), as of
a moment and in the workspace's time zone:

- ``done``: completed;
- ``overdue``: open and due before now;
- ``today``: open and due later today;
- ``upcoming``: open and due after today;
- ``someday``: open without a due time.

The ``today`` list is what needs doing today: the overdue tasks (shown first, to be
highlighted) and those due later today. A task linked to a deal and not to a customer takes the
deal's (or the ticket's) customer. Completing a task on a deal counts as activity on the deal.

Tasks made by an automation rule carry an ``automation_key``: :func:`create_task` with a key
that exists returns the task that has it, also when another transaction inserts it at the
same moment (a savepoint catches the unique key's refusal).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from typing import Any, cast
from zoneinfo import ZoneInfo

from sqlalchemy import case, func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from soloist.domain.audit import record_audit
from soloist.errors import NotFoundError, ValidationError
from soloist.storage.models import TASK_PRIORITIES, Customer, Deal, Task, Ticket, User
from soloist.storage.types import utcnow

TASK_FIELDS = (
    "title",
    "notes",
    "customer_id",
    "deal_id",
    "ticket_id",
    "assignee_id",
    "due_at",
    "remind_at",
    "priority",
    "done",
)
DUE_FILTERS = ("today", "overdue", "upcoming")
TASK_STATES = ("done", "overdue", "today", "upcoming", "someday")
TITLE_WIDTH, NOTES_LENGTH, KEY_WIDTH = 255, 10_000, 128


def _title(title: str) -> str:
    text = (title or "").strip()
    if not text:
        raise ValidationError("title: a task needs a title.", field="title")
    if len(text) > TITLE_WIDTH:
        raise ValidationError(f"title: at most {TITLE_WIDTH} characters.", field="title")
    return text


def _notes(notes: str | None) -> str | None:
    if notes is not None and len(notes) > NOTES_LENGTH:
        raise ValidationError(f"notes: at most {NOTES_LENGTH:,} characters.", field="notes")
    return notes or None


def _priority(priority: str) -> str:
    if priority not in TASK_PRIORITIES:
        raise ValidationError(
            f"priority: one of {', '.join(TASK_PRIORITIES)}, got {priority!r}.", field="priority"
        )
    return priority


def _moment(value: dt.datetime | None, name: str) -> dt.datetime | None:
    if value is not None and value.tzinfo is None:
        raise ValidationError(f"{name}: give the time with its time zone.", field=name)
    return None if value is None else value.astimezone(dt.UTC)


def _linked(session: Session, model: type[Any], key: int | None, name: str) -> Any:
    if key is None:
        return None
    row = session.get(model, key)
    if row is None:
        raise NotFoundError(f"No {name.removesuffix('_id')} with id {key}.", field=name)
    return row


def _check_assignee(session: Session, assignee_id: int | None) -> None:
    user = _linked(session, User, assignee_id, "assignee_id")
    if user is not None and not user.active:
        raise ValidationError(
            f"assignee_id: user {assignee_id} is not active.", field="assignee_id"
        )


def get_task(session: Session, task_id: int) -> Task:
    task = session.get(Task, task_id)
    if task is None:
        raise NotFoundError(f"No task with id {task_id}.", task_id=task_id)
    return task


def create_task(
    session: Session,
    title: str,
    actor: str,
    *,
    notes: str | None = None,
    customer_id: int | None = None,
    deal_id: int | None = None,
    ticket_id: int | None = None,
    assignee_id: int | None = None,
    due_at: dt.datetime | None = None,
    remind_at: dt.datetime | None = None,
    priority: str = "normal",
    automation_key: str | None = None,
    now: dt.datetime | None = None,
) -> Task:
    """A new task; with ``automation_key`` the task that has that key if there is one already
    (the key's rule made it before, perhaps at this very moment in another transaction)."""
    return create_task_once(
        session, title, actor, notes=notes, customer_id=customer_id, deal_id=deal_id,
        ticket_id=ticket_id, assignee_id=assignee_id, due_at=due_at, remind_at=remind_at,
        priority=priority, automation_key=automation_key, now=now,
    )[0]  # fmt: skip


def create_task_once(
    session: Session,
    title: str,
    actor: str,
    *,
    notes: str | None = None,
    customer_id: int | None = None,
    deal_id: int | None = None,
    ticket_id: int | None = None,
    assignee_id: int | None = None,
    due_at: dt.datetime | None = None,
    remind_at: dt.datetime | None = None,
    priority: str = "normal",
    automation_key: str | None = None,
    now: dt.datetime | None = None,
) -> tuple[Task, bool]:
    """:func:`create_task`, and whether the task is new (False: its key had one already)."""
    if automation_key is not None:
        if not automation_key or len(automation_key) > KEY_WIDTH:
            raise ValidationError(
                f"automation_key: 1 to {KEY_WIDTH} characters.", field="automation_key"
            )
        existing = session.scalar(select(Task).where(Task.automation_key == automation_key))
        if existing is not None:
            return existing, False
    moment = now or utcnow()
    deal: Deal | None = _linked(session, Deal, deal_id, "deal_id")
    ticket: Ticket | None = _linked(session, Ticket, ticket_id, "ticket_id")
    _linked(session, Customer, customer_id, "customer_id")
    _check_assignee(session, assignee_id)
    if customer_id is None:
        customer_id = (deal.customer_id if deal else None) or (
            ticket.customer_id if ticket else None
        )
    task = Task(
        title=_title(title),
        notes=_notes(notes),
        customer_id=customer_id,
        deal_id=deal_id,
        ticket_id=ticket_id,
        assignee_id=assignee_id,
        due_at=_moment(due_at, "due_at"),
        remind_at=_moment(remind_at, "remind_at"),
        priority=_priority(priority),
        automation_key=automation_key,
        created_at=moment,
        updated_at=moment,
    )
    if automation_key is None:
        session.add(task)
        session.flush()
    else:
        try:
            with session.begin_nested():
                session.add(task)
        except IntegrityError:  # another transaction inserted the same key first
            existing = session.scalar(select(Task).where(Task.automation_key == automation_key))
            if existing is None:
                raise
            return existing, False
    record_audit(
        session, actor, "task.created", "task", task.id,
        {"due_at": str(task.due_at), "automation_key": automation_key},
    )  # fmt: skip
    return task, True


def update_task(
    session: Session,
    task_id: int,
    changes: Mapping[str, Any],
    actor: str,
    *,
    now: dt.datetime | None = None,
) -> Task:
    """Change some of a task's fields (keys of ``TASK_FIELDS``; None clears the optional ones;
    ``done`` True completes it, False reopens it). A new ``remind_at`` is reminded again."""
    unknown = sorted(set(changes) - set(TASK_FIELDS))
    if unknown:
        raise ValidationError(
            f"{unknown[0]}: not a task field; use {', '.join(TASK_FIELDS)}.", field=unknown[0]
        )
    moment = now or utcnow()
    task = get_task(session, task_id)
    if "title" in changes:
        task.title = _title(changes["title"])
    if "notes" in changes:
        task.notes = _notes(changes["notes"])
    if "priority" in changes:
        task.priority = _priority(changes["priority"])
    for name, model in (("customer_id", Customer), ("deal_id", Deal), ("ticket_id", Ticket)):
        if name in changes:
            _linked(session, model, changes[name], name)
            setattr(task, name, changes[name])
    if "assignee_id" in changes:
        _check_assignee(session, changes["assignee_id"])
        task.assignee_id = changes["assignee_id"]
    if "due_at" in changes:
        task.due_at = _moment(changes["due_at"], "due_at")
    if "remind_at" in changes:
        remind = _moment(changes["remind_at"], "remind_at")
        if remind != task.remind_at:
            task.remind_at, task.reminded_at = remind, None
    if "done" in changes and changes["done"] is not None:
        _set_done(session, task, bool(changes["done"]), moment)
    task.updated_at = moment
    session.flush()
    record_audit(session, actor, "task.updated", "task", task.id, {"fields": sorted(changes)})
    return task


def _set_done(session: Session, task: Task, done: bool, moment: dt.datetime) -> None:
    if done and task.done_at is None:
        task.done_at = moment
        if task.deal_id is not None:
            deal = session.get(Deal, task.deal_id)
            if deal is not None and (
                deal.last_activity_at is None or deal.last_activity_at < moment
            ):
                deal.last_activity_at = moment
    elif not done:
        task.done_at = None


def complete_task(
    session: Session, task_id: int, actor: str, *, now: dt.datetime | None = None
) -> Task:
    """Mark a task done (a task done already keeps its first completion time)."""
    return update_task(session, task_id, {"done": True}, actor, now=now)


def reopen_task(
    session: Session, task_id: int, actor: str, *, now: dt.datetime | None = None
) -> Task:
    return update_task(session, task_id, {"done": False}, actor, now=now)


def delete_task(session: Session, task_id: int, actor: str) -> None:
    task = get_task(session, task_id)
    session.delete(task)
    session.flush()
    record_audit(session, actor, "task.deleted", "task", task_id, {})


def _today_bounds(timezone: str, now: dt.datetime) -> tuple[dt.datetime, dt.datetime]:
    """The start and end of ``now``'s day in ``timezone``, in UTC."""
    zone = ZoneInfo(timezone)
    day = now.astimezone(zone).date()
    start = dt.datetime.combine(day, dt.time(), tzinfo=zone)
    end = dt.datetime.combine(day + dt.timedelta(days=1), dt.time(), tzinfo=zone)
    return start.astimezone(dt.UTC), end.astimezone(dt.UTC)


def task_state(task: Task, *, timezone: str = "UTC", now: dt.datetime | None = None) -> str:
    """``done``, ``overdue``, ``today``, ``upcoming`` or ``someday`` (see the module doc)."""
    moment = now or utcnow()
    if task.done_at is not None:
        return "done"
    if task.due_at is None:
        return "someday"
    if task.due_at < moment:
        return "overdue"
    return "today" if task.due_at < _today_bounds(timezone, moment)[1] else "upcoming"


def list_tasks(
    session: Session,
    *,
    due: str | None = None,
    customer_id: int | None = None,
    deal_id: int | None = None,
    ticket_id: int | None = None,
    assignee_id: int | None = None,
    done: bool | None = None,
    timezone: str = "UTC",
    now: dt.datetime | None = None,
    limit: int = 50,
    offset: int = 0,
) -> tuple[list[Task], int]:
    """Tasks by due time (those without one last; high priority first within a time), and how
    many match. ``due``: ``today`` (open, due by the end of today in ``timezone``: the overdue
    ones too), ``overdue`` (open, due before now) or ``upcoming`` (open, due after today)."""
    moment = now or utcnow()
    conditions: list[Any] = []
    if due is not None:
        if due not in DUE_FILTERS:
            raise ValidationError(
                f"due: one of {', '.join(DUE_FILTERS)}, got {due!r}.", field="due"
            )
        end_of_today = _today_bounds(timezone, moment)[1]
        conditions.append(Task.done_at.is_(None))
        if due == "today":
            conditions.append(Task.due_at < end_of_today)
        elif due == "overdue":
            conditions.append(Task.due_at < moment)
        else:
            conditions.append(Task.due_at >= end_of_today)
    for column, value in (
        (Task.customer_id, customer_id),
        (Task.deal_id, deal_id),
        (Task.ticket_id, ticket_id),
        (Task.assignee_id, assignee_id),
    ):
        if value is not None:
            conditions.append(column == value)
    if done is not None:
        conditions.append(Task.done_at.is_not(None) if done else Task.done_at.is_(None))
    total = session.scalar(select(func.count(Task.id)).where(*conditions)) or 0
    urgency = case({"high": 0, "normal": 1, "low": 2}, value=Task.priority, else_=1)
    rows = session.scalars(
        select(Task)
        .where(*conditions)
        .order_by(case((Task.due_at.is_(None), 1), else_=0), Task.due_at, urgency, Task.id)
        .limit(limit)
        .offset(offset)
    )
    return list(rows), int(total)


def count_tasks(
    session: Session, *, timezone: str = "UTC", now: dt.datetime | None = None
) -> dict[str, int]:
    """Open tasks by state: ``overdue``, ``today`` (due later today), ``upcoming``,
    ``someday`` (for a dashboard's badge)."""
    moment = now or utcnow()
    end_of_today = _today_bounds(timezone, moment)[1]
    states = {
        "overdue": Task.due_at < moment,
        "today": (Task.due_at >= moment) & (Task.due_at < end_of_today),
        "upcoming": Task.due_at >= end_of_today,
        "someday": Task.due_at.is_(None),
    }
    # One sum per state rather than GROUP BY a CASE: PostgreSQL cannot match a grouped
    # expression that carries bound parameters.
    row = session.execute(
        select(*(func.sum(case((test, 1), else_=0)) for test in states.values())).where(
            Task.done_at.is_(None)
        )
    ).one()
    return {name: int(cast(int, count) or 0) for name, count in zip(states, row, strict=True)}
