"""``soloist deal …``: the sales pipeline. Deals with a value, a stage and an expected close date;
the stages and their win probabilities; the weighted forecast by month; conversion and time per
stage."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal, InvalidOperation
from typing import TYPE_CHECKING, Annotated, Any

import typer
from rich.table import Table

from soloist.cli.common import (
    Common,
    cli_actor,
    err,
    out,
    parse_date,
    print_json,
    shared_options,
    utcnow,
)
from soloist.errors import NotFoundError
from soloist.money import minor_to_decimal

if TYPE_CHECKING:
    from sqlalchemy.orm import Session

    from soloist.storage.models import Deal

deal_app = typer.Typer(
    help="The sales pipeline: deals, stages, the weighted forecast.", no_args_is_help=True
)
stage_app = typer.Typer(help="Add or change the pipeline's stages.", no_args_is_help=True)
deal_app.add_typer(stage_app, name="stage")

DealArg = Annotated[int, typer.Argument(help="The deal's id.", metavar="ID")]


def _decimal(value: str) -> Decimal:
    try:
        amount = Decimal(value.strip())
    except InvalidOperation:
        raise typer.BadParameter(f"not a number: {value!r}") from None
    if not amount.is_finite():
        raise typer.BadParameter(f"not a number: {value!r}")
    return amount


def customer_id_of(session: Session, reference: str) -> int:
    """A customer's id from an id or an e-mail address; NotFoundError otherwise."""
    from soloist.domain.campaigns import find_customers

    try:
        found = find_customers(session, [reference])
    except NotFoundError:
        found = []
    if not found:
        raise NotFoundError(f"No customer {reference!r} (give an id or an e-mail).")
    return found[0]


def _owner_id(session: Session, email: str | None) -> int | None:
    if email is None:
        return None
    from soloist.domain.users import get_user_by_email

    return get_user_by_email(session, email).id


def deal_json(deal: Deal, outcomes: dict[str, str], cutoff: dt.datetime) -> dict[str, Any]:
    from soloist.domain.sales import is_stale, weighted_minor

    return {
        "id": deal.id,
        "customer_id": deal.customer_id,
        "name": deal.title,
        "stage": deal.stage,
        "outcome": outcomes.get(deal.stage, "open"),
        "probability": deal.probability_percent,
        "value": str(minor_to_decimal(deal.value_minor, deal.currency)),
        "currency": deal.currency,
        "weighted": str(
            minor_to_decimal(
                weighted_minor(deal.value_minor, deal.probability_percent), deal.currency
            )
        ),
        "expected_close": deal.expected_close_on.isoformat() if deal.expected_close_on else None,
        "owner_id": deal.owner_id,
        "closed_at": deal.closed_at.isoformat() if deal.closed_at else None,
        "close_reason": deal.close_reason,
        "last_activity_at": deal.last_activity_at.isoformat() if deal.last_activity_at else None,
        "stale": is_stale(deal, cutoff),
    }


def _one_json(session: Session, deal: Deal) -> dict[str, Any]:
    from soloist.domain.sales import list_stages, stale_cutoff

    outcomes = {s.key: s.outcome for s in list_stages(session)}
    return deal_json(deal, outcomes, stale_cutoff(session, utcnow()))


def _say_deal(data: dict[str, Any], verb: str) -> None:
    closed = f", {data['outcome']}" if data["outcome"] != "open" else ""
    reason = f" ({data['close_reason']})" if data["close_reason"] else ""
    out.print(
        f"Deal {data['id']} {verb}: {data['name']}, {data['value']} {data['currency']}, "
        f"stage {data['stage']} at {data['probability']} %{closed}{reason}.",
        highlight=False,
    )


