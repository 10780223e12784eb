"""Importing files: customers, orders, subscriptions, interactions and feedback.

The one place the CLI, the API and the web import wizard call::

    report = import_file(session, "orders", "CDNOW_master.txt", ImportOptions(), actor="cli:me")

A file imports entirely or not at all: every row is read and checked before anything is written,
and a file with an invalid row is refused with :class:`~soloist.errors.ImportRefusedError`
(naming file, row, column and reason) unless ``skip_invalid`` is set. Everything happens in the
caller's transaction. Importing the same file again changes no data: orders are keyed by their
source's own number (``shopify:#1001``, ``retail:536365``; in a file without order numbers the
customer, time and count, ``cdnow:00001:19970101T000000:1``), order lines by (order, line
number), customers by external id, then the keyed e-mail hash, then the phone hash.
"""

from __future__ import annotations

import datetime as dt
from collections import Counter
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import polars as pl
from sqlalchemy.orm import Session

from soloist.domain._progress import Progress, no_progress
from soloist.domain.audit import record_audit
from soloist.domain.imports.activity import (
    Counts,
    dated_format,
    newest_customer_id,
    snapshot_fields,
    write_customer_fields,
    write_interactions,
    write_subscriptions,
)
from soloist.domain.imports.customers import Resolved, normalise_contacts, resolve_customers
from soloist.domain.imports.feedback import write_feedback
from soloist.domain.imports.orders import write_orders
from soloist.domain.imports.unchanged import (
    earlier_import,
    file_sha256,
    record_unchanged,
    unchanged_key,
)
from soloist.domain.imports.value_maps import ValueMap, apply_value_map
from soloist.domain.jobs.queue import enqueue_job
from soloist.errors import ImportRefusedError, UsageError
from soloist.imports import FORMATS, KINDS, ImportFormat, RawTable, read_table
from soloist.imports.clean import Cleaned, CleanOptions, clean_table
from soloist.imports.raw import DEFAULT_LIMITS, ReadLimits
from soloist.imports.synonyms import FIELDS, IDENTITY_FIELDS
from soloist.storage.bulk import collection_paused
from soloist.storage.models import ImportBatch
from soloist.storage.planner import refresh_statistics
from soloist.storage.types import utcnow
from soloist.vocabulary import WIDTHS

MAX_LISTED_ERRORS = 20  # in the message; the report keeps up to MAX_KEPT_ERRORS
MAX_KEPT_ERRORS = 1000
IGNORE = ("", "-", "ignore", "skip")
REQUIRED: dict[str, list[tuple[str, ...]]] = {
    "customers": [IDENTITY_FIELDS],
    "orders": [IDENTITY_FIELDS, ("ordered_at",), ("total", "line_amount", "unit_price")],
    "subscriptions": [IDENTITY_FIELDS, ("plan",), ("price",), ("started_at", "tenure")],
    "interactions": [IDENTITY_FIELDS, ("channel",), ("occurred_at",)],
    "feedback": [IDENTITY_FIELDS, ("score", "rating"), ("responded_at",)],
}


@dataclass
class ImportOptions:
    """How to read a file. ``mapping`` maps a column name to a field (or "" to ignore it)."""

    format: str = "auto"
    mapping: dict[str, str] = field(default_factory=dict)
    dry_run: bool = False
    dayfirst: bool = False
    skip_invalid: bool = False
    currency: str | None = None
    timezone: str = "UTC"
    region: str | None = None  # country for phone numbers without a +country code (--region)
    country: str | None = None  # the workspace's country, when the file does not say
    value_map: ValueMap = field(default_factory=dict)  # field -> {word: value} (--map-value)
    as_of: dt.date | None = None  # the day a subscription snapshot was taken (default: today)
    limits: ReadLimits = DEFAULT_LIMITS  # cell size, columns, uncompressed size (the settings)


def read_limits(settings: Any) -> ReadLimits:
    """The readers' bounds from the workspace's settings (``SOLOIST_IMPORT_MAX_*``)."""
    return ReadLimits.from_settings(settings)


