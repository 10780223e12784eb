"""``soloist backup [--output FILE]``, ``soloist backup verify FILE`` and
``soloist restore FILE``: encrypted, checked copies of the workspace's database."""

from __future__ import annotations

import datetime as dt
import os
import sys
from pathlib import Path
from typing import Annotated, Any

import typer

from soloist.cli.common import Common, cli_actor, err, out, print_json, shared_options
from soloist.errors import ValidationError

backup_app = typer.Typer(
    help="Encrypted backups of the workspace's database.", invoke_without_command=True
)


def passphrase() -> str:
    """From SOLOIST_BACKUP_PASSPHRASE, or the file SOLOIST_BACKUP_PASSPHRASE_FILE names, or
    asked on a terminal."""
    given = os.environ.get("SOLOIST_BACKUP_PASSPHRASE")
    if given:
        return given
    file = os.environ.get("SOLOIST_BACKUP_PASSPHRASE_FILE")
    if file:
        try:
            return Path(file).read_text(encoding="utf-8").strip()
        except OSError as exc:
            raise ValidationError(f"Cannot read SOLOIST_BACKUP_PASSPHRASE_FILE: {exc}") from exc
    if sys.stdin.isatty():
        return str(typer.prompt("Backup passphrase", hide_input=True))
    raise ValidationError(
        "Give the backup's passphrase in SOLOIST_BACKUP_PASSPHRASE (or a file named by "
        "SOLOIST_BACKUP_PASSPHRASE_FILE)."
    )


def _report(common: Common, summary: Any, done: str) -> None:
    if common.json:
        print_json(summary.to_dict())
    else:
        out.print(done.format(rows=summary.rows, tables=len(summary.tables), path=summary.path))


@backup_app.callback()
@shared_options
def backup(
    ctx: typer.Context,
    common: Common,
    output: Annotated[
        Path | None, typer.Option("--output", "-o", help="The backup file to write.")
    ] = None,
) -> None:
    """Write an encrypted backup while the app goes on (a consistent snapshot)."""
    if ctx.invoked_subcommand is not None:
        return
    from soloist.domain.backups import make_backup

    secret = passphrase()
    with common.open_database() as database:
        target = output or database.settings.workspace / "backups" / (
            f"soloist-{dt.datetime.now(dt.UTC):%Y%m%d-%H%M%S}.backup"
        )
        target.parent.mkdir(parents=True, exist_ok=True)
        summary = make_backup(database, target, secret)
    _report(common, summary, "Backed up {rows} rows of {tables} tables to {path}.")


@backup_app.command("verify")
@shared_options
def backup_verify(
    common: Common, file: Annotated[Path, typer.Argument(help="The backup file.")]
) -> None:
    """Check a backup end to end (passphrase, every part, every table's checksum)."""
    from soloist.domain.backups import verify_backup

    summary = verify_backup(file, passphrase())
    _report(common, summary, "{path} is intact: {rows} rows of {tables} tables.")


@shared_options
def restore(common: Common, file: Annotated[Path, typer.Argument(help="The backup file.")]) -> None:
    """Restore a backup into an empty database (this workspace's, or --db's): all or nothing."""
    from soloist.domain.backups import open_restore_target, restore_backup
    from soloist.domain.privacy import replay_erasures

    secret = passphrase()
    database = open_restore_target(common.settings(), file, secret)
    try:
        summary = restore_backup(database, file, secret)
        with database.session() as session:  # people erased since the backup was made
            again = replay_erasures(session, database.settings.workspace, cli_actor())
    finally:
        database.dispose()
    _report(common, summary, "Restored {rows} rows of {tables} tables from {path}.")
    if not common.json:
        err.print("Every table was read back and matches the backup's checksums.")
        if again:
            err.print(f"Erased again, as the workspace's erasure journal asks: {len(again)}.")