@deal_app.command("add")
@shared_options
def add_command(
    common: Common,
    customer: Annotated[str, typer.Argument(help="The customer's id or e-mail.")],
    name: Annotated[str, typer.Option("--name", help="What the deal is (for you).")],
    value: Annotated[
        Decimal, typer.Option("--value", parser=_decimal, help="Its value, e.g. 1200 or 99.50.")
    ],
    currency: Annotated[
        str | None, typer.Option("--currency", help="ISO 4217 (default: the workspace's).")
    ] = None,
    expected_close: Annotated[
        dt.date | None,
        typer.Option("--expected-close", parser=parse_date, metavar="<date>", help="YYYY-MM-DD."),
    ] = None,
    probability: Annotated[
        int | None,
        typer.Option("--probability", min=0, max=100, help="Percent (default: the stage's)."),
    ] = None,
    owner: Annotated[str | None, typer.Option("--owner", help="A user's e-mail.")] = None,
) -> None:
    """Open a deal for a customer; it starts in the first stage."""
    from soloist.domain.sales import create_deal

    with common.open_database() as database, database.session() as session:
        deal = create_deal(
            session, cli_actor(), name=name, customer_id=customer_id_of(session, customer),
            value=value, currency=currency or database.settings.currency,
            expected_close_on=expected_close, owner_id=_owner_id(session, owner),
            probability=probability,
        )  # fmt: skip
        data = _one_json(session, deal)
    if common.json:
        print_json(data)
    else:
        _say_deal(data, "added")


@deal_app.command("list")
@shared_options
def list_command(
    common: Common,
    stage: Annotated[str | None, typer.Option("--stage", help="Only this stage's.")] = None,
    stale: Annotated[
        bool, typer.Option("--stale", help="Only open deals with no activity for a while.")
    ] = False,
    customer: Annotated[
        str | None, typer.Option("--customer", help="Only this customer's (id or e-mail).")
    ] = None,
    outcome: Annotated[str | None, typer.Option("--outcome", help="open, won or lost.")] = None,
    limit: Annotated[int, typer.Option("--limit", min=1, max=10_000)] = 100,
) -> None:
    """Deals, newest first, with their stage, value and whether they are stale."""
    from soloist.domain.sales import list_deals, list_stages, stale_cutoff

    now = utcnow()
    with common.open_database() as database, database.read_session() as session:
        customer_id = customer_id_of(session, customer) if customer else None
        deals, total = list_deals(
            session, stage=stage, customer_id=customer_id, outcome=outcome,
            stale=True if stale else None, now=now, limit=limit,
        )  # fmt: skip
        outcomes = {s.key: s.outcome for s in list_stages(session)}
        cutoff = stale_cutoff(session, now)
        rows = [deal_json(d, outcomes, cutoff) for d in deals]
    if common.json:
        print_json({"items": rows, "total": total})
        return
    if not rows:
        out.print("No deals.")
        return
    table = Table(title=f"Deals ({total})")
    for column in ("id", "name", "customer", "stage", "%", "value", "close", ""):
        table.add_column(column, justify="right" if column in ("%", "value") else "left")
    for row in rows:
        table.add_row(
            str(row["id"]), row["name"], str(row["customer_id"] or ""), row["stage"],
            str(row["probability"]), f"{row['value']} {row['currency']}",
            row["expected_close"] or "", "stale" if row["stale"] else "",
        )  # fmt: skip
    out.print(table)


@deal_app.command("move")
@shared_options
def move_command(
    common: Common,
    deal_id: DealArg,
    stage: Annotated[str, typer.Argument(help="The stage's key (deal stages lists them).")],
    reason: Annotated[str | None, typer.Option("--reason", help="Why it was won or lost.")] = None,
) -> None:
    """Move a deal to a stage; to won or lost it closes, with --reason."""
    from soloist.domain.sales import move_deal

    with common.open_database() as database, database.session() as session:
        deal = move_deal(session, deal_id, stage, cli_actor(), reason=reason)
        data = _one_json(session, deal)
    if common.json:
        print_json(data)
    else:
        _say_deal(data, "moved")


