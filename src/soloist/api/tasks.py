"""/api/v1/tasks: things to do by a date and time, about a customer, a deal or a ticket.

Reads need a read token, changes a write token. Times are ISO 8601; one without an offset is
read as UTC. ``state`` is computed as of the request in the workspace time zone: ``overdue``,
``today``, ``upcoming``, ``someday`` (no due time) or ``done``. A task with ``remind_at`` is
e-mailed to its assignee (or the owner) by the worker at that time.
"""

from __future__ import annotations

import datetime as dt
from typing import TYPE_CHECKING, Annotated, Any, Literal

from fastapi import APIRouter, Path, Query, status
from pydantic import BaseModel, ConfigDict, Field, field_validator

from soloist.api.deps import DatabaseDep, Reader, ReadSession, Writer, WriteSession
from soloist.api.errors import ErrorPublic
from soloist.domain.sales import (
    create_task,
    delete_task,
    get_task,
    list_tasks,
    task_state,
    update_task,
)
from soloist.storage.types import utcnow

if TYPE_CHECKING:
    from soloist.storage.models import Task

router = APIRouter(prefix="/api/v1/tasks", tags=["tasks"])

TaskId = Annotated[int, Path(ge=1, le=2**63 - 1, description="The task's id.")]
ERRORS: dict[int | str, dict[str, Any]] = {
    404: {"model": ErrorPublic, "description": "No such task, customer, deal, ticket or user."},
    422: {"model": ErrorPublic, "description": "Bad input; `details.field` names it."},
}
Priority = Literal["low", "normal", "high"]


def _utc(value: dt.datetime | None) -> dt.datetime | None:
    return value if value is None or value.tzinfo else value.replace(tzinfo=dt.UTC)


class TaskPublic(BaseModel):
    id: int
    title: str
    notes: str | None
    customer_id: int | None
    deal_id: int | None
    ticket_id: int | None
    assignee_id: int | None
    due_at: dt.datetime | None
    remind_at: dt.datetime | None
    reminded_at: dt.datetime | None = Field(description="When the reminder was sent.")
    priority: str
    done: bool
    done_at: dt.datetime | None
    state: str = Field(description="overdue, today, upcoming, someday or done.")
    overdue: bool
    automation_key: str | None = Field(description="Set on tasks an automation rule made.")
    created_at: dt.datetime
    updated_at: dt.datetime


class TaskPage(BaseModel):
    items: list[TaskPublic]
    total: int
    limit: int
    offset: int


class _Times(BaseModel):
    @field_validator("due_at", "remind_at", check_fields=False)
    @classmethod
    def _as_utc(cls, value: dt.datetime | None) -> dt.datetime | None:
        return _utc(value)


class TaskCreate(_Times):
    model_config = ConfigDict(extra="forbid")

    title: str = Field(min_length=1, max_length=255)
    notes: str | None = Field(default=None, max_length=10_000, description="Kept encrypted.")
    customer_id: int | None = Field(default=None, ge=1)
    deal_id: int | None = Field(default=None, ge=1, description="Its customer, if none given.")
    ticket_id: int | None = Field(default=None, ge=1)
    assignee_id: int | None = Field(default=None, ge=1, description="Default: the owner.")
    due_at: dt.datetime | None = None
    remind_at: dt.datetime | None = Field(default=None, description="When to e-mail a reminder.")
    priority: Priority = "normal"


class TaskUpdate(_Times):
    """The fields to change; ``null`` clears the optional ones; ``done`` completes or reopens."""

    model_config = ConfigDict(extra="forbid")

    title: str | None = Field(default=None, min_length=1, max_length=255)
    notes: str | None = Field(default=None, max_length=10_000)
    customer_id: int | None = Field(default=None, ge=1)
    deal_id: int | None = Field(default=None, ge=1)
    ticket_id: int | None = Field(default=None, ge=1)
    assignee_id: int | None = Field(default=None, ge=1)
    due_at: dt.datetime | None = None
    remind_at: dt.datetime | None = Field(default=None, description="A new time reminds again.")
    priority: Priority | None = None
    done: bool | None = None


