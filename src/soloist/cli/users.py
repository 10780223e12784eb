"""``soloist user add`` and ``soloist token create``."""

from __future__ import annotations

import sys
from typing import Annotated

import typer

from soloist.cli.common import Common, cli_actor, err, out, print_json, shared_options
from soloist.domain.users import add_user, create_token
from soloist.errors import ValidationError

user_app = typer.Typer(help="People who may sign in.", no_args_is_help=True)
token_app = typer.Typer(help="API tokens.", no_args_is_help=True)


@user_app.command("add")
@shared_options
def user_add(
    common: Common,
    email: Annotated[str, typer.Argument(help="The user's e-mail address (their login).")],
    role: Annotated[str, typer.Option(help="owner, staff or readonly.")] = "staff",
    password_stdin: Annotated[
        bool, typer.Option("--password-stdin", help="Read the password from standard input.")
    ] = False,
    name: Annotated[str | None, typer.Option(help="Display name.")] = None,
) -> None:
    """Add a user with a role; the password is hashed with Argon2id."""
    if password_stdin:
        password = sys.stdin.readline().rstrip("\r\n")
    elif sys.stdin.isatty():
        password = typer.prompt("Password", hide_input=True, confirmation_prompt=True)
    else:
        raise ValidationError("Give the password with --password-stdin.")
    with common.open_database() as database, database.session() as session:
        user = add_user(session, email, role, password, cli_actor(), name=name)
        result = {"id": user.id, "email": user.email, "role": user.role}
    if common.json:
        print_json(result)
    else:
        out.print(f"Added {result['role']} {result['email']} (user {result['id']}).")


@token_app.command("create")
@shared_options(json=False)
def token_create(
    common: Common,
    email: Annotated[str, typer.Argument(help="The user the token acts as.")],
    scope: Annotated[str, typer.Option(help="read or write.")] = "read",
    name: Annotated[str | None, typer.Option(help="A label to recognise the token by.")] = None,
) -> None:
    """Create an API token and print it alone on standard output (it is shown only once)."""
    with common.open_database() as database, database.session() as session:
        row, token = create_token(session, email, scope, cli_actor(), name=name)
        prefix = row.prefix
    sys.stdout.write(token + "\n")
    err.print(f"Token {prefix}… with scope {scope} created; store it now, it is not kept.")
