"""``soloist task …``: things to do by a date and time, about a customer, a deal or a ticket; the
today list; reminders by e-mail (sent by ``soloist worker``)."""

from __future__ import annotations

import datetime as dt
import re
from typing import TYPE_CHECKING, Annotated, Any
from zoneinfo import ZoneInfo

import typer
from rich.table import Table

from soloist.cli.common import Common, as_utc, cli_actor, out, print_json, shared_options, utcnow
from soloist.cli.deals import customer_id_of

if TYPE_CHECKING:
    from soloist.storage.models import Task

task_app = typer.Typer(help="Tasks and reminders: the today list.", no_args_is_help=True)

TaskArg = Annotated[int, typer.Argument(help="The task's id.", metavar="ID")]
_DATE_ONLY = re.compile(r"^\d{4}-\d{2}-\d{2}$")
_OFFSET = re.compile(r"^(\d+)\s*([mhd])$")
_UNITS = {"m": "minutes", "h": "hours", "d": "days"}


def parse_time(text: str, timezone: str, option: str) -> dt.datetime:
    """``2026-12-08 10:00`` (in the workspace time zone unless it names an offset), or a day
    alone (``2026-12-08``: due by its end, 23:59)."""
    value = text.strip()
    try:
        moment = dt.datetime.fromisoformat(value)
    except ValueError:
        raise typer.BadParameter(
            f"{option}: not a time like 2026-12-08 10:00 or a day like 2026-12-08: {text!r}"
        ) from None
    if _DATE_ONLY.match(value):
        moment = moment.replace(hour=23, minute=59)
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=ZoneInfo(timezone))
    return moment.astimezone(dt.UTC)


def _remind_time(text: str, due: dt.datetime | None, timezone: str) -> dt.datetime:
    offset = _OFFSET.match(text.strip().lower())
    if offset is None:
        return parse_time(text, timezone, "--remind")
    if due is None:
        raise typer.BadParameter("--remind: a time before the due time needs --due")
    return due - dt.timedelta(**{_UNITS[offset.group(2)]: int(offset.group(1))})


def task_json(task: Task, timezone: str, now: dt.datetime) -> dict[str, Any]:
    from soloist.domain.sales import task_state

    def iso(value: dt.datetime | None) -> str | None:
        return None if value is None else as_utc(value).isoformat()

    return {
        "id": task.id,
        "title": task.title,
        "customer_id": task.customer_id,
        "deal_id": task.deal_id,
        "ticket_id": task.ticket_id,
        "assignee_id": task.assignee_id,
        "due_at": iso(task.due_at),
        "remind_at": iso(task.remind_at),
        "reminded_at": iso(task.reminded_at),
        "priority": task.priority,
        "done": task.done_at is not None,
        "done_at": iso(task.done_at),
        "state": task_state(task, timezone=timezone, now=now),
        "automation_key": task.automation_key,
    }


def _local(value: str | None, timezone: str) -> str:
    if value is None:
        return ""
    return f"{dt.datetime.fromisoformat(value).astimezone(ZoneInfo(timezone)):%Y-%m-%d %H:%M}"