@dataclass
class ImportPreview:
    """What an import would read: the detected format and which column feeds which field."""

    file: str
    kind: str
    format: str
    format_label: str
    container: str
    encoding: str | None
    delimiter: str | None
    rows: int
    columns: list[str]
    mapping: dict[str, str]  # field -> column
    unmapped: list[str]
    sample: list[dict[str, str]]

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass
class ImportReport:
    """The outcome and data-quality report of one import (kept in ``import_batches``)."""

    kind: str
    file: str
    format: str
    encoding: str | None
    sha256: str
    status: str  # imported | unchanged | dry_run | refused
    rows_read: int = 0
    imported: int = 0
    updated: int = 0
    unchanged: int = 0
    skipped: int = 0
    invalid: int = 0
    errors: list[dict[str, Any]] = field(default_factory=list)
    errors_total: int = 0
    invalid_by_reason: dict[str, int] = field(default_factory=dict)
    skipped_by_reason: dict[str, int] = field(default_factory=dict)
    duplicates: dict[str, int] = field(default_factory=dict)
    missing_values: dict[str, int] = field(default_factory=dict)
    outliers: dict[str, Any] = field(default_factory=dict)
    customers: dict[str, int] = field(default_factory=dict)
    details: dict[str, int] = field(default_factory=dict)
    mapping: dict[str, str] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)
    currencies: dict[str, int] = field(default_factory=dict)  # orders of the file per currency
    batch_id: int | None = None
    dry_run: bool = False

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    def error_message(self) -> str:
        lines = [
            f"{self.file}: {self.invalid} invalid row(s); nothing was imported. "
            "Fix the file, or pass --skip-invalid to import the other rows."
        ]
        for error in self.errors[:MAX_LISTED_ERRORS]:
            where = f"row {error['row']}" if error["row"] is not None else "file"
            column = f", column {error['column']!r}" if error["column"] else ""
            lines.append(f"  {where}{column}: {error['message']}")
        if self.errors_total > MAX_LISTED_ERRORS:
            lines.append(f"  … and {self.errors_total - MAX_LISTED_ERRORS} more error(s).")
        return "\n".join(lines)


def _refuse(path: Path, message: str) -> ImportRefusedError:
    return ImportRefusedError(
        f"{path.name}: {message}",
        file=path.name,
        errors=[{"row": None, "column": None, "message": message}],
    )


def _check_kind(kind: str) -> None:
    if kind not in KINDS:
        raise UsageError(f"Unknown import kind {kind!r}; use one of {', '.join(KINDS)}.")


def _choose_format(table: RawTable, kind: str, options: ImportOptions) -> ImportFormat:
    if options.format and options.format != "auto":
        fmt = FORMATS.get(options.format)
        if fmt is None:
            raise UsageError(
                f"Unknown format {options.format!r}; use auto or one of "
                f"{', '.join(FORMATS.names())}."
            )
    else:
        fmt = FORMATS.detect(table)
    if not fmt.kinds:  # one table of a multi-table export, which means nothing alone
        hint = getattr(fmt, "hint", "import the whole export with `soloist import auto FOLDER`")
        raise _refuse(table.path, f"this file is {fmt.label}; {hint}")
    if kind not in fmt.kinds:
        raise _refuse(
            table.path,
            f"this file looks like a {fmt.label}, which holds {', '.join(fmt.kinds)}, not "
            f"{kind}; import it as `{fmt.kinds[0]}` or force a layout with --format",
        )
    return fmt


def _mapping(
    table: RawTable, fmt: ImportFormat, kind: str, options: ImportOptions
) -> dict[str, int]:
    mapping = fmt.map_columns(table, kind)
    fields = FIELDS[kind]
    for column, target in options.mapping.items():
        index = table.column(column)
        if index is None:
            raise _refuse(
                table.path,
                f"--map names column {column!r}, which the file does not have "
                f"(it has: {', '.join(table.header)})",
            )
        mapping = {f: i for f, i in mapping.items() if i != index}
        if target.strip().lower() in IGNORE:
            continue
        if target not in fields:
            raise UsageError(
                f"--map {column}={target}: {target!r} is not a field of {kind}; use one of "
                f"{', '.join(fields)} (or leave it empty to ignore the column)."
            )
        mapping[target] = index
    for alternatives in REQUIRED[kind]:
        if not any(name in mapping for name in alternatives):
            examples = ", ".join(repr(s) for s in fields[alternatives[0]][:4])
            raise _refuse(
                table.path,
                f"no column for {' or '.join(alternatives)} (a column named e.g. {examples}); "
                f"name it with --map COLUMN={alternatives[0]}",
            )
    return mapping


def import_fields(kind: str) -> list[tuple[str, str, list[str]]]:
    """(field, what it holds, column names that mean it) of every field of ``kind``."""
    from soloist.imports.field_help import fields_of

    _check_kind(kind)
    return fields_of(kind)


