"""``soloist user add|list|role|disable|enable|reset-password|sign-out`` and
``soloist token create``."""

from __future__ import annotations

import sys
from typing import Annotated, Any

import typer

from soloist.cli.common import Common, cli_actor, err, out, print_json, shared_options
from soloist.errors import ValidationError


def _users() -> Any:
    """The users' domain functions, imported when a command runs (the CLI starts at once)."""
    import soloist.domain.users

    return soloist.domain.users


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
    password = _read_password(password_stdin)
    with common.open_database() as database, database.session() as session:
        user = _users().add_user(session, email, role, password, cli_actor(), name=name)
        result = {"id": user.id, "email": user.email, "role": user.role}
    if common.json:
        print_json(result)
    else:
        out.print(f"Added {result['role']} {result['email']} (user {result['id']}).")


def _read_password(from_stdin: bool) -> str:
    if from_stdin:
        return sys.stdin.readline().rstrip("\r\n")
    if sys.stdin.isatty():
        return str(typer.prompt("Password", hide_input=True, confirmation_prompt=True))
    raise ValidationError("Give the password with --password-stdin.")


def _describe(user: Any) -> dict[str, Any]:
    return {
        "id": user.id,
        "email": user.email,
        "name": user.name,
        "role": user.role,
        "active": bool(user.active),
        "two_step": bool(user.totp_secret),
        "last_login_at": user.last_login_at.isoformat() if user.last_login_at else None,
    }


@user_app.command("list")
@shared_options
def user_list(common: Common) -> None:
    """Everyone who may sign in, owners first."""
    with common.open_database() as database, database.read_session() as session:
        users = [_describe(user) for user in _users().list_users(session)]
    if common.json:
        print_json(users)
        return
    for user in users:
        state = "" if user["active"] else "  (disabled)"
        out.print(f"{user['id']:>4}  {user['role']:<8}  {user['email']}{state}")


EMAIL_ARGUMENT = Annotated[str, typer.Argument(help="The user's e-mail address.")]


def _change(common: Common, email: str, change: Any, done: str) -> None:
    with common.open_database() as database, database.session() as session:
        user = change(session, _users().get_user_by_email(session, email).id)
        result = _describe(user)
    if common.json:
        print_json(result)
    else:
        out.print(done.format(**result))


@user_app.command("role")
@shared_options
def user_role(
    common: Common,
    email: EMAIL_ARGUMENT,
    role: Annotated[str, typer.Argument(help="owner, staff or readonly.")],
) -> None:
    """Give a user another role; their sessions end so it applies at once."""
    _change(
        common,
        email,
        lambda session, uid: _users().set_user_role(session, uid, role, cli_actor()),
        "{email} is now {role}; their sessions were ended.",
    )


@user_app.command("disable")
@shared_options
def user_disable(common: Common, email: EMAIL_ARGUMENT) -> None:
    """Stop a user signing in: their sessions end and their API tokens stop working."""
    _change(
        common,
        email,
        lambda session, uid: _users().set_user_active(session, uid, False, cli_actor()),
        "{email} is disabled; their sessions and API tokens no longer work.",
    )


@user_app.command("enable")
@shared_options
def user_enable(common: Common, email: EMAIL_ARGUMENT) -> None:
    """Let a disabled user sign in again."""
    _change(
        common,
        email,
        lambda session, uid: _users().set_user_active(session, uid, True, cli_actor()),
        "{email} may sign in again.",
    )


@user_app.command("reset-password")
@shared_options
def user_reset_password(
    common: Common,
    email: EMAIL_ARGUMENT,
    password_stdin: Annotated[
        bool, typer.Option("--password-stdin", help="Read the new password from standard input.")
    ] = False,
) -> None:
    """Set a new password without the old one; the user's sessions end."""
    password = _read_password(password_stdin)
    _change(
        common,
        email,
        lambda session, uid: _users().reset_password(session, uid, password, cli_actor()),
        "{email} has a new password; their sessions were ended.",
    )


@user_app.command("sign-out")
@shared_options
def user_sign_out(common: Common, email: EMAIL_ARGUMENT) -> None:
    """End every session of a user (a lost laptop); their API tokens are revoked separately."""
    _change(
        common,
        email,
        lambda session, uid: _users().sign_out_everywhere(session, uid, cli_actor()),
        "Every session of {email} has ended.",
    )


@user_app.command("totp-reset")
@shared_options
def user_totp_reset(common: Common, email: EMAIL_ARGUMENT) -> None:
    """Turn a user's two-step sign-in off (a lost phone) and end their sessions; they sign in
    with the password alone and may set it up again."""
    from soloist.domain.two_step import reset_two_step

    _change(
        common,
        email,
        lambda session, uid: reset_two_step(session, uid, cli_actor()),
        "Two-step sign-in is off for {email}; their sessions have ended.",
    )


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
        row, token = _users().create_token(session, email, scope, cli_actor(), name=name)
        prefix = row.prefix
    sys.stdout.write(token + "\n")
    err.print(f"Token {prefix}… with scope {scope} created; store it now, it is not kept.")