@task_app.command("add")
@shared_options
def add_command(
    common: Common,
    title: Annotated[str, typer.Argument(help="What to do.")],
    due: Annotated[
        str | None,
        typer.Option(
            "--due", help='"2026-12-08 10:00" in the workspace time zone, or a day (by its end).'
        ),
    ] = None,
    remind: Annotated[
        str | None,
        typer.Option(
            "--remind",
            help='E-mail a reminder at this time, or this long before --due: "30m", "2h", "1d".',
        ),
    ] = None,
    customer: Annotated[
        str | None, typer.Option("--customer", help="About this customer (id or e-mail).")
    ] = None,
    deal: Annotated[int | None, typer.Option("--deal", help="About this deal (its id).")] = None,
    ticket: Annotated[
        int | None, typer.Option("--ticket", help="About this ticket (its id).")
    ] = None,
    priority: Annotated[str, typer.Option("--priority", help="low, normal or high.")] = "normal",
    notes: Annotated[str | None, typer.Option("--notes", help="Kept encrypted.")] = None,
) -> None:
    """Add a task."""
    from soloist.domain.sales import create_task

    with common.open_database() as database, database.session() as session:
        zone = database.settings.timezone
        due_at = parse_time(due, zone, "--due") if due else None
        remind_at = _remind_time(remind, due_at, zone) if remind else None
        task = create_task(
            session, title, cli_actor(), notes=notes, deal_id=deal, ticket_id=ticket,
            customer_id=customer_id_of(session, customer) if customer else None,
            due_at=due_at, remind_at=remind_at, priority=priority,
        )  # fmt: skip
        data = task_json(task, zone, utcnow())
    if common.json:
        print_json(data)
        return
    when = f", due {_local(data['due_at'], zone)}" if data["due_at"] else ""
    reminder = f", reminder at {_local(data['remind_at'], zone)}" if data["remind_at"] else ""
    out.print(f"Task {data['id']} added: {data['title']}{when}{reminder}.", highlight=False)


@task_app.command("list")
@shared_options
def list_command(
    common: Common,
    today: Annotated[
        bool, typer.Option("--today", help="Due by the end of today (overdue ones first).")
    ] = False,
    overdue: Annotated[bool, typer.Option("--overdue", help="Due before now.")] = False,
    upcoming: Annotated[bool, typer.Option("--upcoming", help="Due after today.")] = False,
    done: Annotated[bool, typer.Option("--done", help="Done tasks instead of open ones.")] = False,
    customer: Annotated[
        str | None, typer.Option("--customer", help="About this customer (id or e-mail).")
    ] = None,
    deal: Annotated[int | None, typer.Option("--deal", help="About this deal.")] = None,
    ticket: Annotated[int | None, typer.Option("--ticket", help="About this ticket.")] = None,
    limit: Annotated[int, typer.Option("--limit", min=1, max=10_000)] = 100,
) -> None:
    """Open tasks by due time (or only today's, the overdue or the upcoming ones)."""
    from soloist.domain.sales import list_tasks

    chosen = [name for name, on in (("today", today), ("overdue", overdue),
                                    ("upcoming", upcoming)) if on]  # fmt: skip
    if len(chosen) > 1:
        raise typer.BadParameter("give one of --today, --overdue and --upcoming")
    if chosen and done:
        raise typer.BadParameter(f"--{chosen[0]} lists open tasks: leave out --done")
    now = utcnow()
    with common.open_database() as database, database.read_session() as session:
        zone = database.settings.timezone
        tasks, total = list_tasks(
            session, due=chosen[0] if chosen else None, done=done,
            customer_id=customer_id_of(session, customer) if customer else None,
            deal_id=deal, ticket_id=ticket, timezone=zone, now=now, limit=limit,
        )  # fmt: skip
        rows = [task_json(t, zone, now) for t in tasks]
    if common.json:
        print_json({"items": rows, "total": total})
        return
    if not rows:
        out.print("No tasks.")
        return
    table = Table(title=f"Tasks ({total}; times in {zone})")
    for column in ("id", "due", "state", "priority", "title", "about"):
        table.add_column(column)
    for row in rows:
        about = ", ".join(
            f"{kind} {row[f'{kind}_id']}"
            for kind in ("customer", "deal", "ticket")
            if row[f"{kind}_id"] is not None
        )
        state = f"[bold red]{row['state']}[/]" if row["state"] == "overdue" else row["state"]
        table.add_row(
            str(row["id"]), _local(row["due_at"], zone), state, row["priority"], row["title"], about
        )
    out.print(table)


def _change(common: Common, task_id: int, action: str) -> None:
    from soloist.domain.sales import complete_task, delete_task, reopen_task

    with common.open_database() as database, database.session() as session:
        if action == "delete":
            delete_task(session, task_id, cli_actor())
            data: dict[str, Any] = {"id": task_id, "deleted": True}
        else:
            change = complete_task if action == "done" else reopen_task
            task = change(session, task_id, cli_actor())
            data = task_json(task, database.settings.timezone, utcnow())
    if common.json:
        print_json(data)
        return
    words = {"done": "done", "reopen": "open again", "delete": "deleted"}
    out.print(f"Task {task_id} {words[action]}.")


