"""``soloist init`` and ``soloist status``."""

from __future__ import annotations

import sys
from typing import Annotated

import typer
from rich.table import Table

from soloist.cli.common import Common, cli_actor, out, print_json, shared_options
from soloist.domain.status import workspace_status
from soloist.domain.users import add_user
from soloist.domain.workspace import init_workspace
from soloist.errors import ValidationError


@shared_options
def init(
    common: Common,
    owner_email: Annotated[
        str | None,
        typer.Option(help="Also create the owner account (the web app's first login)."),
    ] = None,
    owner_password_stdin: Annotated[
        bool,
        typer.Option("--owner-password-stdin", help="Read the owner's password from stdin."),
    ] = False,
) -> None:
    """Create a workspace (folder, master key, settings, database) or upgrade its schema."""
    result = init_workspace(common.settings())
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
                "owner": owner,
            }
        )
        return
    action = "Created" if result.previous_revision is None else "Upgraded"
    if result.previous_revision == result.revision:
        action = "Checked"
    out.print(f"{action} workspace [bold]{result.workspace}[/] ({result.backend}).")
    out.print(f"Database: {result.database_url} at schema revision {result.revision}.")
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
        return add_user(session, email, "owner", password, cli_actor(), name=None).email


@shared_options
def status(common: Common) -> None:
    """Counts of customers, orders and the rest, and the paid revenue."""
    with common.open_database() as database, database.session() as session:
        data = workspace_status(session, database.settings.currency)
    if common.json:
        print_json(data)
        return
    table = Table(title="Soloist workspace", show_header=False)
    table.add_column("what")
    table.add_column("value", justify="right")
    for key, value in data.items():
        if key in ("revenue_by_currency", "latest_model_run", "currency"):
            continue
        label = key.replace("_", " ")
        if key == "revenue":
            value = f"{value} {data['currency']}"
        table.add_row(label, "—" if value is None else str(value))
    out.print(table)