@deal_app.command("forecast")
@shared_options
def forecast_command(
    common: Common,
    months: Annotated[int, typer.Option("--months", min=1, max=36, help="How many months.")] = 6,
) -> None:
    """The weighted forecast by month in the workspace currency: open deals at their
    probability in their expected close month, deals won that month at 100 %."""
    from soloist.domain.sales import forecast_deals

    with common.open_database() as database, database.read_session() as session:
        settings = database.settings
        forecast = forecast_deals(
            session, settings.currency, settings.rates, months=months, timezone=settings.timezone
        )
    rows: list[dict[str, Any]] = [
        {
            "month": m.month,
            "weighted": str(m.weighted),
            "total": str(m.total),
            "open_deals": m.open_deals,
            "won_deals": m.won_deals,
            "won": str(m.won),
            "left_out": [
                {"currency": p.currency, "deals": p.deals, "value": str(p.value)}
                for p in m.left_out
            ],
        }
        for m in forecast.months
    ]
    if common.json:
        print_json(
            {
                "currency": forecast.currency,
                "months": rows,
                "overdue_deals": forecast.overdue_deals,
                "undated_deals": forecast.undated_deals,
                "notes": forecast.notes(),
            }
        )
        return
    table = Table(title=f"Forecast ({forecast.currency})")
    for column in ("month", "weighted", "total", "open", "won"):
        table.add_column(column, justify="left" if column == "month" else "right")
    for row in rows:
        table.add_row(
            row["month"], row["weighted"], row["total"], str(row["open_deals"]),
            f"{row['won']} ({row['won_deals']})",
        )  # fmt: skip
    out.print(table)
    for note in forecast.notes():
        err.print(f"[bold yellow]Note:[/] {note}", highlight=False)


@deal_app.command("stats")
@shared_options
def stats_command(common: Common) -> None:
    """Conversion per stage (deals that entered it and later reached a later stage or won),
    time spent per stage, and the win rate."""
    from soloist.domain.sales import pipeline_stats

    with common.open_database() as database, database.read_session() as session:
        stats = pipeline_stats(session, database.settings.currency, database.settings.rates)
    stages: list[dict[str, Any]] = [
        {
            "key": s.key,
            "name": s.name,
            "outcome": s.outcome,
            "entered": s.entered,
            "advanced": s.advanced,
            "conversion_rate": s.conversion_rate,
            "conversion_rate_by_value": s.conversion_rate_by_value,
            "median_days": s.median_days,
            "mean_days": s.mean_days,
            "current": s.current,
        }
        for s in stats.stages
    ]
    left_out = [
        {"currency": p.currency, "deals": p.deals, "value": str(p.value)} for p in stats.left_out
    ]
    if common.json:
        print_json(
            {
                "currency": stats.currency,
                "stages": stages,
                "won": stats.won,
                "lost": stats.lost,
                "win_rate": stats.win_rate,
                "win_rate_by_value": stats.win_rate_by_value,
                "left_out": left_out,
            }
        )
        return

    def percent(value: float | None) -> str:
        return "—" if value is None else f"{value:.0%}"

    def days(value: float | None) -> str:
        return "—" if value is None else f"{value:.1f}"

    table = Table(title="Pipeline")
    for column in ("stage", "entered", "converted", "by value", "median days", "mean days", "now"):
        table.add_column(column, justify="left" if column == "stage" else "right")
    for s in stages:
        table.add_row(
            s["name"], str(s["entered"]), percent(s["conversion_rate"]),
            percent(s["conversion_rate_by_value"]), days(s["median_days"]),
            days(s["mean_days"]), str(s["current"]),
        )  # fmt: skip
    out.print(table)
    out.print(
        f"Win rate {percent(stats.win_rate)} ({stats.won} won, {stats.lost} lost), "
        f"{percent(stats.win_rate_by_value)} by value."
    )
    for part in left_out:
        err.print(
            f"[bold yellow]Note:[/] {part['deals']} deal(s) in {part['currency']} are left out of "
            f"the figures by value: there is no rate for {part['currency']} (soloist rates set).",
            highlight=False,
        )


