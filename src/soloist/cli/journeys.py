"""``soloist journey …``: a message (or a task for you) on an occasion in a customer's life — a
welcome, a review request after an order, a birthday, a tier change, points about to expire, a
valuable customer slipping away, a cancelled subscription — sent once per customer and
occasion by the worker, with a holdout that measures what it does."""

from __future__ import annotations

from contextlib import nullcontext
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer
from rich.table import Table

from soloist.cli.campaigns import BodyOption, SubjectOption, naming_files, read_text
from soloist.cli.common import Common, cli_actor, err, out, print_json, shared_options, utcnow
from soloist.errors import NotFoundError

if TYPE_CHECKING:
    from sqlalchemy.orm import Session

journey_app = typer.Typer(
    help="Journeys: a message or a task on each customer's occasion (welcome, review request, "
    "birthday, win-back …), once per occasion, with a holdout.",
    no_args_is_help=True,
)

JourneyArg = Annotated[str, typer.Argument(help="The journey's id or name.", metavar="JOURNEY")]
TRIGGERS = (
    "welcome (a new customer), order (N days after a paid order: a review request), birthday "
    "(N days before), tier_change, points_expiring (within N days), churn_risk (risk at least "
    "--threshold, 12-month value at least --min-value; once per N days), subscription_cancelled"
)


def _journey_id(session: Session, reference: str) -> int:
    from soloist.domain.journeys import find_journey

    return int(find_journey(session, reference).id)


@journey_app.command("create")
@shared_options
def create_command(
    common: Common,
    name: Annotated[str, typer.Argument(help="The journey's name (for you).")],
    trigger: Annotated[str, typer.Option("--trigger", help=TRIGGERS)],
    subject: Annotated[
        str | None, typer.Option("--subject", help="The message's subject, a template.")
    ] = None,
    body_file: Annotated[
        Path | None,
        typer.Option(
            "--body-file",
            help="The message: HTML or plain text, a Jinja2 template like a campaign's.",
            exists=True,
            dir_okay=False,
            readable=True,
        ),
    ] = None,
    task: Annotated[
        str | None,
        typer.Option("--task", help="Instead of a message, a task for you with this title."),
    ] = None,
    days: Annotated[
        int | None, typer.Option("--days", help="The trigger's N (default: the trigger's own).")
    ] = None,
    threshold: Annotated[
        float | None, typer.Option("--threshold", help="churn_risk: the risk that counts (0.6).")
    ] = None,
    min_value: Annotated[
        float | None,
        typer.Option("--min-value", help="churn_risk: the 12-month value a customer must have."),
    ] = None,
    wait_hours: Annotated[
        int, typer.Option("--wait-hours", help="Wait this many hours after the occasion.")
    ] = 0,
    segment: Annotated[
        str | None, typer.Option("--segment", help="Only customers of this segment.")
    ] = None,
    holdout: Annotated[
        float,
        typer.Option("--holdout", help="A share (0 to 0.5) that gets nothing, to measure it."),
    ] = 0.1,
    channel: Annotated[str, typer.Option("--channel", help="email, sms or webhook.")] = "email",
    language: Annotated[
        str, typer.Option("--language", help="The language of the text: en or zh-CN.")
    ] = "en",
) -> None:
    """Create a journey (it runs once started with `journey start`)."""
    from soloist.domain.journeys import create_journey, journey_summary

    if task is not None and (subject is not None or body_file is not None):
        raise typer.BadParameter("give --subject and --body-file, or --task, not both")
    if task is None and (subject is None or body_file is None):
        raise typer.BadParameter("a message journey needs --subject and --body-file (or --task)")
    body = read_text(body_file) if body_file is not None else None
    with (
        common.open_database() as database,
        naming_files(body_file, None) if body_file is not None else nullcontext(),
        database.session() as session,
    ):
        journey = create_journey(
            session,
            name=name,
            trigger=trigger,
            actor=cli_actor(),
            action="task" if task is not None else "message",
            channel=channel,
            subject=subject,
            body=body,
            language=language,
            trigger_days=days,
            threshold=threshold,
            minimum_value=min_value,
            wait_hours=wait_hours,
            segment=segment,
            task_title=task,
            holdout_share=holdout,
            attribution_days=database.settings.attribution_days,
        )
        result = journey_summary(session, journey)
    if common.json:
        print_json(result)
        return
    out.print(
        f"Created journey [bold]{result['id']}[/] ({result['name']}) on {result['trigger']}, a "
        f"draft. `soloist journey start {result['id']}` starts it; `soloist worker` (or "
        "`soloist serve`) runs it every minute.",
        highlight=False,
    )


