"""``soloist import KIND FILE…``: import files, print their data-quality report.

One file of a kind gives the report of that file; several files, a folder, or ``auto`` (which
recognises each file's table: an Olist export's, a Shopify or Stripe export, a plain table)
import everything in dependency order in one transaction and give the totals with each file's
report. ``soloist import fields [KIND…]`` lists the fields each kind reads.
"""

from __future__ import annotations

import datetime as dt
from collections import Counter
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer
from rich.table import Table

from soloist.cli.common import Common, cli_actor, err, out, print_json, shared_options
from soloist.cli.import_progress import ImportBar
from soloist.errors import ImportRefusedError, SoloistError, UsageError

if TYPE_CHECKING:
    from soloist.domain.imports import ImportOptions

KINDS_HELP = "customers, orders, subscriptions, interactions, feedback; auto; or fields"
# The fields each kind reads (tests/cli checks this against the import's own list; `soloist
# import fields KIND` says what each one holds).
FIELDS_HELP = {
    "customers": "customer_id, name, first_name, last_name, email, phone, company, country, "
    "address, birthday, notes, tags, language, created_at",
    "orders": "customer_id, name, first_name, last_name, email, phone, company, country, "
    "order_id, ordered_at, status, currency, total, discount, refunded, sku, description, "
    "quantity, unit_price, line_amount, channel, cancelled_at",
    "subscriptions": "customer_id, name, first_name, last_name, email, phone, company, country, "
    "subscription_id, plan, price, quantity, currency, interval, status, started_at, "
    "cancelled_at, cancel_reason, tenure, churned",
    "interactions": "customer_id, name, first_name, last_name, email, phone, company, country, "
    "channel, direction, subject, body, occurred_at",
    "feedback": "customer_id, name, first_name, last_name, email, phone, company, country, "
    "feedback_id, order_id, survey, score, rating, title, comment, language, responded_at, "
    "source",
}
_HELP = (
    "Import files: all of them or nothing, the same files twice change nothing.\n\n"
    "KIND is the kind of data (customers, orders, subscriptions, interactions, feedback), or "
    "auto to recognise each file's table and import them in dependency order (customers, "
    "orders with their lines and payments, subscriptions, interactions, feedback): a folder "
    "of an Olist export, a Shopify customers and orders export, several monthly files. "
    "`soloist import fields KIND` says what each field holds.\n\n"
    + "\n\n".join(f"Fields of {kind}: {names}." for kind, names in FIELDS_HELP.items())
)


def _parse_map(pairs: list[str]) -> dict[str, str]:
    mapping: dict[str, str] = {}
    for pair in pairs:
        if "=" not in pair:
            raise UsageError(f"--map {pair!r}: write it as COLUMN=FIELD")
        column, target = pair.split("=", 1)
        mapping[column.strip()] = target.strip()
    return mapping


def _as_of(text: str | None) -> dt.date | None:
    if text is None:
        return None
    try:
        return dt.date.fromisoformat(text.strip())
    except ValueError:
        raise UsageError(
            f"--as-of {text!r}: not a date; write it as YYYY-MM-DD, e.g. 2024-06-30"
        ) from None


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


def _print_bundle(report: dict[str, Any]) -> None:
    table = Table(title=f"Import of {len(report['files'])} files ({report['kind']})")
    table.add_column("file", overflow="fold")
    table.add_column("kind")
    for name in ("rows", "imported", "updated", "unchanged", "skipped"):
        table.add_column(name, justify="right")
    for one in report["imports"]:
        table.add_row(
            one["file"],
            one["kind"],
            *(f"{one[key]:,}" for key in ("rows_read", "imported", "updated", "unchanged")),
            f"{one['skipped']:,}",
        )
    table.add_row(
        "all files",
        "",
        *(f"{report[key]:,}" for key in ("rows_read", "imported", "updated", "unchanged")),
        f"{report['skipped']:,}",
        style="bold",
    )
    out.print(table)
    unused = [f for f in report["files"] if f["used_for"] == "not used"]
    for entry in report["files"]:
        if entry["table"] != entry["used_for"] and entry not in unused:
            out.print(f"  {entry['file']}: {entry['used_for']}", highlight=False)
    if unused:
        out.print(f"  not used: {', '.join(f['file'] for f in unused)}", highlight=False)
    for key, value in (report.get("customers") or {}).items():
        out.print(f"  customers {key.replace('_', ' ')}: {value:,}", highlight=False)
    for key, value in (report.get("details") or {}).items():
        out.print(f"  {key.replace('_', ' ')}: {value:,}", highlight=False)
    for note in report.get("notes") or []:
        out.print(f"[dim]note:[/] {note}", highlight=False)


