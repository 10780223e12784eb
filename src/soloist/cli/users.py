"""``soloist user add`` and ``soloist token create``."""

from __future__ import annotations

import sys
from typing import Annotated

import typer

from soloist.cli.common import (
    DbOption,
    JsonOption,
    WorkspaceOption,
    cli_actor,
    cli_errors,
    err,
    open_database,
    out,
    print_json,
)
from soloist.domain.users import add_user, create_token
from soloist.errors import ValidationError

user_app = typer.Typer(help="People who may sign in.", no_args_is_help=True)
token_app = typer.Typer(help="API tokens.", no_args_is_help=True)


@user_app.command("add")
def user_add(
    email: Annotated[str, typer.Argument(help="The user's e-mail address (their login).")],
    role: Annotated[str, typer.Option(help="owner, staff or readonly.")] = "staff",
    password_stdin: Annotated[
        bool, typer.Option("--password-stdin", help="Read the password from standard input.")
    ] = False,
    name: Annotated[str | None, typer.Option(help="Display name.")] = None,
    workspace: WorkspaceOption = None,
    db: DbOption = None,
    json: JsonOption = False,
) -> None:
    """Add a user with a role; the password is hashed with Argon2id."""
    with cli_errors():
        if password_stdin:
            password = sys.stdin.readline().rstrip("\r\n")
        elif sys.stdin.isatty():
            password = typer.prompt("Password", hide_input=True, confirmation_prompt=True)
        else:
            raise ValidationError("Give the password with --password-stdin.")
        with open_database(workspace, db) as database, database.session() as session:
            user = add_user(session, email, role, password, cli_actor(), name=name)
            result = {"id": user.id, "email": user.email, "role": user.role}
    if json:
        print_json(result)
    else:
        out.print(f"Added {result['role']} {result['email']} (user {result['id']}).")


@token_app.command("create")
def token_create(
    email: Annotated[str, typer.Argument(help="The user the token acts as.")],
    scope: Annotated[str, typer.Option(help="read or write.")] = "read",
    name: Annotated[str | None, typer.Option(help="A label to recognise the token by.")] = None,
    workspace: WorkspaceOption = None,
    db: DbOption = None,
) -> None:
    """Create an API token and print it alone on standard output (it is shown only once)."""
    with cli_errors(), open_database(workspace, db) as database, database.session() as session:
        row, token = create_token(session, email, scope, cli_actor(), name=name)
        prefix = row.prefix
    sys.stdout.write(token + "\n")
    err.print(f"Token {prefix}… with scope {scope} created; store it now, it is not kept.")
