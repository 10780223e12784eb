"""Tasks: the list with its tabs (today and overdue, overdue, upcoming, all open, done), a new
task, a task's own page to change or delete it, and done / reopen buttons; the dashboard's
"Today" card and the customer page's open tasks read from here too.

Times are shown and typed in the workspace's time zone. A task is about a customer, a deal or a
ticket (or none); a task on a deal or ticket takes its customer. Each action calls one use case
of :mod:`soloist.domain.sales` and redirects back (``?done=…``); an error is shown next to its
field and nothing is saved.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass
from typing import TYPE_CHECKING, Annotated, Any
from urllib.parse import urlencode
from zoneinfo import ZoneInfo

from fastapi import APIRouter, Form, Query, Request
from sqlalchemy.orm import Session
from starlette.responses import RedirectResponse, Response

from soloist.domain.sales import (
    complete_task,
    create_task,
    deal_titles,
    delete_task,
    get_task,
    list_tasks,
    reopen_task,
    task_state,
    update_task,
)
from soloist.domain.service import ticket_subjects
from soloist.errors import SoloistError, ValidationError
from soloist.storage.types import as_utc, utcnow
from soloist.web.campaigns import problem_of
from soloist.web.deals import local_path, parse_date, resolve_customer, with_done
from soloist.web.labels import N_, TASK_FILTERS, TASK_PRIORITIES
from soloist.web.rendering import render
from soloist.web.security import CsrfChecked, CurrentUser, WebUser, WriterUser
from soloist.web.tickets import customer_names

if TYPE_CHECKING:
    pass

router = APIRouter(include_in_schema=False)

PAGE_SIZE = 50
TODAY_CARD = 10  # tasks the dashboard's card lists
CUSTOMER_TASKS = 20
FILTERS = tuple(TASK_FILTERS)
TASK_PRIORITIES_ORDER = tuple(TASK_PRIORITIES)
DEFAULT_TIME = "17:00"  # a task given a day and no time is due at the end of the working day
REMINDERS = {"": None, "0": 0, "15": 15, "60": 60, "1440": 1440}  # minutes before it is due
TIME = re.compile(r"([01]?\d|2[0-3]):([0-5]\d)(?::00)?")
DONE = frozenset(("task_created", "saved", "task_done", "task_reopened", "deleted"))


@dataclass(frozen=True)
class TaskRow:
    """A task as the lists show it: its state now, and the names of what it is about."""

    task: Any
    state: str
    customer_name: str | None
    deal_title: str | None
    ticket_subject: str | None


def task_rows(session: Session, tasks: list[Any], timezone: str, now: dt.datetime) -> list[TaskRow]:
    """The rows of ``tasks``: at most three more queries (customers, deals, tickets), however
    many tasks there are."""
    customers = customer_names(session, {t.customer_id for t in tasks if t.customer_id})
    deal_ids = {t.deal_id for t in tasks if t.deal_id}
    ticket_ids = {t.ticket_id for t in tasks if t.ticket_id}
    deals = deal_titles(session, deal_ids)
    tickets = ticket_subjects(session, ticket_ids)
    return [
        TaskRow(
            t,
            task_state(t, timezone=timezone, now=now),
            customers.get(t.customer_id) if t.customer_id else None,
            deals.get(t.deal_id) if t.deal_id else None,
            tickets.get(t.ticket_id) if t.ticket_id else None,
        )
        for t in tasks
    ]


def today_tasks(request: Request, session: Session) -> tuple[list[TaskRow], int]:
    """The dashboard's "Today": open tasks due by the end of today, the overdue ones first."""
    timezone, now = request.app.state.settings.timezone, utcnow()
    tasks, total = list_tasks(session, due="today", timezone=timezone, now=now, limit=TODAY_CARD)
    return task_rows(session, tasks, timezone, now), total