def _print_fields(kinds: list[str], as_json: bool) -> None:
    from soloist.domain.imports import KINDS, import_fields

    unknown = [k for k in kinds if k not in KINDS]
    if unknown:
        raise UsageError(f"Unknown import kind {unknown[0]!r}; use one of {', '.join(KINDS)}.")
    chosen = kinds or list(KINDS)
    found = {kind: import_fields(kind) for kind in chosen}
    if as_json:
        print_json(
            {
                kind: [{"field": f, "holds": text, "columns": names} for f, text, names in rows]
                for kind, rows in found.items()
            }
        )
        return
    for kind, rows in found.items():
        table = Table(title=f"Fields of {kind}")
        for name in ("field", "what it holds", "column names, for example"):
            table.add_column(name)
        for name, text, names in rows:
            table.add_row(name, text, ", ".join(names))
        out.print(table)


def _value_map(pairs: list[str], files: list[Path], kind: str) -> dict[str, dict[str, str]]:
    """``--map-values`` files then ``--map-value`` pairs (which win), checked for ``kind``."""
    from soloist.domain.imports import (
        KINDS,
        check_value_map,
        merge_value_maps,
        parse_value_maps,
        read_value_map_file,
    )

    try:
        value_map = merge_value_maps(
            *(read_value_map_file(path) for path in files), parse_value_maps(pairs)
        )
        if kind in KINDS:
            check_value_map(kind, value_map)
    except SoloistError as exc:
        raise UsageError(exc.message) from None
    return value_map


def _refused(exc: SoloistError, as_json: bool) -> None:
    """Say why nothing was imported (and, with --json, the report's keys) and exit."""
    if as_json:
        details = dict(exc.details) if isinstance(exc, ImportRefusedError) else {}
        details.setdefault("rows_read", 0)
        for key in ("imported", "updated", "skipped", "invalid"):
            details.setdefault(key, 0)
        details.setdefault("errors", [{"row": None, "column": None, "message": exc.message}])
        details["status"] = "refused"
        details["message"] = exc.message
        print_json(details)
    err.print(f"[bold red]Error:[/] {exc.message}", highlight=False)
    raise typer.Exit(2 if isinstance(exc, UsageError) else 1) from None


def _preview(common: Common, file: Path, kind: str, options: ImportOptions) -> None:
    from soloist.domain.imports import preview_import

    result = preview_import(file, kind, options).to_dict()
    if common.json:
        print_json(result)
        return
    out.print(f"{result['file']}: {result['format']} ({result['rows']} rows)")
    for target, column in result["mapping"].items():
        out.print(f"  {column!r} → {target}", highlight=False)
    if result["unmapped"]:
        out.print(f"  not used: {', '.join(result['unmapped'])}", highlight=False)