def detect_format(path: Path | str) -> str:
    """The name of the layout the file is in (``shopify``, ``cdnow``, ``generic`` …)."""
    return FORMATS.detect(read_table(path)).name  # the default limits: a look, not an import


def preview_import(
    path: Path | str, kind: str, options: ImportOptions | None = None
) -> ImportPreview:
    """The detected format and column mapping, and the first rows — nothing is written."""
    options = options or ImportOptions()
    _check_kind(kind)
    table = read_table(path, options.limits)
    fmt = _choose_format(table, kind, options)
    mapping = _mapping(table, fmt, kind, options)
    used = set(mapping.values())
    return ImportPreview(
        file=table.path.name,
        kind=kind,
        format=fmt.name,
        format_label=fmt.label,
        container=table.container,
        encoding=table.encoding,
        delimiter=table.delimiter,
        rows=len(table.rows),
        columns=list(table.header),
        mapping={name: table.header[index] for name, index in mapping.items()},
        unmapped=[c for i, c in enumerate(table.header) if i not in used],
        sample=[dict(zip(table.header, row, strict=False)) for row in table.rows[:5]],
    )


def _report(
    table: RawTable,
    fmt: ImportFormat,
    kind: str,
    cleaned: Cleaned,
    mapping: Mapping[str, int],
    dry_run: bool,
) -> ImportReport:
    errors = sorted(cleaned.errors, key=lambda e: e.row or 0)
    notes = list(table.notes[:20]) + cleaned.notes[:20]
    if cleaned.unknown_countries:
        names = ", ".join(f"{k!r} ({v})" for k, v in cleaned.unknown_countries.most_common(10))
        notes.append(f"unknown countries left blank: {names}")
    if cleaned.rounded_amounts:
        notes.append(f"{cleaned.rounded_amounts} amount(s) rounded to the currency's precision")
    return ImportReport(
        kind=kind,
        file=table.path.name,
        format=fmt.name,
        encoding=table.encoding,
        sha256=table.sha256,
        status="dry_run" if dry_run else "imported",
        rows_read=cleaned.rows_read,
        skipped=sum(cleaned.skipped.values()),
        invalid=len(cleaned.invalid_rows),
        errors=[e.as_dict() for e in errors[:MAX_KEPT_ERRORS]],
        errors_total=len(errors),
        invalid_by_reason=cleaned.invalid_by_reason,
        skipped_by_reason=dict(cleaned.skipped),
        duplicates={"rows_repeated_in_file": cleaned.duplicate_rows},
        missing_values=cleaned.missing_values,
        outliers=cleaned.outliers,
        mapping={name: table.header[index] for name, index in mapping.items()},
        notes=notes,
        dry_run=dry_run,
    )


def _drop_invalid(cleaned: Cleaned) -> None:
    """With --skip-invalid: leave out the invalid rows and everything of an invalid customer."""
    bad = cleaned.bad_customers
    rows = cleaned.invalid_rows
    cleaned.orders = cleaned.orders.filter(
        ~pl.col("customer").is_in(sorted(bad)) & ~pl.col("row").is_in(sorted(rows))
    )
    cleaned.order_lines = cleaned.order_lines.join(
        cleaned.orders.select("external_id"), on="external_id", how="semi", maintain_order="left"
    )
    cleaned.subscriptions = [s for s in cleaned.subscriptions if s.customer not in bad]
    cleaned.interactions = [i for i in cleaned.interactions if i.customer not in bad]
    cleaned.feedback = [f for f in cleaned.feedback if f.customer not in bad]
    for key in bad:
        cleaned.customers.pop(key, None)


@collection_paused()
def import_file(
    session: Session,
    kind: str,
    path: Path | str,
    options: ImportOptions | None = None,
    actor: str = "system",
    *,
    default_currency: str = "USD",
    progress: Progress | None = None,
) -> ImportReport:
    """Import ``path`` as ``kind`` in the caller's transaction and return the report.

    Raises :class:`ImportRefusedError` (``details`` hold the report) when the file cannot be
    read or has invalid rows and ``skip_invalid`` is not set; then nothing was written.
    ``progress`` hears of each step (``read``, ``clean``, ``customers``, ``write``) and of the
    rows read.
    """
    options = options or ImportOptions()
    _check_kind(kind)
    tell = progress or no_progress
    tell("step:read", 0, len(STEPS))
    file_hash = None
    if not options.dry_run:
        file_hash = file_sha256(Path(path))
        key = unchanged_key(session, file_hash, kind, options, default_currency)
        earlier = earlier_import(session, key)
        if earlier is not None:
            batch = record_unchanged(session, earlier, Path(path).name, key)
            report = ImportReport(**batch.report)
            _audit(session, actor, batch, report)
            tell("step:done", len(STEPS), len(STEPS))
            return report
    table = read_table(Path(path), options.limits)
    return import_table(
        session,
        kind,
        table,
        options,
        actor,
        default_currency=default_currency,
        progress=progress,
        file_hash=file_hash,
    )


