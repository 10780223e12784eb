"""Options every command shares, and the one place that turns errors into messages."""

from __future__ import annotations

import json
import os
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console

from soloist.config import Settings, load_settings
from soloist.errors import SoloistError
from soloist.storage.database import Database

out = Console(soft_wrap=True)
err = Console(stderr=True, soft_wrap=True)

DbOption = Annotated[
    str | None,
    typer.Option(
        "--db",
        help="Database URL (default: the SQLite file in the workspace).",
        envvar="SOLOIST_DATABASE_URL",
        show_envvar=True,
    ),
]
WorkspaceOption = Annotated[
    Path | None,
    typer.Option(
        "--workspace",
        "-w",
        help="Workspace folder (default: ./soloist-workspace).",
        envvar="SOLOIST_WORKSPACE",
        show_envvar=True,
    ),
]
JsonOption = Annotated[bool, typer.Option("--json", help="Print the result as JSON.")]


def debug_enabled() -> bool:
    return os.environ.get("SOLOIST_DEBUG", "") not in ("", "0", "false")


def settings_for(workspace: Path | None, db: str | None) -> Settings:
    return load_settings(workspace=workspace, database_url=db)


@contextmanager
def cli_errors() -> Iterator[None]:
    """Print ``Error: …`` and exit 1 on a SoloistError; tracebacks only with --debug."""
    try:
        yield
    except SoloistError as exc:
        if debug_enabled():
            raise
        err.print(f"[bold red]Error:[/] {exc.message}", highlight=False)
        raise typer.Exit(1) from None


@contextmanager
def open_database(workspace: Path | None, db: str | None) -> Iterator[Database]:
    from soloist.domain.workspace import open_workspace

    database = open_workspace(settings_for(workspace, db))
    try:
        yield database
    finally:
        database.dispose()


def print_json(data: Any) -> None:
    sys.stdout.write(json.dumps(data, indent=2, ensure_ascii=False, default=str) + "\n")


def cli_actor() -> str:
    user = os.environ.get("USER") or os.environ.get("USERNAME") or "unknown"
    return f"cli:{user}"
