"""``soloist rates``: exchange rates into the workspace currency, for orders in other currencies."""

from __future__ import annotations

from typing import Annotated, Any

import typer
from rich.table import Table

from soloist.cli.common import Common, err, out, print_json, shared_options
from soloist.cli.workspace import currency_option


def _currencies() -> Any:
    """The currency functions, imported when a command runs (the CLI starts at once)."""
    import soloist.domain.currencies

    return soloist.domain.currencies


def _load_settings(*args: Any, **kwargs: Any) -> Any:
    from soloist.config import load_settings

    return load_settings(*args, **kwargs)


def _rate_argument(value: str) -> str:
    try:
        from soloist.money import check_rate

        return str(check_rate(value))
    except ValueError as exc:
        raise typer.BadParameter(str(exc)) from None


rates_app = typer.Typer(
    help="Exchange rates into the workspace currency: orders in another currency count in the "
    "totals and analyses only at a rate you give (kept in soloist.toml, \\[soloist.rates]).",
    no_args_is_help=True,
)


@rates_app.command("list")
@shared_options
def rates_list(common: Common) -> None:
    """Each currency with paid orders or a rate: its orders, its rate, whether it counts."""
    with common.open_database() as database, database.session() as session:
        settings = database.settings
        totals = _currencies().revenue_by_currency(session, settings.currency, settings.rates)
    currency = settings.currency
    parts = {p.currency: p for p in totals.parts}
    codes = [*parts, *(code for code in sorted(settings.rates) if code not in parts)]
    rows = [
        {
            "currency": code,
            "paid_orders": parts[code].orders if code in parts else 0,
            "amount": str(parts[code].amount) if code in parts else "0",
            "rate": str(settings.rates[code]) if code in settings.rates else None,
            "counted": code == currency or code in settings.rates,
        }
        for code in codes
    ]
    if common.json:
        print_json({"currency": currency, "rates": rows})
        return
    table = Table(title=f"Rates into {currency}")
    for column in ("currency", "paid orders", "amount", "rate", "in the totals"):
        table.add_column(column, justify="left" if column == "currency" else "right")
    for code in codes:
        part = parts.get(code)
        rate = settings.rates.get(code)
        table.add_row(
            code,
            f"{part.orders if part else 0:,}",
            f"{part.amount if part else 0:,} {code}",
            "workspace currency"
            if code == currency
            else _currencies().describe_rate(code, rate, currency)
            if rate is not None
            else "none",
            "yes" if code == currency or rate is not None else "no",
        )
    out.print(table)
    for warning in _currencies().currency_warnings(totals):
        err.print(f"[bold yellow]Warning:[/] {warning}", highlight=False)


@rates_app.command("set")
@shared_options
def rates_set(
    common: Common,
    code: Annotated[
        str,
        typer.Argument(
            help="The other currency (ISO 4217: EUR, JPY …).",
            callback=currency_option,
            metavar="CODE",
        ),
    ],
    rate: Annotated[
        str,
        typer.Argument(
            help="What 1 unit of it is worth in the workspace currency, e.g. 0.85.",
            callback=_rate_argument,
            metavar="RATE",
        ),
    ],
) -> None:
    """Count orders in CODE in the totals at RATE: 1 CODE = RATE of the workspace currency."""
    settings = common.settings()
    checked = _currencies().set_rates(settings, {code: rate})
    result = {"currency": settings.currency, "rates": {k: str(v) for k, v in checked.items()}}
    if common.json:
        print_json(result)
        return
    for key, value in checked.items():
        out.print(
            f"Orders in {key} now count in the {settings.currency} totals at "
            f"{_currencies().describe_rate(key, value, settings.currency)} "
            f"(in {settings.workspace}/soloist.toml).",
            highlight=False,
        )


@rates_app.command("remove")
@shared_options
def rates_remove(
    common: Common,
    codes: Annotated[
        list[str], typer.Argument(help="The currencies whose rate goes.", metavar="CODE...")
    ],
) -> None:
    """Remove rates: orders in those currencies leave the totals (they stay in the database)."""
    settings = common.settings()
    removed = _currencies().remove_rates(settings, codes)
    after = _load_settings(workspace=settings.workspace, database_url=common.db)
    if common.json:
        print_json({"removed": removed, "rates": {k: str(v) for k, v in after.rates.items()}})
        return
    out.print(
        f"Removed the rate of {', '.join(removed)}: orders in it are outside the "
        f"{settings.currency} totals.",
        highlight=False,
    )
