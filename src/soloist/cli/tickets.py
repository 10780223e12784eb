"""``soloist ticket …``: the support desk from the command line — open, list, show, reply,
change status or priority, merge duplicates, read the support mailbox, and set the SLA targets
and business hours."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer
from rich.table import Table

from soloist.cli.common import Common, cli_actor, out, print_json, shared_options, utcnow
from soloist.cli.deals import customer_id_of
from soloist.errors import ValidationError

if TYPE_CHECKING:
    from soloist.storage.models import Ticket

ticket_app = typer.Typer(
    help="Support tickets: SLA clocks in business hours that stop while a ticket waits on the "
    "customer; replies mailed by the worker; mail in from the support mailbox.",
    no_args_is_help=True,
)

TicketArg = Annotated[int, typer.Argument(help="The ticket's id.", min=1)]
STATUSES = "new, open, pending, resolved or closed"
PRIORITIES = "low, normal, high or urgent"


def _body(text: str | None, file: Path | None) -> str:
    if (text is None) == (file is None):
        raise ValidationError("Give the message with --body or --body-file (one of them).")
    return text if text is not None else (file.read_text(encoding="utf-8") if file else "")


def _row(ticket: Ticket, calendar: Any, now: dt.datetime) -> dict[str, Any]:
    from soloist.domain.service import sla_state

    first, resolution = sla_state(ticket, calendar, now)
    return {
        "id": ticket.id,
        "customer_id": ticket.customer_id,
        "subject": ticket.subject,
        "status": ticket.status,
        "priority": ticket.priority,
        "opened_at": ticket.opened_at.isoformat(),
        "first_response_due_at": _iso(ticket.first_response_due_at),
        "resolution_due_at": _iso(ticket.resolution_due_at),
        "first_response_sla": first.state,
        "resolution_sla": resolution.state,
        "merged_into_id": ticket.merged_into_id,
    }


def _iso(value: dt.datetime | None) -> str | None:
    return None if value is None else value.isoformat()


BodyText = Annotated[str | None, typer.Option("--body", help="The message text.")]
BodyFile = Annotated[
    Path | None,
    typer.Option("--body-file", help="The message from a file.", exists=True, dir_okay=False),
]


@ticket_app.command("open")
@shared_options
def open_command(
    common: Common,
    customer: Annotated[str, typer.Option("--customer", help="The customer's id or e-mail.")],
    subject: Annotated[str, typer.Option("--subject", help="What it is about.")],
    body: BodyText = None,
    body_file: BodyFile = None,
    priority: Annotated[str, typer.Option("--priority", help=PRIORITIES)] = "normal",
) -> None:
    """Open a ticket for a customer; its SLA clock starts now."""
    from soloist.domain.service import Desk, open_ticket

    text = _body(body, body_file)
    with common.open_database() as database, database.session() as session:
        desk = Desk.of(session, database.settings)
        ticket = open_ticket(
            session, desk, subject, text, cli_actor(),
            customer_id=customer_id_of(session, customer), priority=priority, channel="phone",
        )  # fmt: skip
        row = _row(ticket, desk.calendar, utcnow())
    if common.json:
        print_json(row)
        return
    out.print(f"Ticket {row['id']} opened; first response due {row['first_response_due_at']}.")


@ticket_app.command("list")
@shared_options
def list_command(
    common: Common,
    status: Annotated[
        str, typer.Option("--status", help=f"active (new, open, pending), or {STATUSES}.")
    ] = "active",
    priority: Annotated[str | None, typer.Option("--priority", help=PRIORITIES)] = None,
    breached: Annotated[
        bool, typer.Option("--breached", help="Only running tickets past a due time.")
    ] = False,
    customer: Annotated[
        str | None, typer.Option("--customer", help="Only this customer's (id or e-mail).")
    ] = None,
    limit: Annotated[int, typer.Option("--limit", min=1, max=500)] = 50,
) -> None:
    """Tickets, soonest due first."""
    from soloist.domain.service import Desk, list_tickets

    now = utcnow()
    with common.open_database() as database, database.read_session() as session:
        desk = Desk.of(session, database.settings)
        items, total = list_tickets(
            session, status=status, priority=priority, breached_at=now if breached else None,
            customer_id=customer_id_of(session, customer) if customer else None,
            sort="due", limit=limit,
        )  # fmt: skip
        rows = [_row(t, desk.calendar, now) for t in items]
    if common.json:
        print_json({"items": rows, "total": total})
        return
    if not rows:
        out.print("No tickets.")
        return
    table = Table(title=f"Tickets ({total})")
    for column in ("id", "subject", "status", "priority", "due", "SLA"):
        table.add_column(column, justify="right" if column == "id" else "left")
    for row in rows:
        due = row["first_response_due_at"] or row["resolution_due_at"] or ""
        sla = f"{row['first_response_sla']} / {row['resolution_sla']}"
        table.add_row(str(row["id"]), row["subject"], row["status"], row["priority"], due[:16], sla)
    out.print(table)


@ticket_app.command("show")
@shared_options
def show_command(common: Common, ticket_id: TicketArg) -> None:
    """A ticket with its thread and its SLA."""
    from soloist.domain.service import Desk, get_ticket

    with common.open_database() as database, database.read_session() as session:
        desk = Desk.of(session, database.settings)
        ticket = get_ticket(session, ticket_id)
        row = _row(ticket, desk.calendar, utcnow())
        row["messages"] = [
            {
                "author": "note" if m.internal else m.author_kind,
                "at": m.created_at.isoformat(),
                "body": m.body,
                "delivery": m.delivery,
            }
            for m in ticket.messages
        ]
    if common.json:
        print_json(row)
        return
    out.print(f"[bold]#{row['id']} {row['subject']}[/] — {row['status']}, {row['priority']}")
    out.print(f"First response: {row['first_response_sla']}; resolution: {row['resolution_sla']}")
    for message in row["messages"]:
        delivery = f" ({message['delivery']})" if message["delivery"] else ""
        out.print(f"\n[bold]{message['author']}[/] {message['at'][:16]}{delivery}")
        out.print(message["body"], markup=False)


@ticket_app.command("reply")
@shared_options
def reply_command(
    common: Common,
    ticket_id: TicketArg,
    body: BodyText = None,
    body_file: BodyFile = None,
    internal: Annotated[
        bool, typer.Option("--internal", help="A note only staff see: not mailed.")
    ] = False,
    status: Annotated[
        str | None, typer.Option("--status", help="The status afterwards (default pending).")
    ] = None,
) -> None:
    """Reply to the customer (mailed by the worker when a mail server is set), or add a note."""
    from soloist.domain.service import Desk, queue_reply, reply_to_ticket

    text = _body(body, body_file)
    with common.open_database() as database, database.session() as session:
        desk = Desk.of(session, database.settings)
        message = reply_to_ticket(
            session, desk, ticket_id, text, cli_actor(), internal=internal, status=status
        )
        delivery = queue_reply(session, database.settings, message, utcnow())
        result = {"ticket_id": ticket_id, "message_id": message.id, "delivery": delivery,
                  "status": message.ticket.status}  # fmt: skip
    if common.json:
        print_json(result)
        return
    said = {
        "queued": "queued for the worker to mail",
        "recorded": "recorded (no mail server is set: SOLOIST_SMTP_HOST)",
        "no_address": "recorded (the customer has no e-mail address)",
        "internal": "added as a note",
    }[delivery]
    out.print(f"Reply {said}; ticket {ticket_id} is {result['status']}.")


@ticket_app.command("status")
@shared_options
def status_command(
    common: Common,
    ticket_id: TicketArg,
    status: Annotated[str, typer.Argument(help=STATUSES)],
) -> None:
    """Move a ticket to another status (closed is final)."""
    from soloist.domain.service import Desk, set_ticket_status

    with common.open_database() as database, database.session() as session:
        desk = Desk.of(session, database.settings)
        ticket = set_ticket_status(session, desk, ticket_id, status, cli_actor())
        row = _row(ticket, desk.calendar, utcnow())
    if common.json:
        print_json(row)
        return
    out.print(f"Ticket {ticket_id} is {row['status']}.")


@ticket_app.command("priority")
@shared_options
def priority_command(
    common: Common,
    ticket_id: TicketArg,
    priority: Annotated[str, typer.Argument(help=PRIORITIES)],
) -> None:
    """Change a ticket's priority: its targets change with it."""
    from soloist.domain.service import Desk, set_ticket_priority

    with common.open_database() as database, database.session() as session:
        desk = Desk.of(session, database.settings)
        ticket = set_ticket_priority(session, desk, ticket_id, priority, cli_actor())
        row = _row(ticket, desk.calendar, utcnow())
    if common.json:
        print_json(row)
        return
    out.print(
        f"Ticket {ticket_id} is {row['priority']}; resolution due {row['resolution_due_at']}."
    )