class TaskDeleted(BaseModel):
    id: int
    deleted: bool


def _public(task: Task, timezone: str, now: dt.datetime) -> TaskPublic:
    state = task_state(task, timezone=timezone, now=now)
    return TaskPublic(
        id=task.id,
        title=task.title,
        notes=task.notes,
        customer_id=task.customer_id,
        deal_id=task.deal_id,
        ticket_id=task.ticket_id,
        assignee_id=task.assignee_id,
        due_at=task.due_at,
        remind_at=task.remind_at,
        reminded_at=task.reminded_at,
        priority=task.priority,
        done=task.done_at is not None,
        done_at=task.done_at,
        state=state,
        overdue=state == "overdue",
        automation_key=task.automation_key,
        created_at=task.created_at,
        updated_at=task.updated_at,
    )


@router.get("", response_model=TaskPage)
def read_tasks(
    database: DatabaseDep,
    session: ReadSession,
    _: Reader,
    due: Annotated[
        Literal["today", "overdue", "upcoming"] | None,
        Query(
            description="today: open and due by the end of today (the overdue ones too); "
            "overdue: open and due before now; upcoming: open and due after today."
        ),
    ] = None,
    customer_id: Annotated[int | None, Query()] = None,
    deal_id: Annotated[int | None, Query()] = None,
    ticket_id: Annotated[int | None, Query()] = None,
    assignee_id: Annotated[int | None, Query()] = None,
    done: Annotated[bool | None, Query(description="Only done (or only open) tasks.")] = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
    offset: Annotated[int, Query(ge=0)] = 0,
) -> TaskPage:
    """Tasks by due time (those without one last; high priority first within a time)."""
    now, zone = utcnow(), database.settings.timezone
    items, total = list_tasks(
        session, due=due, customer_id=customer_id, deal_id=deal_id, ticket_id=ticket_id,
        assignee_id=assignee_id, done=done, timezone=zone, now=now, limit=limit, offset=offset,
    )  # fmt: skip
    return TaskPage(
        items=[_public(t, zone, now) for t in items], total=total, limit=limit, offset=offset
    )


@router.post("", response_model=TaskPublic, status_code=status.HTTP_201_CREATED, responses=ERRORS)
def post_task(
    data: TaskCreate, database: DatabaseDep, session: WriteSession, who: Writer
) -> TaskPublic:
    """Add a task; linked to a deal or ticket without a customer, it takes theirs."""
    task = create_task(session, data.title, who.actor, **data.model_dump(exclude={"title"}))
    return _public(task, database.settings.timezone, utcnow())


@router.get("/{task_id}", response_model=TaskPublic, responses={404: ERRORS[404]})
def read_task(
    task_id: TaskId, database: DatabaseDep, session: ReadSession, _: Reader
) -> TaskPublic:
    """One task."""
    return _public(get_task(session, task_id), database.settings.timezone, utcnow())


@router.patch("/{task_id}", response_model=TaskPublic, responses=ERRORS)
def patch_task(
    task_id: TaskId, data: TaskUpdate, database: DatabaseDep, session: WriteSession, who: Writer
) -> TaskPublic:
    """Change the fields given; `done: true` completes the task, `false` reopens it."""
    changes = data.model_dump(include=data.model_fields_set)
    task = update_task(session, task_id, changes, who.actor)
    return _public(task, database.settings.timezone, utcnow())


@router.delete("/{task_id}", response_model=TaskDeleted, responses=ERRORS)
def remove_task(task_id: TaskId, session: WriteSession, who: Writer) -> TaskDeleted:
    """Delete a task."""
    delete_task(session, task_id, who.actor)
    return TaskDeleted(id=task_id, deleted=True)
