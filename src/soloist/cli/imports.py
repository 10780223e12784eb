"""``soloist import KIND FILE``: import a file, print its data-quality report."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer
from rich.table import Table

from soloist.cli.common import Common, cli_actor, err, out, print_json, shared_options
from soloist.errors import ImportRefusedError, SoloistError


def _parse_map(pairs: list[str]) -> dict[str, str]:
    mapping: dict[str, str] = {}
    for pair in pairs:
        if "=" not in pair:
            raise typer.BadParameter(f"--map {pair!r}: write it as COLUMN=FIELD")
        column, target = pair.split("=", 1)
        mapping[column.strip()] = target.strip()
    return mapping


def _print_report(report: dict[str, Any]) -> None:
    table = Table(title=f"Import of {report['file']} ({report['format']}, {report['kind']})")
    table.add_column("what")
    table.add_column("value", justify="right")
    for key in ("rows_read", "imported", "updated", "unchanged", "skipped", "invalid"):
        table.add_row(key.replace("_", " "), str(report.get(key, 0)))
    for key, value in (report.get("customers") or {}).items():
        table.add_row(f"customers {key.replace('_', ' ')}", str(value))
    for key, value in (report.get("details") or {}).items():
        table.add_row(key.replace("_", " "), str(value))
    for reason, count in (report.get("skipped_by_reason") or {}).items():
        table.add_row(f"skipped: {reason}", str(count))
    for reason, count in (report.get("invalid_by_reason") or {}).items():
        table.add_row(f"invalid: {reason}", str(count))
    for key, value in (report.get("duplicates") or {}).items():
        table.add_row(key.replace("_", " "), str(value))
    outliers = report.get("outliers") or {}
    for key in ("negative_amounts", "zero_amounts", "huge_amounts", "future_dates"):
        if outliers.get(key):
            table.add_row(key.replace("_", " "), str(outliers[key]))
    for column, count in list((report.get("missing_values") or {}).items())[:15]:
        table.add_row(f"missing: {column}", str(count))
    out.print(table)
    for note in report.get("notes") or []:
        out.print(f"[dim]note:[/] {note}", highlight=False)


@shared_options
def import_command(
    common: Common,
    kind: Annotated[
        str, typer.Argument(help="customers, orders, subscriptions, interactions or feedback")
    ],
    file: Annotated[Path, typer.Argument(help="CSV, TSV, .xlsx, whitespace log; may be gzipped")],
    format: Annotated[
        str,
        typer.Option(
            "--format",
            help="auto, generic, shopify, stripe-charges, "
            "stripe-customers, stripe-subscriptions, woocommerce, retail, cdnow",
        ),
    ] = "auto",
    map_: Annotated[
        list[str] | None,
        typer.Option("--map", help="COLUMN=FIELD (repeatable); COLUMN= ignores a column."),
    ] = None,
    dry_run: Annotated[
        bool, typer.Option("--dry-run", help="Check and report; write nothing.")
    ] = False,
    dayfirst: Annotated[
        bool, typer.Option("--dayfirst", help="Read 05/01/2024 as 5 January.")
    ] = False,
    skip_invalid: Annotated[
        bool, typer.Option("--skip-invalid", help="Import the valid rows, leave the invalid out.")
    ] = False,
    currency: Annotated[
        str | None, typer.Option("--currency", help="Currency when the file names none.")
    ] = None,
    region: Annotated[
        str | None, typer.Option("--region", help="Country (e.g. CN) for phones without +code.")
    ] = None,
    preview: Annotated[
        bool, typer.Option("--preview", help="Show the detected format and column mapping only.")
    ] = False,
) -> None:
    """Import a file: all of it or nothing, the same file twice changes nothing."""
    from soloist.domain.imports import ImportOptions, import_file, preview_import

    options = ImportOptions(
        format=format,
        mapping=_parse_map(map_ or []),
        dry_run=dry_run,
        dayfirst=dayfirst,
        skip_invalid=skip_invalid,
        currency=currency,
        region=region,
    )
    try:
        if preview:
            result = preview_import(file, kind, options).to_dict()
            if common.json:
                print_json(result)
            else:
                out.print(f"{result['file']}: {result['format']} ({result['rows']} rows)")
                for target, column in result["mapping"].items():
                    out.print(f"  {column!r} → {target}", highlight=False)
                if result["unmapped"]:
                    out.print(f"  not used: {', '.join(result['unmapped'])}", highlight=False)
            return
        with common.open_database() as database:
            options.timezone = database.settings.timezone
            with database.session() as session:
                report = import_file(
                    session,
                    kind,
                    file,
                    options,
                    cli_actor(),
                    default_currency=database.settings.currency,
                ).to_dict()
    except ImportRefusedError as exc:
        if common.json:
            details = dict(exc.details)
            details.setdefault("rows_read", 0)
            for key in ("imported", "updated", "skipped", "invalid"):
                details.setdefault(key, 0)
            details["status"] = "refused"
            details["message"] = exc.message
            print_json(details)
        err.print(f"[bold red]Error:[/] {exc.message}", highlight=False)
        raise typer.Exit(1) from None
    except SoloistError as exc:
        if common.json:
            print_json(
                {
                    "status": "refused",
                    "message": exc.message,
                    "rows_read": 0,
                    "imported": 0,
                    "updated": 0,
                    "skipped": 0,
                    "invalid": 0,
                    "errors": [{"row": None, "column": None, "message": exc.message}],
                }
            )
        err.print(f"[bold red]Error:[/] {exc.message}", highlight=False)
        raise typer.Exit(1) from None
    if common.json:
        print_json(report)
        return
    _print_report(report)
    if dry_run:
        out.print("Dry run: nothing was written.")