@ticket_app.command("merge")
@shared_options
def merge_command(
    common: Common,
    ticket_id: TicketArg,
    into: Annotated[int, typer.Option("--into", help="The ticket it duplicates.", min=1)],
) -> None:
    """Merge a duplicate into another ticket of the same customer."""
    from soloist.domain.service import Desk, merge_tickets

    with common.open_database() as database, database.session() as session:
        desk = Desk.of(session, database.settings)
        target = merge_tickets(session, desk, ticket_id, into, cli_actor())
        result = {"merged": ticket_id, "into": target.id, "messages": len(target.messages)}
    if common.json:
        print_json(result)
        return
    out.print(f"Ticket {ticket_id} merged into {into} ({result['messages']} messages).")


@ticket_app.command("sla")
@shared_options
def sla_command(
    common: Common,
    set_: Annotated[
        list[str] | None,
        typer.Option(
            "--set",
            help="PRIORITY=FIRST_RESPONSE/RESOLUTION in business minutes, e.g. high=120/480.",
        ),
    ] = None,
) -> None:
    """Show the SLA targets per priority, or change them (running tickets follow at once)."""
    from soloist.domain.service import save_sla_targets, sla_targets

    with common.open_database() as database, database.session() as session:
        for item in set_ or []:
            priority, _, minutes = item.partition("=")
            first, _, resolution = minutes.partition("/")
            if not (first.strip().isdigit() and resolution.strip().isdigit()):
                raise typer.BadParameter(
                    f"{item!r}: write PRIORITY=FIRST/RESOLUTION in minutes, e.g. high=120/480"
                )
            save_sla_targets(
                session, priority.strip(), int(first), int(resolution), cli_actor(), utcnow(),
                database.settings.timezone,
            )  # fmt: skip
        targets = sla_targets(session)
        rows: list[dict[str, Any]] = [
            {"priority": t.priority, "first_response_minutes": t.first_response_minutes,
             "resolution_minutes": t.resolution_minutes}
            for t in targets.values()
        ]  # fmt: skip
    if common.json:
        print_json(rows)
        return
    table = Table(title="SLA targets (business minutes)")
    for column in ("priority", "first response", "resolution"):
        table.add_column(column)
    for row in rows:
        table.add_row(
            row["priority"], str(row["first_response_minutes"]), str(row["resolution_minutes"])
        )
    out.print(table)