@shared_options
def import_command(
    common: Common,
    kind: Annotated[str, typer.Argument(help=KINDS_HELP)],
    files: Annotated[
        list[Path] | None,
        typer.Argument(
            help="Files or folders: CSV, TSV, .xlsx, whitespace log, may be gzipped "
            "(for `fields`: the kinds to list)",
            show_default=False,
        ),
    ] = None,
    format: Annotated[
        str,
        typer.Option(
            "--format",
            help="auto, generic, shopify, shopify-customers, stripe-charges, stripe-customers, "
            "stripe-subscriptions, woocommerce, retail, cdnow, olist-customers, "
            "subscription-snapshot (an Olist folder: soloist import auto FOLDER)",
        ),
    ] = "auto",
    map_: Annotated[
        list[str] | None,
        typer.Option("--map", help="COLUMN=FIELD (repeatable); COLUMN= ignores a column."),
    ] = None,
    map_value: Annotated[
        list[str] | None,
        typer.Option(
            "--map-value",
            help="FIELD:WORD=VALUE (repeatable): read WORD as VALUE, e.g. status:invoiced=paid.",
        ),
    ] = None,
    map_values: Annotated[
        list[Path] | None,
        typer.Option(
            "--map-values",
            help='A mapping file: TOML (\\[status] invoiced = "paid") or CSV (field,word,value).',
        ),
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
        str | None,
        typer.Option(
            "--region",
            help="Country (e.g. CN) for phones without +code (default: the workspace's, or CN "
            "for a GBK or Chinese-headed file).",
        ),
    ] = None,
    as_of: Annotated[
        str | None,
        typer.Option(
            "--as-of",
            metavar="YYYY-MM-DD",
            help="The day a subscription snapshot (a tenure in months instead of a start date, "
            "the Telco layout) was taken; starts are counted back from it (default: today).",
            show_default=False,
        ),
    ] = None,
    preview: Annotated[
        bool, typer.Option("--preview", help="Show the detected format and column mapping only.")
    ] = False,
) -> None:
    from soloist.domain.imports import (
        AUTO,
        KINDS,
        ImportOptions,
        data_files,
        import_file,
        import_files,
        read_limits,
    )
    from soloist.domain.workspace import settle_import_currency

    paths = list(files or [])
    if kind == "fields":
        try:
            _print_fields([str(p) for p in paths], common.json)
        except UsageError as exc:
            _refused(exc, common.json)
        return
    try:
        if kind not in (*KINDS, *AUTO):
            raise UsageError(
                f"Unknown import kind {kind!r}; use one of {', '.join(KINDS)}, auto or fields."
            )
        if not paths:
            raise UsageError("Missing argument FILE: name at least one file or folder.")
        options = ImportOptions(
            format=format,
            mapping=_parse_map(map_ or []),
            dry_run=dry_run,
            dayfirst=dayfirst,
            skip_invalid=skip_invalid,
            currency=currency,
            region=region,
            value_map=_value_map(map_value or [], map_values or [], kind),
            as_of=_as_of(as_of),
            limits=read_limits(common.settings()),
        )
        data_files(paths)  # refuses a path that is not there, as it was typed
        one_file = len(paths) == 1 and not paths[0].is_dir() and kind not in AUTO
        if preview:
            if not one_file:
                raise UsageError("--preview shows one file of one kind")
            _preview(common, paths[0], kind, options)
            return
        with (
            common.open_database() as database,
            ImportBar(err, enabled=not common.json and err.is_terminal) as bar,
        ):
            options.timezone = database.settings.timezone
            options.country = getattr(database.settings, "country", None)
            with database.session() as session:
                if one_file:
                    bar(f"file:{paths[0].name}", 0, 1)
                    report = import_file(
                        session,
                        kind,
                        paths[0],
                        options,
                        cli_actor(),
                        default_currency=database.settings.currency,
                        progress=bar,
                    ).to_dict()
                    currencies = Counter(report.get("currencies") or {})
                else:
                    report = import_files(
                        session,
                        kind,
                        paths,
                        options,
                        cli_actor(),
                        default_currency=database.settings.currency,
                        progress=bar,
                    ).to_dict()
                    currencies = Counter()
                    for one in report["imports"]:
                        currencies.update(one.get("currencies") or {})
                # The first orders into an empty workspace set its currency (one line says so).
                report["currency_notes"] = settle_import_currency(
                    session, database.settings, dict(currencies), dry_run=dry_run
                )
    except SoloistError as exc:
        _refused(exc, common.json)
    if common.json:
        print_json(report)
        return
    if one_file:
        _print_report(report)
    else:
        _print_bundle(report)
    for line in report["currency_notes"]:
        out.print(line, highlight=False)
    if dry_run:
        out.print("Dry run: nothing was written.")


import_command.__doc__ = _HELP
