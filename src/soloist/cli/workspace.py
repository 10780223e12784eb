"""``soloist init`` and ``soloist status``."""

from __future__ import annotations

import os
import sys
from decimal import Decimal
from typing import Annotated, Any

import typer
from rich.table import Table

from soloist.cli.common import Common, cli_actor, err, out, print_json, shared_options
from soloist.errors import ValidationError

# The domain, the configuration and the money helpers are imported where a command runs, so
# that `soloist --help` and every other command start at once (issue 19).


def currency_option(value: str | None) -> str | None:
    """An ISO 4217 ``--currency``; anything else is bad usage (exit 2)."""
    if value is None:
        return None
    try:
        from soloist.money import check_currency

        return check_currency(value)
    except ValueError as exc:
        raise typer.BadParameter(str(exc)) from None


def _country_option(value: str | None) -> str | None:
    if value is None:
        return None
    try:
        from soloist.countries import check_country

        return check_country(value)
    except ValueError as exc:
        raise typer.BadParameter(str(exc)) from None


def _country_of_this_machine() -> str | None:
    """The territory of the user's locale (``en_GB.UTF-8`` → GB), if it names one."""
    for name in ("LC_ALL", "LC_MONETARY", "LANG"):
        value = os.environ.get(name, "")
        territory = value.split(".")[0].partition("_")[2][:2]
        if territory:
            try:
                from soloist.countries import check_country

                return check_country(territory)
            except ValueError:
                return None
    return None


def _ask_currency_and_country(
    currency: str | None, country: str | None
) -> tuple[str | None, str | None]:
    """Ask, on a terminal, for what the options did not say (a new workspace only)."""
    from babel.numbers import get_territory_currencies

    guess = _country_of_this_machine()
    if currency is None:
        local = get_territory_currencies(guess, tender=True) if guess else []
        currency = typer.prompt(
            "Currency of your business (ISO 4217: USD, EUR, GBP, CNY …)",
            default=local[0] if local else "USD",
            value_proc=lambda text: currency_option(text) or "",
        )
    if country is None:
        answer = typer.prompt(
            "Country of phone numbers written without +code (ISO 3166: GB, US, CN …; - for none)",
            default=guess or "-",
            value_proc=lambda text: "" if text.strip() in ("", "-") else _country_option(text),
        )
        country = answer or None
    return currency, country


@shared_options
def init(
    common: Common,
    currency: Annotated[
        str | None,
        typer.Option(
            "--currency",
            help="ISO 4217 code of the business's currency (USD, EUR, GBP, CNY …): totals and "
            "analyses are in it. Default USD; asked on a terminal. Changes an existing "
            "workspace's while it has no orders in the old one.",
            callback=currency_option,
        ),
    ] = None,
    country: Annotated[
        str | None,
        typer.Option(
            "--country",
            help="ISO 3166 code (GB, US, CN …) of phone numbers written without +country code.",
            callback=_country_option,
        ),
    ] = None,
    owner_email: Annotated[
        str | None,
        typer.Option(help="Also create the owner account (the web app's first login)."),
    ] = None,
    owner_password_stdin: Annotated[
        bool,
        typer.Option("--owner-password-stdin", help="Read the owner's password from stdin."),
    ] = False,
) -> None:
    """Create a workspace (folder, master key, settings, database) or upgrade its schema.

    On a terminal, a new workspace asks for its currency and country unless the options give
    them; elsewhere (CI, a pipe, --json) the defaults are used without asking.
    """
    settings = common.settings()
    asks = (
        not common.json
        and not owner_password_stdin
        and sys.stdin.isatty()
        and os.environ.get("CI", "") in ("", "0", "false")
        and not (settings.workspace / _config_file_name()).exists()
    )
    if asks and (currency is None or country is None):
        currency, country = _ask_currency_and_country(currency, country)
    from soloist.domain.workspace import init_workspace

    result = init_workspace(settings, currency=currency, country=country)
    owner = _create_owner(common, owner_email, owner_password_stdin) if owner_email else None
    if common.json:
        print_json(
            {
                "workspace": str(result.workspace),
                "database": result.database_url,
                "backend": result.backend,
                "created_key": result.created_key,
                "previous_revision": result.previous_revision,
                "revision": result.revision,
                "currency": result.currency,
                "country": result.country,
                "changes": result.changes,
                "owner": owner,
            }
        )
        return
    action = "Created" if result.previous_revision is None else "Upgraded"
    if result.previous_revision == result.revision:
        action = "Checked"
    out.print(f"{action} workspace [bold]{result.workspace}[/] ({result.backend}).")
    out.print(f"Database: {result.database_url} at schema revision {result.revision}.")
    for change in result.changes:
        out.print(f"Changed the {change}.")
    out.print(
        f"Currency {result.currency}, phone country {result.country or 'not set'} "
        "(soloist init --currency CODE --country CC changes them).",
        highlight=False,
    )
    if result.created_key:
        out.print(
            f"A new master key was written to {result.workspace}/master.key — back it up: "
            "without it the encrypted personal data cannot be read."
        )
    if owner:
        out.print(f"Owner {owner} can now sign in to `soloist serve`.")