@ticket_app.command("hours")
@shared_options
def hours_command(
    common: Common,
    file: Annotated[
        Path | None,
        typer.Option(
            "--file",
            help='A JSON calendar: {"timezone": "Europe/London", "hours": {"mon": '
            '[["09:00", "17:00"]], …}, "holidays": ["2026-12-25"]}.',
            exists=True,
            dir_okay=False,
        ),
    ] = None,
) -> None:
    """Show the business hours the SLA clocks count in, or set them from a JSON file."""
    from soloist.domain.service import save_service_calendar, service_calendar

    with common.open_database() as database, database.session() as session:
        if file is not None:
            try:
                value = json.loads(file.read_text(encoding="utf-8"))
            except (json.JSONDecodeError, UnicodeDecodeError) as exc:
                raise ValidationError(f"{file} is not JSON: {exc}", field="file") from exc
            calendar = save_service_calendar(
                session, value, cli_actor(), utcnow(), timezone=database.settings.timezone
            )
        else:
            calendar = service_calendar(session, database.settings.timezone)
        shown = calendar.to_json()
    if common.json or file is None:
        print_json(shown)
    else:
        out.print(f"Business hours saved ({shown['timezone']}).")


@ticket_app.command("fetch-mail")
@shared_options
def fetch_mail_command(common: Common) -> None:
    """Read the support mailbox once (SOLOIST_IMAP_HOST …): new mail becomes tickets, replies
    join theirs. The worker does this every minute."""
    from soloist.domain.service import poll_support_mailbox

    with common.open_database() as database:
        report = poll_support_mailbox(database, cli_actor(), utcnow())
    if common.json:
        print_json(report.__dict__)
        return
    out.print(report.summary())