@journey_app.command("translate")
@shared_options
def translate_command(
    common: Common,
    journey: JourneyArg,
    language: Annotated[str, typer.Argument(help="en or zh-CN.")],
    subject: SubjectOption,
    body_file: BodyOption,
) -> None:
    """Add (or replace) the journey's message in one language; the next messages use it."""
    from soloist.domain.campaigns import content_languages
    from soloist.domain.journeys import get_journey, journey_summary, set_journey_content

    body = read_text(body_file)
    with (
        common.open_database() as database,
        naming_files(body_file, None),
        database.session() as session,
    ):
        journey_id = _journey_id(session, journey)
        set_journey_content(session, journey_id, language, subject, body, cli_actor())
        found = get_journey(session, journey_id)
        result = journey_summary(session, found)
        result["languages"] = content_languages(session, found.campaign_id or 0)
    if common.json:
        print_json(result)
        return
    out.print(
        f"Saved the message of journey {journey_id} in {language}; it has "
        f"{', '.join(result['languages'])}.",
        highlight=False,
    )


@journey_app.command("list")
@shared_options
def list_command(common: Common) -> None:
    """Every journey with its state and what it did."""
    from soloist.domain.journeys import summarise_journeys

    with common.open_database() as database, database.read_session() as session:
        rows = summarise_journeys(session)
    if common.json:
        print_json(rows)
        return
    if not rows:
        out.print("No journeys yet: `soloist journey create --help`.")
        return
    table = Table(title="Journeys")
    for column in ("id", "name", "on", "status", "entries", "outcomes"):
        table.add_column(column, justify="right" if column in ("id", "entries") else "left")
    for row in rows:
        outcomes = {k: row[k] for k in ("sent", "tasks", "holdout", "waiting", "skipped")}
        table.add_row(
            str(row["id"]),
            row["name"],
            f"{row['trigger']} → {row['action']}",
            row["status"],
            str(row["entries"]),
            _counts({k: v for k, v in outcomes.items() if v}),
        )
    out.print(table)


@journey_app.command("show")
@shared_options
def show_command(common: Common, journey: JourneyArg) -> None:
    """What the journey did: entries by state and reason, its messages' clicks and orders, and
    its effect against the holdout."""
    from soloist.domain.journeys import journey_results

    with common.open_database() as database, database.read_session() as session:
        currency = database.settings.currency
        result = journey_results(session, _journey_id(session, journey), currency, utcnow())
    if common.json:
        print_json(result)
        return
    _print_results(result, currency)


def _counts(found: dict[str, int]) -> str:
    return ", ".join(f"{k} {v}" for k, v in sorted(found.items())) or "none"


def _print_results(result: dict[str, Any], currency: str) -> None:
    days = f", N={result['trigger_days']}" if result["trigger_days"] else ""
    out.print(
        f"Journey {result['id']}: {result['name']} ({result['status']}), on "
        f"{result['trigger']}{days}; a {result['action']} by {result['channel']}, "
        f"{result['holdout_share']:.0%} held out.",
        highlight=False,
    )
    out.print(f"Entries: {result['entries']} ({_counts(result['by_state'])}).", highlight=False)
    if result["skipped_by_reason"]:
        out.print(f"Skipped: {_counts(result['skipped_by_reason'])}.", highlight=False)
    if result["waiting_by_reason"]:
        out.print(f"Waiting: {_counts(result['waiting_by_reason'])}.", highlight=False)
    messages = result["messages"]
    if messages:
        out.print(
            f"Messages: {messages['sent']} sent, {messages['queued']} queued, "
            f"{messages['failed']} failed, {messages['clicked']} clicked; "
            f"{messages['buyers']} buyers, {messages['orders']} orders, "
            f"{messages['revenue']} {currency} attributed.",
            highlight=False,
        )
    effect = result["effect"]
    if effect is None:
        out.print("Effect: not yet measurable (too few customers in the holdout or not).")
        return
    bought = effect["bought"]
    out.print(
        f"Effect over {effect['days']} days ({effect['receivers']} reached, "
        f"{effect['holdout']} held out; {effect['complete_share']:.0%} followed to the end): "
        f"bought {bought['receivers_rate']:.1%} against {bought['holdout_rate']:.1%}; "
        f"incremental revenue {effect['incremental_revenue']} {currency} (95% interval "
        f"{effect['incremental_revenue_low']} to {effect['incremental_revenue_high']})"
        + ("." if effect["significant"] else ", not significant."),
        highlight=False,
    )