STEPS = ("read", "clean", "customers", "write")
_CHINESE_ENCODINGS = ("gb18030", "gbk", "gb2312")
# Where Chinese headers do not mean the mainland: these workspaces keep their own country.
_CHINESE_ELSEWHERE = ("TW", "HK", "MO", "SG")


def _is_cjk(text: str) -> bool:
    return any("\u4e00" <= ch <= "\u9fff" for ch in text)


def phone_region(table: RawTable, options: ImportOptions) -> tuple[str | None, str | None]:
    """The country phones without ``+code`` are read in, and why when the file decided it:
    ``--region``; else mainland China for a file that evidently comes from there (GBK-encoded,
    or Chinese headers in a workspace not set to Taiwan, Hong Kong, Macao or Singapore); else
    the workspace's country."""
    if options.region:
        return options.region.upper(), None
    if (table.encoding or "").lower() in _CHINESE_ENCODINGS:
        return "CN", "phones without +country read as Chinese (CN): the file is in GBK"
    workspace = (options.country or "").upper() or None
    if workspace not in _CHINESE_ELSEWHERE and any(_is_cjk(c) for c in table.header):
        return "CN", "phones without +country read as Chinese (CN): the file has Chinese headers"
    return workspace, None


@collection_paused()
def import_table(
    session: Session,
    kind: str,
    table: RawTable,
    options: ImportOptions,
    actor: str = "system",
    *,
    default_currency: str = "USD",
    fmt: ImportFormat | None = None,
    progress: Progress | None = None,
    file_hash: str | None = None,
) -> ImportReport:
    """Import a table already read (a file, or the join of an export's tables that a
    multi-table import made), as :func:`import_file` does. ``fmt``: its format, when the
    caller knows it (else ``options.format`` or detection decide). ``file_hash``: the SHA-256
    of the file read, whose import into the data as this one leaves them is then recognised
    (:mod:`soloist.domain.imports.unchanged`)."""
    _check_kind(kind)
    tell = progress or no_progress
    path = table.path
    tell("rows", len(table.rows), len(table.rows))
    fmt = fmt or _choose_format(table, kind, options)
    mapping = _mapping(table, fmt, kind, options)
    fmt, dated = dated_format(fmt, kind, mapping, options.as_of, options.timezone)
    mapped_notes = apply_value_map(table, mapping, kind, options.value_map)
    tell("step:clean", 1, len(STEPS))
    clean_options = CleanOptions(
        dayfirst=options.dayfirst,
        timezone=options.timezone,
        currency=(options.currency or default_currency).upper(),
        currency_given=options.currency is not None,
        chosen_columns=frozenset(options.mapping),  # named with --map: a choice made
    )
    cleaned = clean_table(table, fmt, kind, mapping, clean_options)
    columns = {name: table.header[index] for name, index in mapping.items()}
    region, region_note = phone_region(table, options)
    normalise_contacts(cleaned, columns, region)
    report = _report(table, fmt, kind, cleaned, mapping, options.dry_run)
    report.notes[:0] = [*mapped_notes, *([dated] if dated else [])]
    if region_note and "phone" in mapping:
        report.notes.append(region_note)
    if report.invalid and not options.skip_invalid:
        report.status = "refused"
        raise ImportRefusedError(report.error_message(), **report.to_dict())
    _drop_invalid(cleaned)
    if kind == "orders":
        report.currencies = dict(sorted(cleaned.orders["currency"].value_counts().iter_rows()))
    elif kind == "subscriptions" and cleaned.subscriptions:
        # a subscription book's currency is the workspace's as much as an order file's
        report.currencies = dict(sorted(Counter(s.currency for s in cleaned.subscriptions).items()))
    tell("step:customers", 2, len(STEPS))
    apply = not options.dry_run
    batch: ImportBatch | None = None
    if apply:
        batch = ImportBatch(
            kind=kind,
            filename=path.name[: WIDTHS["import_batches.filename"]],
            sha256=table.sha256,
            file_format=fmt.name,
            status="running",
            report={},
        )
        session.add(batch)
        session.flush()
        report.batch_id = batch.id
    ignored = [c for c, target in options.mapping.items() if target.strip().lower() in IGNORE]
    own_fields, fields_note = snapshot_fields(table, fmt, kind, mapping, ignored, cleaned)
    report.notes.extend([fields_note] if fields_note else [])
    table.release_cells()  # all is read: a large file's cells need not stay for the writing
    newest = newest_customer_id(session) if own_fields else 0
    used = _used_customers(cleaned)
    resolved = resolve_customers(
        session,
        [ref for key, ref in cleaned.customers.items() if key in used],
        overwrite=kind == "customers",
        apply=apply,
        actor=actor,
        source=fmt.source,
    )
    resolved.updated += write_customer_fields(
        session, own_fields, resolved, newest, actor=actor, apply=apply
    )
    report.customers = {
        "created": resolved.created,
        "matched_existing": resolved.matched,
        "updated": resolved.updated,
        "merged_in_file": len(resolved.alias),
    }
    report.duplicates["customers_matched_existing"] = resolved.matched
    report.duplicates["customers_repeated_in_file"] = len(resolved.alias)
    tell("step:write", 3, len(STEPS))
    counts = _write(session, kind, cleaned, resolved, batch, fmt, actor, apply)
    report.imported, report.updated, report.unchanged = (
        counts.imported,
        counts.updated,
        counts.unchanged,
    )
    report.details = counts.extra
    report.notes.extend(counts.notes)
    if apply and batch is not None:
        _finish(session, batch, report, resolved, kind, actor)
        if file_hash is not None:
            session.flush()
            batch.unchanged_key = unchanged_key(session, file_hash, kind, options, default_currency)
    tell("step:done", len(STEPS), len(STEPS))
    return report