@task_app.command("done")
@shared_options
def done_command(common: Common, task_id: TaskArg) -> None:
    """Mark a task done."""
    _change(common, task_id, "done")


@task_app.command("reopen")
@shared_options
def reopen_command(common: Common, task_id: TaskArg) -> None:
    """Open a done task again."""
    _change(common, task_id, "reopen")


@task_app.command("delete")
@shared_options
def delete_command(common: Common, task_id: TaskArg) -> None:
    """Delete a task."""
    _change(common, task_id, "delete")


rule_app = typer.Typer(
    help="Task rules: a task for you when a deal reaches a stage, a valuable customer's churn "
    "risk crosses a threshold, or a ticket breaches its SLA.",
    no_args_is_help=True,
)
task_app.add_typer(rule_app, name="rule")


def _rule_json(rule: Any) -> dict[str, Any]:
    return dict(rule.model_dump(mode="json"))


@rule_app.command("list")
@shared_options
def rule_list_command(common: Common) -> None:
    """The task rules, oldest first."""
    from soloist.domain.sales import task_rules

    with common.open_database() as database, database.read_session() as session:
        rows = [_rule_json(rule) for rule in task_rules(session)]
    if common.json:
        print_json(rows)
        return
    if not rows:
        out.print("No task rules: `soloist task rule add --help`.")
        return
    table = Table(title="Task rules")
    for column in ("id", "kind", "when", "task", "due in"):
        table.add_column(column)
    for row in rows:
        when = {
            "deal_stage": f"a deal enters {row.get('stage')}",
            "churn_risk": f"risk ≥ {row.get('threshold')}, CLV ≥ {row.get('min_clv')}",
            "sla_breach": "a ticket misses a target",
        }[row["kind"]]
        table.add_row(row["id"], row["kind"], when, row["title"], f"{row['due_days']} d")
    out.print(table)


@rule_app.command("add")
@shared_options
def rule_add_command(
    common: Common,
    kind: Annotated[str, typer.Argument(help="deal_stage, churn_risk or sla_breach.")],
    title: Annotated[str, typer.Option("--title", help="The title of the tasks it makes.")],
    due_days: Annotated[int, typer.Option("--due-days", help="Its tasks are due this late.")] = 1,
    stage: Annotated[
        str | None, typer.Option("--stage", help="deal_stage: the stage a deal enters.")
    ] = None,
    threshold: Annotated[
        float | None, typer.Option("--threshold", help="churn_risk: the risk that counts (0–1).")
    ] = None,
    min_clv: Annotated[
        str | None, typer.Option("--min-clv", help="churn_risk: the 12-month CLV needed.")
    ] = None,
) -> None:
    """Add a task rule; it acts on what happens from now on."""
    from soloist.domain.sales import add_task_rule

    data: dict[str, Any] = {"kind": kind, "title": title, "due_days": due_days}
    optional = {"stage": stage, "threshold": threshold, "min_clv": min_clv}
    data |= {key: value for key, value in optional.items() if value is not None}
    with common.open_database() as database, database.session() as session:
        rule = _rule_json(add_task_rule(session, data, cli_actor()))
    if common.json:
        print_json(rule)
        return
    out.print(f"Task rule {rule['id']} added.")


@rule_app.command("remove")
@shared_options(json=False)
def rule_remove_command(
    common: Common, rule_id: Annotated[str, typer.Argument(help="The rule's id.")]
) -> None:
    """Remove a task rule (the tasks it made stay)."""
    from soloist.domain.sales import remove_task_rule

    with common.open_database() as database, database.session() as session:
        remove_task_rule(session, rule_id, cli_actor())
    out.print(f"Task rule {rule_id} removed.")