def _state_change(common: Common, journey: str, verb: str, backfill_days: int = 0) -> None:
    from soloist.domain.journeys import journey_summary, pause_journey, start_journey

    with common.open_database() as database, database.session() as session:
        journey_id = _journey_id(session, journey)
        if verb == "start":
            found = start_journey(
                session, journey_id, cli_actor(), utcnow(), backfill_days=backfill_days
            )
        else:
            found = pause_journey(session, journey_id, cli_actor())
        result = journey_summary(session, found)
    if common.json:
        print_json(result)
        return
    note = {
        "active": " `soloist worker` (or `soloist serve`) runs it each minute; "
        "`soloist journey run` runs it once now.",
        "paused": f" `soloist journey start {journey_id}` resumes it.",
    }.get(result["status"], "")
    out.print(f"Journey {journey_id} is {result['status']}.{note}", highlight=False)


@journey_app.command("start")
@shared_options
def start_command(
    common: Common,
    journey: JourneyArg,
    backfill_days: Annotated[
        int,
        typer.Option(
            "--backfill-days",
            min=0,
            max=365,
            help="On a first start, count the occasions of this many past days too.",
        ),
    ] = 0,
) -> None:
    """Start (or resume) a journey: occasions from now on count."""
    _state_change(common, journey, "start", backfill_days)


@journey_app.command("pause")
@shared_options
def pause_command(common: Common, journey: JourneyArg) -> None:
    """Pause a journey: nothing is entered or sent until it starts again."""
    _state_change(common, journey, "pause")


@journey_app.command("timeline")
@shared_options
def timeline_command(
    common: Common,
    journey: JourneyArg,
    customer: Annotated[str, typer.Argument(help="The customer's id or e-mail.")],
) -> None:
    """One customer's occasions: what the journey did, or would do, and when."""
    from soloist.domain.campaigns import find_customers
    from soloist.domain.journeys import journey_timeline

    with common.open_database() as database, database.read_session() as session:
        journey_id = _journey_id(session, journey)
        try:
            found = find_customers(session, [customer])
        except NotFoundError:
            found = []
        if not found:
            raise NotFoundError(f"No customer {customer!r} (give an id or an e-mail).")
        customer_id = found[0]
        items = journey_timeline(
            session, journey_id, customer_id, database.settings, database.keyring, utcnow()
        )
    if common.json:
        print_json(items)
        return
    if not items:
        out.print(f"Customer {customer_id} has no occasion for journey {journey_id}.")
        return
    table = Table(title=f"Journey {journey_id}, customer {customer_id} (times in UTC)")
    for column in ("occasion", "on", "due", "state", "subject"):
        table.add_column(column, no_wrap=column != "subject")
    for item in items:
        reason = f" ({item['reason']})" if item["reason"] else ""
        table.add_row(
            item["occasion"],
            item["occurred_at"][:10],
            item["due_at"][:16].replace("T", " "),
            item["state"] + reason,
            item["subject"] or "",
        )
    out.print(table)


@journey_app.command("run")
@shared_options
def run_command(common: Common) -> None:
    """One pass of every running journey now, as the worker makes each minute, then send the
    messages that are due."""
    from soloist.domain.campaigns import send_due_campaigns
    from soloist.domain.journeys import run_journeys

    with common.open_database() as database:
        report = run_journeys(database, cli_actor(), utcnow())
        sends = send_due_campaigns(database, cli_actor())
    sent = sum(s.sent for s in sends)
    failed = sum(s.failed + s.bounced for s in sends)
    errors = [e for s in sends for e in s.errors]
    result = {
        **report.to_dict(),
        "messages": {"sent": sent, "failed": failed, "errors": errors},
    }
    if common.json:
        print_json(result)
        if errors:
            raise typer.Exit(1)
        return
    if report.busy:
        out.print("Another worker is running the journeys now; nothing was done here.")
    out.print(
        f"Entered {report.entered} occasions ({report.holdout} held out); {report.sent} "
        f"messages queued, {report.tasks} tasks made.",
        highlight=False,
    )
    if report.waiting:
        out.print(f"Waiting: {_counts(report.waiting)}.", highlight=False)
    if report.skipped:
        out.print(f"Skipped: {_counts(report.skipped)}.", highlight=False)
    out.print(f"Sent {sent} messages" + (f", {failed} failed." if failed else "."))
    for error in errors:
        err.print(f"[bold red]Error:[/] {error}", highlight=False)
    if errors:
        raise typer.Exit(1)
