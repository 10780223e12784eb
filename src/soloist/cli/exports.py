"""``soloist export customers|orders|scores --format csv|xlsx|parquet --output FILE``."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from soloist.cli.common import (
    DbOption,
    JsonOption,
    WorkspaceOption,
    cli_actor,
    cli_errors,
    open_database,
    out,
    print_json,
)


def export_command(
    kind: Annotated[str, typer.Argument(help="customers, orders or scores")],
    output: Annotated[Path, typer.Option("--output", "-o", help="File to write.")],
    format: Annotated[
        str | None, typer.Option("--format", help="csv, xlsx or parquet (default: from --output).")
    ] = None,
    workspace: WorkspaceOption = None,
    db: DbOption = None,
    json: JsonOption = False,
) -> None:
    """Export customers, orders or the latest scores to CSV, Excel or Parquet."""
    from soloist.domain.exports import export_records

    with cli_errors(), open_database(workspace, db) as database, database.session() as session:
        result = export_records(
            session, kind, output, format, actor=cli_actor(), currency=database.settings.currency
        )
    if json:
        print_json(
            {
                "kind": result.kind,
                "format": result.format,
                "path": str(result.path),
                "rows": result.rows,
            }
        )
        return
    out.print(f"Wrote {result.rows} {result.kind} to {result.path} ({result.format}).")