def _create_owner(common: Common, email: str, password_stdin: bool) -> str:
    if password_stdin:
        password = sys.stdin.readline().rstrip("\r\n")
    elif sys.stdin.isatty():
        password = typer.prompt("Owner password", hide_input=True, confirmation_prompt=True)
    else:
        raise ValidationError("Give the owner's password with --owner-password-stdin.")
    with common.open_database() as database, database.session() as session:
        from soloist.domain.users import add_user

        return add_user(session, email, "owner", password, cli_actor(), name=None).email


def _money(amount: str | Decimal, currency: str) -> str:
    return f"{Decimal(amount):,} {currency}"


def _revenue_rows(data: dict[str, Any]) -> list[tuple[str, str]]:
    """The revenue, then one line per currency when there is more than the workspace's."""
    currency = data["currency"]
    rows = [("revenue", _money(data["revenue"], currency))]
    parts = data["revenue_parts"]
    if [p["currency"] for p in parts] in ([], [currency]):
        return rows
    for part in parts:
        code, amount = part["currency"], _money(part["amount"], part["currency"])
        if code == currency:
            text = amount
        elif part["converted"] is None:
            text = f"{amount}, no rate: not in the revenue"
        else:
            text = (
                f"{amount} = {_money(part['converted'], currency)} "
                f"at 1 {code} = {part['rate']} {currency}"
            )
        rows.append((f"  paid in {code} ({_count_orders(part['orders'])})", text))
    return rows


@shared_options
def status(common: Common) -> None:
    """Counts of customers, orders and the rest, and the paid revenue in the workspace
    currency, per currency when orders are in several (converted at `soloist rates`)."""
    with common.open_database() as database, database.session() as session:
        settings = database.settings
        from soloist.domain.status import workspace_status

        data = workspace_status(session, settings.currency, settings.rates)
    if common.json:
        print_json(data)
        return
    table = Table(title="Soloist workspace", show_header=False)
    table.add_column("what")
    table.add_column("value", justify="right")
    skip = ("revenue_by_currency", "revenue_parts", "latest_model_run", "currency", "rates")
    for key, value in data.items():
        if key in (*skip, "unconverted", "warnings"):
            continue
        if key == "revenue":
            for label, text in _revenue_rows(data):
                table.add_row(label, text)
            continue
        table.add_row(key.replace("_", " "), "—" if value is None else str(value))
    out.print(table)
    for warning in data["warnings"]:
        err.print(f"[bold yellow]Warning:[/] {warning}", highlight=False)


def _config_file_name() -> str:
    from soloist.config import CONFIG_FILE_NAME

    return CONFIG_FILE_NAME


def _count_orders(orders: int) -> str:
    from soloist.domain.currencies import count_orders

    return count_orders(orders)
