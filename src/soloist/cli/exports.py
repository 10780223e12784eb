"""``soloist export customers|orders|scores --format csv|xlsx|parquet --output FILE``."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from soloist.cli.common import (
    Common,
    cli_actor,
    out,
    print_json,
    progress_bars,
    shared_options,
)


@shared_options
def export_command(
    common: Common,
    kind: Annotated[str, typer.Argument(help="customers, orders or scores")],
    output: Annotated[Path, typer.Option("--output", "-o", help="File to write.")],
    format: Annotated[
        str | None, typer.Option("--format", help="csv, xlsx or parquet (default: from --output).")
    ] = None,
) -> None:
    """Export customers, orders or the latest scores to CSV, Excel or Parquet."""
    from soloist.domain.exports import export_records

    with (
        common.open_database() as database,
        database.reader_and_writer() as (reader, store),
        progress_bars(enabled=not common.json) as progress,
    ):
        result = export_records(
            reader,
            kind,
            output,
            format,
            actor=cli_actor(),
            currency=database.settings.currency,
            progress=progress,
            store=store,
        )
    if common.json:
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