def _finish(
    session: Session,
    batch: ImportBatch,
    report: ImportReport,
    resolved: Resolved,
    kind: str,
    actor: str,
) -> None:
    """Close the batch with its report, queue the points of new orders, audit the import."""
    if not (report.imported or report.updated or resolved.created or resolved.updated):
        report.status = "unchanged"
    batch.status = report.status
    batch.report = report.to_dict()
    batch.finished_at = utcnow()
    if report.imported or report.updated or resolved.created:
        refresh_statistics(session)  # a first import can turn a dozen rows into a million
    if kind == "orders" and (report.imported or report.updated):
        # New and changed orders earn or give back their points in the background.
        enqueue_job(session, "loyalty-sync", {"import_batch": batch.id},
                    dedupe_key=f"loyalty-sync:import:{batch.id}")  # fmt: skip
    _audit(session, actor, batch, report)


def _audit(session: Session, actor: str, batch: ImportBatch, report: ImportReport) -> None:
    record_audit(
        session,
        actor,
        "import.completed",
        "import_batch",
        batch.id,
        {
            "kind": report.kind,
            "file": report.file,
            "format": report.format,
            "imported": report.imported,
            "updated": report.updated,
            "skipped": report.skipped,
            "invalid": report.invalid,
        },
    )


def _used_customers(cleaned: Cleaned) -> set[str]:
    if cleaned.kind == "customers":
        return set(cleaned.customers)
    drafts: list[Any] = [
        *cleaned.subscriptions,
        *cleaned.interactions,
        *cleaned.feedback,
    ]
    return {draft.customer for draft in drafts} | set(cleaned.orders["customer"].to_list())


def _write(
    session: Session,
    kind: str,
    cleaned: Cleaned,
    resolved: Resolved,
    batch: ImportBatch | None,
    fmt: ImportFormat,
    actor: str,
    apply: bool,
) -> Counts:
    if kind == "customers":
        return Counts(
            imported=resolved.created,
            updated=resolved.updated,
            unchanged=resolved.matched - resolved.updated,
        )
    if kind == "orders":
        return write_orders(
            session,
            cleaned.orders,
            cleaned.order_lines,
            resolved,
            batch_id=batch.id if batch else None,
            source=fmt.source,
            actor=actor,
            apply=apply,
        )
    if kind == "subscriptions":
        return write_subscriptions(
            session, cleaned.subscriptions, resolved, actor=actor, source=fmt.source, apply=apply
        )
    if kind == "interactions":
        return write_interactions(
            session, cleaned.interactions, resolved, actor=actor, source=fmt.source, apply=apply
        )
    return write_feedback(
        session, cleaned.feedback, resolved, actor=actor, source=fmt.source, apply=apply
    )
