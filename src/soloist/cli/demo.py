"""``soloist demo``: build the demo workspace, with progress bars."""

from __future__ import annotations

import datetime as dt
from typing import Annotated

import typer
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    TaskID,
    TextColumn,
    TimeElapsedColumn,
)
from rich.table import Table

from soloist.cli.common import Common, err, out, parse_date, print_json, shared_options


@shared_options
def demo(
    common: Common,
    customers: Annotated[int, typer.Option(help="How many customers to make.")] = 2000,
    seed: Annotated[int, typer.Option(help="Random seed; same seed and end date, same data.")] = 42,
    end_date: Annotated[
        dt.date | None,
        typer.Option(
            parser=parse_date, metavar="<date>", help="Last day of the two years (default today)."
        ),
    ] = None,
    owner_email: Annotated[
        str, typer.Option(help="Login of the owner account.")
    ] = "owner@example.com",
    owner_password: Annotated[
        str | None,
        typer.Option(
            help="Password for the owner (default: a new random one, printed).",
            envvar="SOLOIST_DEMO_PASSWORD",
        ),
    ] = None,
    purchase_rate: Annotated[
        float,
        typer.Option(
            min=0.1, max=20.0, help="Multiply every customer's purchase rate (bigger workspaces)."
        ),
    ] = 1.0,
) -> None:
    """Create a workspace holding two years of a small coffee business: customers, orders,
    subscriptions, surveys, reviews, tickets, deals, tasks and conversations, in English and
    Chinese."""
    settings = common.settings()
    from soloist.domain.workspace import init_workspace, open_workspace

    init_workspace(settings)
    database = open_workspace(settings)
    try:
        with (
            Progress(
                TextColumn("{task.description:<20}"),
                BarColumn(),
                MofNCompleteColumn(),
                TimeElapsedColumn(),
                console=err,
                transient=common.json,
                disable=common.json,
            ) as bar,
            database.session() as session,
        ):
            tasks: dict[str, TaskID] = {}

            def progress(stage: str, done: int, total: int) -> None:
                if stage not in tasks:
                    tasks[stage] = bar.add_task(stage, total=max(total, 1))
                bar.update(tasks[stage], completed=done, total=max(total, 1))

            from soloist.demo import build_demo

            summary = build_demo(
                session,
                customers=customers,
                seed=seed,
                end_date=end_date,
                currency=settings.currency,
                owner_email=owner_email,
                owner_password=owner_password,
                progress=progress,
                purchase_rate_scale=purchase_rate,
                timezone=settings.timezone,
            )
    finally:
        database.dispose()
    if common.json:
        print_json(summary.to_dict())
        return
    table = Table(title=f"Demo workspace {settings.workspace}", show_header=False)
    table.add_column("what")
    table.add_column("how many", justify="right")
    table.add_row("period", f"{summary.start} – {summary.end}")
    for label, value in [
        ("customers", summary.customers),
        ("products", summary.products),
        ("orders", summary.orders),
        ("order lines", summary.order_lines),
        ("paid revenue", f"{summary.revenue} {summary.currency}"),
        ("subscriptions", f"{summary.subscriptions} ({summary.cancelled_subscriptions} cancelled)"),
        ("survey answers", summary.survey_responses),
        ("reviews", summary.reviews),
        (
            "support tickets",
            f"{summary.tickets} ({summary.active_tickets} active, "
            f"{summary.breached_tickets} past due)",
        ),
        (
            "deals",
            f"{summary.deals} ({summary.open_deals} open, {summary.won_deals} won, "
            f"{summary.lost_deals} lost)",
        ),
        ("tasks", summary.tasks),
        ("interactions", summary.interactions),
    ]:
        table.add_row(label, str(value))
    out.print(table)
    if summary.owner_password:
        out.print(f"Owner login: {summary.owner_email} / {summary.owner_password}")