@deal_app.command("settings")
@shared_options
def settings_command(
    common: Common,
    stale_days: Annotated[
        int | None,
        typer.Option("--stale-days", help="An open deal is stale after this many quiet days."),
    ] = None,
) -> None:
    """Show the pipeline's settings, or change them."""
    from soloist.domain.sales import get_sales_settings, update_sales_settings

    with common.open_database() as database, database.session() as session:
        if stale_days is None:
            current = get_sales_settings(session)
        else:
            current = update_sales_settings(session, {"stale_days": stale_days}, cli_actor())
    if common.json:
        print_json(current.model_dump(mode="json"))
    else:
        out.print(f"A deal is stale after {current.stale_days} days without activity.")


# --- stages ----------------------------------------------------------------------------------


def _print_stages(common: Common, session: Session) -> None:
    from soloist.domain.sales import list_stages, stage_label

    stages: list[dict[str, Any]] = [
        {
            "key": s.key,
            "name": stage_label(s),
            "position": s.position,
            "probability": s.probability_percent,
            "outcome": s.outcome,
        }
        for s in list_stages(session)
    ]
    if common.json:
        print_json({"items": stages})
        return
    table = Table(title="Stages")
    for column in ("key", "name", "probability", "outcome"):
        table.add_column(column, justify="right" if column == "probability" else "left")
    for s in stages:
        table.add_row(s["key"], s["name"], f"{s['probability']} %", s["outcome"])
    out.print(table)


@deal_app.command("stages")
@shared_options
def stages_command(common: Common) -> None:
    """The pipeline's stages in board order, with their win probabilities."""
    with common.open_database() as database, database.read_session() as session:
        _print_stages(common, session)


@stage_app.command("add")
@shared_options
def stage_add_command(
    common: Common,
    name: Annotated[str, typer.Argument(help="The stage's name.")],
    probability: Annotated[
        int, typer.Option("--probability", min=0, max=100, help="Win probability, percent.")
    ],
    key: Annotated[str | None, typer.Option("--key", help="Default: from the name.")] = None,
    position: Annotated[
        int | None,
        typer.Option("--position", min=0, help="0 = first; default: after the open stages."),
    ] = None,
) -> None:
    """Add an open stage."""
    from soloist.domain.sales import create_stage

    with common.open_database() as database, database.session() as session:
        create_stage(session, name, probability, cli_actor(), key=key, position=position)
        _print_stages(common, session)


@stage_app.command("set")
@shared_options
def stage_set_command(
    common: Common,
    key: Annotated[str, typer.Argument(help="The stage's key.")],
    name: Annotated[str | None, typer.Option("--name", help="A new name.")] = None,
    builtin_name: Annotated[
        bool, typer.Option("--builtin-name", help="Give a built-in stage its own name back.")
    ] = False,
    probability: Annotated[
        int | None, typer.Option("--probability", min=0, max=100, help="Win probability, %.")
    ] = None,
    position: Annotated[int | None, typer.Option("--position", min=0, help="0 = first.")] = None,
) -> None:
    """Rename a stage, change its win probability, or move it."""
    from soloist.domain.sales import move_stage, rename_stage, set_stage_probability

    if name is None and not builtin_name and probability is None and position is None:
        raise typer.BadParameter("give --name, --builtin-name, --probability or --position")
    with common.open_database() as database, database.session() as session:
        actor = cli_actor()
        if name is not None or builtin_name:
            rename_stage(session, key, name, actor)
        if probability is not None:
            set_stage_probability(session, key, probability, actor)
        if position is not None:
            move_stage(session, key, position, actor)
        _print_stages(common, session)


@stage_app.command("delete")
@shared_options
def stage_delete_command(
    common: Common, key: Annotated[str, typer.Argument(help="The stage's key.")]
) -> None:
    """Delete an open stage that has no deals."""
    from soloist.domain.sales import delete_stage

    with common.open_database() as database, database.session() as session:
        delete_stage(session, key, cli_actor())
        _print_stages(common, session)