def customer_tasks(request: Request, session: Session, customer_id: int) -> list[TaskRow]:
    """The customer page's open tasks."""
    timezone, now = request.app.state.settings.timezone, utcnow()
    tasks, _ = list_tasks(
        session,
        customer_id=customer_id,
        done=False,
        timezone=timezone,
        now=now,
        limit=CUSTOMER_TASKS,
    )
    return task_rows(session, tasks, timezone, now)


def _done_code(request: Request) -> str | None:
    code = request.query_params.get("done")
    return code if code in DONE else None


# --- the list ------------------------------------------------------------------------------


@router.get("/tasks")
def task_list(
    request: Request,
    user: CurrentUser,
    show: str = "today",
    page: Annotated[int, Query(ge=1, le=1_000_000)] = 1,
) -> Response:
    show = show if show in FILTERS else "today"
    timezone, now = request.app.state.settings.timezone, utcnow()
    due = show if show in ("today", "overdue", "upcoming") else None
    done = {"open": False, "done": True}.get(show)
    with request.app.state.database.read_session() as session:
        tasks, total = list_tasks(
            session,
            due=due,
            done=done,
            timezone=timezone,
            now=now,
            limit=PAGE_SIZE,
            offset=(page - 1) * PAGE_SIZE,
        )
        rows = task_rows(session, tasks, timezone, now)
    context = {
        "rows": rows,
        "total": total,
        "show": show,
        "filters": FILTERS,
        "page": page,
        "pages": max(1, -(-total // PAGE_SIZE)),
        "query_for": lambda p: urlencode({"show": show, "page": p}),
        "here": f"/tasks?{urlencode({'show': show, 'page': page})}",
        "done": _done_code(request),
    }
    return render(request, "tasks/list.html", context, user=user)


# --- a new task, a task's page ---------------------------------------------------------------


@dataclass
class TaskDraft:
    """The task form as typed."""

    title: str = ""
    due_date: str = ""
    due_time: str = ""
    remind: str = ""
    priority: str = "normal"
    notes: str = ""
    customer: str = ""
    deal: str = ""
    ticket: str = ""


def draft_of(task: Any, timezone: str) -> TaskDraft:
    zone = ZoneInfo(timezone)
    due = task.due_at.astimezone(zone) if task.due_at else None
    remind = ""
    if task.remind_at is not None:
        remind = "keep"
        if task.due_at is not None:
            minutes = (as_utc(task.due_at) - as_utc(task.remind_at)).total_seconds() / 60
            remind = next((k for k, v in REMINDERS.items() if v == minutes), "keep")
    return TaskDraft(
        title=task.title,
        due_date=due.date().isoformat() if due else "",
        due_time=due.strftime("%H:%M") if due else "",
        remind=remind,
        priority=task.priority,
        notes=task.notes or "",
        customer=str(task.customer_id or ""),
        deal=str(task.deal_id or ""),
        ticket=str(task.ticket_id or ""),
    )


def _number(text: str, name: str) -> int | None:
    value = text.strip().lstrip("#")
    if not value:
        return None
    if not value.isdigit() or len(value) > 18:
        raise ValidationError(N_("Give the number, like 12."), field=name)
    return int(value)


def due_moment(draft: TaskDraft, timezone: str) -> dt.datetime | None:
    """The due time typed (a day, and a time or the default), in UTC."""
    day = parse_date(draft.due_date, "due_date")
    if day is None:
        if draft.due_time.strip():
            raise ValidationError(N_("Give the day as well as the time."), field="due_date")
        return None
    found = TIME.fullmatch(draft.due_time.strip() or DEFAULT_TIME)
    if not found:
        raise ValidationError(N_("Give the time like 14:30."), field="due_time")
    local = dt.datetime.combine(day, dt.time(int(found[1]), int(found[2])), ZoneInfo(timezone))
    return local.astimezone(dt.UTC)


def checked_fields(
    session: Session, draft: TaskDraft, timezone: str, chosen_customer: str = ""
) -> tuple[dict[str, Any], list[Any]]:
    """The task's fields from the form, and the customers to choose from when a name typed
    matches several (the fields are then incomplete)."""
    if not draft.title.strip():
        raise ValidationError(N_("Give the task a title."), field="title")
    if draft.priority not in TASK_PRIORITIES:
        raise ValidationError(N_("Choose a priority from the list."), field="priority")
    due = due_moment(draft, timezone)
    fields: dict[str, Any] = {
        "title": draft.title,
        "notes": draft.notes or None,
        "priority": draft.priority,
        "due_at": due,
    }
    if draft.remind != "keep":
        if draft.remind not in REMINDERS:
            raise ValidationError(N_("Choose a reminder from the list."), field="remind")
        minutes = REMINDERS[draft.remind]
        if minutes is None:
            fields["remind_at"] = None
        elif due is None:
            raise ValidationError(N_("A reminder needs a due date."), field="remind")
        else:
            fields["remind_at"] = due - dt.timedelta(minutes=minutes)
    customer_id, candidates = resolve_customer(session, draft.customer, chosen_customer)
    fields["customer_id"] = customer_id
    fields["deal_id"] = _number(draft.deal, "deal")
    fields["ticket_id"] = _number(draft.ticket, "ticket")
    return fields, candidates


# The form's field names, by the domain's.
FORM_FIELDS = {
    "customer_id": "customer",
    "deal_id": "deal",
    "ticket_id": "ticket",
    "due_at": "due_date",
    "remind_at": "remind",
}


def _form(
    request: Request,
    user: WebUser,
    draft: TaskDraft,
    *,
    task: Any = None,
    back: str = "/tasks",
    problem: dict[str, Any] | None = None,
    candidates: list[Any] | None = None,
) -> Response:
    """The form of a new task (``task`` None) or of a saved one."""
    if problem is not None:
        problem["field"] = FORM_FIELDS.get(problem["field"], problem["field"])
    context = {
        "draft": draft,
        "task": task,
        "back": back,
        "priorities": TASK_PRIORITIES_ORDER,
        "default_time": DEFAULT_TIME,
        "timezone": request.app.state.settings.timezone,
        "candidates": candidates or [],
        "problem": problem,
        "done": None if problem else _done_code(request),
    }
    status_code = problem["http_status"] if problem else 200
    return render(request, "tasks/form.html", context, user=user, status_code=status_code)


def _several(request: Request) -> dict[str, Any]:
    return problem_of(
        request, ValidationError(N_("Several customers match: choose one."), field="customer")
    )


@router.get("/tasks/new")
def new_task(
    request: Request,
    user: WriterUser,
    customer: str = "",
    deal: str = "",
    ticket: str = "",
    next: str = "",
) -> Response:
    draft = TaskDraft(customer=customer[:200], deal=deal[:20], ticket=ticket[:20])
    return _form(request, user, draft, back=local_path(next, "/tasks"))


@router.post("/tasks/new", dependencies=[CsrfChecked])
def create(
    request: Request,
    user: WriterUser,
    title: Annotated[str, Form()] = "",
    due_date: Annotated[str, Form()] = "",
    due_time: Annotated[str, Form()] = "",
    remind: Annotated[str, Form()] = "",
    priority: Annotated[str, Form()] = "normal",
    notes: Annotated[str, Form()] = "",
    customer: Annotated[str, Form()] = "",
    customer_id: Annotated[str, Form()] = "",
    deal: Annotated[str, Form()] = "",
    ticket: Annotated[str, Form()] = "",
    next: Annotated[str, Form()] = "",
) -> Response:
    """Add a task, for the one who adds it; back to where the form was (``next``)."""
    typed = customer_id if customer_id.isdigit() else customer
    draft = TaskDraft(title, due_date, due_time, remind, priority, notes, typed, deal, ticket)
    back = local_path(next, "/tasks")
    timezone = request.app.state.settings.timezone
    try:
        with request.app.state.database.session() as session:
            fields, candidates = checked_fields(session, draft, timezone, customer_id)
            if not candidates:
                title = fields.pop("title")
                create_task(session, title, user.actor, assignee_id=user.id, **fields)
        if candidates:
            return _form(
                request, user, draft, back=back, problem=_several(request), candidates=candidates
            )
    except SoloistError as exc:
        return _form(request, user, draft, back=back, problem=problem_of(request, exc))
    return RedirectResponse(with_done(back, "task_created"), status_code=303)


@router.get("/tasks/{task_id}")
def task_page(request: Request, task_id: int, user: CurrentUser) -> Response:
    timezone = request.app.state.settings.timezone
    with request.app.state.database.read_session() as session:
        task = get_task(session, task_id)
        (row,) = task_rows(session, [task], timezone, utcnow())
        draft = draft_of(task, timezone)
    return _form(request, user, draft, task=row)


@router.post("/tasks/{task_id}/edit", dependencies=[CsrfChecked])
def edit(
    request: Request,
    task_id: int,
    user: WriterUser,
    title: Annotated[str, Form()] = "",
    due_date: Annotated[str, Form()] = "",
    due_time: Annotated[str, Form()] = "",
    remind: Annotated[str, Form()] = "",
    priority: Annotated[str, Form()] = "normal",
    notes: Annotated[str, Form()] = "",
    customer: Annotated[str, Form()] = "",
    customer_id: Annotated[str, Form()] = "",
    deal: Annotated[str, Form()] = "",
    ticket: Annotated[str, Form()] = "",
) -> Response:
    typed = customer_id if customer_id.isdigit() else customer
    draft = TaskDraft(title, due_date, due_time, remind, priority, notes, typed, deal, ticket)
    timezone = request.app.state.settings.timezone
    try:
        with request.app.state.database.session() as session:
            get_task(session, task_id)
            fields, candidates = checked_fields(session, draft, timezone, customer_id)
            if not candidates:
                update_task(session, task_id, fields, user.actor)
        if candidates:
            return _task_again(request, user, task_id, draft, _several(request), candidates)
    except SoloistError as exc:
        return _task_again(request, user, task_id, draft, problem_of(request, exc))
    return RedirectResponse(f"/tasks/{task_id}?done=saved", status_code=303)


def _task_again(
    request: Request,
    user: WebUser,
    task_id: int,
    draft: TaskDraft,
    problem: dict[str, Any],
    candidates: list[Any] | None = None,
) -> Response:
    """The task's page again, with the form as typed and what was wrong with it."""
    timezone = request.app.state.settings.timezone
    with request.app.state.database.read_session() as session:
        (row,) = task_rows(session, [get_task(session, task_id)], timezone, utcnow())
    return _form(request, user, draft, task=row, problem=problem, candidates=candidates)


@router.post("/tasks/{task_id}/done", dependencies=[CsrfChecked])
def mark_done(
    request: Request, task_id: int, user: WriterUser, next: Annotated[str, Form()] = ""
) -> Response:
    with request.app.state.database.session() as session:
        complete_task(session, task_id, user.actor)
    return RedirectResponse(with_done(local_path(next, "/tasks"), "task_done"), status_code=303)


@router.post("/tasks/{task_id}/reopen", dependencies=[CsrfChecked])
def mark_open(
    request: Request, task_id: int, user: WriterUser, next: Annotated[str, Form()] = ""
) -> Response:
    with request.app.state.database.session() as session:
        reopen_task(session, task_id, user.actor)
    return RedirectResponse(with_done(local_path(next, "/tasks"), "task_reopened"), status_code=303)


@router.post("/tasks/{task_id}/delete", dependencies=[CsrfChecked])
def remove(request: Request, task_id: int, user: WriterUser) -> Response:
    with request.app.state.database.session() as session:
        delete_task(session, task_id, user.actor)
    return RedirectResponse("/tasks?done=deleted", status_code=303)
